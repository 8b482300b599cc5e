"""marshmallow schemas of the API: query strings and bodies (validated, unknown fields refused) and responses
(documented in the OpenAPI document; energy in integer Wh, money in integer cents, times in ISO 8601)."""

from __future__ import annotations

import datetime as dt

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from energy_coop.period import Period as Month

MAX_CODE = 64  # longest member number / asset code / meter code the registers hold [characters]
FIRST_YEAR, LAST_YEAR = 1900, 2999  # months and days the API takes (the ledger's are far inside)
PERIOD_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
PERIOD_PARAMETER = {"in": "path", "name": "period", "required": True, "description": "a month, YYYY-MM",
                    "schema": {"type": "string", "pattern": PERIOD_PATTERN, "example": "2024-02"}}


def check_period(value: str) -> None:
    """Refuse (ValidationError) anything but a month ``YYYY-MM`` between 1900-01 and 2999-12."""
    try:
        year = Month.parse(value).year
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if value != value.strip():
        raise ValidationError(f"{value!r} has spaces around it; write YYYY-MM, e.g. 2024-03")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(f"{value!r} is out of range: choose a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12")


class Period(fields.String):
    """A calendar month ``YYYY-MM``."""

    def __init__(self, **kwargs):
        metadata = {"pattern": PERIOD_PATTERN, "example": "2024-02", **kwargs.pop("metadata", {})}
        super().__init__(validate=check_period, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 7:
            raise ValidationError(f"{text[:20]!r} is not a month; write YYYY-MM, e.g. 2024-03")
        return text


class JsonBoolean(fields.Boolean):
    """A JSON ``true`` or ``false`` only (marshmallow would also take 1, "yes", "on"...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("write true or false")
        return value


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class ErrorProblemSchema(Schema):
    where = fields.String(required=True, metadata={"description": "where the problem is: query, json, line 12..."})
    field = fields.String(required=True, metadata={"description": "the parameter, column or element"})
    reason = fields.String(required=True)
    line = fields.Integer(metadata={"description": "line number, for a problem in a file"})


class ErrorSchema(Schema):
    """Every API error."""

    error = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    details = fields.List(fields.Nested(ErrorProblemSchema), required=True)
    report = fields.Dict(metadata={"description": "a refused import's report (SPEC 4)"})


# ------------------------------------------------------------------------------------------------ queries


class PageQuery(Strict):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000),
                           metadata={"description": "how many at most (1-1000)"})


class MembersQuery(PageQuery):
    after = fields.String(validate=validate.Length(1, MAX_CODE),
                          metadata={"description": "list members whose number sorts after this one "
                                                   "(the next_after of the previous page)"})


class CreditsQuery(Strict):
    from_ = Period(data_key="from", metadata={"description": "first month, YYYY-MM (default: the first)"})
    to = Period(metadata={"description": "last month, YYYY-MM (default: the last)"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError(f"'from' ({data['from_']}) is after 'to' ({data['to']})", "from")


class DateRangeQuery(Strict):
    from_ = fields.Date(data_key="from", metadata={"description": "first local day, YYYY-MM-DD"})
    to = fields.Date(metadata={"description": "last local day (inclusive), YYYY-MM-DD"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError(f"'from' ({data['from_']}) is after 'to' ({data['to']})", "from")
        for key in ("from_", "to"):
            day = data.get(key)
            if day is not None and not dt.date(FIRST_YEAR, 1, 1) <= day <= dt.date(LAST_YEAR, 12, 31):
                raise ValidationError(f"choose a day from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31",
                                      key.rstrip("_"))


class ProductionQuery(DateRangeQuery):
    resolution = fields.String(load_default="day", validate=validate.OneOf(("hour", "day", "month")))


class LedgerQuery(Strict):
    period = Period(metadata={"description": "only this month's entries"})
    after_seq = fields.Integer(load_default=0, validate=validate.Range(0, 2**62),
                               metadata={"description": "list entries after this seq (the next_after_seq of "
                                                        "the previous page)"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 10_000))


class AllocationBody(Strict):
    post = JsonBoolean(load_default=False, metadata={"description": "post the month (else a draft)"})
    repost = JsonBoolean(load_default=False, metadata={"description": "replace a posted month"})
    allow_gaps = JsonBoolean(load_default=False, metadata={"description": "post despite coverage < 100 %"})


class ImportForm(Strict):
    meter = fields.String(validate=validate.Length(1, MAX_CODE),
                          metadata={"description": "meter code for a Green Button file with one UsagePoint"})
    timezone = fields.String(validate=validate.Length(1, 64),
                             metadata={"description": "IANA zone for naive timestamps"})
    skip_invalid = fields.Boolean(load_default=False,
                                  metadata={"description": "import the valid rows; the rejected ones are listed"})
    profile = fields.String(validate=validate.Length(1, 64),
                            metadata={"description": "import profile for a utility's export (SPEC 20; see "
                                      "GET /import-profiles); default: detect the layout"})


# ------------------------------------------------------------------------------------------------ responses


class MeSchema(Schema):
    email = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(("admin", "auditor", "member")))
    member_number = fields.String(required=True, allow_none=True)


class HoldingSchema(Schema):
    asset_code = fields.String(required=True)
    shares = fields.Integer(required=True)


class MemberSchema(Schema):
    member_number = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True, allow_none=True)
    member_type = fields.String(required=True)
    joined_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    low_income = fields.Boolean(required=True)
    annual_usage_wh = fields.Integer(required=True, allow_none=True, metadata={"description": "[Wh/year]"})
    meter_code = fields.String(required=True, allow_none=True)


class MemberDetailSchema(MemberSchema):
    shares = fields.List(fields.Nested(HoldingSchema), required=True,
                         metadata={"description": "shares held today, per asset"})


class MemberPageSchema(Schema):
    members = fields.List(fields.Nested(MemberSchema), required=True)
    next_after = fields.String(required=True, allow_none=True)


class AssetCreditSchema(Schema):
    asset_code = fields.String(required=True)
    wh = fields.Integer(required=True, metadata={"description": "[Wh]"})
    cents = fields.Integer(required=True, metadata={"description": "[cents]"})


class MonthCreditSchema(Schema):
    period = fields.String(required=True)
    wh = fields.Integer(required=True, metadata={"description": "[Wh]"})
    cents = fields.Integer(required=True, metadata={"description": "[cents]"})
    assets = fields.List(fields.Nested(AssetCreditSchema), required=True)


class CreditsSchema(Schema):
    member_number = fields.String(required=True)
    balance_wh = fields.Integer(required=True, metadata={"description": "every ledger entry summed [Wh]"})
    balance_cents = fields.Integer(required=True, metadata={"description": "every ledger entry summed [cents]"})
    months = fields.List(fields.Nested(MonthCreditSchema), required=True)


class AmountSchema(Schema):
    wh = fields.Integer(required=True)
    cents = fields.Integer(required=True)


class StatementCreditSchema(AssetCreditSchema):
    asset_name = fields.String(required=True)


class EarlierMonthSchema(Schema):
    """Credits booked in this month for an earlier month, per (month, asset): a late posting or a repost."""

    period = fields.String(required=True, metadata={"description": "the month they are for (YYYY-MM)"})
    asset_code = fields.String(required=True)
    asset_name = fields.String(required=True)
    label = fields.String(required=True, metadata={
        "description": '"credits for YYYY-MM" (allocations only) or "correction of YYYY-MM" (a repost)'})
    correction = fields.Boolean(required=True, metadata={"description": "reversals are among them (a repost)"})
    wh = fields.Integer(required=True, metadata={"description": "[Wh], net of reversals"})
    cents = fields.Integer(required=True, metadata={"description": "[cents], net of reversals"})


class OtherEntrySchema(Schema):
    seq = fields.Integer(required=True)
    kind = fields.String(required=True)
    date = fields.String(required=True)
    memo = fields.String(required=True)
    wh = fields.Integer(required=True)
    cents = fields.Integer(required=True)
    period = fields.String(required=True, allow_none=True, metadata={
        "description": "the month it is for, when that is not the statement's month (else null)"})


class StatementSchema(Schema):
    """A statement by booked month (SPEC 13): closing = opening + credits + earlier months + other entries."""

    member_number = fields.String(required=True)
    name = fields.String(required=True)
    period = fields.String(required=True, metadata={"description": "the statement's month (entries booked in it)"})
    number = fields.String(required=True, allow_none=True, metadata={"description": "e.g. 2026-11-1001"})
    issued_at = fields.String(required=True, allow_none=True, metadata={"description": "ISO 8601 UTC"})
    opening_balance = fields.Nested(AmountSchema, required=True, metadata={
        "description": "every entry booked before the month: the previous statement's closing balance"})
    credits = fields.List(fields.Nested(StatementCreditSchema), required=True, metadata={
        "description": "the month's own credits by asset"})
    credits_total = fields.Nested(AmountSchema, required=True)
    earlier_months = fields.List(fields.Nested(EarlierMonthSchema), required=True)
    earlier_total = fields.Nested(AmountSchema, required=True)
    other_entries = fields.List(fields.Nested(OtherEntrySchema), required=True)
    closing_balance = fields.Nested(AmountSchema, required=True)
    stale = fields.Boolean(required=True, metadata={"description": "readings were revised after posting"})


class AssetSchema(Schema):
    asset_code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("solar", "storage")))
    meter_code = fields.String(required=True)
    timezone = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    altitude_m = fields.Float(required=True, allow_none=True)
    total_shares = fields.Integer(required=True)
    commissioned_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    capacity_kw_dc = fields.Float(required=True, allow_none=True)
    capacity_kw_ac = fields.Float(required=True, allow_none=True)
    tilt_deg = fields.Float(required=True, allow_none=True)
    azimuth_deg = fields.Float(required=True, allow_none=True)
    losses_pct = fields.Float(required=True, allow_none=True)
    array_type = fields.String(required=True, allow_none=True)
    storage_kwh = fields.Float(required=True, allow_none=True)
    storage_kw = fields.Float(required=True, allow_none=True)
    roundtrip_efficiency = fields.Float(required=True, allow_none=True)


class AssetListSchema(Schema):
    assets = fields.List(fields.Nested(AssetSchema), required=True)


class ProductionPointSchema(Schema):
    start = fields.String(required=True, metadata={"description": "bucket start, ISO 8601 in the asset's zone"})
    wh = fields.Integer(required=True, metadata={"description": "[Wh]"})
    readings = fields.Integer(required=True)


class ProductionSchema(Schema):
    asset_code = fields.String(required=True)
    timezone = fields.String(required=True)
    resolution = fields.String(required=True)
    from_ = fields.String(required=True, data_key="from", attribute="from")
    to = fields.String(required=True)
    points = fields.List(fields.Nested(ProductionPointSchema), required=True)
    total_wh = fields.Integer(required=True, metadata={"description": "[Wh]"})


class ForecastPointSchema(Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    wh = fields.Integer(required=True, metadata={"description": "expected AC energy [Wh]"})
    wh_low = fields.Integer(required=True, allow_none=True)
    wh_high = fields.Integer(required=True, allow_none=True)
    source = fields.String(required=True)


class ForecastSchema(Schema):
    asset_code = fields.String(required=True)
    from_ = fields.String(required=True, data_key="from", attribute="from")
    to = fields.String(required=True)
    points = fields.List(fields.Nested(ForecastPointSchema), required=True)
    total_wh = fields.Integer(required=True)


class MoreLikeThisSchema(Schema):
    """The last listed error of a kind that recurred, and how many more of it were not listed."""

    where = fields.String(required=True)
    field = fields.String(required=True)
    reason = fields.String(required=True)
    line = fields.Integer()
    more = fields.Integer(required=True)


class ReadingFlagSchema(Schema):
    """Readings stored but flagged (SPEC 20): a solar meter's negative beyond its standby draw."""

    meter_code = fields.String(required=True)
    check = fields.String(required=True, metadata={"description": "wrong_sign"})
    count = fields.Integer(required=True)
    months = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    first = fields.List(fields.String(), required=True, metadata={"description": "where the first ones are"})
    standby_w = fields.Integer(required=True, metadata={"description": "standby draw allowed [W]"})
    message = fields.String(required=True)


class ImportReportSchema(Schema):
    """One element of SPEC 4's ``import --json`` ``files`` list."""

    file = fields.String(required=True)
    sha256 = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("imported", "partial", "duplicate", "refused")))
    meters = fields.List(fields.String(), required=True)
    accepted = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    revised = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    errors = fields.List(fields.Nested(ErrorProblemSchema), required=True)
    errors_not_listed = fields.Integer()
    more_like_this = fields.List(fields.Nested(MoreLikeThisSchema))
    flags = fields.List(fields.Nested(ReadingFlagSchema))
    hints = fields.List(fields.String(), metadata={"description": "options that may help: meter"})
    skipped = fields.List(fields.String())
    notes = fields.List(fields.String())
    stale_periods = fields.List(fields.String())
    batch_id = fields.Integer(allow_none=True)
    profile = fields.String(metadata={"description": "the import profile the file was read with (SPEC 20)"})


