"""What every view uses: one transaction around one service call, refusals shown beside form fields, safe
CSV and file downloads, and page numbers from the query string that cannot crash anything."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Response, abort, current_app, request
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter

from energy_coop.db import get_read_sessionmaker, get_sessionmaker, get_snapshot_sessionmaker
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.services.credits.statements import safe_cell

T = TypeVar("T")

MAX_ID = 2**53 - 1  # the largest record id a page or API URL takes (exact in every JSON client, inside BIGINT)


class RecordIdConverter(IntegerConverter):
    """``<id:name>`` in a page's URL: a record id from 1 to :data:`MAX_ID`. Anything else matches no route and
    so answers 404, instead of reaching the database as a number its BIGINT cannot hold."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def run(service: Callable[..., T], *args: Any, read_only: bool = False, **kwargs: Any) -> T:
    """Open one transaction, call ``service(session, *args, **kwargs)``, commit if it returned, roll back if
    it raised. A :class:`NotFoundError` becomes a 404 page; other refusals propagate for the view to show.

    GET and HEAD requests, and calls with ``read_only=True`` (a read made while serving a POST, such as
    loading the signed-in user), use the read-only sessions: on SQLite they take no write lock (and could not
    write if a bug tried)."""
    url = current_app.config["ENERGY_COOP"].database_url
    reading = read_only or request.method in ("GET", "HEAD")
    factory = get_read_sessionmaker(url) if reading else get_sessionmaker(url)
    try:
        with factory.begin() as session:
            return service(session, *args, **kwargs)
    except NotFoundError:
        abort(404)


def run_snapshot(service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """:func:`run` for a read that must see one instant across many statements (the ledger's verification, its
    exports): ``db.get_snapshot_sessionmaker``."""
    try:
        with get_snapshot_sessionmaker(current_app.config["ENERGY_COOP"].database_url).begin() as session:
            return service(session, *args, **kwargs)
    except NotFoundError:
        abort(404)


def actor() -> str:
    """How the audit log names the signed-in user."""
    return current_user.email


def attach_errors(form: FlaskForm, exc: RefusedError, rename: dict[str, str] | None = None) -> None:
    """Put each problem of a refusal beside the form field it names (others go above the form)."""
    rename = rename or {}
    form.form_errors = list(getattr(form, "form_errors", []) or [])
    form.form_errors.append(exc.message)
    for e in exc.errors:
        name = rename.get(e.field, e.field)
        field = form._fields.get(name) if name else None
        if field is not None:
            field.errors = list(field.errors or []) + [e.reason]
        else:
            where = f"{e.field}: " if e.field else ""
            form.form_errors.append(f"{where}{e.reason}")


def page_arg(name: str = "page") -> int:
    """A positive page number from the query string; anything else is page 1."""
    text = request.args.get(name, "1")
    return int(text) if text.isdigit() and len(text) < 7 and int(text) > 0 else 1


def csv_response(header: list[str], rows: Iterable[Iterable[Any]], filename: str) -> Response:
    """A CSV download whose text cells cannot run as spreadsheet formulas (see ``safe_cell``)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([safe_cell(v) for v in row])
    return download(out.getvalue().encode("utf-8"), filename, "text/csv; charset=utf-8")


def download(body: bytes, filename: str, mimetype: str) -> Response:
    """A file download (``filename`` must be made of safe characters by the caller). ``mimetype`` is the whole
    Content-Type, charset included when it has one (``text/csv; charset=utf-8``): werkzeug would add a second."""
    resp = Response(body, content_type=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
