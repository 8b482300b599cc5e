"""Efficiency programme pages (SPEC sections 8 and 10): members, admins and auditors.

* a member sees their premises, audits, measures, incentives (awards and payments) and measured savings beside
  the estimate, with a chart;
* an admin manages programmes (create; award; record payments; move measures on) and sees the budget used vs
  left, measures by status and savings estimated vs measured per programme; registers a member's premises (on
  the programme page), and records a premises' energy audits, proposes its measures and corrects the
  building's and its measures' details (on the premises page);
* an auditor sees the same as an admin, read-only, and exports every table as CSV.

Each view reads its form (:mod:`web.efficiency.forms`), calls one efficiency service in one transaction
(:func:`web.helpers.run`) and renders, or flashes what happened and redirects. A form naming a record that
does not exist is a refusal shown on the programme page, not a 404 page. Charts are inline SVG made on the
server (:mod:`web.charts`; no script, no inline style: the CSP forbids both). Forms carry the CSRF token
(Flask-WTF's ``csrf_token`` in templates).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, TypeVar

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.services.efficiency import exports, incentives, measures, pages
from energy_coop.services.efficiency import premises as premises_service
from energy_coop.units import format_cents
from energy_coop.vocabulary import (
    HEATING_FUELS,
    INCENTIVE_RULES,
    MEASURE_CATEGORIES,
    MEMBER_TYPES,
    ROLES,
    STAFF_ROLES,
)

from web.charts import budget_chart, savings_chart
from web.formatter import current_formatter
from web.efficiency import bp, forms
from web.helpers import actor, run
from web.security import roles_required

T = TypeVar("T")

#: Prefilled in the new-premises form; premises keep their own zone (their meter readings' local days).
DEFAULT_TIMEZONE = "America/New_York"


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _own_number() -> str | None:
    """The signed-in member's number (None for staff, who see everyone's); a member without one: 404."""
    if current_user.role != "member":
        return None
    number = getattr(current_user, "member_number", None)
    if number is None:
        abort(404)
    return number


def _money(cents: int) -> str:
    """An amount in a message on the page, by the co-op's locale and currency."""
    return current_formatter().money(cents)


@bp.app_template_filter("cents_typed")
def _cents_typed(cents: int) -> str:
    """Integer cents as an amount is typed into a form (``123456`` -> ``1234.56``, no thousands separator),
    so that a prefilled amount reads back through ``parse_cents`` as the same cents."""
    return format_cents(cents)


# ------------------------------------------------------------------------------------------------ pages


@bp.get("/")
@roles_required(*ROLES)
def index():
    today = _today()
    number = _own_number()
    if number is not None:
        page = run(pages.member_overview, number, today=today)
        charts = {pid: savings_chart(r) for pid, r in page["savings"].items()}
        return render_template("efficiency/member.html", **page, charts=charts)
    page = run(pages.staff_overview, today=today)
    return render_template(
        "efficiency/staff.html", **page, chart=budget_chart(page["programmes"], money=current_formatter().money), exports=exports.EXPORTS,
        rules=INCENTIVE_RULES, member_types=MEMBER_TYPES, heating_fuels=HEATING_FUELS,
        default_timezone=DEFAULT_TIMEZONE, is_admin=current_user.role == "admin", today=today.isoformat())


@bp.get("/premises/<id:premises_id>")
@roles_required(*ROLES)
def premises(premises_id: int):
    is_admin = current_user.role == "admin"
    page = run(pages.premises_page, premises_id, today=_today(), member_number=_own_number(),
               with_awards=is_admin)
    return render_template("efficiency/premises.html", **page, chart=savings_chart(page["savings"]),
                           is_admin=is_admin, categories=MEASURE_CATEGORIES, heating_fuels=HEATING_FUELS,
                           today=_today().isoformat())


@bp.get("/export/<kind>.csv")
@roles_required(*STAFF_ROLES)
def export(kind: str):
    text = run(exports.export_csv, kind)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="efficiency-{kind}.csv"'})


# ------------------------------------------------------------------------------------------ admin forms


class _Missing(RefusedError):
    """A record a form names does not exist: refused on the programme page rather than answered with 404."""


