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

# ---------------------------------------------------------------------------------------- metering (SPEC 4)
METER_KINDS = ("production", "consumption")
READING_QUALITIES = ("actual", "estimated")

# ------------------------------------------------------------------------------------------ ledger (SPEC 6)
ENTRY_KINDS = ("allocation", "reversal", "adjustment", "payout", "bill_application")
#: The kinds an administrator records by hand (SPEC 6); a payout or bill application takes money out.
MANUAL_ENTRY_KINDS = ("adjustment", "payout", "bill_application")
#: The kinds that spend a member's balance, so the balance must cover them.
SPENDING_ENTRY_KINDS = ("payout", "bill_application")
#: The kinds listed as a month's credits on a statement (the rest are its other entries).
CREDIT_ENTRY_KINDS = ("allocation", "reversal")

# -------------------------------------------------------------------------------------- efficiency (SPEC 8)
HEATING_FUELS = ("electric_resistance", "heat_pump", "natural_gas", "oil", "propane", "wood", "district", "other")
MEASURE_CATEGORIES = ("envelope", "heat_pump", "lighting", "controls", "solar_ready", "other")
MEASURE_STATUSES = ("proposed", "approved", "installed", "verified", "discarded")
INCENTIVE_RULES = ("per_kwh", "percent_of_cost")
