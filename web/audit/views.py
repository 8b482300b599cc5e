"""Auditor views: ledger verification, allocation runs (their posted documents), and the SPEC 6 exports as
downloads (the ledger CSV, one month's audit bundle, one month's statements), zipped on the fly."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

from flask import abort, render_template, request, send_file

from energy_coop.errors import RefusedError
from energy_coop.period import Period
from energy_coop.services.credits import exports
from energy_coop.services.screens import audit as screens
from energy_coop.vocabulary import STAFF_ROLES

from web.helpers import download, page_arg, run, run_snapshot
from web.security import roles_required
from web.audit import bp

STAFF = STAFF_ROLES


def _period_or_404(period: str) -> str:
    """A month in a download's URL as 'YYYY-MM'; anything else answers 404."""
    if period != period.strip() or not Period.is_valid(period):
        abort(404)
    return str(Period.parse(period))


@bp.get("/")
@roles_required(*STAFF)
def index():
    return render_template("audit/index.html", status=run_snapshot(screens.audit_home))


@bp.get("/ledger")
@roles_required(*STAFF)
def ledger():
    text = (request.args.get("period") or "").strip()[:7]
    problem, month = None, None
    if text:
        try:
            month = Period.parse(text)
        except ValueError as exc:
            problem = str(exc)
    data = run_snapshot(screens.ledger_screen, page=page_arg(), period=month)
    return render_template("audit/ledger.html", data=data, period=None if month is None else str(month),
                           problem=problem)


@bp.get("/runs")
@roles_required(*STAFF)
def runs():
    return render_template("audit/runs.html", runs=run(screens.runs_screen))


@bp.get("/runs/<id:run_id>")
@roles_required(*STAFF)
def run_detail(run_id: int):
    return render_template("audit/run.html", run=run(screens.run_screen, run_id))


@bp.get("/runs/<id:run_id>.json")
@roles_required(*STAFF)
def run_document(run_id: int):
    doc = run(screens.run_screen, run_id)["document"]
    return download(json.dumps(doc, indent=2, sort_keys=True).encode("utf-8"), f"allocation_run_{run_id}.json",
                    "application/json")


@bp.get("/exports/ledger.csv")
@roles_required(*STAFF)
def ledger_csv():
    """The whole ledger (SPEC 6 ``export ledger``) with its hashes. Memos are written as stored, because the
    hashes are computed over them; ``ledger.check_memo`` keeps formulas and line breaks out of them."""
    fh = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it (and the OS deletes it) after the response
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    run_snapshot(exports.write_ledger_csv, text)
    text.flush()
    text.detach()
    fh.seek(0)
    return send_file(fh, mimetype="text/csv", as_attachment=True, download_name="ledger.csv")


def _zip_folder(folder: Path) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    buf.seek(0)
    return buf


@bp.get("/exports/audit-<period>.zip")
@roles_required(*STAFF)
def audit_bundle(period: str):
    _period_or_404(period)
    with tempfile.TemporaryDirectory(prefix="energy-coop-audit-") as tmp:
        out = Path(tmp) / f"audit-{period}"
        try:
            run_snapshot(exports.export_audit, period, out)
        except RefusedError:
            abort(404)
        buf = _zip_folder(out)
    return send_file(buf, mimetype="application/zip", as_attachment=True, download_name=f"audit-{period}.zip")


@bp.get("/exports/statements-<period>-<fmt>.zip")
@roles_required(*STAFF)
def statements_bundle(period: str, fmt: str):
    _period_or_404(period)
    if fmt not in ("csv", "pdf"):
        abort(404)
    with tempfile.TemporaryDirectory(prefix="energy-coop-statements-") as tmp:
        out = Path(tmp) / f"statements-{period}"
        run_snapshot(exports.export_statements, period, fmt, out)
        out.mkdir(exist_ok=True)
        buf = _zip_folder(out)
    return send_file(buf, mimetype="application/zip", as_attachment=True,
                     download_name=f"statements-{period}-{fmt}.zip")
