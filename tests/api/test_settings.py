"""GET and PATCH /api/v1/settings (SPEC 13): machine values, admins only for changes, refusals change nothing."""

from __future__ import annotations

from sqlalchemy import select

from energy_coop.models import AuditEntry, CoopSetting
from energy_coop.services.settings import CoopSettings


def _rows(sessions) -> dict[str, str]:
    with sessions.begin() as s:
        return {k: v for k, v in s.execute(select(CoopSetting.key, CoopSetting.value))}


def test_every_role_reads_the_settings_as_machine_values(as_role):
    for role in ("admin", "auditor", "member"):
        response = as_role(role).get("/settings")
        assert response.status_code == 200 and response.json == CoopSettings().as_dict()
    assert response.json["emission_factor_kg_per_kwh"] is None and response.json["currency"] == "USD"
    assert as_role(None).get("/settings").status_code == 401


def test_an_admin_changes_settings_at_once_and_each_change_is_audited(as_role, sessions):
    body = {"currency": "eur", "locale": "de_DE", "emission_factor_kg_per_kwh": "0.367",
            "emission_factor_source": "US EPA eGRID2022, US average"}
    response = as_role("admin").patch("/settings", json=body)
    assert response.status_code == 200, response.json
    assert response.json["currency"] == "EUR" and response.json["emission_factor_kg_per_kwh"] == "0.367"
    assert as_role("member").get("/settings").json["locale"] == "de_DE"
    with sessions.begin() as s:
        changed = {e.entity_key: (e.actor, e.after) for e in s.scalars(select(AuditEntry).where(
            AuditEntry.entity == "setting"))}
    assert set(changed) == {"currency", "locale", "emission_factor_kg_per_kwh", "emission_factor_source"}
    assert changed["currency"] == ("admin@example.org", {"currency": "EUR"})


def test_refusals_answer_422_naming_the_key_and_change_nothing(as_role, sessions):
    before = _rows(sessions)
    for body, field, words in [
        ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code"),
        ({"locale": "xx_YY"}, "locale", "'xx_YY' is not a locale"),
        ({"emission_factor_kg_per_kwh": "-0.1", "emission_factor_source": "x"}, "emission_factor_kg_per_kwh",
         "is negative"),
        ({"emission_factor_kg_per_kwh": "abc", "emission_factor_source": "x"}, "emission_factor_kg_per_kwh",
         "is not a number"),
        ({"colour": "green"}, "colour", "unknown field"),
        ({}, "", "name at least one setting to change"),
    ]:
        response = as_role("admin").patch("/settings", json=body)
        assert response.status_code == 422, (body, response.json)
        details = response.json["details"]
        assert any(d["field"] == field and words in d["reason"] for d in details), details
    for role in ("auditor", "member"):
        assert as_role(role).patch("/settings", json={"currency": "EUR"}).status_code == 403
    assert _rows(sessions) == before == {}
