"""Efficiency programme pages (SPEC sections 8 and 10): members, admins and auditors.

* a member sees their premises, audits, measures, incentives (awards and payments) and measured savings beside
  the estimate, with a chart;
* an admin manages programmes (create; award; record payments; move measures on) and sees the budget used vs
  left, measures by status and savings estimated vs measured per programme; registers a member's premises (on
  the programme page), and records a premises' energy audits, proposes its measures and corrects the
  building's and its measures' details (on the premises page);
* an auditor sees the same as an admin, read-only, and exports every table as CSV.

The current user comes from ``flask_login.current_user`` (``.role``, ``.member``); each view opens one
transaction and calls the efficiency service. Charts are inline SVG made on the server (no script, no inline
style: the CSP forbids both). Forms carry the CSRF token when the app has CSRF protection (Flask-WTF's
``csrf_token`` in templates).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from energy_coop.db import get_sessionmaker
from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.models import HEATING_FUELS, INCENTIVE_RULES, MEASURE_CATEGORIES, MEMBER_TYPES, Member
from energy_coop.services.efficiency import exports as exports_svc
from energy_coop.services.efficiency import incentives as incentives_svc
from energy_coop.services.efficiency import measures as measures_svc
from energy_coop.services.efficiency import premises as premises_svc
from energy_coop.services.efficiency import savings as savings_svc
from energy_coop.services.efficiency import serialisers as serialisers_svc
from energy_coop.units import UnitError, format_cents, parse_cents, parse_rate
from web.security import roles_required  # noqa: E402

bp = Blueprint("efficiency", __name__, url_prefix="/efficiency", template_folder="../templates")


def _user():
    from flask_login import current_user

    if not current_user or not getattr(current_user, "is_authenticated", False):
        abort(401)
    return current_user


# The site's own role guard: signed-out visitors are sent to sign in, other roles get 403.
roles = roles_required


def _transaction():
    return get_sessionmaker(current_app.config["ENERGY_COOP"].database_url).begin()


def _member_id() -> int | None:
    """The signed-in member's id (None for staff); the web session carries the member number."""
    user = _user()
    if user.role != "member":
        return None
    number = getattr(user, "member_number", None)
    if number is None:
        abort(404)
    with _transaction() as session:
        member_id = session.scalar(select(Member.id).where(Member.member_number == number))
    if member_id is None:
        abort(404)
    return member_id


#: Prefilled in the new-premises form; premises keep their own zone (their meter readings' local days).
DEFAULT_TIMEZONE = "America/New_York"


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@bp.app_template_filter("money")
def _money(cents: int | None) -> str:
    return "" if cents is None else format_cents(cents)


@bp.app_template_filter("cents_typed")
def _cents_typed(cents: int) -> str:
    """Integer cents as an amount is typed into a form (``123456`` -> ``1234.56``, no thousands separator),
    so that a prefilled amount reads back through ``parse_cents`` as the same cents."""
    return format_cents(cents)


# ----------------------------------------------------------------------------------------------- charts

CHART_W, CHART_H, PAD_L, PAD_B, PAD_T = 640, 220, 48, 28, 10