class ImportProfileSchema(Schema):
    """One import profile (SPEC 20): a built-in or an administrator's, and the layout it reads."""

    name = fields.String(required=True)
    description = fields.String(required=True)
    layout = fields.String(required=True, validate=validate.OneOf(("table", "blocks")))
    built_in = fields.Boolean(required=True)
    columns = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                          metadata={"description": "role (period, start, end, date, energy, delivered, received) -> "
                                    "the header names accepted"})
    blocks = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "channel -> the label lines that open its blocks"})
    timing = fields.String(required=True, validate=validate.OneOf(("period", "start-end", "start", "end")))
    formats = fields.List(fields.String(), required=True)
    timezone = fields.String(allow_none=True, required=True)
    ambiguous = fields.String(required=True)
    interval_minutes = fields.Integer(allow_none=True, required=True)
    unit = fields.String(required=True)
    decimal = fields.String(required=True)
    channel = fields.String(allow_none=True, required=True)
    cumulative = fields.Boolean(required=True)
    reset = fields.String(allow_none=True, required=True)
    added_by = fields.String(allow_none=True, required=True)
    added_at = fields.String(allow_none=True, required=True)


class ImportProfilesSchema(Schema):
    profiles = fields.List(fields.Nested(ImportProfileSchema), required=True)


