"""The efficiency programme's API (SPEC sections 8 and 10) under ``/api/v1/efficiency``: premises, energy audits,
measures and their status, incentive programmes, awards and payments, measured savings and CSV exports.

Roles: admins read and write; auditors read everything (403 on writes); a member reads their own premises,
audits, measures and awards (another member's are absent from lists and answer 404 by id) and the programmes'
public terms. Each request is one transaction calling the services of ``energy_coop.services.efficiency``; a
refusal (422), a conflict such as an award beyond a programme's budget (409) or an unknown id (404) writes
nothing. A building's or a measure's details are corrected with PATCH (a partial body: only the fields given
change; an empty body is refused).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, g, jsonify
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from energy_coop.errors import RefusedError, RowError
from energy_coop.models import (
    HEATING_FUELS,
    INCENTIVE_RULES,
    MEASURE_CATEGORIES,
    MEASURE_STATUSES,
    MEMBER_TYPES,
    Member,
)
from energy_coop.services.efficiency import exports, incentives, measures, premises, savings, serialisers
from energy_coop.units import UnitError, parse_rate

from web.api.auth import reads, roles, sessions
from web.api.common import api_blueprint, documented
from web.api.schemas import Strict

blp = api_blueprint("efficiency", "The efficiency programme: premises, energy audits, measures, incentive "
                                  "programmes, awards and payments (SPEC 8)")

EVERYONE = ("admin", "auditor", "member")
STAFF = ("admin", "auditor")
ID = {"strict": True, "validate": validate.Range(min=1, max=2**53)}
CENTS = {"strict": True, "validate": validate.Range(min=0, max=10**13)}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _own(session) -> int | None:
    """The signed-in member's id (their records only), or None for admins and auditors (every record)."""
    if g.principal.role != "member":
        return None
    return session.scalar(select(Member.id).where(Member.member_number == g.principal.member_number))


# ------------------------------------------------------------------------------------------------ schemas


class PremisesBody(Strict):
    member_number = fields.String(required=True, validate=validate.Length(1, 64))
    address = fields.String(required=True, validate=validate.Length(1, 500))
    floor_area_m2 = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**7))
    heating_fuel = fields.String(required=True, validate=validate.OneOf(HEATING_FUELS))
    timezone = fields.String(required=True, validate=validate.Length(1, 64))
    year_built = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1000, max=3000))
    meter_code = fields.String(allow_none=True, validate=validate.Length(1, 64), metadata={
        "description": "the building's consumption meter; null: none (in a correction, unlinks it)"})


class Changes(Strict):
    """A partial body (used as ``Schema(partial=True)``): every field optional, and at least one given."""

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("nothing to change: give at least one field")


class PremisesChanges(Changes, PremisesBody):
    """What a PATCH of a building may correct: the fields of ``PremisesBody`` but the member, same rules."""

    class Meta(Strict.Meta):
        exclude = ("member_number",)


class PremisesSchema(Schema):
    id = fields.Integer(required=True)
    member_number = fields.String(required=True)
    address = fields.String(required=True)
    floor_area_m2 = fields.Integer(required=True)
    year_built = fields.Integer(required=True, allow_none=True)
    heating_fuel = fields.String(required=True)
    meter_code = fields.String(required=True, allow_none=True)
    timezone = fields.String(required=True)


class PremisesListSchema(Schema):
    premises = fields.List(fields.Nested(PremisesSchema), required=True)


class AuditBody(Strict):
    premises_id = fields.Integer(required=True, **ID)
    audit_date = fields.Date(required=True)
    auditor_name = fields.String(required=True, validate=validate.Length(1, 200))
    auditor_credential = fields.String(allow_none=True, validate=validate.Length(max=200))
    ashrae_level = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=3))
    findings = fields.String(validate=validate.Length(max=20_000))


class AuditSchema(Schema):
    id = fields.Integer(required=True)
    premises_id = fields.Integer(required=True)
    member_number = fields.String(required=True)
    audit_date = fields.String(required=True, metadata={"format": "date"})
    auditor_name = fields.String(required=True)
    auditor_credential = fields.String(required=True, allow_none=True)
    ashrae_level = fields.Integer(required=True)
    findings = fields.String(required=True, allow_none=True)


