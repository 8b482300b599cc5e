"""The web app (SPEC section 10): pages for members, admins and auditors, and the JSON API.

``create_app`` builds one app from a :class:`energy_coop.config.Config`: extensions are created once in
``web.extensions`` and bound here; one blueprint per audience (``auth``, ``member``, ``admin``, ``audit``) plus
the API (``web.api.init_api``). Migrations never run from here: ``energy-coop db upgrade`` does that before
the server starts. Each view opens one transaction and calls one service (``web.helpers.run``).

Settings beyond the Config are keyword ``overrides`` of Flask config keys, e.g. ``SESSION_COOKIE_SECURE=False``
for a plain-http set-up that is not on localhost (browsers accept secure cookies from http://127.0.0.1 and
http://localhost, so the demo works with the default), ``LOGIN_FREE_FAILURES`` / ``LOGIN_FIRST_DELAY_S`` /
``LOGIN_MAX_DELAY_S`` / ``LOGIN_MEMORY_S`` / ``LOGIN_LIMIT_PER_ADDRESS`` / ``LOGIN_LIMIT_WINDOW_S`` for the
sign-in limiter (``web.security.LoginLimiter``), ``WTF_CSRF_ENABLED=False`` in tests only.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from energy_coop.config import Config, load_config
from web import api, formatter
from web.admin import bp as admin_bp
from web.api.errors import error_response, fault_response, public_fault_text
from energy_coop.storage_faults import translate
from web.audit import bp as audit_bp
from web.auth import bp as auth_bp
from web.efficiency import bp as efficiency_bp
from web.extensions import csrf, login_limiter, login_manager
from web.helpers import RecordIdConverter
from web.member import bp as member_bp
from web.security import input_problems, security_headers

log = logging.getLogger(__name__)

ERROR_TEXT = {
    400: ("The request could not be understood", "Something in the request was malformed. Go back and try again."),
    401: ("Please sign in", "This page needs you to sign in first."),
    403: ("Not allowed", "Your account does not have the right to do this."),
    404: ("Not found", "There is nothing at this address, or it is not yours to see."),
    405: ("Not allowed here", "This address does not accept that kind of request."),
    413: ("The file is too large",
          ("The upload is larger than this co-op accepts. Split the file and upload the parts one by one.")),
    429: ("Too many attempts", "Please wait a little and try again."),
    500: ("Something went wrong", "The problem has been logged; nothing was half-saved. Please try again later."),
    503: ("Please try again in a minute", "The database is busy with another change; nothing was saved. "
                                          "Please try again in a minute."),
}


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the web app for ``config`` (default: read from the environment); ``overrides`` set Flask keys."""
    config = config or load_config()
    app = Flask(__name__)
    app.url_map.converters["id"] = RecordIdConverter  # before any blueprint adds a rule that uses it
    app.config.update(
        SECRET_KEY=config.secret_key,
        ENERGY_COOP=config,
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        # Secure unless the Config says otherwise (a ``cookie_secure`` field, when the lead adds
        # ENERGY_COOP_COOKIE_SECURE to energy_coop.config) or an override turns it off.
        SESSION_COOKIE_SECURE=bool(getattr(config, "cookie_secure", True)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="energy_coop_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        REMEMBER_COOKIE_SECURE=bool(getattr(config, "cookie_secure", True)),
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session (which is bounded above)
        LOGIN_FREE_FAILURES=3,  # wrong passwords for one account from one address before delays start
        LOGIN_FIRST_DELAY_S=1,  # [s], doubling with each further failure
        LOGIN_MAX_DELAY_S=900,  # [s]
        LOGIN_MEMORY_S=86400,  # [s] how long a failure counts towards its pair's delays
        LOGIN_LIMIT_PER_ADDRESS=20,
        LOGIN_LIMIT_WINDOW_S=900,
    )
    app.config.update(overrides)
    proxies = int(getattr(config, "proxies", 0))
    if proxies:  # behind nginx/Caddy: the client's address and scheme as the nearest proxies forwarded them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.session_protection = "basic"
    login_limiter.init_app(app)

    for bp in (auth_bp, member_bp, admin_bp, audit_bp, efficiency_bp):
        app.register_blueprint(bp)

    api.init_api(app)
    for name in api.EXEMPT_FROM_CSRF:
        if name in app.blueprints:
            csrf.exempt(app.blueprints[name])

    app.before_request(_refuse_unreadable_input)
    app.after_request(security_headers)
    _register_error_pages(app)
    _register_filters(app)
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_page(code: int, message: str | None = None):
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    if _wants_json():
        return jsonify({"error": title, "message": message or text, "details": []}), code
    return render_template("errors/error.html", code=code, title=title, text=message or text), code


def _refuse_unreadable_input():
    """Refuse, before anything reads it, a request no view can take (``security.input_problems``): a 400
    page naming the places, or the API's 422 with one detail per place. Nothing is changed."""
    problems = input_problems()
    if not problems:
        return None
    if _wants_json():
        return error_response(422, "the request could not be read; nothing was changed",
                              [{"where": w, "field": f, "reason": r} for w, f, r in problems])
    return _error_page(400, "The request could not be read, so nothing was changed: " + "; ".join(
        f"{w} {f} {r}".replace("  ", " ") for w, f, r in problems) + ".")


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _error_page(400, "The form had expired or did not come from this site, so nothing was saved. "
                                "Reload the page and send the form again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code in ERROR_TEXT:
            return _error_page(code)
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        fault = translate(exc, database=app.config["ENERGY_COOP"].database_url)
        if fault is not None:  # busy, full, read-only: 503 in plain words (and Retry-After), never a 500
            log.error("storage fault on %s %s: %s", request.method, request.path, fault.message)
            if _wants_json():
                return fault_response(fault)
            page, code = _error_page(503, public_fault_text(fault))
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return page, code, headers
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _error_page(500)


def _register_filters(app: Flask) -> None:
    """Every page formats through the request's :class:`energy_coop.formatting.Formatter`, made from the co-op
    settings (``web.formatter``): money, kWh, rates, percentages, dates, months."""
    formatter.init_app(app)