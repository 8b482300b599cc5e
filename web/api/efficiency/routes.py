"""The efficiency API's operations: each parses its input with :mod:`web.api.efficiency.schemas`, calls the
efficiency services in one transaction (reads on the read-only sessions) and answers their records as dicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, g, jsonify

from energy_coop.errors import RefusedError, RowError
from energy_coop.services.efficiency import exports, incentives, measures, premises, savings
from energy_coop.services.efficiency.serialisers import (audit_dict, award_dict, measure_dict, payment_dict,
                                                         premises_dict, programme_dict)
from energy_coop.units import UnitError, parse_rate
from energy_coop.vocabulary import STAFF_ROLES

from web.api.auth import reads, roles, sessions
from web.api.common import documented
from web.api.efficiency import blp
from web.api.efficiency.schemas import (SAVINGS, AuditBody, AuditListSchema, AuditSchema, AwardBody,
                                        AwardDetailSchema, AwardListSchema, AwardSchema, MeasureBody,
                                        MeasureChanges, MeasureListSchema, MeasureSchema, MeasureStatusBody,
                                        MeasuresQuery, PaymentBody, PaymentSchema, PremisesBody,
                                        PremisesChanges, PremisesListSchema, PremisesSchema, ProgrammeBody,
                                        ProgrammeListSchema, ProgrammeSchema, SavingsQuery)

EVERYONE = ("admin", "auditor", "member")
STAFF = STAFF_ROLES


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _own(session) -> int | None:
    """The signed-in member's id (their records only), or None for admins and auditors (every record)."""
    if g.principal.role != "member":
        return None
    return premises.member_id_of(session, g.principal.member_number)


# ------------------------------------------------------------------------------------------------ premises


@blp.route("/efficiency/premises")
@documented(blp)
@roles(*EVERYONE)
@blp.response(200, PremisesListSchema)
def premises_list():
    """Buildings in the programme (a member: their own)."""
    with reads().begin() as s:
        return {"premises": [premises_dict(p) for p in premises.list_premises(s, member_id=_own(s))]}


@blp.route("/efficiency/premises", methods=["POST"])
@documented(blp, 403, 404, 409, 422)
@roles("admin")
@blp.arguments(PremisesBody)
@blp.response(201, PremisesSchema)
def premises_create(body: dict[str, Any]):
    """Register a member's building."""
    with sessions().begin() as s:
        return premises_dict(premises.create_premises(s, actor=g.principal.email, **body))


