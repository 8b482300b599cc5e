"""The efficiency API on both databases: roles (admin writes, auditor reads, member reads their own,
anonymous 401), JSON errors, 409 for an award beyond the budget."""

from __future__ import annotations

import pytest

from energy_coop.config import Config
from energy_coop.services.accounts import users
from tests.efficiency.conftest import ADMIN, make_measure, make_programme, stored_corrections
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
                  for method in item if method in ("get", "post", "patch")}
    base = "/api/v1/efficiency"
    expected = {("GET", f"{base}/{k}") for k in ("premises", "audits", "measures", "programmes", "awards")}
    expected |= {("POST", f"{base}/{k}") for k in ("premises", "audits", "measures", "programmes", "awards")}
    expected |= {("GET", f"{base}/premises/{{premises_id}}"), ("GET", f"{base}/premises/{{premises_id}}/savings"),
                 ("GET", f"{base}/audits/{{audit_id}}"), ("GET", f"{base}/measures/{{measure_id}}"),
                 ("POST", f"{base}/measures/{{measure_id}}/status"), ("GET", f"{base}/programmes/{{code}}"),
                 ("GET", f"{base}/programmes/{{code}}/savings"), ("GET", f"{base}/awards/{{award_id}}"),
                 ("POST", f"{base}/awards/{{award_id}}/payments"), ("GET", f"{base}/exports/{{kind}}.csv"),
                 ("PATCH", f"{base}/premises/{{premises_id}}"), ("PATCH", f"{base}/measures/{{measure_id}}")}
    assert operations == expected
    award = doc["paths"][f"{base}/awards"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(award["responses"])
    assert award["security"] == [{"bearerAuth": []}]
    for path in (f"{base}/premises/{{premises_id}}", f"{base}/measures/{{measure_id}}"):
        patch = doc["paths"][path]["patch"]
        assert {"200", "401", "403", "404", "422"} <= set(patch["responses"]) and patch["security"] == [
            {"bearerAuth": []}], path
        body = patch["requestBody"]["content"]["application/json"]["schema"]
        assert "required" not in doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]], path


# ------------------------------------------------------------------------------- corrections (PATCH)


def test_admin_corrects_a_premises_and_a_measure(api, coop):
    call, ids = api
    premises_id = call("GET", f"/measures/{ids['ada']}", "admin").json["premises_id"]
    r = call("PATCH", f"/premises/{premises_id}", "admin",
             json={"address": "  12 Elm Street, Greensboro ", "floor_area_m2": 135})
    assert r.status_code == 200, r.json
    assert r.json == {"id": premises_id, "member_number": "2001", "address": "12 Elm Street, Greensboro",
                      "floor_area_m2": 135, "year_built": 1962, "heating_fuel": "natural_gas",
                      "meter_code": "CM-2001", "timezone": "America/New_York"}
    assert call("GET", f"/premises/{premises_id}", "admin").json == r.json
    r = call("PATCH", f"/measures/{ids['ada']}", "admin", json={"cost_cents": 812_345,
                                                                "estimated_kwh_per_year": 3_250})
    assert r.status_code == 200, r.json
    assert (r.json["cost_cents"], r.json["estimated_kwh_per_year"], r.json["status"]) == (812_345, 3_250, "approved")
    assert call("GET", f"/measures/{ids['ada']}", "admin").json == r.json
    premises, measure, updates = stored_corrections(coop, ids["ada"])
    assert premises == ("12 Elm Street, Greensboro", 135, 1962, "natural_gas", "America/New_York", "CM-2001")
    assert measure == ("heat_pump", "Cold-climate heat pump", "approved", 812_345, 3_250, 15)
    assert updates == [
        (ADMIN, "premises", str(premises_id), {"address": "2001 Elm St, Greensboro", "floor_area_m2": 120},
         {"address": "12 Elm Street, Greensboro", "floor_area_m2": 135}),
        (ADMIN, "measure", str(ids["ada"]), {"cost_cents": 800_000, "estimated_kwh_per_year": 3_000},
         {"cost_cents": 812_345, "estimated_kwh_per_year": 3_250})]
    # the year built can be cleared and the meter unlinked with null
    r = call("PATCH", f"/premises/{premises_id}", "admin", json={"year_built": None, "meter_code": None})
    assert r.status_code == 200 and (r.json["year_built"], r.json["meter_code"]) == (None, None)


