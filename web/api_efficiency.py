"""JSON API of the efficiency programme (SPEC sections 8 and 10) under ``/api/v1/efficiency``.

Bearer tokens only (``Authorization: Bearer ecp_...`` from ``energy-coop users token``); no cookie, so no CSRF
exposure. Roles: admins read and write; auditors read everything (403 on writes); a member reads their own
premises, audits, measures and awards (another member's records are absent from lists and a direct id answers
404) and the programmes (public terms, no member data). Anonymous: 401. Errors are JSON
``{"error", "message", "details"}``: 400 refused input (every problem in ``details``), 403, 404, 409 conflict
(an award beyond a programme's budget, a duplicate, a payment beyond its award).

Each request opens one transaction, calls one service, and commits only if nothing was refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from flask import Blueprint, Response, current_app, jsonify, request

from energy_coop.db import get_sessionmaker
from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.services import efficiency as eff
from energy_coop.services.users import user_for_token
from energy_coop.units import UnitError, parse_rate

api_bp = Blueprint("api_efficiency", __name__, url_prefix="/api/v1/efficiency")


@dataclass(frozen=True)
class ApiUser:
    """Who is calling: ``member_id`` is set for a member (their own records only)."""

    email: str
    role: str
    member_id: int | None


class _HttpError(Exception):
    def __init__(self, status: int, error: str, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.details = status, error, message, details or []


def _current_api_user(session) -> ApiUser | None:
    """The user of the request's bearer token, or None (no, malformed, unknown or revoked token)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = user_for_token(session, token.strip())
    if user is None or not user.active:
        return None
    return ApiUser(email=user.email, role=user.role, member_id=user.member_id if user.role == "member" else None)


def _error(status: int, error: str, message: str, details: list[dict] | None = None) -> tuple[Response, int]:
    return jsonify({"error": error, "message": message, "details": details or []}), status


def _handle(fn: Callable[..., Any], *, write: bool = False, staff_only: bool = False) -> tuple[Response, int]:
    """Authenticate, authorise, run ``fn(session, user)`` in one transaction and map refusals to JSON."""
    sessions = get_sessionmaker(current_app.config["ENERGY_COOP"].database_url)
    try:
        with sessions.begin() as session:
            user = _current_api_user(session)
            if user is None:
                raise _HttpError(401, "unauthorized", "sign in: send Authorization: Bearer <token>")
            if write and user.role != "admin":
                raise _HttpError(403, "forbidden", f"a{'n' if user.role[0] in 'aeiou' else ''} {user.role} "
                                                   "cannot change the efficiency programme")
            if staff_only and user.role == "member":
                raise _HttpError(403, "forbidden", "only admins and auditors can see this")
            body, status = fn(session, user)
        return jsonify(body), status
    except _HttpError as exc:
        return _error(exc.status, exc.error, exc.message, exc.details)
    except NotFoundError as exc:
        return _error(404, "not_found", exc.message, [e.as_dict() for e in exc.errors])
    except ConflictError as exc:
        return _error(409, "conflict", exc.message, [e.as_dict() for e in exc.errors])
    except RefusedError as exc:
        return _error(400, "refused", exc.message, [e.as_dict() for e in exc.errors])