class HolderSchema(Schema):
    holder = fields.String(required=True)
    shares_days = fields.Integer(required=True)
    wh = fields.Integer(required=True)
    cents = fields.Integer(required=True)


class AllocationAssetSchema(Schema):
    asset_code = fields.String(required=True)
    coverage = fields.String(required=True, metadata={"example": "1.0000"})
    wh = fields.Integer(required=True)
    cents = fields.Integer(required=True)
    holders = fields.List(fields.Nested(HolderSchema), required=True)


class AllocationMemberSchema(Schema):
    member_number = fields.String(required=True)
    wh = fields.Integer(required=True)
    cents = fields.Integer(required=True)


class AllocationSchema(Schema):
    """SPEC 5's ``allocate --json`` document, plus ``messages`` (what a repost did)."""

    period = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("draft", "posted")))
    run_id = fields.Integer(required=True, allow_none=True)
    assets = fields.List(fields.Nested(AllocationAssetSchema), required=True)
    members = fields.List(fields.Nested(AllocationMemberSchema), required=True)
    total_wh = fields.Integer(required=True)
    total_cents = fields.Integer(required=True)
    month_over = fields.Boolean(required=True, metadata={
        "description": "whether the month had ended in every asset's time zone (only then can it be posted)"})
    note = fields.String(metadata={"description": "'month not over: ...' for a draft of an unfinished month"})
    messages = fields.List(fields.String(), required=True)


