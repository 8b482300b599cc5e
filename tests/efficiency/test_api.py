"""The efficiency API on both databases: roles (admin writes, auditor reads, member reads their own,
anonymous 401), JSON errors, 409 for an award beyond the budget."""

from __future__ import annotations

import pytest

from energy_coop.config import Config
from energy_coop.services import users
from tests.efficiency.conftest import ADMIN, make_measure, make_programme
from web import create_app


@pytest.fixture
def api(coop, db_url, tmp_path):
    """(client, tokens by role); members 2001 (Ada) and 2002 (Bo) each have a measure."""
    app = create_app(Config(database_url=db_url, instance_dir=tmp_path, inbox=tmp_path / "inbox",
                            _secret_key="test-secret-key-" + "x" * 32), TESTING=True)
    tokens = {}
    with coop.begin() as s:
        for email, role, number in [(ADMIN, "admin", None), ("aud@example.org", "auditor", None),
                                    ("ada@example.org", "member", "2001"), ("bo@example.org", "member", "2002")]:
            users.add_user(s, email, role, "a long enough password", member_number=number, actor="test")
            tokens[email.split("@")[0]] = users.new_token(s, email, actor="test")
        ids = {"ada": make_measure(s, "2001", status="approved").id, "bo": make_measure(s, "2002", status="approved").id}
        make_programme(s, budget_cents=500_000)
    client = app.test_client()

    def call(method, path, who=None, **kw):
        headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
        headers.update(kw.pop("headers", {}))
        return client.open("/api/v1/efficiency" + path, method=method, headers=headers, **kw)

    call.client = client
    return call, ids


def test_anonymous_and_bad_token_get_401(api):
    call, _ = api
    r = call("GET", "/premises")
    assert r.status_code == 401 and r.json["error"] == "unauthorized" and r.json["details"] == []
    assert call("GET", "/premises", headers={"Authorization": "Bearer ecp_nope"}).status_code == 401


def test_member_sees_only_their_own(api):
    call, ids = api
    r = call("GET", "/measures", "ada")
    assert [m["id"] for m in r.json["measures"]] == [ids["ada"]]
    assert {p["member_number"] for p in call("GET", "/premises", "ada").json["premises"]} == {"2001"}
    r = call("GET", f"/measures/{ids['bo']}", "ada")
    assert r.status_code == 404 and r.json["error"] == "not_found"
    bo_premises = call("GET", f"/measures/{ids['bo']}", "admin").json["premises_id"]
    assert call("GET", f"/premises/{bo_premises}", "ada").status_code == 404
    assert call("GET", f"/premises/{bo_premises}/savings", "ada").status_code == 404
    assert call("GET", "/programmes", "ada").status_code == 200
    assert call("GET", "/programmes/HEAT-24/savings", "ada").status_code == 403


def test_auditor_reads_everything_and_cannot_write(api):
    call, ids = api
    assert len(call("GET", "/measures", "aud").json["measures"]) == 2
    r = call("POST", "/awards", "aud", json={"programme": "HEAT-24", "measure_id": ids["ada"]})
    assert r.status_code == 403 and r.json["error"] == "forbidden"
    assert call("POST", "/premises", "ada", json={}).status_code == 403
    r = call("GET", "/exports/measures.csv", "aud")
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.data.startswith(b"id,audit_id")
    assert call("GET", "/exports/measures.csv", "ada").status_code == 403


def test_admin_creates_and_awards_and_gets_409_beyond_budget(api):
    call, ids = api
    r = call("POST", "/premises", "admin", json={"member_number": "2004", "address": "Co-op hall",
                                                 "floor_area_m2": 400, "heating_fuel": "natural_gas",
                                                 "timezone": "America/New_York", "meter_code": None})
    assert r.status_code == 201 and r.json["meter_code"] is None
    r = call("POST", "/audits", "admin", json={"premises_id": r.json["id"], "audit_date": "2024-02-01",
                                               "auditor_name": "Rae", "ashrae_level": 1})
    assert r.status_code == 201
    r = call("POST", "/measures", "admin", json={"audit_id": r.json["id"], "category": "lighting",
                                                 "description": "LED", "cost_cents": 100_000,
                                                 "estimated_kwh_per_year": 2_000, "useful_life_years": 12})
    assert r.status_code == 201 and r.json["status"] == "proposed"
    r = call("POST", "/programmes", "admin", json={
        "code": "KWH", "name": "Per kWh", "budget_cents": 100_000, "rule": "per_kwh", "rate_per_kwh": "0.125",
        "eligible_member_types": ["household"], "opens_on": "2024-01-01", "closes_on": "2024-12-31"})
    assert r.status_code == 201 and r.json["rate_micros_per_kwh"] == 125_000
    # HEAT-24: 30 % of 8000.00 = 2400.00 each, budget 5000.00 -> the third is refused with 409.
    r = call("POST", "/awards", "admin", json={"programme": "HEAT-24", "measure_id": ids["ada"],
                                               "awarded_on": "2024-05-01"})
    assert r.status_code == 201 and r.json["amount_cents"] == 240_000
    r = call("POST", "/awards", "admin", json={"programme": "HEAT-24", "measure_id": ids["bo"],
                                               "awarded_on": "2024-05-01"})
    assert r.status_code == 409 and r.json["error"] == "conflict"  # Bo is low-income: 2400 + 480 > 2600 left
    assert "left of its budget" in r.json["message"]
    assert call("GET", "/programmes/HEAT-24", "admin").json["awarded_cents"] == 240_000
    assert [a["member_number"] for a in call("GET", "/awards", "ada").json["awards"]] == ["2001"]
    assert call("GET", "/awards", "bo").json["awards"] == []


