"""The co-op's settings (SPEC 13): its name, address and contact, and how pages write money, energy and dates.

``get_settings(session)`` gives a :class:`CoopSettings` (defaults for every key never set);
``set_setting(session, key, value, actor)`` and ``set_settings(session, {key: value}, actor)`` check the values
(Babel knows the currencies and locales, zoneinfo the time zones) and store them, each change in the audit log
with its before and after. A refusal names the key as its field and changes nothing.

Keys and what they hold:

* ``coop_name``, ``address`` (lines), ``contact_email``, ``contact_phone``: printed on pages and statements;
* ``currency``: an ISO 4217 code with two decimal places (the ledger keeps hundredths, cents), default USD;
* ``locale``: a CLDR locale such as ``en_US`` or ``de_DE``, default en_US;
* ``timezone``: the IANA zone instants are shown in, default UTC;
* ``emission_factor_kg_per_kwh``: the grid's average emissions [kg CO2 per kWh], an exact decimal >= 0 kept as
  text (empty: not set), with ``emission_factor_source`` (required while a factor is set).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_precision, list_currencies
from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.errors import RefusedError, RowError
from energy_coop.models import CoopSetting, utcnow
from energy_coop.services import audit, memo
from energy_coop.services.registers.fields import EMAIL_RE
from energy_coop.units import DECIMAL_TEXT, shown

#: Every key and its value when never set (text, as stored).
DEFAULTS: dict[str, str] = {
    "coop_name": "energy-coop",
    "address": "",
    "contact_email": "",
    "contact_phone": "",
    "currency": "USD",
    "locale": "en_US",
    "timezone": "UTC",
    "emission_factor_kg_per_kwh": "",
    "emission_factor_source": "",
}
KEYS: tuple[str, ...] = tuple(DEFAULTS)

#: What each key is, in a volunteer's words (the command's help, the page's hints).
DESCRIPTIONS: dict[str, str] = {
    "coop_name": "the co-op's name as pages and statements print it",
    "address": "the co-op's postal address (up to 6 lines)",
    "contact_email": "the address members write to",
    "contact_phone": "the number members call",
    "currency": "ISO 4217 code of the co-op's money, e.g. USD, EUR, GBP",
    "locale": "how numbers, dates and months are written, e.g. en_US, de_DE, es_ES",
    "timezone": "the time zone times are shown in, e.g. America/New_York",
    "emission_factor_kg_per_kwh": "the grid's average emissions in kg CO2 per kWh, e.g. 0.367 (empty: none)",
    "emission_factor_source": "where the emission factor comes from, e.g. US EPA eGRID2022, US average",
}

MAX_LENGTH: dict[str, int] = {"coop_name": 100, "address": 300, "contact_email": 254, "contact_phone": 40,
                              "emission_factor_source": 200}
MAX_ADDRESS_LINES = 6
MAX_FACTOR = Decimal(10)  # kg CO2/kWh: even the dirtiest grid is near 1.2; ten is a typing mistake
FACTOR_PLACES = 6
FORMULA_STARTS = ("=", "+", "-", "@")  # a spreadsheet runs a cell starting with one of these as a formula
PHONE_RE = re.compile(r"^[0-9 +()./-]+$")
LOCALE_TEXT = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,3}$")


@dataclass(frozen=True)
class CoopSettings:
    """The co-op's settings as values: text, and the emission factor [kg CO2/kWh] as a Decimal (None: not set)."""

    coop_name: str = DEFAULTS["coop_name"]
    address: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    currency: str = DEFAULTS["currency"]
    locale: str = DEFAULTS["locale"]
    timezone: str = DEFAULTS["timezone"]
    emission_factor_kg_per_kwh: Decimal | None = None
    emission_factor_source: str = ""

    @property
    def address_lines(self) -> list[str]:
        return [line for line in self.address.split("\n") if line]

    def as_dict(self) -> dict[str, str | None]:
        """Machine values for JSON: text, the factor as its exact decimal text (None when not set)."""
        out: dict[str, str | None] = {k: getattr(self, k) for k in KEYS}
        factor = self.emission_factor_kg_per_kwh
        out["emission_factor_kg_per_kwh"] = None if factor is None else str(factor)
        return out


def _settings_from(stored: dict[str, str]) -> CoopSettings:
    values: dict[str, Any] = {**DEFAULTS, **{k: v for k, v in stored.items() if k in DEFAULTS}}
    factor = values.pop("emission_factor_kg_per_kwh")
    return CoopSettings(**values, emission_factor_kg_per_kwh=Decimal(factor) if factor else None)


def _stored(session: Session) -> dict[str, str]:
    return {k: v for k, v in session.execute(select(CoopSetting.key, CoopSetting.value))}


def get_settings(session: Session) -> CoopSettings:
    """The co-op's settings, the default for every key never set."""
    return _settings_from(_stored(session))


def current_settings(session: Session) -> CoopSettings:
    """:func:`get_settings`, remembered per process until anything in the audit log changes (every change of a
    setting is audited): the web app asks for it on every page."""
    return memo.remember(session, ("coop-settings",), lambda: get_settings(session))


# ------------------------------------------------------------------------------------------------ checks


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@functools.lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def _text(key: str, value: str, *, lines: int = 1) -> str:
    """A printed text: at most its length, no control characters (line breaks only in an address), and no start
    a spreadsheet would run as a formula. Returns the reason it is refused, or ""."""
    limit = MAX_LENGTH[key]
    if len(value) > limit:
        return f"is {len(value):,} characters long; keep it to {limit}"
    parts = value.split("\n")
    if len(parts) > lines:
        return (f"has {len(parts)} lines; keep it to {lines}" if lines > 1
                else "has a line break; write it on one line")
    if any(not part.isprintable() for part in parts):
        return "has a control character (a tab or an invisible character); type it again"
    if any(part.strip().startswith(FORMULA_STARTS) for part in parts):
        return "starts with = + - or @, which a spreadsheet would run as a formula; start it with a word or a number"
    return ""