class AuditListSchema(Schema):
    audits = fields.List(fields.Nested(AuditSchema), required=True)


class MeasureBody(Strict):
    audit_id = fields.Integer(required=True, **ID)
    category = fields.String(required=True, validate=validate.OneOf(MEASURE_CATEGORIES))
    description = fields.String(required=True, validate=validate.Length(1, 500))
    cost_cents = fields.Integer(required=True, **CENTS)
    estimated_kwh_per_year = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**9))
    useful_life_years = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))


class MeasureChanges(Changes, MeasureBody):
    """What a PATCH of a measure may correct: its figures, same rules as ``MeasureBody`` (not its audit; the
    status moves through ``POST .../status``)."""

    class Meta(Strict.Meta):
        exclude = ("audit_id",)


class MeasureStatusBody(Strict):
    status = fields.String(required=True, validate=validate.OneOf(MEASURE_STATUSES))
    on = fields.Date(allow_none=True, metadata={"description": "the installation or verification date"})
    reason = fields.String(allow_none=True, validate=validate.Length(max=500),
                           metadata={"description": "why a measure is discarded"})


class MeasuresQuery(Strict):
    status = fields.String(validate=validate.OneOf(MEASURE_STATUSES))


class MeasureSchema(Schema):
    id = fields.Integer(required=True)
    audit_id = fields.Integer(required=True)
    premises_id = fields.Integer(required=True)
    member_number = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True)
    cost_cents = fields.Integer(required=True)
    estimated_kwh_per_year = fields.Integer(required=True)
    useful_life_years = fields.Integer(required=True)
    installed_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    verified_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    discard_reason = fields.String(required=True, allow_none=True)


class MeasureListSchema(Schema):
    measures = fields.List(fields.Nested(MeasureSchema), required=True)


class ProgrammeBody(Strict):
    code = fields.String(required=True, validate=validate.Length(1, 64))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    budget_cents = fields.Integer(required=True, **CENTS)
    rule = fields.String(required=True, validate=validate.OneOf(INCENTIVE_RULES))
    rate_per_kwh = fields.String(allow_none=True, validate=validate.Length(1, 32),
                                 metadata={"description": "per_kwh rule: the incentive per kWh saved a year, as an "
                                                          "exact decimal such as \"0.125\""})
    percent_bp = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=10_000),
                                metadata={"description": "percent_of_cost rule: share of the cost [basis points]"})
    cap_cents = fields.Integer(allow_none=True, **CENTS)
    low_income_bonus_bp = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))
    eligible_member_types = fields.List(fields.String(validate=validate.OneOf(MEMBER_TYPES)), required=True,
                                        validate=validate.Length(min=1))
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)


class ProgrammeSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    rule = fields.String(required=True)
    rate_per_kwh = fields.String(required=True, allow_none=True)
    rate_micros_per_kwh = fields.Integer(required=True, allow_none=True)
    percent_bp = fields.Integer(required=True, allow_none=True)
    cap_cents = fields.Integer(required=True, allow_none=True)
    low_income_bonus_bp = fields.Integer(required=True)
    eligible_member_types = fields.List(fields.String(), required=True)
    opens_on = fields.String(required=True, metadata={"format": "date"})
    closes_on = fields.String(required=True, metadata={"format": "date"})
    budget_cents = fields.Integer(required=True)
    awarded_cents = fields.Integer(required=True)
    paid_cents = fields.Integer(required=True)
    left_cents = fields.Integer(required=True)


class ProgrammeSummarySchema(ProgrammeSchema):
    awards = fields.Integer(required=True)
    open = fields.Boolean(required=True, allow_none=True)


class ProgrammeListSchema(Schema):
    programmes = fields.List(fields.Nested(ProgrammeSummarySchema), required=True)


class AwardBody(Strict):
    programme = fields.String(required=True, validate=validate.Length(1, 64))
    measure_id = fields.Integer(required=True, **ID)
    awarded_on = fields.Date(allow_none=True, metadata={"description": "default: today"})