def test_refused_corrections_name_the_field_and_change_nothing(api, coop):
    call, ids = api
    with coop.begin() as s:
        verified = make_measure(s, "2004", status="verified").id
    r = call("POST", "/awards", "admin", json={"programme": "HEAT-24", "measure_id": ids["ada"],
                                               "awarded_on": "2024-05-01"})
    assert r.status_code == 201
    premises_id = call("GET", f"/measures/{ids['ada']}", "admin").json["premises_id"]
    before = [stored_corrections(coop, m) for m in (ids["ada"], verified)]
    cases = [  # (path, body, status, {field: part of the reason})
        (f"/measures/{ids['ada']}", {"cost_cents": 900_000}, 422,
         {"cost_cents": "an incentive was awarded on this figure"}),
        (f"/measures/{ids['ada']}", {"estimated_kwh_per_year": 1, "cost_cents": 900_000}, 422,
         {"cost_cents": "an incentive was awarded", "estimated_kwh_per_year": "an incentive was awarded"}),
        (f"/measures/{verified}", {"description": "Heat pump, corrected"}, 422,
         {"status": f"measure {verified} is verified: its figures are final"}),
        (f"/measures/{ids['ada']}", {"status": "verified"}, 422, {"status": "unknown field"}),
        (f"/measures/{ids['ada']}", {}, 422, {"": "nothing to change"}),
        (f"/measures/{ids['ada']}", {"cost_cents": 12.5, "useful_life_years": 0}, 422,
         {"cost_cents": "Not a valid integer", "useful_life_years": "greater than or equal to 1"}),
        ("/measures/99999", {"description": "x"}, 404, {}),
        (f"/premises/{premises_id}", {"floor_area_m2": 0}, 422, {"floor_area_m2": "greater than or equal to 1"}),
        (f"/premises/{premises_id}", {"member_number": "2002"}, 422, {"member_number": "unknown field"}),
        (f"/premises/{premises_id}", {}, 422, {"": "nothing to change"}),
        (f"/premises/{premises_id}", {"address": None}, 422, {"address": "may not be null"}),
        (f"/premises/{premises_id}", {"timezone": "Mars/Olympus", "meter_code": "NOPE"}, 422,
         {"timezone": "is not a time zone name", "meter_code": "no meter 'NOPE' is registered"}),
        (f"/premises/{premises_id}", {"meter_code": "CM-2002"}, 422, {"meter_code": "belongs to member 2002"}),
        ("/premises/99999", {"address": "x"}, 404, {}),
    ]
    for path, body, status, reasons in cases:
        r = call("PATCH", path, "admin", json=body)
        assert r.status_code == status, (path, body, r.status_code, r.json)
        assert r.json["error"] == ("not_found" if status == 404 else "invalid_input"), (path, body)
        got = {d["field"]: d["reason"] for d in r.json["details"]}
        assert set(got) == set(reasons), (path, body, got)
        for field, part in reasons.items():
            assert part in got[field], (path, body, field, got[field])
    r = call("PATCH", f"/measures/{ids['ada']}", "admin", data="not json", content_type="application/json")
    assert r.status_code in (400, 422)
    assert [stored_corrections(coop, m) for m in (ids["ada"], verified)] == before
    # an awarded measure keeps its cost and estimate, but its other figures can still be corrected, and sending
    # the cost unchanged is no change
    r = call("PATCH", f"/measures/{ids['ada']}", "admin", json={"cost_cents": 800_000, "useful_life_years": 18})
    assert r.status_code == 200 and (r.json["cost_cents"], r.json["useful_life_years"]) == (800_000, 18)
    assert stored_corrections(coop, ids["ada"])[2][-1][3:] == ({"useful_life_years": 15}, {"useful_life_years": 18})


def test_auditors_and_members_cannot_correct(api, coop):
    call, ids = api
    premises_id = call("GET", f"/measures/{ids['ada']}", "admin").json["premises_id"]
    before = stored_corrections(coop, ids["ada"])
    for who in ("aud", "ada", "bo"):
        r = call("PATCH", f"/premises/{premises_id}", who, json={"address": "Elsewhere"})
        assert r.status_code == 403 and r.json["error"] == "forbidden", who
        r = call("PATCH", f"/measures/{ids['ada']}", who, json={"cost_cents": 1})
        assert r.status_code == 403 and r.json["error"] == "forbidden", who
    assert call("PATCH", f"/measures/{ids['ada']}", json={"cost_cents": 1}).status_code == 401
    assert stored_corrections(coop, ids["ada"]) == before


def test_an_id_beyond_the_maximum_is_404_for_every_method_and_a_wrong_method_405(api):
    """``GET`` and ``PATCH`` share the address of a building: werkzeug would answer a PATCH of an id beyond
    the converter's maximum with 405 (the GET rule's pattern matches), though no method finds such an id."""
    call, ids = api
    for path in ("/premises/", "/measures/"):
        for huge in ("9" * 30, str(2**63), str(2**53)):
            for method in ("GET", "PATCH", "DELETE"):
                r = call(method, path + huge, "admin", json={"address": "x"} if method == "PATCH" else None)
                assert r.status_code == 404 and r.json["error"] == "not_found", (method, path, huge)
        r = call("DELETE", f"{path}{ids['ada']}", "admin")
        assert r.status_code == 405 and r.json["error"] == "method_not_allowed", path
        assert set(r.headers["Allow"].split(", ")) >= {"GET", "PATCH"}, path
