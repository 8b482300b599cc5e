"""The administrators' writes (meter imports, monthly allocation, manual ledger entries) and the ledger read (SPEC sections 4-6, 10).

Every write opens one transaction, calls one service, and is audited by that service with the signed-in
user's email as the actor. A refusal rolls the whole transaction back: nothing is written.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

from flask import current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.services.credits import allocation, ledger as ledger_service
from energy_coop.services.metering.imports import import_file
from energy_coop.services.metering.profiles import profile_documents
from energy_coop.services.screens import api as api_queries
from energy_coop.vocabulary import STAFF_ROLES

from web.api.auth import reads, roles, sessions
from web.api.common import api_blueprint, documented
from web.api.schemas import (
    PERIOD_PARAMETER,
    AllocationBody,
    AllocationSchema,
    ImportForm,
    ImportProfilesSchema,
    ImportReportSchema,
    LedgerPageSchema,
    LedgerQuery,
    ManualEntryBody,
    ManualEntrySchema,
    check_period,
)

blp = api_blueprint("operations", "Meter imports, the monthly allocation and the credit ledger")

IMPORT_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object",
        "required": ["file"],
        "additionalProperties": False,
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "a meter-reading file: CSV or Green Button XML (SPEC 4)"},
            "meter": {"type": "string", "minLength": 1, "maxLength": 64,
                      "description": "meter code for a Green Button file with one UsagePoint"},
            "timezone": {"type": "string", "minLength": 1, "maxLength": 64,
                         "description": "IANA time zone for naive timestamps"},
            "skip_invalid": {"type": "boolean",
                             "description": "import the valid rows; the report lists the rejected ones"},
            "profile": {"type": "string", "minLength": 1, "maxLength": 64,
                        "description": "import profile for a utility's export (SPEC 20; GET /import-profiles "
                                       "lists them); default: detect the layout"},
        },
    }}},
}


def _display_name(name: str | None) -> str:
    """The uploaded file's own name, without any folder and control characters (it is kept in the batch)."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:200] or "upload"


@blp.route("/imports", methods=["POST"])
@documented(blp, 403, 413, 422)
@roles("admin")
@blp.doc(requestBody=IMPORT_BODY)
@blp.response(200, ImportReportSchema)
def import_readings():
    """Import one meter-reading file (multipart field ``file``); the answer is its report (SPEC 4).

    A file is all-or-nothing: a refused file answers 422 with the report (every bad row named) in ``report``
    and ``details``, and nothing is kept. With ``skip_invalid`` the valid rows are imported and the rejected
    ones are listed in the report's ``errors``. A file already imported (same SHA-256) answers its
    ``duplicate`` report and changes nothing.
    """
    config = current_app.config["ENERGY_COOP"]
    request.max_content_length = config.max_upload_bytes
    if request.content_length is not None and request.content_length > config.max_upload_bytes:
        raise RequestEntityTooLarge()
    if not request.mimetype.startswith("multipart/form-data"):
        raise ValidationError({"body": ["send the file as multipart/form-data in a field named 'file'"]})
    upload = request.files.get("file")
    unknown = (set(request.files) - {"file"})
    if upload is None:
        raise ValidationError({"file": ["the field 'file' with the meter-reading file is missing"]})
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    options = ImportForm().load(request.form.to_dict())
    with tempfile.TemporaryDirectory(prefix="energy-coop-upload-") as folder:
        path = Path(folder) / "upload"
        upload.save(path)
        with sessions().begin() as s:
            try:
                report = _import(s, path, upload, options, folder)
            except NotFoundError as exc:  # no import profile of that name: a bad field, not a missing resource
                raise ValidationError({"profile": [exc.message]}) from None
    doc = report.as_dict()
    doc.pop("rejected_file", None)  # a path inside the server's temporary folder: nothing the client can open
    return doc


def _import(s, path: Path, upload, options: dict, folder: str):
    return import_file(
        s, path, actor=g.principal.email, display_name=_display_name(upload.filename),
        meter=options.get("meter"), timezone=options.get("timezone"),
        skip_invalid=options["skip_invalid"], rejected_path=Path(folder) / "rejected.csv",
        profile=options.get("profile"))


@blp.route("/import-profiles")
@documented(blp, 403)
@roles(*STAFF_ROLES)
@blp.response(200, ImportProfilesSchema)
def import_profiles():
    """The import profiles (SPEC 20) an upload may name in ``profile``: the built-in ones, then those
    administrators added (``energy-coop profiles add``), in the order detection tries them."""
    with reads().begin() as s:
        return {"profiles": profile_documents(s)}