def test_bad_bodies_are_refused_with_every_problem(api):
    call, ids = api
    r = call("POST", "/measures", "admin", json={"audit_id": 1, "category": "x", "description": "",
                                                 "cost_cents": -1, "estimated_kwh_per_year": "lots",
                                                 "useful_life_years": 0, "colour": "red"})
    assert r.status_code == 422 and r.json["error"] == "invalid_input"
    fields = {d["field"]: d["reason"] for d in r.json["details"]}
    assert set(fields) == {"category", "description", "cost_cents", "estimated_kwh_per_year", "useful_life_years",
                           "colour"}
    assert fields["colour"].startswith("unknown field") and fields["estimated_kwh_per_year"] == "Not a valid integer."
    assert call("GET", "/measures", "admin").json["measures"] == call("GET", "/measures", "aud").json["measures"]
    assert len(call("GET", "/measures", "admin").json["measures"]) == 2  # nothing was added
    assert call("POST", "/awards", "admin", data="not json", content_type="application/json").status_code in (400, 422)
    r = call("POST", f"/measures/{ids['ada']}/status", "admin", json={"status": "verified", "on": "2024-13-01"})
    assert r.status_code == 422 and r.json["details"][0]["field"] == "on"
    r = call("POST", f"/measures/{ids['ada']}/status", "admin", json={"status": "verified", "on": "2024-06-01"})
    assert r.status_code == 422 and "never installed" in r.json["message"]
    assert call("GET", f"/measures/{ids['ada']}", "admin").json["status"] == "approved"  # unchanged
    assert call("GET", "/premises/1/savings?until=tomorrow", "admin").status_code == 422
    assert call("GET", "/measures?status=lost", "admin").status_code == 422
    assert call("GET", "/measures/99999", "admin").status_code == 404
    for path in ("/premises/", "/audits/", "/measures/", "/awards/"):  # beyond any id the database can hold
        assert call("GET", path + "9" * 30, "admin").status_code == 404, path
    # true is not 1, 12.0 is not 12, "2" is not 2: JSON numbers only, whole ones
    r = call("POST", "/awards", "admin", json={"programme": "HEAT-24", "measure_id": True, "awarded_on": "2024-06-01"})
    assert r.status_code == 422 and r.json["details"][0]["field"] == "measure_id"
    for level in (True, 2.0, "2"):
        r = call("POST", "/audits", "admin", json={"premises_id": 1, "audit_date": "2024-05-01", "auditor_name": "Jo",
                                                   "ashrae_level": level, "findings": "draughty"})
        assert r.status_code == 422 and "ashrae_level" in {d["field"] for d in r.json["details"]}, level
    assert call("GET", "/awards", "admin").json["awards"] == []


def test_the_openapi_document_lists_every_efficiency_operation(api):
    call, _ = api
    doc = call.client.get("/api/v1/openapi.json").json
    operations = {(method.upper(), path) for path, item in doc["paths"].items() if "/efficiency/" in path
                  for method in item if method in ("get", "post")}
    base = "/api/v1/efficiency"
    expected = {("GET", f"{base}/{k}") for k in ("premises", "audits", "measures", "programmes", "awards")}
    expected |= {("POST", f"{base}/{k}") for k in ("premises", "audits", "measures", "programmes", "awards")}
    expected |= {("GET", f"{base}/premises/{{premises_id}}"), ("GET", f"{base}/premises/{{premises_id}}/savings"),
                 ("GET", f"{base}/audits/{{audit_id}}"), ("GET", f"{base}/measures/{{measure_id}}"),
                 ("POST", f"{base}/measures/{{measure_id}}/status"), ("GET", f"{base}/programmes/{{code}}"),
                 ("GET", f"{base}/programmes/{{code}}/savings"), ("GET", f"{base}/awards/{{award_id}}"),
                 ("POST", f"{base}/awards/{{award_id}}/payments"), ("GET", f"{base}/exports/{{kind}}.csv")}
    assert operations == expected
    award = doc["paths"][f"{base}/awards"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(award["responses"])
    assert award["security"] == [{"bearerAuth": []}]
