"""JSON errors for the API (SPEC section 10): every error under ``/api/`` is ``{"error", "message", "details"}``.

``error`` is a stable machine word (``not_found``, ``invalid_input``...), ``message`` a sentence a co-op volunteer
can act on, ``details`` a list of ``{"where", "field", "reason"}`` naming each problem (empty when there is
nothing more to say). A refused import adds ``report``: the SPEC 4 report of the file.
Pages outside ``/api/`` keep whatever error pages the web app gives them.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from energy_coop.errors import ConflictError, DatabaseBusy, NotFoundError, RefusedError, StorageFault
from energy_coop.storage_faults import translate

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

ERROR_WORDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "server_error",
    501: "not_implemented",
    503: "unavailable",
}

MESSAGES = {
    400: "the request could not be read",
    401: "sign in: send 'Authorization: Bearer <token>' with a token from `energy-coop users token EMAIL`",
    403: "your role may not do this",
    404: "there is nothing here",
    405: "this address does not take that method",
    413: "the upload is too large",
    422: "some of the input is not valid",
    500: "something went wrong on the server; nothing was changed, and the error has been logged",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, message: str | None = None, details: list[dict[str, Any]] | None = None,
                   *, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """The JSON error document with HTTP ``status``."""
    word = ERROR_WORDS.get(status) or http.HTTPStatus(status).name.lower()
    body = {"error": word, "message": message or MESSAGES.get(status) or http.HTTPStatus(status).phrase.lower(),
            "details": details or []}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def flatten_messages(messages: Any, where: str, path: str = "") -> list[dict[str, Any]]:
    """marshmallow/webargs nested messages ``{"query": {"from": ["..."]}}`` -> ``[{where, field, reason}]``."""
    out: list[dict[str, Any]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            if not path and key in ("query", "json", "form", "files", "headers", "path", "view_args"):
                out.extend(flatten_messages(value, key, ""))
            else:
                name = "" if key == "_schema" else key
                out.extend(flatten_messages(value, where, f"{path}.{name}" if path and name else (name or path)))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            out.extend(flatten_messages(item, where, path))
    else:
        reason = str(messages)
        if reason == "Unknown field.":
            reason = "unknown field: remove it (see the API document for the accepted ones)"
        out.append({"where": where, "field": path, "reason": reason})
    return out


def refusal_response(exc: RefusedError) -> Response:
    """A domain refusal: 404 for something that does not exist, 409 for a conflict, else 422."""
    details = [e.as_dict() for e in exc.errors]
    if isinstance(exc, NotFoundError):
        return error_response(404, exc.message, details)
    if isinstance(exc, ConflictError):
        return error_response(409, exc.message, details)
    report = getattr(exc, "report", None)
    if report is not None and hasattr(report, "as_dict"):
        doc = report.as_dict()
        doc.pop("rejected_file", None)  # a path on the server means nothing to the client
        return error_response(422, exc.message, details, report=doc)
    return error_response(422, exc.message, details)


def http_error_response(exc: HTTPException) -> Response:
    """Any werkzeug HTTP error as JSON, keeping webargs' validation messages and the Allow header."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    details: list[dict[str, Any]] = []
    message = data.get("message")
    if "messages" in data:
        details = flatten_messages(data["messages"], "request")
        message = message or MESSAGES[422]
    elif "errors" in data:
        details = flatten_messages(data["errors"], "request")
    if status == 400 and not message and exc.description:
        message = exc.description
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    for key, value in (data.get("headers") or {}).items():
        headers[key] = value
    if status >= 500:
        original = getattr(exc, "original_exception", None)
        if original is not None:
            log.error("API error on %s %s", request.method, request.path, exc_info=original)
        message = None  # never show internals
    return error_response(status, message, details, headers=headers)


def public_fault_text(fault: StorageFault) -> str:
    """A storage fault in words for any signed-in user: the busy message as it is; the others without the
    server's paths (those go to the log, for the administrator)."""
    if isinstance(fault, DatabaseBusy):
        return fault.message
    what = {"disk_full": "its disk is full", "read_only": "it is read-only", "missing_folder": "a folder is missing",
            "unavailable": "it does not answer"}.get(fault.word, "it failed to write")
    return (f"The co-op's database cannot take changes right now ({what}); nothing was saved. The problem has "
            "been logged for the administrator; please try again later.")


def fault_response(fault: StorageFault) -> Response:
    """A storage fault as the API's JSON error: 503, with ``Retry-After`` when a retry should succeed."""
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
    return error_response(503, public_fault_text(fault), [], headers=headers, fault=fault.word)


def handle_api_exception(exc: Exception) -> Response:
    """The blueprints' handler for everything raised inside an API view."""
    if isinstance(exc, RefusedError):
        return refusal_response(exc)
    if isinstance(exc, ValidationError):
        return error_response(422, MESSAGES[422], flatten_messages(exc.messages, "request"))
    if isinstance(exc, HTTPException):
        return http_error_response(exc)
    fault = translate(exc, database=current_app.config["ENERGY_COOP"].database_url)
    if fault is not None:
        log.error("storage fault on %s %s: %s", request.method, request.path, fault.message)
        return fault_response(fault)
    log.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500)


def _matches_another_method(exc: MethodNotAllowed) -> bool:
    """Whether the path of a request answered 405 matches a rule for one of the methods it allows.

    werkzeug answers 405 when a rule for another method has the same pattern even if the path's values fail
    that rule's converter: ``PATCH /efficiency/premises/<id beyond the maximum>`` is "method not allowed"
    because ``GET /efficiency/premises/<id>`` exists, though no method would find such an id. That is a 404."""
    adapter = current_app.create_url_adapter(request)
    for method in exc.valid_methods or ():
        try:
            adapter.match(method=method)
        except (NotFound, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect (e.g. a missing trailing slash): the path does exist
            return True
        return True
    return False


def register_app_handlers(app: Flask) -> None:
    """App-level hooks so that errors raised outside any API view but on an ``/api/`` path are JSON too.

    Routing errors (no such address, wrong method) happen before a blueprint is known, so a ``before_request``
    hook answers them for ``/api/`` paths; it runs before any later error handler the web app registers, so
    the pages' own 404/405 pages never replace the API's JSON. A fallback handler for ``HTTPException`` covers
    what remains (e.g. a 500 raised by another ``before_request``), and hands non-API paths back untouched.
    """

    def _api_routing_errors():
        if is_api_request() and request.routing_exception is not None:
            exc = request.routing_exception
            if isinstance(exc, MethodNotAllowed) and not _matches_another_method(exc):
                exc = NotFound()
            if isinstance(exc, HTTPException) and exc.code and exc.code >= 400:
                return http_error_response(exc)
        return None

    # First of the app's before_request hooks, so that e.g. a CSRF check never answers for an unknown API path.
    app.before_request_funcs.setdefault(None, []).insert(0, _api_routing_errors)

    previous = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)

    def _fallback(exc: HTTPException):
        if is_api_request():
            return http_error_response(exc)
        if previous is not None:
            return previous(exc)
        return exc

    app.register_error_handler(HTTPException, _fallback)

    def _server_error(exc: InternalServerError):
        if is_api_request():
            return http_error_response(exc)
        return exc

    if InternalServerError not in app.error_handler_spec.get(None, {}).get(500, {}):
        app.register_error_handler(500, _server_error)
