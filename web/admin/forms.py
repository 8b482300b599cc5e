"""Admin forms. Fields are text so that the registers' own checks (the same as the CLI's) judge the values
and name the problems; the validators here only catch what is missing or absurdly long."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from energy_coop.vocabulary import ROLES

SHORT = Length(max=64)
# energy_coop.units overflows on a huge exponent ("1e999999"); nobody writes money or rates that way, so the
# form asks for plain digits and the register's own checks judge the rest.
NO_EXPONENT = Regexp(r"^[^eE]*$", message="Write the number out in digits, e.g. 0.125 (no exponent).")

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover - older WTForms
    def _Choice(value: str, label: str):
        return (value, label)


def choices(pairs: list[tuple[str, str]]) -> list:
    """Select options from ``(value, label)`` pairs, in the form the installed WTForms prefers."""
    return [_Choice(v, label) for v, label in pairs]


ROLE_CHOICES = [(role, role) for role in ROLES]


def required(what: str) -> DataRequired:
    return DataRequired(f"Enter {what}.")


class ShareForm(FlaskForm):
    """One share-register transaction: an issue, a transfer or a redemption."""

    ref = StringField("Reference (unique)", validators=[required("a reference"), SHORT])
    date = StringField("Effective date (YYYY-MM-DD)", validators=[required("the date"), Length(max=20)])
    asset_code = SelectField("Asset", validators=[required("the asset")], validate_choice=False)
    member_number = StringField("Member number", validators=[required("the member number"), SHORT])
    from_member_number = StringField("From member number", validators=[Optional(), SHORT])
    shares = StringField("Number of shares", validators=[required("the number of shares"), Length(max=20)])
    price_per_share = StringField("Price per share (optional)", validators=[Optional(), Length(max=20), NO_EXPONENT])


class RateForm(FlaskForm):
    valid_from = StringField("Valid from (with UTC offset, e.g. 2025-01-01T00:00:00-05:00)",
                             validators=[required("when the rate starts"), Length(max=40)])
    rate_per_kwh = StringField("Rate per kWh (up to 6 decimals)",
                               validators=[required("the rate"), Length(max=30), NO_EXPONENT])
    asset_code = SelectField("Asset", validate_choice=False)


class TouForm(FlaskForm):
    """A time-of-use template: up to four daily bands, written as step rows for every day in a range."""

    asset_code = SelectField("Asset", validate_choice=False)
    timezone = StringField("Time zone of the band times", validators=[required("the time zone"), Length(max=64)])
    first_day = StringField("First day (YYYY-MM-DD)", validators=[required("the first day"), Length(max=20)])
    last_day = StringField("Last day (YYYY-MM-DD)", validators=[required("the last day"), Length(max=20)])
    band1_start = StringField("Band 1 starts (HH:MM)", validators=[required("when band 1 starts"), Length(max=8)])
    band1_rate = StringField("Band 1 rate per kWh", validators=[required("the rate of band 1"), Length(max=30)])
    band2_start = StringField("Band 2 starts", validators=[Optional(), Length(max=8)])
    band2_rate = StringField("Band 2 rate", validators=[Optional(), Length(max=30)])
    band3_start = StringField("Band 3 starts", validators=[Optional(), Length(max=8)])
    band3_rate = StringField("Band 3 rate", validators=[Optional(), Length(max=30)])
    band4_start = StringField("Band 4 starts", validators=[Optional(), Length(max=8)])
    band4_rate = StringField("Band 4 rate", validators=[Optional(), Length(max=30)])

    BANDS = 4


class UploadForm(FlaskForm):
    file = FileField("Meter file (CSV or Green Button XML)", validators=[FileRequired("Choose a file to upload.")])
    meter = StringField("Meter code (Green Button files with one UsagePoint, utility exports)",
                        validators=[Optional(), SHORT])
    profile = SelectField("Layout of a utility's export (import profile)", validate_choice=False,
                          validators=[Optional(), SHORT])
    timezone = StringField("Time zone for timestamps without an offset", validators=[Optional(), SHORT])
    skip_invalid = BooleanField("Import the valid rows and reject the others")


class AllocationForm(FlaskForm):
    """Posting a month from the page, in two steps: the allocation page's button asks for the confirmation page
    (``confirm`` empty); only the confirmation's own button (``confirm`` = 1, with the draft's ``inputs_sha256``
    it showed) posts."""

    period = HiddenField("Month", validators=[required("the month")])
    allow_gaps = BooleanField("Post even though readings are missing")
    repost = HiddenField("Repost")
    confirm = HiddenField("Confirmed")
    inputs_sha256 = HiddenField("Draft", validators=[Optional(), Length(max=64)])


class UserAddForm(FlaskForm):
    email = StringField("Email", validators=[required("the email address"), Length(max=320)])
    role = SelectField("Role", choices=choices(ROLE_CHOICES),
                       validate_choice=False)
    member_number = StringField("Member number (member users)", validators=[Optional(), SHORT])
    password = PasswordField("Initial password (at least 10 characters)",
                             validators=[required("a password"), Length(max=1024)])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices(ROLE_CHOICES),
                       validate_choice=False)
    member_number = StringField("Member number", validators=[Optional(), SHORT])


class ActiveForm(FlaskForm):
    active = HiddenField("Active")


class UnlockForm(FlaskForm):
    """No fields: the CSRF token only (unlocking a user's sign-in)."""


class IssueForm(FlaskForm):
    """Issuing a month's statements, once confirmed: how many statements the admin was shown, so that the
    issue is refused if that number changed meanwhile (a late posting added a member)."""

    statements = HiddenField("Statements confirmed", validators=[
        required("how many statements you confirmed"),
        Regexp(r"^[0-9]{1,9}$", message="The confirmed number of statements is not a number; open the "
                                        "confirmation step again.")])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[required("a new password"), Length(max=1024)])


