"""Member pages. Every view names the member in its URL and calls ``member_access`` first: a member asking
for another member's number gets 404; admins and auditors may see every member."""

from __future__ import annotations

import datetime as dt
import functools
import re

from flask import abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from energy_coop.errors import RefusedError
from energy_coop.formatting import Formatter, cents_to_units, wh_to_kwh
from energy_coop.documents.statements import statement_document
from energy_coop.period import Period
from energy_coop.services.screens import member as screens
from energy_coop.vocabulary import ROLES

from web.charts import bar_chart, paired_bar_chart
from web.formatter import coop_settings, current_formatter
from web.helpers import download, run
from web.security import member_access, roles_required
from web.member import bp

ALL_ROLES = ROLES
STATEMENT_FORMATS = ("pdf", "csv")


def credits_chart(months: list[dict]) -> object:
    labels = [current_formatter().period_label(m["period"]) for m in months]
    return bar_chart("credits-chart", "Credits by month",
                     "Value of the credits posted to your account each month, in the co-op's currency.",
                     labels, [cents_to_units(m["cents"]) for m in months], unit="", bar_label="credit value",
                     label_every=2 if len(labels) > 7 else 1)


def production_chart(held) -> object:
    """An asset's recent production beside its forecast: the same for every member holding it, so drawn once
    per distinct asset and figures (:func:`_production_chart`)."""
    return _production_chart(held.asset_code, held.name,
                             tuple((d.day, d.metered_wh, d.forecast_wh) for d in held.days), current_formatter())


@functools.lru_cache(maxsize=512)
def _production_chart(asset_code: str, name: str, days: tuple[tuple[dt.date, int | None, int | None], ...],
                      fmt: Formatter):
    labels = [fmt.day_label(day) for day, _, _ in days]
    return bar_chart(f"production-{asset_code}", f"{name}: production, last {len(days)} days",
                     f"Energy {name} produced each day in kWh (bars) beside the stored forecast (line).",
                     labels, [wh_to_kwh(wh) for _, wh, _ in days], unit="kWh",
                     line_values=[wh_to_kwh(wh) for _, _, wh in days],
                     bar_label="metered (kWh)", line_label="forecast (kWh)", label_every=3)


def storage_chart(code: str, name: str, shares: list) -> object:
    """A member's share of a battery: energy charged and discharged per production month, two bars each."""
    return paired_bar_chart(f"storage-{code}", f"{name}: your share, charged and discharged",
                            f"Energy your share of {name} took in (charged) and gave back (discharged) each month, "
                            "in kWh.", [current_formatter().period_label(s.period) for s in shares],
                            [wh_to_kwh(s.charged_wh) for s in shares], [wh_to_kwh(s.discharged_wh) for s in shares],
                            unit="kWh", first_label="charged", second_label="discharged")


@bp.get("/me")
@roles_required(*ALL_ROLES)
def me():
    if current_user.role != "member":
        return redirect(url_for("auth.index"))
    return redirect(url_for("member.dashboard", member_number=current_user.member_number))


@bp.get("/members/<path:member_number>")
@roles_required(*ALL_ROLES)
def dashboard(member_number: str):
    member_access(member_number)
    board = run(screens.member_dashboard, member_number, today=dt.date.today(),
                threshold=current_app.config["ENERGY_COOP"].performance_threshold)
    charts = {h.asset_code: production_chart(h) for h in board.holdings if h.kind != "storage"}
    battery_charts = {code: storage_chart(code, name, shares) for code, name, shares in board.storage_assets}
    return render_template("member/dashboard.html", board=board, credits_chart=credits_chart(board.months),
                           production_charts=charts, storage_charts=battery_charts)


@bp.get("/members/<path:member_number>/statements")
@roles_required(*ALL_ROLES)
def statements_list(member_number: str):
    member_access(member_number)
    screen = run(screens.member_statements, member_number)
    return render_template("member/statements.html", member=screen["member"], periods=screen["periods"])


@bp.get("/members/<path:member_number>/statements/<period>")
@roles_required(*ALL_ROLES)
def statement_page(member_number: str, period: str):
    """An issued statement on screen: the same lines as its PDF, in the co-op's locale and currency."""
    member_access(member_number)
    if period != period.strip() or not Period.is_valid(period):
        abort(404)
    month = Period.parse(period)
    found = run(screens.member_issued_statement, member_number, month)
    if found.statement is None:
        return render_template("errors/error.html", code=404, title="No statement for this month",
                               text=found.reason[:1].upper() + found.reason[1:] + "."), 404
    document = statement_document(found.statement, coop_settings(), current_formatter())
    return render_template("member/statement.html", document=document, st=found.statement,
                           pdf_sha256=found.pdf_sha256)


@bp.get("/members/<path:member_number>/statements/<period>.<fmt>")
@roles_required(*ALL_ROLES)
def statement_download(member_number: str, period: str, fmt: str):
    member_access(member_number)
    if fmt not in STATEMENT_FORMATS or period != period.strip() or not Period.is_valid(period):
        abort(404)
    month = Period.parse(period)
    try:
        found = run(screens.member_statement_file, member_number, month, fmt)
    except RefusedError:
        abort(404)
    if found.data is None:  # the month is not issued: say so (only issued months have statements)
        return render_template("errors/error.html", code=404, title="No statement for this month",
                               text=found.reason[:1].upper() + found.reason[1:] + "."), 404
    period = str(month)
    safe_number = re.sub(r"[^A-Za-z0-9._-]", "_", member_number)
    name = f"statement_{period}_{safe_number}.{fmt}"
    return download(found.data, name, screens.STATEMENT_FORMATS[fmt])