class LedgerEntrySchema(Schema):
    """One ledger entry with the fields its hash covers. ``period`` is the month it is for; ``booked`` the month
    whose statement shows it (SPEC 13), hashed as ``|booked=YYYY-MM`` after ``created_at`` only when it differs
    from ``period`` (or, without a period, from the UTC month of ``created_at``)."""

    seq = fields.Integer(required=True)
    kind = fields.String(required=True)
    member_number = fields.String(required=True)
    period = fields.String(required=True, allow_none=True, metadata={"description": "the month it is for"})
    booked = fields.String(required=True, metadata={"description": "the month whose statement shows it"})
    asset_code = fields.String(required=True, allow_none=True)
    wh = fields.Integer(required=True)
    cents = fields.Integer(required=True)
    run_id = fields.Integer(required=True, allow_none=True)
    reverses_seq = fields.Integer(required=True, allow_none=True)
    memo = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class ManualEntryBody(Strict):
    """An adjustment, payout or bill application; amounts signed, credits positive (SPEC 6)."""

    kind = fields.String(required=True, validate=validate.OneOf(("adjustment", "payout", "bill_application")))
    member_number = fields.String(required=True, validate=validate.Length(1, MAX_CODE))
    cents = fields.Integer(required=True, strict=True, validate=validate.Range(-100_000_000_000, 100_000_000_000), metadata={
        "description": "signed amount [cents]; a payout or bill application is negative and may not take the "
                       "member's balance below zero"})
    wh = fields.Integer(load_default=0, strict=True, validate=validate.Range(-1_000_000_000_000, 1_000_000_000_000),
                     metadata={"description": "signed energy [Wh]; adjustments only"})
    memo = fields.String(required=True, validate=validate.Length(1, 200), metadata={
        "description": "why, one line (shown on the statement); may not start with = + - @"})
    period = Period(metadata={"description": "the month it is for (default: this month); it shows on that "
                                             "month's statement unless those are issued already (see booked)"})


