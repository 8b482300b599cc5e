"""Readings sent by data loggers: ``POST /api/v1/meters/{meter_code}/readings`` (SPEC section 20).

One transaction, one service (:func:`energy_coop.services.metering.logger.submit_readings`); this module reads
the request (its bytes as sent, the ``Idempotency-Key`` header), words the HTTP answers and documents them.

Who may: an administrator's token with the ``write`` scope (any meter), or with ``meter:CODE`` scopes (those
meters only: another meter answers 403 naming it, before anything is read). A read-only token is 403, as for every
write (``web.api.auth.check_scopes``).
"""

from __future__ import annotations

from flask import g, jsonify, request
from marshmallow import fields

from energy_coop.services.metering.logger import (
    KEEP_DAYS,
    MAX_BODY_BYTES,
    MAX_KEY_LENGTH,
    MAX_READINGS,
    SubmissionTooLarge,
    submit_readings,
)

from web.api.auth import roles, sessions
from web.api.common import api_blueprint, documented
from web.api.errors import error_response
from web.api.schemas import ImportReportSchema

blp = api_blueprint("meters", "Readings sent by data loggers, one meter at a time")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotency-Replayed"

_EXAMPLE = {"readings": [
    {"start": "2024-03-01T00:00:00Z", "interval_minutes": 15, "kwh": "0.125"},
    {"start": "2024-03-01T00:15:00Z", "end": "2024-03-01T00:30:00Z", "kwh": 0.25, "quality": "estimated"},
]}

READING = {
    "type": "object",
    "required": ["start", "kwh"],
    "additionalProperties": False,
    "properties": {
        "start": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[^\\x00]*$",
                  "description": "ISO 8601 with a UTC offset (Z or +hh:mm)", "example": "2024-03-01T00:15:00+01:00"},
        "end": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[^\\x00]*$",
                "description": "ISO 8601 with a UTC offset; give end or interval_minutes"},
        "interval_minutes": {"type": "integer", "minimum": 1, "maximum": 9_999_999,
                             "description": "length of the interval [min]; give end or interval_minutes"},
        "kwh": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\x00]*$"},
                          {"type": "number"}],
                "description": "energy of the interval [kWh], exact to 1 mWh (at most 6 decimals): decimal text "
                               "or a JSON number, read as its decimal digits (never through a float); negative "
                               "while a battery charges", "example": "0.125"},
        "quality": {"type": "string", "enum": ["actual", "estimated"], "nullable": True,
                    "description": "actual (the default) or estimated"},
    },
}

READINGS_BODY = {
    "required": True,
    "description": f"at most {MAX_READINGS:,} readings and {MAX_BODY_BYTES:,} bytes",
    "content": {"application/json": {
        "schema": {"type": "object", "required": ["readings"], "additionalProperties": False,
                   "properties": {"readings": {"type": "array", "minItems": 1, "maxItems": MAX_READINGS,
                                               "items": READING}}},
        "examples": {"two readings": {"value": _EXAMPLE}},
    }},
}

KEY_PARAMETER = {
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": True,
    "description": f"a key of the sender's choice (a UUID, say), 1 to {MAX_KEY_LENGTH} printable ASCII characters. "
                   "Send the same key when sending the same readings again: they are stored once and the first "
                   f"answer comes back. Keys are kept {KEEP_DAYS} days.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[\\x21-\\x7e]+$"},
    "example": "3f1c9a52-8e0b-4d36-9a51-0c2b8f7e6d14",
}


class LoggerReportSchema(ImportReportSchema):
    """The import report of the readings (SPEC 4), with the request's meter, key and count."""

    meter_code = fields.String(required=True)
    idempotency_key = fields.String(required=True)
    readings = fields.Integer(required=True, metadata={"description": "readings in the request"})
    replayed = fields.Boolean(required=True, metadata={
        "description": "true when this is the stored answer to an earlier request with the same key and body"})


@blp.route("/meters/<meter_code>/readings", methods=["POST"])
@documented(blp, 403, 404, 409, 413, 415, 422)
@roles("admin")
@blp.doc(requestBody=READINGS_BODY, parameters=[KEY_PARAMETER])
@blp.response(201, LoggerReportSchema, description="readings stored (accepted or revised); on a replay, the "
              f"first answer with replayed true and the header {REPLAY_HEADER}: true")
@blp.alt_response(200, schema=LoggerReportSchema, description="nothing new stored: every reading was already held "
                  "with the same value, or the same readings were stored under another key")
def post_readings(meter_code: str):
    """Store a data logger's readings for one meter (JSON), once per ``Idempotency-Key``.

    Every reading is checked by the rules of a CSV row (SPEC 4) and the meter's kind; the request is all or
    nothing: any bad reading answers 422 naming each one (``where`` = ``readings[INDEX]``, ``field``, ``reason``)
    and nothing is stored. Stored readings form an import batch named ``API: logger <token name>``, with
    revisions, history and stale posted months as for a file. The same key with the same readings answers the
    first answer again (``replayed``: true, header ``Idempotency-Replayed: true``); with other readings, 409.
    More than 10,000 readings answer 422, a body over 4 MiB 413, each saying so.
    """
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return error_response(413, f"the body is {request.content_length:,} bytes; the most one request may carry "
                                   f"is {MAX_BODY_BYTES:,} bytes ({MAX_READINGS:,} readings). Send the readings in "
                                   "several requests")
    if request.mimetype != "application/json":
        return error_response(415, "send the readings as JSON with 'Content-Type: application/json'",
                              [{"where": "headers", "field": "Content-Type",
                                "reason": f"is {request.mimetype or 'missing'!r}, not 'application/json'"}])
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or not key.strip():
        return error_response(422, f"the readings were not stored: the header {IDEMPOTENCY_HEADER} is required",
                              [{"where": "headers", "field": IDEMPOTENCY_HEADER,
                                "reason": "is missing; send a key of your choice (such as a UUID) with every "
                                          "request, and the same key when you send the same readings again"}])
    principal = g.principal
    owner = f"token {principal.token_id}" if principal.token_id is not None else f"user {principal.email}"
    try:
        with sessions().begin() as s:
            answer = submit_readings(s, meter_code, request.get_data(), key=key, owner=owner,
                                     source=principal.token_name or principal.email, actor=principal.email)
    except SubmissionTooLarge as exc:
        return error_response(413, exc.message, [e.as_dict() for e in exc.errors])
    response = jsonify(answer.document)
    response.status_code = answer.status_code
    response.headers[REPLAY_HEADER] = "true" if answer.replayed else "false"
    return response