def _clean(key: str, raw: Any) -> tuple[str, str]:
    """``(value to store, reason it is refused or "")`` for one key."""
    if not isinstance(raw, str):
        return "", f"must be text, not {type(raw).__name__}"
    value = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if key == "address":
        value = "\n".join(line.strip() for line in value.split("\n"))
        return value, _text(key, value, lines=MAX_ADDRESS_LINES)
    if key == "coop_name":
        if not value:
            return value, "is required: the name pages and statements print"
        return value, _text(key, value)
    if key == "contact_email":
        if value and (len(value) > MAX_LENGTH[key] or not EMAIL_RE.match(value) or not value.isprintable()):
            return value, f"{shown(value)} is not an email address; write it like info@example.org"
        return value, _text(key, value) if value else ""
    if key == "contact_phone":
        if value and (len(value) > MAX_LENGTH[key] or not PHONE_RE.match(value)
                      or not any(c.isdigit() for c in value)):
            return value, (f"{shown(value)} is not a phone number; use the digits 0-9, spaces and + - ( ) . /, "
                           "e.g. +1 336 555 0100")
        return value, ""
    if key == "emission_factor_source":
        return value, _text(key, value)
    if key == "currency":
        code = value.upper()
        if not (code.isascii() and code.isalpha() and len(code) == 3) or code not in _currencies():
            return value, f"{shown(value)} is not an ISO 4217 currency code; write three letters, e.g. USD or EUR"
        places = get_currency_precision(code)
        if places != 2:
            return value, (f"{code} is written with {places} decimal places; the ledger keeps amounts in hundredths "
                           "(cents), so only a currency with 2 decimal places can be shown exactly")
        return code, ""
    if key == "locale":
        wrong = f"{shown(value)} is not a locale; write a language and a country, e.g. en_US, de_DE or es_ES"
        if not LOCALE_TEXT.match(value):
            return value, wrong
        try:
            return str(Locale.parse(value.replace("-", "_"))), ""
        except (ValueError, TypeError, UnknownLocaleError):
            return value, wrong
    if key == "timezone":
        wrong = f"{shown(value)} is not a time zone; use an IANA name such as America/New_York or Europe/Berlin"
        if len(value) > 64 or value not in _zones():
            return value, wrong
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return value, wrong
        return value, ""
    if key == "emission_factor_kg_per_kwh":
        if not value:
            return "", ""
        wrong = f"{shown(value)} is not a number of kg CO2 per kWh; write it with the digits 0-9 and a dot, e.g. 0.367"
        if len(value) > 40 or not DECIMAL_TEXT.fullmatch(value) or "e" in value.lower():
            return value, wrong
        try:
            factor = Decimal(value)
        except InvalidOperation:
            return value, wrong
        if factor < 0:
            return value, f"{shown(value)} is negative; an emission factor is 0 or more kg CO2 per kWh"
        if factor > MAX_FACTOR:
            return value, f"{shown(value)} kg CO2 per kWh is far more than any grid emits; at most {MAX_FACTOR}"
        if factor.as_tuple().exponent < -FACTOR_PLACES:  # type: ignore[operator]
            return value, f"{shown(value)} has more than {FACTOR_PLACES} decimal places"
        return str(factor), ""
    raise AssertionError(key)  # pragma: no cover - keys are checked first


def set_settings(session: Session, changes: dict[str, Any], actor: str) -> CoopSettings:
    """Check and store several settings at once (the admin page's form, the API's PATCH); the combination is
    checked too (a factor needs its source). Every key whose value changes is audited (``update setting KEY``,
    before/after). :class:`RefusedError` naming each bad key as its ``field``; nothing is written then."""
    if not changes:
        raise RefusedError("no setting was changed", [RowError("", "", "name at least one setting to change: "
                                                                     + ", ".join(KEYS))])
    errors: list[RowError] = []
    unknown = [k for k in changes if k not in DEFAULTS]
    for key in unknown:
        errors.append(RowError("", str(key)[:64], f"{shown(key)} is not a setting; the settings are "
                                                   + ", ".join(KEYS)))
    stored = _stored(session)
    clean: dict[str, str] = {}
    for key, raw in changes.items():
        if key in unknown:
            continue
        value, reason = _clean(key, raw)
        if reason:
            errors.append(RowError("", key, reason))
        else:
            clean[key] = value
    if not errors:
        after = {**DEFAULTS, **stored, **clean}
        if after["emission_factor_kg_per_kwh"] and not after["emission_factor_source"]:
            field = ("emission_factor_source" if "emission_factor_source" in changes
                     else "emission_factor_kg_per_kwh")
            errors.append(RowError("", field, "an emission factor needs its source: say where the figure comes "
                                              "from (e.g. US EPA eGRID2022, US average)"))
    if errors:
        raise RefusedError("no setting was changed", errors)
    for key, value in clean.items():
        before = stored.get(key, DEFAULTS[key])
        if value == before:
            continue
        row = session.get(CoopSetting, key)
        if row is None:
            session.add(CoopSetting(key=key, value=value, updated_by=actor))
        else:
            row.value, row.updated_by = value, actor
            row.updated_at = utcnow()
        audit.record(session, actor=actor, action="update", entity="setting", key=key,
                     before={key: before}, after={key: value})
    session.flush()
    return get_settings(session)


def set_setting(session: Session, key: str, value: Any, actor: str) -> CoopSettings:
    """Check and store one setting (``energy-coop settings set KEY VALUE``); see :func:`set_settings`."""
    return set_settings(session, {key: value}, actor)
