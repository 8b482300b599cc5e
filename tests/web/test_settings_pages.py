"""The pages write money, energy, percentages and months by the co-op's settings (SPEC 13), and the settings
page: admins change them through a form whose refusals sit beside their fields; auditors only read."""

from __future__ import annotations

from sqlalchemy import select

from energy_coop.models import AuditEntry, CoopSetting
from tests.web.conftest import form_token

NBSP = "\xa0"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def _rows(sessions) -> dict[str, str]:
    with sessions.begin() as s:
        return {k: v for k, v in s.execute(select(CoopSetting.key, CoopSetting.value))}


def test_pages_follow_currency_and_locale_set_from_the_command_line(signed_in, seeded, cli):
    member = signed_in("member_a")
    page = text(member.get("/members/1001"))
    # 1001's February 2024: 208.800 kWh worth 20.88 (tests/web/test_pages.py), by default in en_US and USD
    assert 'id="balance">$20.88<' in page and "for February 2024: 208.800 kWh" in page
    assert cli("settings", "set", "currency", "EUR").exit_code == 0
    assert cli("settings", "set", "locale", "de_DE").exit_code == 0
    page = text(member.get("/members/1001"))
    assert f'id="balance">20,88{NBSP}€<' in page and "for Februar 2024: 208,800 kWh" in page
    assert "$" not in page
    admin = signed_in("admin")
    coverage = text(admin.get("/admin/coverage?period=2024-02"))
    assert f"100,00{NBSP}%" in coverage
    settings_page = text(admin.get("/admin/settings"))
    assert f'id="sample-money">1.234,56{NBSP}€<' in settings_page
    assert 'id="sample-energy">1.234,567 kWh<' in settings_page
    assert cli("settings", "set", "locale", "es_ES").exit_code == 0
    assert f'id="balance">20,88{NBSP}€<' in text(member.get("/members/1001"))
    assert "febrero de 2024" in text(member.get("/members/1001"))


def test_the_co_op_name_and_contact_appear_on_every_page(signed_in, seeded, cli):
    cli("settings", "set", "coop_name", "Glenwood Community Solar Co-op")
    cli("settings", "set", "contact_email", "hello@glenwood.example")
    page = text(signed_in("member_a").get("/members/1001"))
    assert "☀ Glenwood Community Solar Co-op" in page and 'href="mailto:hello@glenwood.example"' in page


def test_an_admin_saves_the_settings_form_and_each_change_is_audited(signed_in, seeded, sessions):
    admin = signed_in("admin")
    page = text(admin.get("/admin/settings"))
    assert '<label for="currency">' in page and 'href="/admin/settings"' in page  # labelled; in the navigation
    form = {"csrf_token": form_token(admin, "/admin/settings"), "coop_name": "Glenwood Community Solar Co-op",
            "address": "300 S Elm St\r\nGreensboro, NC 27401", "contact_email": "", "contact_phone": "",
            "currency": "EUR", "locale": "es_ES", "timezone": "Europe/Madrid",
            "emission_factor_kg_per_kwh": "0.390", "emission_factor_source": "US EIA, 2022"}
    resp = admin.post("/admin/settings", data=form, follow_redirects=True)
    assert resp.status_code == 200 and "Settings saved." in text(resp)
    assert f'id="sample-money">1.234,56{NBSP}€<' in text(resp)
    assert _rows(sessions) == {"coop_name": "Glenwood Community Solar Co-op",
                               "address": "300 S Elm St\nGreensboro, NC 27401", "currency": "EUR", "locale": "es_ES", "timezone": "Europe/Madrid",
                               "emission_factor_kg_per_kwh": "0.390", "emission_factor_source": "US EIA, 2022"}
    with sessions.begin() as s:
        audited = [(e.entity_key, e.actor) for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "setting"))]
    assert {key for key, _ in audited} == set(_rows(sessions)) and {who for _, who in audited} == {"admin@coop.test"}


def test_refusals_show_beside_their_fields_and_change_nothing(signed_in, seeded, sessions):
    admin = signed_in("admin")
    form = {"csrf_token": form_token(admin, "/admin/settings"), "coop_name": "Glenwood", "address": "",
            "contact_email": "", "contact_phone": "", "currency": "XYZ", "locale": "xx_YY", "timezone": "UTC",
            "emission_factor_kg_per_kwh": "-0.1", "emission_factor_source": "x"}
    resp = admin.post("/admin/settings", data=form)
    page = text(resp)
    assert resp.status_code == 400 and "no setting was changed" in page
    assert 'id="currency-err">&#39;XYZ&#39; is not an ISO 4217 currency code' in page
    assert 'id="locale-err">&#39;xx_YY&#39; is not a locale' in page
    assert 'aria-describedby="emission_factor_kg_per_kwh-err"' in page and "is negative" in page
    assert _rows(sessions) == {}


def test_auditors_read_the_settings_but_get_no_form(signed_in, seeded):
    auditor = signed_in("auditor")
    page = text(auditor.get("/admin/settings"))
    assert "Save settings" not in page and "USD" in page
    assert auditor.post("/admin/settings", data={"currency": "EUR"}).status_code in (400, 403)