def savings_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    """Geometry of the monthly chart: metered kWh (bars) against the baseline model (outline bars) before and
    after installation; a dashed line marks the installation."""
    if result.get("status") != "measured":
        return None
    months = [(m["month"], m["actual_kwh"], m["predicted_kwh"], False) for m in result["baseline_months"]]
    months += [(m["month"], m["actual_kwh"], m["adjusted_baseline_kwh"], True) for m in result["months"]]
    if not months:
        return None
    top = max(max(a, b) for _, a, b, _ in months) or 1
    inner_w, inner_h = CHART_W - PAD_L - 8, CHART_H - PAD_B - PAD_T
    slot = inner_w / len(months)
    bars, labels, divider = [], [], None
    for i, (month, actual, model, after) in enumerate(months):
        x = PAD_L + i * slot
        h_model, h_actual = inner_h * model / top, inner_h * actual / top
        bars.append({"x": round(x + slot * 0.1, 1), "y": round(PAD_T + inner_h - h_model, 1),
                     "w": round(slot * 0.8, 1), "h": round(max(h_model, 0), 1), "kind": "model",
                     "title": f"{month}: baseline model {model} kWh"})
        bars.append({"x": round(x + slot * 0.25, 1), "y": round(PAD_T + inner_h - h_actual, 1),
                     "w": round(slot * 0.5, 1), "h": round(max(h_actual, 0), 1),
                     "kind": "after" if after else "before", "title": f"{month}: metered {actual} kWh"})
        if i % max(1, len(months) // 8) == 0:
            labels.append({"x": round(x + slot / 2, 1), "text": month})
        if after and divider is None:
            divider = round(x, 1)
    ticks = [{"y": round(PAD_T + inner_h - inner_h * f, 1), "text": f"{round(top * f):,}"} for f in (0, 0.5, 1)]
    return {"w": CHART_W, "h": CHART_H, "bars": bars, "labels": labels, "ticks": ticks, "divider": divider,
            "base_y": PAD_T + inner_h, "label_y": CHART_H - 8, "pad_l": PAD_L, "top": PAD_T}


def budget_chart(programmes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Geometry of one horizontal bar per programme: paid, awarded-not-paid and left of the budget [cents]."""
    if not programmes:
        return None
    row_h, label_w, bar_w = 30, 140, 460
    rows = []
    for i, p in enumerate(programmes):
        budget = p["budget_cents"] or 1
        paid_w = bar_w * p["paid_cents"] / budget
        awarded_w = bar_w * (p["awarded_cents"] - p["paid_cents"]) / budget
        rows.append({"y": i * row_h + 6, "label": p["code"], "label_y": i * row_h + 21,
                     "paid_w": round(paid_w, 1), "awarded_x": round(label_w + paid_w, 1),
                     "awarded_w": round(awarded_w, 1), "left_x": round(label_w + paid_w + awarded_w, 1),
                     "left_w": round(bar_w - paid_w - awarded_w, 1),
                     "title": f"{p['code']}: budget {format_cents(p['budget_cents'])}, awarded "
                              f"{format_cents(p['awarded_cents'])} (paid {format_cents(p['paid_cents'])}), left "
                              f"{format_cents(p['left_cents'])}"})
    return {"w": label_w + bar_w + 10, "h": len(rows) * row_h + 8, "x": label_w, "rows": rows, "bar_h": 20}


# ------------------------------------------------------------------------------------------------ pages


@bp.get("/")
@roles("member", "admin", "auditor")
def index():
    user = _user()
    today = _today()
    with _transaction() as s:
        if user.role == "member":
            member_id = _member_id()
            premises = premises_svc.list_premises(s, member_id=member_id)
            savings = {p.id: savings_svc.premises_savings(s, p.id, until=today, member_id=member_id) for p in premises}
            context = dict(
                premises=[serialisers_svc.premises_dict(p) for p in premises],
                audits=[serialisers_svc.audit_dict(a) for a in premises_svc.list_audits(s, member_id=member_id)],
                measures=[serialisers_svc.measure_dict(m) for m in measures_svc.list_measures(s, member_id=member_id)],
                awards=[serialisers_svc.award_dict(a) for a in incentives_svc.list_awards(s, member_id=member_id)],
                payments=[serialisers_svc.payment_dict(p) for p in incentives_svc.list_payments(s, member_id=member_id)],
                savings=savings, charts={pid: savings_chart(r) for pid, r in savings.items()})
            return render_template("efficiency/member.html", **context)
        programmes = incentives_svc.budget_summary(s, on=today)
        context = dict(
            programmes=programmes, chart=budget_chart(programmes), by_status=measures_svc.measures_by_status(s),
            programme_savings=[savings_svc.programme_savings(s, p["code"], until=today) for p in programmes],
            measures=[serialisers_svc.measure_dict(m) for m in measures_svc.list_measures(s)],
            awards=[serialisers_svc.award_dict(a) for a in incentives_svc.list_awards(s)],
            premises=[serialisers_svc.premises_dict(p) for p in premises_svc.list_premises(s)],
            exports=exports_svc.EXPORTS, rules=INCENTIVE_RULES, member_types=MEMBER_TYPES,
            heating_fuels=HEATING_FUELS, default_timezone=DEFAULT_TIMEZONE,
            is_admin=user.role == "admin", today=today.isoformat())
        return render_template("efficiency/staff.html", **context)


@bp.get("/premises/<id:premises_id>")
@roles("member", "admin", "auditor")
def premises(premises_id: int):
    member_id = _member_id()
    is_admin = _user().role == "admin"
    with _transaction() as s:
        try:
            p = premises_svc.get_premises(s, premises_id, member_id=member_id)
        except NotFoundError:
            abort(404)
        result = savings_svc.premises_savings(s, p.id, until=_today(), member_id=member_id)
        measures = [serialisers_svc.measure_dict(m) for m in measures_svc.list_measures(s, premises_id=p.id)]
        awarded = {a.measure_id for a in incentives_svc.list_awards(s, member_id=p.member_id)} if is_admin else set()
        return render_template(
            "efficiency/premises.html", premises=serialisers_svc.premises_dict(p), savings=result, chart=savings_chart(result),
            measures=measures, audits=[serialisers_svc.audit_dict(a) for a in premises_svc.list_audits(s, premises_id=p.id)],
            is_admin=is_admin, categories=MEASURE_CATEGORIES, heating_fuels=HEATING_FUELS,
            editable={m["id"] for m in measures if m["status"] not in measures_svc.FINAL}, awarded=awarded,
            today=_today().isoformat())


@bp.get("/export/<kind>.csv")
@roles("admin", "auditor")
def export(kind: str):
    with _transaction() as s:
        try:
            text = exports_svc.export_csv(s, kind)
        except NotFoundError:
            abort(404)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="efficiency-{kind}.csv"'})


# ------------------------------------------------------------------------------------------ admin forms


def _form_action(action: Callable[[Any, str], str], back: str | None = None) -> Any:
    """Run one admin change in one transaction; flash what happened or every reason it was refused.

    Then return to ``back``, the page the form is on (default: the programme page). When the change was
    refused because the record the form is about does not exist (:class:`NotFoundError`), ``back`` would not
    exist either, so the programme page is shown instead."""
    try:
        with _transaction() as s:
            message = action(s, _user().email)
        flash(message, "ok")
    except (RefusedError, ValueError) as exc:
        if isinstance(exc, RefusedError):
            flash(exc.message + "".join(f" — {e}" for e in exc.errors), "conflict" if isinstance(
                exc, ConflictError) else "error")
        else:
            flash(str(exc), "error")
        if isinstance(exc, NotFoundError):
            back = None
    return redirect(back or url_for("efficiency.index"))


def _field(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _parsed_field(name: str, parse: Callable[[str], Any], errors: list[RowError], *,
                  required: bool = True) -> Any:
    """The form field ``name`` read through ``parse`` (text -> value, in the unit ``parse`` gives: a date,
    cents, basis points...; it raises ``ValueError``, such as :class:`UnitError`, whose text is the reason).
    A blank field is ``None`` ("is required" when ``required``); a value ``parse`` refuses is ``None`` too,
    with the reason added to ``errors`` under the field's name. A number too large for exact decimal
    arithmetic (``1e999999999``) is refused the same way, not left to crash the request."""
    raw = _field(name)
    if not raw:
        if required:
            errors.append(RowError("", name, "is required"))
        return None
    try:
        return parse(raw)
    except ValueError as exc:  # UnitError is a ValueError
        errors.append(RowError("", name, str(exc)))
        return None
    except ArithmeticError:  # decimal.Overflow, OverflowError
        errors.append(RowError("", name, f"{raw[:40]!r} is far too large a number"))
        return None


def _date(raw: str) -> dt.date:
    """``2024-05-01`` -> a date."""
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date like 2024-05-01") from None


#: The largest whole number the database stores (BIGINT); PostgreSQL refuses a larger one with an error.
_LARGEST = 2**63 - 1


def _whole_number(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number") from None
    if abs(value) > _LARGEST:
        raise ValueError(f"{raw[:40]!r} is far too large a number")
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _one_line(raw: str) -> str:
    """Text on one line (a name, an address); control characters are refused (PostgreSQL cannot store NUL)."""
    if _CONTROL.search(raw):
        raise ValueError("contains a line break or a control character; type it on one line")
    return raw


def _lines(raw: str) -> str:
    """Text that may run over several lines (an audit's findings); other control characters are refused."""
    if _CONTROL_BUT_LINES.search(raw):
        raise ValueError("contains a control character that is not a line break or a tab")
    return raw


def _cents(raw: str) -> int:
    """An amount typed as ``1234.50`` -> integer cents (123450), never negative."""
    cents = parse_cents(raw)
    if cents < 0:
        raise ValueError(f"{raw} is negative; an amount here is 0 or more")
    return cents


def _percent_bp(raw: str) -> int:
    """A percentage typed as ``30`` or ``12.5`` -> basis points (3000, 1250), exact to 0.01 %."""
    try:
        value = Decimal(raw) * 100
        if not value.is_finite() or value != value.to_integral_value():
            raise InvalidOperation
        return int(value)
    except (InvalidOperation, ValueError):
        raise ValueError(f"{raw!r} is not a percentage with at most two decimals") from None


@bp.post("/programmes")
@roles("admin")
def create_programme():
    def action(s, actor):
        errors: list[RowError] = []
        rule = _field("rule")
        rate = None
        if rule == "per_kwh":
            try:
                rate = parse_rate(_field("rate_per_kwh"))
            except UnitError as exc:
                errors.append(RowError("", "rate_per_kwh", str(exc)))
        values = dict(code=_field("code"), name=_field("name"),
                      budget_cents=_parsed_field("budget", parse_cents, errors),
                      rule=rule, rate_micros_per_kwh=rate,
                      percent_bp=_parsed_field("percent", _percent_bp, errors)
                      if rule == "percent_of_cost" else None,
                      cap_cents=_parsed_field("cap", parse_cents, errors, required=False),
                      low_income_bonus_bp=_parsed_field("bonus", _percent_bp, errors, required=False) or 0,
                      eligible_member_types=request.form.getlist("eligible_member_types"),
                      opens_on=_parsed_field("opens_on", _date, errors),
                      closes_on=_parsed_field("closes_on", _date, errors))
        if errors:
            raise RefusedError("the programme was not created", errors)
        p = incentives_svc.create_programme(s, actor=actor, **values)
        return f"programme {p.code} created with a budget of {format_cents(p.budget_cents)}"
    return _form_action(action)


@bp.post("/premises")
@roles("admin")
def create_premises():
    """Register a member's building: floor area [m²], year built, heating fuel, time zone and meter (blank:
    the member's own consumption meter)."""
    def action(s, actor):
        errors: list[RowError] = []
        values = {"member_number": _parsed_field("member_number", _one_line, errors),
                  "address": _parsed_field("address", _one_line, errors),
                  "floor_area_m2": _parsed_field("floor_area_m2", _whole_number, errors),
                  "year_built": _parsed_field("year_built", _whole_number, errors, required=False),
                  "heating_fuel": _field("heating_fuel"),
                  "timezone": _parsed_field("timezone", _one_line, errors)}
        meter_code = _parsed_field("meter_code", _one_line, errors, required=False)
        if meter_code is not None:  # left blank, the service links the member's own meter
            values["meter_code"] = meter_code
        if errors:
            raise RefusedError("the premises were not registered", errors)
        try:
            p = premises_svc.create_premises(s, actor=actor, **values)
        except NotFoundError as exc:  # the member number names nobody: a mistake in this form's field
            raise RefusedError("the premises were not registered",
                               [RowError("", "member_number", exc.message)]) from None
        return f"premises {p.id} registered for member {p.member.member_number}: {p.address}"
    return _form_action(action)


@bp.post("/premises/<id:premises_id>/audits")
@roles("admin")
def record_audit(premises_id: int):
    """Record an energy audit of a building: date, auditor, ASHRAE level 1-3, findings."""
    def action(s, actor):
        errors: list[RowError] = []
        values = {"audit_date": _parsed_field("audit_date", _date, errors),
                  "auditor_name": _parsed_field("auditor_name", _one_line, errors),
                  "auditor_credential": _parsed_field("auditor_credential", _one_line, errors,
                                                      required=False),
                  "ashrae_level": _parsed_field("ashrae_level", _whole_number, errors),
                  "findings": _parsed_field("findings", _lines, errors, required=False) or ""}
        if errors:
            raise RefusedError("the audit was not recorded", errors)
        a = premises_svc.record_audit(s, premises_id=premises_id, actor=actor, **values)
        return f"audit {a.id} of {a.audit_date} (ASHRAE level {a.ashrae_level}) recorded"
    return _form_action(action, back=url_for("efficiency.premises", premises_id=premises_id))


@bp.post("/premises/<id:premises_id>/measures")
@roles("admin")
def propose_measure(premises_id: int):
    """Propose a measure found by one of the building's audits: cost [cents, typed as 1234.50], estimated
    savings [whole kWh/year], useful life [years]."""
    def action(s, actor):
        errors: list[RowError] = []
        audit_id = _parsed_field("audit_id", _whole_number, errors)
        values = {"category": _field("category"),
                  "description": _parsed_field("description", _one_line, errors),
                  "cost_cents": _parsed_field("cost", _cents, errors),
                  "estimated_kwh_per_year": _parsed_field("estimated_kwh_per_year", _whole_number, errors),
                  "useful_life_years": _parsed_field("useful_life_years", _whole_number, errors)}
        if errors:
            raise RefusedError("the measure was not proposed", errors)
        premises_svc.get_premises(s, premises_id)  # unknown premises: NotFoundError, back to the programme page
        try:
            of_premises = premises_svc.get_audit(s, audit_id).premises_id == premises_id
        except NotFoundError:
            of_premises = False
        if not of_premises:
            raise RefusedError("the measure was not proposed",
                               [RowError("", "audit_id", f"no audit {audit_id} was made of these premises")])
        m = measures_svc.propose_measure(s, audit_id=audit_id, actor=actor, **values)
        return (f"measure {m.id} proposed: {m.description}, cost {format_cents(m.cost_cents)}, estimated "
                f"{m.estimated_kwh_per_year:,} kWh/year")
    return _form_action(action, back=url_for("efficiency.premises", premises_id=premises_id))


def _changed(current: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    """The typed values that differ from the record's: a field left blank (None) or typed as it already is
    keeps the stored value, so that e.g. an awarded measure's unchanged cost is not offered for change."""
    return {name: value for name, value in typed.items() if value is not None and value != current[name]}


def _as_typed(exc: RefusedError, names: dict[str, str]) -> RefusedError:
    """The service's refusal with its field names as the form shows them (``cost_cents`` -> ``cost``)."""
    errors = [RowError(e.where, names.get(e.field, e.field), e.reason) for e in exc.errors]
    return type(exc)(exc.message, errors)


@bp.post("/premises/<id:premises_id>/edit")
@roles("admin")
def edit_premises(premises_id: int):
    """Correct a building: address, floor area [m²], year built, heating fuel, time zone, meter. A field left
    blank or unchanged keeps its value."""
    def action(s, actor):
        errors: list[RowError] = []
        typed = {"address": _parsed_field("address", _one_line, errors, required=False),
                 "floor_area_m2": _parsed_field("floor_area_m2", _whole_number, errors, required=False),
                 "year_built": _parsed_field("year_built", _whole_number, errors, required=False),
                 "heating_fuel": _field("heating_fuel") or None,
                 "timezone": _parsed_field("timezone", _one_line, errors, required=False),
                 "meter_code": _parsed_field("meter_code", _one_line, errors, required=False)}
        if errors:
            raise RefusedError(f"premises {premises_id} were not changed", errors)
        changes = _changed(serialisers_svc.premises_dict(premises_svc.get_premises(s, premises_id)), typed)
        if not changes:
            return f"premises {premises_id}: nothing to change (every field was blank or as it was)"
        p = premises_svc.update_premises(s, premises_id, actor=actor, **changes)
        return f"premises {p.id} corrected: {', '.join(n.replace('_', ' ') for n in changes)}"
    return _form_action(action, back=url_for("efficiency.premises", premises_id=premises_id))


#: Form field -> the measure's figure it types (the cost is typed as 1234.50 and stored in cents).
_MEASURE_FIELDS = {"cost": "cost_cents"}


@bp.post("/measures/<id:measure_id>/edit")
@roles("admin")
def edit_measure(measure_id: int):
    """Correct a measure's category, description, cost [typed as 1234.50], estimated savings [whole
    kWh/year] or useful life [years] before it is verified or discarded. A field left blank or unchanged keeps
    its value; the service refuses a changed cost or estimate once an incentive was awarded on it."""
    with _transaction() as s:
        try:
            back = url_for("efficiency.premises", premises_id=measures_svc.get_measure(s, measure_id).premises_id)
        except NotFoundError:
            back = None

    def action(s, actor):
        errors: list[RowError] = []
        typed = {"category": _field("category") or None,
                 "description": _parsed_field("description", _one_line, errors, required=False),
                 "cost_cents": _parsed_field("cost", _cents, errors, required=False),
                 "estimated_kwh_per_year": _parsed_field("estimated_kwh_per_year", _whole_number, errors,
                                                         required=False),
                 "useful_life_years": _parsed_field("useful_life_years", _whole_number, errors, required=False)}
        if errors:
            raise RefusedError(f"measure {measure_id} was not changed", errors)
        changes = _changed(serialisers_svc.measure_dict(measures_svc.get_measure(s, measure_id)), typed)
        if not changes:
            return f"measure {measure_id}: nothing to change (every field was blank or as it was)"
        try:
            m = measures_svc.update_measure(s, measure_id, actor=actor, **changes)
        except RefusedError as exc:
            names = {figure: field for field, figure in _MEASURE_FIELDS.items()}
            raise _as_typed(exc, names) from None
        return (f"measure {m.id} corrected: {m.description}, cost {format_cents(m.cost_cents)}, estimated "
                f"{m.estimated_kwh_per_year:,} kWh/year, useful life {m.useful_life_years} years")
    return _form_action(action, back=back)


@bp.post("/awards")
@roles("admin")
def award():
    def action(s, actor):
        errors: list[RowError] = []
        measure_id = _parsed_field("measure_id", _whole_number, errors)
        awarded_on = _parsed_field("awarded_on", _date, errors)
        if errors:
            raise RefusedError("no award was made", errors)
        a = incentives_svc.award_incentive(s, programme_code=_field("programme"), measure_id=measure_id,
                                awarded_on=awarded_on, actor=actor)
        return f"awarded {format_cents(a.amount_cents)} from {a.programme.code} for measure {a.measure_id}"
    return _form_action(action)


@bp.post("/measures/<id:measure_id>/status")
@roles("admin")
def measure_status(measure_id: int):
    def action(s, actor):
        errors: list[RowError] = []
        on = _parsed_field("on", _date, errors, required=False)
        if errors:
            raise RefusedError(f"measure {measure_id} was not changed", errors)
        m = measures_svc.set_measure_status(s, measure_id, _field("status"), on=on, reason=_field("reason") or None,
                                   actor=actor)
        return f"measure {m.id} is now {m.status}"
    return _form_action(action)


@bp.post("/awards/<id:award_id>/payments")
@roles("admin")
def payment(award_id: int):
    def action(s, actor):
        errors: list[RowError] = []
        amount = _parsed_field("amount", parse_cents, errors)
        paid_on = _parsed_field("paid_on", _date, errors)
        if errors:
            raise RefusedError("no payment was recorded", errors)
        p = incentives_svc.record_payment(s, award_id=award_id, amount_cents=amount, paid_on=paid_on,
                               reference=_field("reference") or None, actor=actor)
        return f"paid {format_cents(p.amount_cents)} against award {award_id}"
    return _form_action(action)