class PaymentBody(Strict):
    amount_cents = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**13))
    paid_on = fields.Date(required=True)
    reference = fields.String(allow_none=True, validate=validate.Length(max=200))


class PaymentSchema(Schema):
    id = fields.Integer(required=True)
    award_id = fields.Integer(required=True)
    member_number = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    paid_on = fields.String(required=True, metadata={"format": "date"})
    reference = fields.String(required=True, allow_none=True)
    paid_by = fields.String(required=True)


class AwardSchema(Schema):
    id = fields.Integer(required=True)
    programme = fields.String(required=True)
    measure_id = fields.Integer(required=True)
    member_number = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    bonus_cents = fields.Integer(required=True)
    paid_cents = fields.Integer(required=True)
    awarded_on = fields.String(required=True, metadata={"format": "date"})
    awarded_by = fields.String(required=True)
    detail = fields.Dict(required=True)


class AwardDetailSchema(AwardSchema):
    payments = fields.List(fields.Nested(PaymentSchema), required=True)


class AwardListSchema(Schema):
    awards = fields.List(fields.Nested(AwardSchema), required=True)


class SavingsQuery(Strict):
    until = fields.Date(metadata={"description": "the last day measured (default: today)"})


SAVINGS = {"type": "object", "description": "measured savings (IPMVP option C): baseline model, its fit against "
                                            "ASHRAE Guideline 14, and the savings to date"}


# ------------------------------------------------------------------------------------------------ premises


@blp.route("/efficiency/premises")
@documented(blp)
@roles(*EVERYONE)
@blp.response(200, PremisesListSchema)
def premises_list():
    """Buildings in the programme (a member: their own)."""
    with reads().begin() as s:
        return {"premises": [serialisers.premises_dict(p) for p in premises.list_premises(s, member_id=_own(s))]}


@blp.route("/efficiency/premises", methods=["POST"])
@documented(blp, 403, 404, 409, 422)
@roles("admin")
@blp.arguments(PremisesBody)
@blp.response(201, PremisesSchema)
def premises_create(body: dict[str, Any]):
    """Register a member's building."""
    with sessions().begin() as s:
        return serialisers.premises_dict(premises.create_premises(s, actor=g.principal.email, **body))