class ManualEntrySchema(Schema):
    seq = fields.Integer(required=True)
    kind = fields.String(required=True)
    member_number = fields.String(required=True)
    period = fields.String(required=True)
    wh = fields.Integer(required=True)
    cents = fields.Integer(required=True)
    memo = fields.String(required=True)
    booked = fields.String(required=True, metadata={
        "description": "the month whose statement shows it: period, or the next month to be issued when "
                       "period's statements are issued already"})
    balance_wh = fields.Integer(required=True, metadata={"description": "the member's balance after [Wh]"})
    balance_cents = fields.Integer(required=True, metadata={"description": "the member's balance after [cents]"})


class LedgerPageSchema(Schema):
    period = fields.String(required=True, allow_none=True)
    entries = fields.List(fields.Nested(LedgerEntrySchema), required=True)
    next_after_seq = fields.Integer(required=True, allow_none=True)


# ------------------------------------------------------------------------------------------------ issued months


class StatementMonthSchema(Schema):
    """One issued month (SPEC 13): its statements are stored and never change."""

    period = fields.String(required=True, metadata={"example": "2024-02"})
    issued_at = fields.String(required=True, metadata={"description": "when it was issued, ISO 8601 UTC"})
    issued_by = fields.String(required=True, allow_none=True, metadata={
        "description": "who issued it (an administrator's email); null when a member asks"})
    statements = fields.Integer(required=True, metadata={"description": "how many statements were issued"})
    allocation_run_id = fields.Integer(required=True, metadata={
        "description": "the month's allocation run when it was issued"})
    ledger_seq = fields.Integer(required=True, metadata={
        "description": "the last ledger entry when it was issued"})


class StatementMonthListSchema(Schema):
    months = fields.List(fields.Nested(StatementMonthSchema), required=True,
                         metadata={"description": "every issued month, newest first"})


class IssueResultSchema(Schema):
    """A month just issued."""

    period = fields.String(required=True, metadata={"example": "2024-02"})
    issued_at = fields.String(required=True, metadata={"description": "ISO 8601 UTC"})
    issued_by = fields.String(required=True)
    statements = fields.Integer(required=True, metadata={"description": "how many statements were issued"})
    allocation_run_id = fields.Integer(required=True)