MANUAL_KIND_CHOICES = [("payout", "Payout (money paid to the member)"),
                       ("bill_application", "Bill application (credit set against a bill)"),
                       ("adjustment", "Adjustment (a correction, either way)")]


class LedgerEntryForm(FlaskForm):
    """A manual ledger entry; the ledger's own checks (the same as ``energy-coop ledger record``) judge it."""

    kind = SelectField("Kind", choices=choices(MANUAL_KIND_CHOICES), validate_choice=False)
    member_number = StringField("Member number", validators=[required("the member number"), SHORT])
    amount = StringField("Amount (signed: -25.00 takes 25.00 off the balance)",
                         validators=[required("the amount"), Length(max=20), NO_EXPONENT])
    kwh = StringField("Energy, kWh (adjustments only; signed, optional)",
                      validators=[Optional(), Length(max=20), NO_EXPONENT])
    period = StringField("Statement month (YYYY-MM; empty: this month)", validators=[Optional(), Length(max=7)])
    memo = StringField("Memo (shown on the statement)", validators=[required("a memo saying why"), Length(max=200)])


class SettingsForm(FlaskForm):
    """The co-op's settings (``services.settings``): text fields, judged by the settings service, which names
    each field it refuses. The lengths here only stop absurd input before it reaches the service."""

    coop_name = StringField("Co-op name", validators=[required("the co-op's name"), Length(max=100)])
    address = TextAreaField("Postal address (one line per row)", validators=[Optional(), Length(max=300)])
    contact_email = StringField("Contact email", validators=[Optional(), Length(max=254)])
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=40)])
    currency = StringField("Currency (ISO 4217 code, e.g. USD, EUR)", validators=[required("a currency code"),
                                                                                   Length(max=10)])
    locale = StringField("Locale: how numbers and dates are written (e.g. en_US, de_DE, es_ES)",
                         validators=[required("a locale"), Length(max=20)])
    timezone = StringField("Time zone (e.g. America/New_York)", validators=[required("the time zone"),
                                                                             Length(max=64)])
    emission_factor_kg_per_kwh = StringField("Grid emission factor, kg CO₂ per kWh (empty: none)",
                                             validators=[Optional(), Length(max=40)])
    emission_factor_source = StringField("Source of the emission factor", validators=[Optional(), Length(max=200)])

    KEYS = ("coop_name", "address", "contact_email", "contact_phone", "currency", "locale", "timezone",
            "emission_factor_kg_per_kwh", "emission_factor_source")


