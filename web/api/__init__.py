"""The JSON API of SPEC section 10 under ``/api/v1``, with its OpenAPI 3 document at ``/api/v1/openapi.json``.

Built with flask-smorest: marshmallow schemas validate every query string and body (unknown fields refused)
and the same schemas generate the OpenAPI document, so the document cannot drift from the code. It runs on
a plain ``Flask`` app, which the web pages share: ``web.create_app`` calls :func:`init_api`.

Only bearer tokens sign in here (no cookies), so the API blueprints are exempt from the pages' CSRF
protection. Errors on ``/api/`` paths are always JSON ``{"error", "message", "details"}`` (see ``errors``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.spec.plugins import baseconverter2paramschema, unicodeconverter2paramschema
from marshmallow import fields
from werkzeug.routing import BaseConverter, UnicodeConverter

from web.api.errors import register_app_handlers
from web.api.schemas import ErrorSchema

API_TITLE = "energy-coop API"
API_VERSION = "1"
CONFIG_PREFIX = "ENERGY_COOP_API"
# Every text the API takes, in a path, a query or a body: anything but a NUL character, which the app refuses
# before any view (``web.security.input_problems``) since PostgreSQL cannot store it.
NO_NUL = "^[^\\x00]*$"


def _no_nul(converter: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: a text field without a pattern of its own gets :data:`NO_NUL`."""
    if isinstance(field, fields.String) and "pattern" not in ret and "format" not in ret and "enum" not in ret:
        return {"pattern": NO_NUL}
    return {}


class CoopApi(Api):
    """flask-smorest's ``Api`` with the co-op's error document, leaving the app's own error pages alone.

    flask-smorest would register an app-wide ``HTTPException`` handler that turns every page's 404 into JSON;
    here errors are JSON only on ``/api/`` paths (``errors.register_app_handlers`` and each blueprint's handler).
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        register_app_handlers(self._app)


def init_api(app: Flask) -> Api:
    """Register the API's blueprints, error handling and OpenAPI document on ``app``; return the ``Api``.

    ``app.config["ENERGY_COOP"]`` must hold the :class:`energy_coop.config.Config` (the database URL and the
    upload limit come from it). Call once per app, after or before the CSRF extension is set up: if
    ``app.extensions["csrf"]`` exists now, the API blueprints are exempted from it here; if it is created
    later, its owner exempts ``EXEMPT_FROM_CSRF`` (the blueprint names).
    """
    from web.api import assets, efficiency, members, meters, operations, settings, statements

    prefix = CONFIG_PREFIX + "_"
    app.config.setdefault(prefix + "API_TITLE", API_TITLE)
    app.config.setdefault(prefix + "API_VERSION", API_VERSION)
    app.config.setdefault(prefix + "OPENAPI_VERSION", "3.0.3")
    app.config.setdefault(prefix + "OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault(prefix + "OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(prefix + "API_SPEC_OPTIONS", {
        "info": {"description": "Members' credits and statements, assets' production and forecasts, meter "
                                "imports, the monthly allocation, issued statement months and the credit ledger "
                                "of a community energy co-operative. Energy is in integer Wh, money in integer "
                                "cents. Sign in with 'Authorization: Bearer <token>' (a token from "
                                "`energy-coop users token EMAIL`)."},
        "servers": [{"url": "/"}],
    })
    api = CoopApi(app, config_prefix=CONFIG_PREFIX)
    api.ma_plugin.converter.add_attribute_function(_no_nul)
    api.register_converter(UnicodeConverter, lambda c: {**unicodeconverter2paramschema(c), "pattern": NO_NUL})
    api.register_converter(BaseConverter, lambda c: {**baseconverter2paramschema(c), "pattern": NO_NUL})
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "a token from `energy-coop users token EMAIL`"})
    blueprints = (members.blp, assets.blp, operations.blp, meters.blp, efficiency.blp, settings.blp, statements.blp)
    for blp in blueprints:
        api.register_blueprint(blp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        for blp in blueprints:
            csrf.exempt(blp)
    app.extensions["energy_coop_api"] = api
    return api


EXEMPT_FROM_CSRF = ("api_members", "api_assets", "api_operations", "api_meters", "api_efficiency", "api_settings",
                    "api_statements")
