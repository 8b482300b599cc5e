"""Pieces every API blueprint shares: the blueprint class with sign-in attached, documented error responses."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import ClassVar

from flask_smorest import Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser

from web.api.auth import BEARER, authenticate
from web.api.errors import handle_api_exception

API_PREFIX = "/api/v1"


class StrictParser(FlaskParser):
    """webargs' Flask parser, refusing unknown fields in every location (webargs ignores unknown query
    parameters by default, so a misspelt ``?form=2024-02`` would silently mean 'every month')."""

    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str]] = {
        location: RAISE for location in ("json", "query", "form", "json_or_form")}


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()


def api_blueprint(name: str, description: str) -> Blueprint:
    """A flask-smorest blueprint under ``/api/v1`` whose every request is signed in by bearer token and whose
    every error (from a view, from input validation, from a service) is the API's JSON error."""
    blp = ApiBlueprint(f"api_{name}", __name__, url_prefix=API_PREFIX, description=description)
    blp.before_request(authenticate)
    blp.register_error_handler(Exception, handle_api_exception)
    return blp


def documented(blp: Blueprint, *codes: int) -> Callable:
    """Decorator: the operation needs a bearer token and may answer 401 plus each of ``codes`` (JSON errors)."""

    def decorator(view: Callable) -> Callable:
        for code in sorted({401, *codes}, reverse=True):
            view = blp.alt_response(code, response=http.HTTPStatus(code).name)(view)
        return blp.doc(security=BEARER)(view)

    return decorator