class MemberForm(FlaskForm):
    """A member's register row (SPEC 3), judged by the same checks as a members CSV."""

    member_number = StringField("Member number", validators=[required("the member number"), SHORT])
    name = StringField("Name", validators=[required("the name"), Length(max=200)])
    email = StringField("Email (optional)", validators=[Optional(), Length(max=320)])
    member_type = SelectField("Member type", validate_choice=False)
    joined_on = StringField("Joined on (YYYY-MM-DD, optional)", validators=[Optional(), Length(max=20)])
    low_income = SelectField("Low income", validate_choice=False)
    annual_usage_kwh = StringField("Annual use, kWh (optional)", validators=[Optional(), Length(max=30), NO_EXPONENT])
    meter_code = StringField("Consumption meter code (optional)", validators=[Optional(), SHORT])


class AssetForm(FlaskForm):
    """An asset's register row (SPEC 3), judged by the same checks as an assets CSV. Solar fields are for
    solar arrays, storage fields for batteries; the register's checks say which applies."""

    asset_code = StringField("Asset code", validators=[required("the asset code"), SHORT])
    name = StringField("Name", validators=[required("the name"), Length(max=200)])
    kind = SelectField("Kind", validate_choice=False)
    meter_code = StringField("Meter code", validators=[required("the meter code"), SHORT])
    timezone = StringField("Time zone (e.g. America/New_York)", validators=[required("the time zone"), SHORT])
    latitude = StringField("Latitude (degrees north)", validators=[required("the latitude"), Length(max=30), NO_EXPONENT])
    longitude = StringField("Longitude (degrees east)", validators=[required("the longitude"), Length(max=30), NO_EXPONENT])
    altitude_m = StringField("Altitude, m (optional)", validators=[Optional(), Length(max=30), NO_EXPONENT])
    total_shares = StringField("Total shares", validators=[required("the total shares"), Length(max=20)])
    commissioned_on = StringField("Commissioned on (YYYY-MM-DD, optional)", validators=[Optional(), Length(max=20)])
    capacity_kw_dc = StringField("DC capacity, kW", validators=[Optional(), Length(max=30), NO_EXPONENT])
    capacity_kw_ac = StringField("AC capacity, kW", validators=[Optional(), Length(max=30), NO_EXPONENT])
    tilt_deg = StringField("Tilt, degrees from horizontal", validators=[Optional(), Length(max=30), NO_EXPONENT])
    azimuth_deg = StringField("Azimuth, degrees (180 = south)", validators=[Optional(), Length(max=30), NO_EXPONENT])
    losses_pct = StringField("Losses, % (default 14)", validators=[Optional(), Length(max=30), NO_EXPONENT])
    array_type = SelectField("Array type", validate_choice=False)
    storage_kwh = StringField("Storage capacity, kWh", validators=[Optional(), Length(max=30), NO_EXPONENT])
    storage_kw = StringField("Storage power, kW", validators=[Optional(), Length(max=30), NO_EXPONENT])
    roundtrip_efficiency = StringField("Round-trip efficiency, 0 to 1", validators=[Optional(), Length(max=30), NO_EXPONENT])


SOLAR_FIELDS = ("capacity_kw_dc", "capacity_kw_ac", "tilt_deg", "azimuth_deg", "losses_pct", "array_type")
STORAGE_FIELDS = ("storage_kwh", "storage_kw", "roundtrip_efficiency")


class ProfileForm(FlaskForm):
    """An import profile (SPEC 20): a small TOML file describing a utility's export layout, pasted or uploaded."""

    text = TextAreaField("Profile (TOML text)", validators=[Optional(), Length(max=64 * 1024)])
    file = FileField("…or a profile file (.toml)")
    replace = BooleanField("Replace a stored profile of the same name")


class RemoveProfileForm(FlaskForm):
    """Remove a stored import profile (readings imported through it stay)."""