@blp.route("/efficiency/premises/<int(max=9007199254740991):premises_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, PremisesSchema)
def premises_get(premises_id: int):
    """One building."""
    with reads().begin() as s:
        return premises_dict(premises.get_premises(s, premises_id, member_id=_own(s)))


@blp.route("/efficiency/premises/<int(max=9007199254740991):premises_id>", methods=["PATCH"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(PremisesChanges(partial=True))
@blp.response(200, PremisesSchema)
def premises_update(body: dict[str, Any], premises_id: int):
    """Correct a building's address, floor area, year built, heating fuel, time zone or meter (only the fields
    given change)."""
    with sessions().begin() as s:
        return premises_dict(premises.update_premises(s, premises_id, actor=g.principal.email, **body))


@blp.route("/efficiency/premises/<int(max=9007199254740991):premises_id>/savings")
@documented(blp, 404, 422)
@roles(*EVERYONE)
@blp.arguments(SavingsQuery, location="query")
@blp.response(200, SAVINGS)
def premises_savings(query: dict[str, Any], premises_id: int):
    """Savings of one building measured against its meter (weather-normalised baseline)."""
    with reads().begin() as s:
        doc = savings.premises_savings(s, premises_id, until=query.get("until") or _today(), member_id=_own(s))
    return jsonify(doc)  # a document of the savings calculation, described (not validated) by SAVINGS


# -------------------------------------------------------------------------------------------------- audits


@blp.route("/efficiency/audits")
@documented(blp)
@roles(*EVERYONE)
@blp.response(200, AuditListSchema)
def audits_list():
    """Energy audits (a member: of their own buildings)."""
    with reads().begin() as s:
        return {"audits": [audit_dict(a) for a in premises.list_audits(s, member_id=_own(s))]}


@blp.route("/efficiency/audits", methods=["POST"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(AuditBody)
@blp.response(201, AuditSchema)
def audits_create(body: dict[str, Any]):
    """Record an energy audit of a building."""
    body.setdefault("findings", "")
    with sessions().begin() as s:
        return audit_dict(premises.record_audit(s, actor=g.principal.email, **body))


@blp.route("/efficiency/audits/<int(max=9007199254740991):audit_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, AuditSchema)
def audits_get(audit_id: int):
    """One energy audit."""
    with reads().begin() as s:
        return audit_dict(premises.get_audit(s, audit_id, member_id=_own(s)))


# ------------------------------------------------------------------------------------------------ measures


@blp.route("/efficiency/measures")
@documented(blp, 422)
@roles(*EVERYONE)
@blp.arguments(MeasuresQuery, location="query")
@blp.response(200, MeasureListSchema)
def measures_list(query: dict[str, Any]):
    """Retrofit measures, optionally with one status (a member: their own)."""
    with reads().begin() as s:
        return {"measures": [measure_dict(m) for m in
                             measures.list_measures(s, member_id=_own(s), status=query.get("status"))]}


@blp.route("/efficiency/measures", methods=["POST"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(MeasureBody)
@blp.response(201, MeasureSchema)
def measures_create(body: dict[str, Any]):
    """Propose a measure found by an audit."""
    with sessions().begin() as s:
        return measure_dict(measures.propose_measure(s, actor=g.principal.email, **body))


@blp.route("/efficiency/measures/<int(max=9007199254740991):measure_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, MeasureSchema)
def measures_get(measure_id: int):
    """One measure."""
    with reads().begin() as s:
        return measure_dict(measures.get_measure(s, measure_id, member_id=_own(s)))


@blp.route("/efficiency/measures/<int(max=9007199254740991):measure_id>", methods=["PATCH"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(MeasureChanges(partial=True))
@blp.response(200, MeasureSchema)
def measures_update(body: dict[str, Any], measure_id: int):
    """Correct a measure's category, description, cost, estimate or useful life (only the fields given change);
    422 once it is verified or discarded, and for its cost or estimate once an incentive was awarded on them."""
    with sessions().begin() as s:
        return measure_dict(measures.update_measure(s, measure_id, actor=g.principal.email, **body))


@blp.route("/efficiency/measures/<int(max=9007199254740991):measure_id>/status", methods=["POST"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(MeasureStatusBody)
@blp.response(200, MeasureSchema)
def measures_status(body: dict[str, Any], measure_id: int):
    """Move a measure on: approved, installed (on a date), verified (on a date), or discarded (with a reason)."""
    with sessions().begin() as s:
        return measure_dict(measures.set_measure_status(s, measure_id, body["status"], on=body.get("on"),
                                                        reason=body.get("reason"), actor=g.principal.email))


# ---------------------------------------------------------------------------------------------- programmes


@blp.route("/efficiency/programmes")
@documented(blp)
@roles(*EVERYONE)
@blp.response(200, ProgrammeListSchema)
def programmes_list():
    """Incentive programmes with their budget awarded, paid and left [cents], and whether each is open today."""
    with reads().begin() as s:
        return {"programmes": incentives.budget_summary(s, on=_today())}


@blp.route("/efficiency/programmes", methods=["POST"])
@documented(blp, 403, 409, 422)
@roles("admin")
@blp.arguments(ProgrammeBody)
@blp.response(201, ProgrammeSchema)
def programmes_create(body: dict[str, Any]):
    """Open an incentive programme: per kWh saved a year, or a share of the cost, within a budget."""
    rate = body.pop("rate_per_kwh", None)
    if rate is not None:
        try:
            body["rate_micros_per_kwh"] = parse_rate(rate)
        except UnitError as exc:
            raise RefusedError("cannot create the programme", [RowError("", "rate_per_kwh", str(exc))]) from None
    body.setdefault("low_income_bonus_bp", 0)
    with sessions().begin() as s:
        return programme_dict(incentives.create_programme(s, actor=g.principal.email, **body))


@blp.route("/efficiency/programmes/<code>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, ProgrammeSchema)
def programmes_get(code: str):
    """One programme's terms and budget."""
    with reads().begin() as s:
        return programme_dict(incentives.get_programme(s, code))


@blp.route("/efficiency/programmes/<code>/savings")
@documented(blp, 403, 404, 422)
@roles(*STAFF)
@blp.arguments(SavingsQuery, location="query")
@blp.response(200, SAVINGS)
def programmes_savings(query: dict[str, Any], code: str):
    """Measured savings of every building with a measure awarded by the programme (admins and auditors)."""
    with reads().begin() as s:
        doc = savings.programme_savings(s, code, until=query.get("until") or _today())
    return jsonify(doc)


# -------------------------------------------------------------------------------------------------- awards


@blp.route("/efficiency/awards")
@documented(blp)
@roles(*EVERYONE)
@blp.response(200, AwardListSchema)
def awards_list():
    """Incentive awards (a member: their own)."""
    with reads().begin() as s:
        return {"awards": [award_dict(a) for a in incentives.list_awards(s, member_id=_own(s))]}


@blp.route("/efficiency/awards", methods=["POST"])
@documented(blp, 403, 404, 409, 422)
@roles("admin")
@blp.arguments(AwardBody)
@blp.response(201, AwardSchema)
def awards_create(body: dict[str, Any]):
    """Award a programme's incentive for a measure; 409 when the budget left cannot cover it."""
    with sessions().begin() as s:
        award = incentives.award_incentive(s, programme_code=body["programme"], measure_id=body["measure_id"],
                                           awarded_on=body.get("awarded_on") or _today(),
                                           actor=g.principal.email)
        return award_dict(award)


@blp.route("/efficiency/awards/<int(max=9007199254740991):award_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, AwardDetailSchema)
def awards_get(award_id: int):
    """One award with its payments."""
    with reads().begin() as s:
        own = _own(s)
        award = incentives.get_award(s, award_id, member_id=own)
        payments = [payment_dict(p) for p in incentives.list_payments(s, member_id=own) if p.award_id == award.id]
        return {**award_dict(award), "payments": payments}


@blp.route("/efficiency/awards/<int(max=9007199254740991):award_id>/payments", methods=["POST"])
@documented(blp, 403, 404, 409, 422)
@roles("admin")
@blp.arguments(PaymentBody)
@blp.response(201, PaymentSchema)
def awards_pay(body: dict[str, Any], award_id: int):
    """Record a payment of an award; 409 beyond what is left of it."""
    with sessions().begin() as s:
        return payment_dict(incentives.record_payment(s, award_id=award_id, actor=g.principal.email, **body))


# ------------------------------------------------------------------------------------------------- exports


@blp.route("/efficiency/exports/<kind>.csv")
@documented(blp, 403, 404)
@roles(*STAFF)
@blp.response(200, {"type": "string"}, content_type="text/csv")
def export(kind: str):
    """One table of the programme as CSV (admins and auditors): premises, audits, measures, programmes, awards or
    payments."""
    with reads().begin() as s:
        text = exports.export_csv(s, kind)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="efficiency-{kind}.csv"'})
