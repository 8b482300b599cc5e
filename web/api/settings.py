"""The co-op's settings (SPEC 13): ``GET /api/v1/settings`` for every signed-in role, ``PATCH`` for admins.

Machine values only: text, and the emission factor [kg CO2 per kWh] as exact decimal text (null when not
set). A PATCH changes the keys it names in one transaction (``services.settings.set_settings``, audited); a
refusal answers 422 naming each key and changes nothing.
"""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from energy_coop.services.settings import DESCRIPTIONS, KEYS, MAX_LENGTH, get_settings, set_settings
from energy_coop.vocabulary import ROLES

from web.api.auth import reads, roles, sessions
from web.api.common import api_blueprint, documented
from web.api.schemas import Strict

blp = api_blueprint("settings", "The co-op's settings: name, contact, currency, locale, time zone, emission factor")

#: The longest text each key takes in a PATCH (the service judges the content).
BODY_LENGTH = {"currency": 10, "locale": 20, "timezone": 64, "emission_factor_kg_per_kwh": 40, **MAX_LENGTH}


class SettingsSchema(Schema):
    class Meta:
        ordered = True

    coop_name = fields.String(required=True, metadata={"description": DESCRIPTIONS["coop_name"]})
    address = fields.String(required=True, metadata={"description": DESCRIPTIONS["address"] + "; lines split by \\n"})
    contact_email = fields.String(required=True, metadata={"description": DESCRIPTIONS["contact_email"]})
    contact_phone = fields.String(required=True, metadata={"description": DESCRIPTIONS["contact_phone"]})
    currency = fields.String(required=True, metadata={"description": "ISO 4217 code (default USD)"})
    locale = fields.String(required=True, metadata={"description": "CLDR locale, e.g. en_US (the default)"})
    timezone = fields.String(required=True, metadata={"description": "IANA time zone (default UTC)"})
    emission_factor_kg_per_kwh = fields.String(required=True, allow_none=True, metadata={
        "description": "grid average [kg CO2 per kWh] as exact decimal text, e.g. \"0.367\"; null: not set"})
    emission_factor_source = fields.String(required=True, metadata={
        "description": DESCRIPTIONS["emission_factor_source"]})


#: The settings to change; each optional, as text (an empty text clears the emission factor, the address,
#: the contact fields).
SettingsPatch = Strict.from_dict(
    {key: fields.String(validate=validate.Length(max=BODY_LENGTH[key]), metadata={"description": DESCRIPTIONS[key]})
     for key in KEYS}, name="SettingsPatch")


@blp.route("/settings")
@documented(blp, 403)
@roles(*ROLES)
@blp.response(200, SettingsSchema)
def settings():
    """The co-op's settings, each key's default when never set."""
    with reads().begin() as s:
        return get_settings(s).as_dict()


@blp.route("/settings", methods=["PATCH"])
@documented(blp, 403, 422)
@roles("admin")
@blp.arguments(SettingsPatch, location="json")
@blp.response(200, SettingsSchema)
def settings_patch(changes: dict):
    """Change the named settings at once (admins; each change audited). A bad value answers 422 naming its key:
    an unknown currency or locale, a time zone that is not IANA's, a negative or non-numeric emission factor, a
    factor without its source, an empty body; nothing is changed then."""
    with sessions().begin() as s:
        return set_settings(s, changes, actor=g.principal.email).as_dict()