@blp.route("/allocations/<period>", methods=["POST"])
@documented(blp, 403, 409, 422)
@blp.doc(parameters=[PERIOD_PARAMETER])
@roles("admin")
@blp.arguments(AllocationBody, location="json", required=False, as_kwargs=True)
@blp.response(200, AllocationSchema)
def allocate(period: str, post: bool, repost: bool, allow_gaps: bool):
    """Compute (and with ``post`` post) a month's credits; the answer is SPEC 5's allocation document.

    Without ``post`` (or ``repost``, which implies it, as on the command line) this is a draft and changes
    nothing; a draft of a month that has not ended in every asset's time zone says ``"month_over": false``
    with a ``note``. Posting a month already posted answers 409 unless ``repost``; posting a month that has
    not ended (SPEC 13; whatever ``allow_gaps``), or with any asset's coverage below 100 % unless
    ``allow_gaps``, answers 422 with the reason. ``messages`` says what a repost did (or that nothing had
    changed), and warns of incomplete coverage or an unfinished month.
    """
    return _allocation_document(period, post=post, repost=repost, allow_gaps=allow_gaps)


@blp.route("/allocations/<period>", methods=["GET"])
@documented(blp, 403, 422)
@blp.doc(parameters=[PERIOD_PARAMETER])
@roles("admin")
@blp.response(200, AllocationSchema)
def allocation_draft(period: str):
    """The draft of a month's credits (changes nothing): the same document as a POST without ``post``."""
    return _allocation_document(period, post=False, repost=False, allow_gaps=False)


def _allocation_document(period: str, *, post: bool, repost: bool, allow_gaps: bool) -> dict:
    try:
        check_period(period)
    except ValidationError as exc:
        raise ValidationError({"path": {"period": exc.messages}}) from None
    try:
        with sessions().begin() as s:
            if post or repost:
                outcome = allocation.post(s, period, actor=g.principal.email, repost=repost,
                                          allow_gaps=allow_gaps)
            else:
                outcome = allocation.compute(s, period)
            messages = list(outcome.messages)
            if outcome.note:
                messages.append(outcome.note)
            current = allocation.current_run(s, period)
            if outcome.status == "draft" and current is not None:
                messages.append(f"{period} is posted as run {current.id}; this draft re-computes it from "
                                "today's data")
            if outcome.incomplete:
                messages.append("coverage below 100 %: " + "; ".join(outcome.incomplete))
            return {**outcome.document, "messages": [_api_words(m) for m in messages]}
    except RefusedError as exc:
        hint = OPTION_HINTS.get(exc.option or "")
        exc.message = _api_words(exc.message) + (f"; {hint}" if hint else "")
        raise


#: A refusal's ``option`` (the service's keyword that would let it through) as this API's body field.
OPTION_HINTS = {
    "allow_gaps": 'use "allow_gaps": true to post anyway',
    "repost": 'use "repost": true to replace it with reversal entries and new ones',
}


def _api_words(text: str) -> str:
    """Name the API's body fields where a message still names a command-line option (the services word their
    refusals neutrally and say which option applies in ``RefusedError.option``; this is the safety net)."""
    return text.replace("--repost", '"repost": true').replace("--allow-gaps", '"allow_gaps": true')


@blp.route("/ledger")
@documented(blp, 403, 422)
@roles(*STAFF_ROLES)
@blp.arguments(LedgerQuery, location="query", as_kwargs=True)
@blp.response(200, LedgerPageSchema)
def ledger(after_seq: int, limit: int, period: str | None = None):
    """Ledger entries with their hashes in ``seq`` order, a page at a time (admins and auditors).

    Each entry's ``hash`` is SHA-256 of its ``prev_hash`` and content (see ``energy_coop.calc.credits.chain``), so a
    client can re-verify the chain. Pass ``next_after_seq`` as ``after_seq`` for the next page (null = last).
    """
    with reads().begin() as s:
        return api_queries.ledger_page(s, period=period, after_seq=after_seq, limit=limit)


@blp.route("/ledger", methods=["POST"])
@documented(blp, 403, 422)
@roles("admin")
@blp.arguments(ManualEntryBody, location="json", as_kwargs=True)
@blp.response(201, ManualEntrySchema)
def ledger_record(**body):
    """Post an adjustment, payout or bill application on one member's account (admins; audited).

    The ledger is never edited: this appends one entry to the hash chain. A payout or bill application has a
    negative ``cents`` and may not take the member's balance below zero; refusals answer 422 naming the field.
    """
    with sessions().begin() as s:
        return asdict(ledger_service.record_manual_entry(s, actor=g.principal.email, **body))