@blp.route("/efficiency/premises/<int(max=9007199254740991):premises_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, PremisesSchema)
def premises_get(premises_id: int):
    """One building."""
    with reads().begin() as s:
        return serialisers.premises_dict(premises.get_premises(s, premises_id, member_id=_own(s)))


@blp.route("/efficiency/premises/<int(max=9007199254740991):premises_id>", methods=["PATCH"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(PremisesChanges(partial=True))
@blp.response(200, PremisesSchema)
def premises_update(body: dict[str, Any], premises_id: int):
    """Correct a building's address, floor area, year built, heating fuel, time zone or meter (only the fields
    given change)."""
    with sessions().begin() as s:
        return serialisers.premises_dict(premises.update_premises(s, premises_id, actor=g.principal.email, **body))


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
        return {"audits": [serialisers.audit_dict(a) for a in premises.list_audits(s, member_id=_own(s))]}


@blp.route("/efficiency/audits", methods=["POST"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(AuditBody)
@blp.response(201, AuditSchema)
def audits_create(body: dict[str, Any]):
    """Record an energy audit of a building."""
    body.setdefault("findings", "")
    with sessions().begin() as s:
        return serialisers.audit_dict(premises.record_audit(s, actor=g.principal.email, **body))


@blp.route("/efficiency/audits/<int(max=9007199254740991):audit_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, AuditSchema)
def audits_get(audit_id: int):
    """One energy audit."""
    with reads().begin() as s:
        return serialisers.audit_dict(premises.get_audit(s, audit_id, member_id=_own(s)))


# ------------------------------------------------------------------------------------------------ measures


@blp.route("/efficiency/measures")
@documented(blp, 422)
@roles(*EVERYONE)
@blp.arguments(MeasuresQuery, location="query")
@blp.response(200, MeasureListSchema)
def measures_list(query: dict[str, Any]):
    """Retrofit measures, optionally with one status (a member: their own)."""
    with reads().begin() as s:
        return {"measures": [serialisers.measure_dict(m) for m in
                             measures.list_measures(s, member_id=_own(s), status=query.get("status"))]}


@blp.route("/efficiency/measures", methods=["POST"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(MeasureBody)
@blp.response(201, MeasureSchema)
def measures_create(body: dict[str, Any]):
    """Propose a measure found by an audit."""
    with sessions().begin() as s:
        return serialisers.measure_dict(measures.propose_measure(s, actor=g.principal.email, **body))


@blp.route("/efficiency/measures/<int(max=9007199254740991):measure_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, MeasureSchema)
def measures_get(measure_id: int):
    """One measure."""
    with reads().begin() as s:
        return serialisers.measure_dict(measures.get_measure(s, measure_id, member_id=_own(s)))


@blp.route("/efficiency/measures/<int(max=9007199254740991):measure_id>", methods=["PATCH"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(MeasureChanges(partial=True))
@blp.response(200, MeasureSchema)
def measures_update(body: dict[str, Any], measure_id: int):
    """Correct a measure's category, description, cost, estimate or useful life (only the fields given change);
    422 once it is verified or discarded, and for its cost or estimate once an incentive was awarded on them."""
    with sessions().begin() as s:
        return serialisers.measure_dict(measures.update_measure(s, measure_id, actor=g.principal.email, **body))


@blp.route("/efficiency/measures/<int(max=9007199254740991):measure_id>/status", methods=["POST"])
@documented(blp, 403, 404, 422)
@roles("admin")
@blp.arguments(MeasureStatusBody)
@blp.response(200, MeasureSchema)
def measures_status(body: dict[str, Any], measure_id: int):
    """Move a measure on: approved, installed (on a date), verified (on a date), or discarded (with a reason)."""
    with sessions().begin() as s:
        return serialisers.measure_dict(measures.set_measure_status(s, measure_id, body["status"], on=body.get("on"),
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
        return serialisers.programme_dict(incentives.create_programme(s, actor=g.principal.email, **body))


@blp.route("/efficiency/programmes/<code>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, ProgrammeSchema)
def programmes_get(code: str):
    """One programme's terms and budget."""
    with reads().begin() as s:
        return serialisers.programme_dict(incentives.get_programme(s, code))


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
        return {"awards": [serialisers.award_dict(a) for a in incentives.list_awards(s, member_id=_own(s))]}


@blp.route("/efficiency/awards", methods=["POST"])
@documented(blp, 403, 404, 409, 422)
@roles("admin")
@blp.arguments(AwardBody)
@blp.response(201, AwardSchema)
def awards_create(body: dict[str, Any]):
    """Award a programme's incentive for a measure; 409 when the budget left cannot cover it."""
    with sessions().begin() as s:
        award = incentives.award_incentive(s, programme_code=body["programme"], measure_id=body["measure_id"],
                                    awarded_on=body.get("awarded_on") or _today(), actor=g.principal.email)
        return serialisers.award_dict(award)


@blp.route("/efficiency/awards/<int(max=9007199254740991):award_id>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, AwardDetailSchema)
def awards_get(award_id: int):
    """One award with its payments."""
    with reads().begin() as s:
        own = _own(s)
        award = incentives.get_award(s, award_id, member_id=own)
        payments = [serialisers.payment_dict(p) for p in incentives.list_payments(s, member_id=own) if p.award_id == award.id]
        return {**serialisers.award_dict(award), "payments": payments}


@blp.route("/efficiency/awards/<int(max=9007199254740991):award_id>/payments", methods=["POST"])
@documented(blp, 403, 404, 409, 422)
@roles("admin")
@blp.arguments(PaymentBody)
@blp.response(201, PaymentSchema)
def awards_pay(body: dict[str, Any], award_id: int):
    """Record a payment of an award; 409 beyond what is left of it."""
    with sessions().begin() as s:
        return serialisers.payment_dict(incentives.record_payment(s, award_id=award_id, actor=g.principal.email, **body))


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