def _body(allowed: set[str], required: set[str] = frozenset(), dates: set[str] = frozenset()) -> dict[str, Any]:
    """The JSON object of the request: unknown and missing fields refused, ``dates`` parsed from YYYY-MM-DD."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise RefusedError("the request body must be a JSON object")
    errors = [RowError("", k, "unknown field") for k in sorted(set(data) - allowed)]
    errors += [RowError("", k, "is required") for k in sorted(required - set(data))]
    out = dict(data)
    for name in dates & set(data):
        value = data[name]
        if value is None:
            continue
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            out[name] = dt.date.fromisoformat(value)
        except ValueError:
            errors.append(RowError("", name, f"{value!r} is not a date like 2024-05-01"))
    if errors:
        raise RefusedError("the request was refused, nothing was saved", errors)
    return out


def _int_id(value: str) -> int:
    return int(value)


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


# ------------------------------------------------------------------------------------------------ premises


@api_bp.get("/premises")
def premises_list():
    return _handle(lambda s, u: ({"premises": [eff.premises_dict(p) for p in
                                               eff.list_premises(s, member_id=u.member_id)]}, 200))


@api_bp.post("/premises")
def premises_create():
    def run(s, u):
        b = _body({"member_number", "address", "floor_area_m2", "heating_fuel", "timezone", "year_built",
                   "meter_code"}, {"member_number", "address", "floor_area_m2", "heating_fuel", "timezone"})
        p = eff.create_premises(s, actor=u.email, **b)
        return eff.premises_dict(p), 201
    return _handle(run, write=True)


@api_bp.get("/premises/<int:premises_id>")
def premises_get(premises_id: int):
    return _handle(lambda s, u: (eff.premises_dict(eff.get_premises(s, premises_id, member_id=u.member_id)), 200))


@api_bp.get("/premises/<int:premises_id>/savings")
def premises_savings(premises_id: int):
    def run(s, u):
        until = _query_date("until") or _today()
        return eff.premises_savings(s, premises_id, until=until, member_id=u.member_id), 200
    return _handle(run)


def _query_date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise RefusedError(f"{name}={raw!r} is not a date like 2024-05-01") from None


# -------------------------------------------------------------------------------------------------- audits


@api_bp.get("/audits")
def audits_list():
    return _handle(lambda s, u: ({"audits": [eff.audit_dict(a) for a in eff.list_audits(s, member_id=u.member_id)]},
                                 200))


@api_bp.post("/audits")
def audits_create():
    def run(s, u):
        b = _body({"premises_id", "audit_date", "auditor_name", "auditor_credential", "ashrae_level", "findings"},
                  {"premises_id", "audit_date", "auditor_name", "ashrae_level"}, {"audit_date"})
        if type(b["premises_id"]) is not int:  # noqa: E721
            raise RefusedError("premises_id must be a whole number")
        a = eff.record_audit(s, actor=u.email, **b)
        return eff.audit_dict(a), 201
    return _handle(run, write=True)


@api_bp.get("/audits/<int:audit_id>")
def audits_get(audit_id: int):
    return _handle(lambda s, u: (eff.audit_dict(eff.get_audit(s, audit_id, member_id=u.member_id)), 200))


# ------------------------------------------------------------------------------------------------ measures


@api_bp.get("/measures")
def measures_list():
    def run(s, u):
        status = request.args.get("status")
        return {"measures": [eff.measure_dict(m) for m in eff.list_measures(s, member_id=u.member_id,
                                                                            status=status)]}, 200
    return _handle(run)


@api_bp.post("/measures")
def measures_create():
    def run(s, u):
        fields = {"audit_id", "category", "description", "cost_cents", "estimated_kwh_per_year", "useful_life_years"}
        b = _body(fields, fields)
        if type(b["audit_id"]) is not int:  # noqa: E721
            raise RefusedError("audit_id must be a whole number")
        return eff.measure_dict(eff.propose_measure(s, actor=u.email, **b)), 201
    return _handle(run, write=True)


@api_bp.get("/measures/<int:measure_id>")
def measures_get(measure_id: int):
    return _handle(lambda s, u: (eff.measure_dict(eff.get_measure(s, measure_id, member_id=u.member_id)), 200))


@api_bp.post("/measures/<int:measure_id>/status")
def measures_status(measure_id: int):
    def run(s, u):
        b = _body({"status", "on", "reason"}, {"status"}, {"on"})
        m = eff.set_measure_status(s, measure_id, b["status"], on=b.get("on"), reason=b.get("reason"), actor=u.email)
        return eff.measure_dict(m), 200
    return _handle(run, write=True)


# ---------------------------------------------------------------------------------------------- programmes

PROGRAMME_FIELDS = {"code", "name", "budget_cents", "rule", "rate_per_kwh", "percent_bp", "cap_cents",
                    "low_income_bonus_bp", "eligible_member_types", "opens_on", "closes_on"}


@api_bp.get("/programmes")
def programmes_list():
    return _handle(lambda s, u: ({"programmes": eff.budget_summary(s, on=_today())}, 200))


@api_bp.post("/programmes")
def programmes_create():
    def run(s, u):
        b = _body(PROGRAMME_FIELDS, {"code", "name", "budget_cents", "rule", "eligible_member_types", "opens_on",
                                     "closes_on"}, {"opens_on", "closes_on"})
        rate = b.pop("rate_per_kwh", None)
        if rate is not None:
            try:
                b["rate_micros_per_kwh"] = parse_rate(rate if isinstance(rate, str) else str(rate))
            except UnitError as exc:
                raise RefusedError("cannot create the programme", [RowError("", "rate_per_kwh", str(exc))]) from None
        b.setdefault("low_income_bonus_bp", 0)
        return eff.programme_dict(eff.create_programme(s, actor=u.email, **b)), 201
    return _handle(run, write=True)


@api_bp.get("/programmes/<code>")
def programmes_get(code: str):
    return _handle(lambda s, u: (eff.programme_dict(eff.get_programme(s, code)), 200))


@api_bp.get("/programmes/<code>/savings")
def programmes_savings(code: str):
    def run(s, u):
        return eff.programme_savings(s, code, until=_query_date("until") or _today()), 200
    return _handle(run, staff_only=True)


# -------------------------------------------------------------------------------------------------- awards


@api_bp.get("/awards")
def awards_list():
    return _handle(lambda s, u: ({"awards": [eff.award_dict(a) for a in eff.list_awards(s, member_id=u.member_id)]},
                                 200))


@api_bp.post("/awards")
def awards_create():
    def run(s, u):
        b = _body({"programme", "measure_id", "awarded_on"}, {"programme", "measure_id"}, {"awarded_on"})
        if type(b["measure_id"]) is not int or not isinstance(b["programme"], str):  # noqa: E721
            raise RefusedError("programme must be a code and measure_id a whole number")
        award = eff.award_incentive(s, programme_code=b["programme"], measure_id=b["measure_id"],
                                    awarded_on=b.get("awarded_on") or _today(), actor=u.email)
        return eff.award_dict(award), 201
    return _handle(run, write=True)


@api_bp.get("/awards/<int:award_id>")
def awards_get(award_id: int):
    def run(s, u):
        award = eff.get_award(s, award_id, member_id=u.member_id)
        payments = [eff.payment_dict(p) for p in eff.list_payments(s, member_id=u.member_id)
                    if p.award_id == award.id]
        return {**eff.award_dict(award), "payments": payments}, 200
    return _handle(run)


@api_bp.post("/awards/<int:award_id>/payments")
def awards_pay(award_id: int):
    def run(s, u):
        b = _body({"amount_cents", "paid_on", "reference"}, {"amount_cents", "paid_on"}, {"paid_on"})
        payment = eff.record_payment(s, award_id=award_id, actor=u.email, **b)
        return eff.payment_dict(payment), 201
    return _handle(run, write=True)


# ------------------------------------------------------------------------------------------------- exports


@api_bp.get("/exports/<kind>.csv")
def export(kind: str):
    sessions = get_sessionmaker(current_app.config["ENERGY_COOP"].database_url)
    with sessions.begin() as s:
        user = _current_api_user(s)
        if user is None:
            return _error(401, "unauthorized", "sign in: send Authorization: Bearer <token>")
        if user.role == "member":
            return _error(403, "forbidden", "only admins and auditors can export")
        try:
            text = eff.export_csv(s, kind)
        except NotFoundError as exc:
            return _error(404, "not_found", exc.message)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="efficiency-{kind}.csv"'})