def _missing_is_refused(session: Any, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return service(session, *args, **kwargs)
    except NotFoundError as exc:
        raise _Missing(exc.message, exc.errors, subject=exc.subject) from None


def _change(service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``service(session, *args, actor=..., **kwargs)`` in one transaction (see :func:`web.helpers.run`)."""
    return run(_missing_is_refused, service, *args, actor=actor(), **kwargs)


def _done(message: str, back: str | None = None):
    """Flash what a change did and return to ``back``, the page the form is on (default: the programme
    page)."""
    flash(message, "ok")
    return redirect(back or url_for("efficiency.index"))


def _refused(exc: RefusedError | ValueError, back: str | None = None):
    """Flash every reason a change was refused and return to ``back``; when the record the form is about does
    not exist, ``back`` would not exist either, so the programme page is shown instead."""
    if isinstance(exc, RefusedError):
        flash(exc.message + "".join(f" — {e}" for e in exc.errors),
              "conflict" if isinstance(exc, ConflictError) else "error")
    else:
        flash(str(exc), "error")
    if isinstance(exc, _Missing):
        back = None
    return redirect(back or url_for("efficiency.index"))


def _submit(service: Callable[..., T], values: Callable[[], dict[str, Any]], said: Callable[[T], str], *args: Any,
            back: str | None = None, **fixed: Any):
    """A form's POST: read its fields (``values()``; a bad field is a ValueError), call ``service`` with them in
    one transaction, then flash ``said(record)`` or every reason it was refused, and return to ``back``."""
    try:
        record = _change(service, *args, **fixed, **values())
    except (RefusedError, ValueError) as exc:
        return _refused(exc, back)
    return _done(said(record), back)


def _premises_page(premises_id: int) -> str:
    return url_for("efficiency.premises", premises_id=premises_id)


@bp.post("/programmes")
@roles_required("admin")
def create_programme():
    return _submit(incentives.create_programme, forms.programme_values,
                   lambda p: f"programme {p.code} created with a budget of {_money(p.budget_cents)}")


@bp.post("/premises")
@roles_required("admin")
def create_premises():
    """Register a member's building: floor area [m²], year built, heating fuel, time zone and meter (blank:
    the member's own consumption meter)."""
    try:
        values = forms.premises_values()
        try:
            p = _change(premises_service.create_premises, **values)
        except _Missing as exc:  # the member number names nobody: a mistake in this form's field
            raise RefusedError("the premises were not registered",
                               [RowError("", "member_number", exc.message)]) from None
    except (RefusedError, ValueError) as exc:
        return _refused(exc)
    return _done(f"premises {p.id} registered for member {p.member.member_number}: {p.address}")


@bp.post("/premises/<id:premises_id>/audits")
@roles_required("admin")
def record_audit(premises_id: int):
    """Record an energy audit of a building: date, auditor, ASHRAE level 1-3, findings."""
    return _submit(premises_service.record_audit, forms.audit_values,
                   lambda a: f"audit {a.id} of {a.audit_date} (ASHRAE level {a.ashrae_level}) recorded",
                   premises_id=premises_id, back=_premises_page(premises_id))


@bp.post("/premises/<id:premises_id>/measures")
@roles_required("admin")
def propose_measure(premises_id: int):
    """Propose a measure found by one of the building's audits: cost [cents, typed as 1234.50], estimated
    savings [whole kWh/year], useful life [years]."""
    return _submit(measures.propose_measure_on_premises, forms.measure_values,
                   lambda m: f"measure {m.id} proposed: {m.description}, cost {_money(m.cost_cents)}, "
                             f"estimated {current_formatter().number(m.estimated_kwh_per_year)} kWh/year",
                   premises_id, back=_premises_page(premises_id))


@bp.post("/premises/<id:premises_id>/edit")
@roles_required("admin")
def edit_premises(premises_id: int):
    """Correct a building: address, floor area [m²], year built, heating fuel, time zone, meter. A field left
    blank or unchanged keeps its value."""
    back = _premises_page(premises_id)
    try:
        p, changed = _change(premises_service.correct_premises, premises_id,
                             **forms.premises_corrections(premises_id))
    except (RefusedError, ValueError) as exc:
        return _refused(exc, back)
    if not changed:
        return _done(f"premises {premises_id}: nothing to change (every field was blank or as it was)", back)
    return _done(f"premises {p.id} corrected: {', '.join(n.replace('_', ' ') for n in changed)}", back)


@bp.post("/measures/<id:measure_id>/edit")
@roles_required("admin")
def edit_measure(measure_id: int):
    """Correct a measure's category, description, cost [typed as 1234.50], estimated savings [whole
    kWh/year] or useful life [years] before it is verified or discarded. A field left blank or unchanged keeps
    its value; the service refuses a changed cost or estimate once an incentive was awarded on it."""
    premises_id = run(measures.premises_of_measure, measure_id, read_only=True)  # where the form is
    back = None if premises_id is None else _premises_page(premises_id)
    try:
        typed = forms.measure_corrections(measure_id)
        try:
            m, changed = _change(measures.correct_measure, measure_id, **typed)
        except RefusedError as exc:
            names = {figure: name for name, figure in forms.MEASURE_FIELDS.items()}
            raise forms.as_typed(exc, names) from None
    except (RefusedError, ValueError) as exc:
        return _refused(exc, back)
    if not changed:
        return _done(f"measure {measure_id}: nothing to change (every field was blank or as it was)", back)
    return _done(f"measure {m.id} corrected: {m.description}, cost {_money(m.cost_cents)}, estimated "
                 f"{current_formatter().number(m.estimated_kwh_per_year)} kWh/year, useful life {m.useful_life_years} years", back)


@bp.post("/awards")
@roles_required("admin")
def award():
    return _submit(incentives.award_incentive, forms.award_values,
                   lambda a: f"awarded {_money(a.amount_cents)} from {a.programme.code} for measure "
                             f"{a.measure_id}")


@bp.post("/measures/<id:measure_id>/status")
@roles_required("admin")
def measure_status(measure_id: int):
    return _submit(measures.set_measure_status, lambda: forms.status_values(measure_id),
                   lambda m: f"measure {m.id} is now {m.status}", measure_id)


@bp.post("/awards/<id:award_id>/payments")
@roles_required("admin")
def payment(award_id: int):
    return _submit(incentives.record_payment, forms.payment_values,
                   lambda p: f"paid {_money(p.amount_cents)} against award {award_id}", award_id=award_id)
