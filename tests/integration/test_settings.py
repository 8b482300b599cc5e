"""Co-op settings (SPEC 13): defaults, checked values, refusals that change nothing, the audit log, the CLI."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from energy_coop.errors import RefusedError
from energy_coop.models import AuditEntry, CoopSetting
from energy_coop.services.settings import KEYS, CoopSettings, get_settings, set_setting, set_settings

ADMIN = "admin@example.org"


def _rows(s) -> dict[str, str]:
    return {k: v for k, v in s.execute(select(CoopSetting.key, CoopSetting.value))}


def _audit(s) -> list[tuple[str, dict, dict]]:
    return [(e.entity_key, e.before, e.after)
            for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "setting").order_by(AuditEntry.id))]


def test_defaults_when_nothing_is_set(session):
    st = get_settings(session)
    assert st == CoopSettings()
    assert (st.currency, st.locale, st.timezone, st.emission_factor_kg_per_kwh) == ("USD", "en_US", "UTC", None)
    assert st.as_dict()["emission_factor_kg_per_kwh"] is None and set(st.as_dict()) == set(KEYS)


def test_values_are_normalised_stored_and_audited_with_before_and_after(sessions):
    with sessions.begin() as s:
        set_setting(s, "currency", "eur", ADMIN)
        set_setting(s, "locale", "de-DE", ADMIN)
        set_setting(s, "timezone", "Europe/Berlin", ADMIN)
        set_settings(s, {"emission_factor_source": "US EPA eGRID2022, US average",
                         "emission_factor_kg_per_kwh": " 0.367 "}, ADMIN)
        st = set_setting(s, "address", "12 Mill Lane\r\n  Greensboro, NC 27401 ", ADMIN)
        set_setting(s, "currency", "EUR", ADMIN)  # the same value again: no change, no audit row
    assert (st.currency, st.locale, st.timezone) == ("EUR", "de_DE", "Europe/Berlin")
    assert st.emission_factor_kg_per_kwh == Decimal("0.367") and st.address_lines == ["12 Mill Lane",
                                                                                       "Greensboro, NC 27401"]
    with sessions.begin() as s:
        assert get_settings(s) == st
        assert _rows(s)["emission_factor_kg_per_kwh"] == "0.367"
        assert _audit(s) == [
            ("currency", {"currency": "USD"}, {"currency": "EUR"}),
            ("locale", {"locale": "en_US"}, {"locale": "de_DE"}),
            ("timezone", {"timezone": "UTC"}, {"timezone": "Europe/Berlin"}),
            ("emission_factor_source", {"emission_factor_source": ""},
             {"emission_factor_source": "US EPA eGRID2022, US average"}),
            ("emission_factor_kg_per_kwh", {"emission_factor_kg_per_kwh": ""}, {"emission_factor_kg_per_kwh": "0.367"}),
            ("address", {"address": ""}, {"address": "12 Mill Lane\nGreensboro, NC 27401"}),
        ]
        assert {e.actor for e in s.scalars(select(AuditEntry))} == {ADMIN}
    with sessions.begin() as s:  # clearing the factor is allowed; then the source may go too
        set_settings(s, {"emission_factor_kg_per_kwh": "", "emission_factor_source": ""}, ADMIN)
        assert get_settings(s).emission_factor_kg_per_kwh is None


@pytest.mark.parametrize("key, value, field, words", [
    ("colour", "green", "colour", "'colour' is not a setting; the settings are coop_name, address, contact_email"),
    ("currency", "XYZ", "currency", "'XYZ' is not an ISO 4217 currency code; write three letters, e.g. USD or EUR"),
    ("currency", "JPY", "currency", "JPY is written with 0 decimal places"),
    ("locale", "xx_YY", "locale", "'xx_YY' is not a locale; write a language and a country, e.g. en_US"),
    ("locale", "../../etc", "locale", "is not a locale"),
    ("timezone", "Mars/Olympus", "timezone", "'Mars/Olympus' is not a time zone; use an IANA name"),
    ("emission_factor_kg_per_kwh", "-0.1", "emission_factor_kg_per_kwh",
     "'-0.1' is negative; an emission factor is 0 or more kg CO2 per kWh"),
    ("emission_factor_kg_per_kwh", "abc", "emission_factor_kg_per_kwh", "'abc' is not a number of kg CO2 per kWh"),
    ("emission_factor_kg_per_kwh", "NaN", "emission_factor_kg_per_kwh", "is not a number"),
    ("emission_factor_kg_per_kwh", "١٢٣", "emission_factor_kg_per_kwh", "is not a number"),
    ("emission_factor_kg_per_kwh", "0.4", "emission_factor_kg_per_kwh", "an emission factor needs its source"),
    ("contact_email", "not an email", "contact_email", "is not an email address; write it like info@example.org"),
    ("contact_phone", "call me", "contact_phone", "is not a phone number"),
    ("coop_name", "", "coop_name", "is required"),
    ("coop_name", "=HYPERLINK(\"x\")", "coop_name", "which a spreadsheet would run as a formula"),
    ("coop_name", "Sun\x00Co-op", "coop_name", "has a control character"),
    ("coop_name", "Sun\nCo-op", "coop_name", "has a line break; write it on one line"),
    ("coop_name", "x" * 101, "coop_name", "is 101 characters long; keep it to 100"),
    ("address", "\n".join(["line"] * 7), "address", "has 7 lines; keep it to 6"),
])
def test_refusals_name_the_key_and_change_nothing(sessions, key, value, field, words):
    with sessions.begin() as s:
        set_setting(s, "coop_name", "Piedmont Solar Co-op", ADMIN)
    with sessions.begin() as s:
        before_rows, before_audit = _rows(s), _audit(s)
    with pytest.raises(RefusedError) as refused:
        with sessions.begin() as s:
            set_setting(s, key, value, ADMIN)
    assert refused.value.message == "no setting was changed"
    [error] = refused.value.errors
    assert error.field == field and words in error.reason, error.reason
    with sessions.begin() as s:
        assert _rows(s) == before_rows and _audit(s) == before_audit


def test_one_bad_key_refuses_the_whole_change(sessions):
    with pytest.raises(RefusedError) as refused:
        with sessions.begin() as s:
            set_settings(s, {"coop_name": "Piedmont Solar Co-op", "currency": "XYZ", "locale": "xx_YY"}, ADMIN)
    assert [e.field for e in refused.value.errors] == ["currency", "locale"]
    with sessions.begin() as s:
        assert _rows(s) == {} and _audit(s) == [] and get_settings(s) == CoopSettings()


def test_a_source_cannot_be_cleared_while_a_factor_is_set(sessions):
    with sessions.begin() as s:
        set_settings(s, {"emission_factor_source": "US EPA eGRID2022, US average",
                         "emission_factor_kg_per_kwh": "0.367"}, ADMIN)
    with pytest.raises(RefusedError) as refused:
        with sessions.begin() as s:
            set_setting(s, "emission_factor_source", "", ADMIN)
    assert refused.value.errors[0].field == "emission_factor_source"
    with sessions.begin() as s:
        assert get_settings(s).emission_factor_source == "US EPA eGRID2022, US average"


def test_cli_show_and_set_print_machine_values_with_json(cli, sessions):
    r = cli("settings", "show", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["settings"] == CoopSettings().as_dict()
    assert cli("settings", "set", "emission_factor_source", "US EPA eGRID2022, US average").exit_code == 0
    r = cli("settings", "set", "emission_factor_kg_per_kwh", "0.367", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["key"] == "emission_factor_kg_per_kwh" and doc["value"] == "0.367"
    assert doc["settings"]["emission_factor_kg_per_kwh"] == "0.367" and doc["settings"]["currency"] == "USD"
    r = cli("settings", "set", "currency", "eur")
    assert r.exit_code == 0 and r.stdout == "currency is now 'EUR'\n"
    r = cli("settings", "show")
    assert "currency                    EUR" in r.stdout and "emission_factor_kg_per_kwh  0.367" in r.stdout
    with sessions.begin() as s:
        assert [k for k, _, _ in _audit(s)] == ["emission_factor_source", "emission_factor_kg_per_kwh", "currency"]
        assert all(e.actor.startswith("cli") for e in s.scalars(select(AuditEntry)))


@pytest.mark.parametrize("args, field, words", [
    (["nope", "1"], "nope", "is not a setting"),
    (["currency", "XYZ"], "currency", "'XYZ' is not an ISO 4217 currency code"),
    (["locale", "xx_YY"], "locale", "'xx_YY' is not a locale"),
    (["--", "emission_factor_kg_per_kwh", "-0.1"], "emission_factor_kg_per_kwh", "is negative"),
])
def test_cli_refusals_exit_2_with_the_reason_and_change_nothing(cli, sessions, args, field, words):
    r = cli("settings", "set", *args)
    assert r.exit_code == 2 and "error: no setting was changed" in r.stderr and words in r.stderr
    r = cli("settings", "set", "--json", *args)
    doc = json.loads(r.stdout)
    assert r.exit_code == 2 and doc["details"][0]["field"] == field and words in doc["details"][0]["reason"]
    with sessions.begin() as s:
        assert _rows(s) == {} and _audit(s) == []
