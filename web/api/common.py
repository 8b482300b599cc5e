"""Pieces every API blueprint shares: the blueprint class with sign-in attached, documented error responses."""

from __future__ import annotations

import http
from typing import Callable

from flask_smorest import Blueprint

from .auth import BEARER, authenticate
from .errors import handle_api_exception

API_PREFIX = "/api/v1"


def api_blueprint(name: str, description: str) -> Blueprint:
    """A flask-smorest blueprint under ``/api/v1`` whose every request is signed in by bearer token and whose
    every error (from a view, from input validation, from a service) is the API's JSON error."""
    blp = Blueprint(f"api_{name}", __name__, url_prefix=API_PREFIX, description=description)
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
