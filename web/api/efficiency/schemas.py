"""Request and response bodies of the efficiency API (their class names are the schema names of the OpenAPI
document): amounts in integer cents, energy in integer kWh/year, dates as ISO text."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from energy_coop.vocabulary import (HEATING_FUELS, INCENTIVE_RULES, MEASURE_CATEGORIES, MEASURE_STATUSES,
                                    MEMBER_TYPES)

from web.api.schemas import Strict

ID = {"strict": True, "validate": validate.Range(min=1, max=2**53)}
CENTS = {"strict": True, "validate": validate.Range(min=0, max=10**13)}


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
