"""The co-op's words, defined once: roles, member types, asset, meter and share kinds, ledger entry kinds,
reading qualities and the efficiency programme's categories.

Each is a tuple of the codes stored in the database and written in files (SPEC sections 3, 4, 6, 8 and 11); the
models' CHECK constraints, the loaders, the forms, the API schemas and the CLI's choices all read them from
here, so a new code is added in one place (and by a migration for the CHECK constraint).
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------- people (SPEC 11)
#: Who signs in.
ROLES = ("member", "admin", "auditor")
#: The roles that see every member's data.
STAFF_ROLES = ("admin", "auditor")
ROLE_LABELS = {"member": "Member", "admin": "Administrator", "auditor": "Auditor"}

# --------------------------------------------------------------------------------------- registers (SPEC 3)
MEMBER_TYPES = (
    "household",
    "worker_coop",
    "clt_household",
    "anchor_institution",
    "business",
    "nonprofit",
    "public_body",
)
#: What a person reads for each member type (pages, CSV headers stay codes).
MEMBER_TYPE_LABELS = {
    "household": "Household",
    "worker_coop": "Worker co-op",
    "clt_household": "Land-trust household",
    "anchor_institution": "Anchor institution",
    "business": "Business",
    "nonprofit": "Nonprofit",
    "public_body": "Public body",
}
ASSET_KINDS = ("solar", "storage")
ARRAY_TYPES = ("fixed_open_rack", "fixed_roof_mount", "single_axis")
ASSET_KIND_LABELS = {"solar": "Solar array", "storage": "Battery storage"}
ARRAY_TYPE_LABELS = {"fixed_open_rack": "Fixed, open rack", "fixed_roof_mount": "Fixed, roof mount",
                     "single_axis": "Single-axis tracker"}
#: ``issue`` new shares, ``transfer`` them between members, ``redeem`` them back to the co-op.
SHARE_KINDS = ("issue", "transfer", "redeem")
SHARE_KIND_LABELS = {"issue": "Issue", "transfer": "Transfer", "redeem": "Redemption"}

# ---------------------------------------------------------------------------------------- metering (SPEC 4)
METER_KINDS = ("production", "consumption")
READING_QUALITIES = ("actual", "estimated")
METER_KIND_LABELS = {"production": "Production", "consumption": "Consumption"}
READING_QUALITY_LABELS = {"actual": "Actual", "estimated": "Estimated"}

# ------------------------------------------------------------------------------------------ ledger (SPEC 6)
ENTRY_KINDS = ("allocation", "reversal", "adjustment", "payout", "bill_application")
#: The kinds an administrator records by hand (SPEC 6); a payout or bill application takes money out.
MANUAL_ENTRY_KINDS = ("adjustment", "payout", "bill_application")
#: The kinds that spend a member's balance, so the balance must cover them.
SPENDING_ENTRY_KINDS = ("payout", "bill_application")
#: The kinds listed as a month's credits on a statement (the rest are its other entries).
CREDIT_ENTRY_KINDS = ("allocation", "reversal")
ENTRY_KIND_LABELS = {"allocation": "Allocation", "reversal": "Reversal", "adjustment": "Adjustment",
                     "payout": "Payout", "bill_application": "Applied to a bill"}

# -------------------------------------------------------------------------------------- efficiency (SPEC 8)
HEATING_FUELS = ("electric_resistance", "heat_pump", "natural_gas", "oil", "propane", "wood", "district", "other")
MEASURE_CATEGORIES = ("envelope", "heat_pump", "lighting", "controls", "solar_ready", "other")
MEASURE_STATUSES = ("proposed", "approved", "installed", "verified", "discarded")
INCENTIVE_RULES = ("per_kwh", "percent_of_cost")
HEATING_FUEL_LABELS = {"electric_resistance": "Electric resistance", "heat_pump": "Heat pump",
                       "natural_gas": "Natural gas", "oil": "Heating oil", "propane": "Propane", "wood": "Wood",
                       "district": "District heating", "other": "Other"}
MEASURE_CATEGORY_LABELS = {"envelope": "Building envelope", "heat_pump": "Heat pump", "lighting": "Lighting",
                           "controls": "Controls", "solar_ready": "Solar-ready", "other": "Other"}
MEASURE_STATUS_LABELS = {"proposed": "Proposed", "approved": "Approved", "installed": "Installed",
                         "verified": "Verified", "discarded": "Discarded"}
INCENTIVE_RULE_LABELS = {"per_kwh": "Per kWh saved a year", "percent_of_cost": "Per cent of the cost"}

#: Every label table by the name pages use (``code|word("member_type")``); a code without a label reads as itself.
LABELS = {
    "role": ROLE_LABELS,
    "member_type": MEMBER_TYPE_LABELS,
    "asset_kind": ASSET_KIND_LABELS,
    "array_type": ARRAY_TYPE_LABELS,
    "share_kind": SHARE_KIND_LABELS,
    "meter_kind": METER_KIND_LABELS,
    "reading_quality": READING_QUALITY_LABELS,
    "entry_kind": ENTRY_KIND_LABELS,
    "heating_fuel": HEATING_FUEL_LABELS,
    "measure_category": MEASURE_CATEGORY_LABELS,
    "measure_status": MEASURE_STATUS_LABELS,
    "incentive_rule": INCENTIVE_RULE_LABELS,
}


def label(code: str | None, vocabulary: str) -> str:
    """What a person reads for ``code`` of ``vocabulary`` (a key of :data:`LABELS`); an unknown code as it is."""
    if code is None:
        return ""
    return LABELS[vocabulary].get(code, code)
