"""The API's read endpoints for each role, with exact bodies, on SQLite and PostgreSQL (SPEC sections 6, 10).

February 2024 is posted (see conftest): 1001 holds 3 of SUN1's 10 shares all month; 1002 2 until the 14th then
1; 1003 1 from the 15th and all 4 of BAT1. SUN1 made 696 kWh, BAT1 435 kWh net, at 0.10 per kWh.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from energy_coop.calc.credits.chain import GENESIS, entry_content, entry_hash
from energy_coop.models import Asset, Forecast, utcnow
from tests.helpers import utc

CREDITS_1001 = {
    "member_number": "1001", "balance_wh": 208_800, "balance_cents": 2_088,
    "months": [{"period": "2024-02", "wh": 208_800, "cents": 2_088,
                "assets": [{"asset_code": "SUN1", "wh": 208_800, "cents": 2_088}]}],
}
CREDITS_1003 = {
    "member_number": "1003", "balance_wh": 471_000, "balance_cents": 4_710,
    "months": [{"period": "2024-02", "wh": 471_000, "cents": 4_710,
                "assets": [{"asset_code": "BAT1", "wh": 435_000, "cents": 4_350},
                           {"asset_code": "SUN1", "wh": 36_000, "cents": 360}]}],
}


def member(number, name, member_type):
    return {"member_number": number, "name": name, "email": None, "member_type": member_type, "joined_on": None,
            "low_income": False, "annual_usage_wh": None, "meter_code": None}


MEMBERS = [member("1001", "Ada Lovelace", "household"), member("1002", "Worker Bees Co-op", "worker_coop"),
           member("1003", "Bo Riverside", "clt_household")]


def ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize("role, body", [
    ("admin", {"email": "admin@example.org", "role": "admin", "member_number": None}),
    ("auditor", {"email": "auditor@example.org", "role": "auditor", "member_number": None}),
    ("member", {"email": "ada@example.org", "role": "member", "member_number": "1001"}),
])
def test_me_says_who_is_signed_in(as_role, role, body):
    assert ok(as_role(role).get("/me")) == body


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_list_every_member_a_page_at_a_time(as_role, role):
    api = as_role(role)
    assert ok(api.get("/members")) == {"members": MEMBERS, "next_after": None}
    first = ok(api.get("/members?limit=2"))
    assert first == {"members": MEMBERS[:2], "next_after": "1002"}
    assert ok(api.get("/members?limit=2&after=1002")) == {"members": MEMBERS[2:], "next_after": None}


def test_a_member_listing_members_sees_only_themself(as_role):
    assert ok(as_role("member").get("/members")) == {"members": MEMBERS[:1], "next_after": None}


def test_member_details_include_todays_shares(as_role):
    assert ok(as_role("auditor").get("/members/1003")) == {
        **MEMBERS[2], "shares": [{"asset_code": "BAT1", "shares": 4}, {"asset_code": "SUN1", "shares": 1}]}
    assert ok(as_role("member").get("/members/1001")) == {**MEMBERS[0], "shares": [{"asset_code": "SUN1", "shares": 3}]}


def test_member_reads_own_credits_exactly(as_role):
    assert ok(as_role("member").get("/members/1001/credits")) == CREDITS_1001
    assert ok(as_role("member").get("/members/1001/credits?from=2024-02&to=2024-02")) == CREDITS_1001


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_read_any_members_credits(as_role, role):
    assert ok(as_role(role).get("/members/1003/credits")) == CREDITS_1003


def test_credits_outside_the_range_leave_the_balance(as_role):
    assert ok(as_role("member").get("/members/1001/credits?from=2024-03")) == {**CREDITS_1001, "months": []}
    assert ok(as_role("member").get("/members/1001/credits?to=2024-01")) == {**CREDITS_1001, "months": []}


@pytest.mark.parametrize("path", [
    "/members/1001", "/members/1001/credits", "/members/1001/statements/2024-02",
    "/members/1001/statements/2024-02.json", "/members/1001/statements/2024-02.csv",
    "/members/1001/statements/2024-02.pdf",
])
def test_another_members_data_is_not_found_exactly_like_a_member_that_does_not_exist(as_role, path):
    other = as_role("member_b").get(path)
    missing = as_role("member_b").get(path.replace("1001", "9999"))
    assert other.status_code == missing.status_code == 404
    assert other.get_json() == {"error": "not_found", "message": "no member with number '1001'", "details": []}
    assert missing.get_json() == {"error": "not_found", "message": "no member with number '9999'", "details": []}


def test_a_member_that_does_not_exist_is_404_for_admins_too(as_role):
    assert ok(as_role("admin").get("/members/9999/credits"), 404)["error"] == "not_found"


STATEMENT_1001 = {
    "member_number": "1001", "name": "Ada Lovelace", "period": "2024-02", "number": "2024-02-1001",
    "opening_balance": {"wh": 0, "cents": 0},
    "credits": [{"asset_code": "SUN1", "asset_name": "School roof", "wh": 208_800, "cents": 2_088}],
    "credits_total": {"wh": 208_800, "cents": 2_088},
    "earlier_months": [], "earlier_total": {"wh": 0, "cents": 0},
    "other_entries": [],
    "closing_balance": {"wh": 208_800, "cents": 2_088},
    "stale": False,
}


def test_statement_as_json_csv_and_pdf(as_role, sessions):
    import hashlib

    from energy_coop.models import IssuedStatement

    api = as_role("member")
    body = ok(api.get("/members/1001/statements/2024-02"))
    issued_at = body.pop("issued_at")
    assert body == STATEMENT_1001 and issued_at.startswith(str(dt.date.today().year))
    assert ok(api.get("/members/1001/statements/2024-02.json")) == {**STATEMENT_1001, "issued_at": issued_at}
    csv = api.get("/members/1001/statements/2024-02.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.headers["Content-Disposition"] == 'attachment; filename="statement-1001-2024-02.csv"'
    assert csv.get_data(as_text=True).splitlines() == [
        "member_number,period,line,asset_code,kind,kwh,amount,wh,cents,for_period,memo",
        "1001,2024-02,opening_balance,,,0.000,0.00,0,0,,",
        "1001,2024-02,credit,SUN1,allocation,208.800,20.88,208800,2088,,",
        "1001,2024-02,closing_balance,,,208.800,20.88,208800,2088,,",
    ]
    pdf = api.get("/members/1001/statements/2024-02.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    with sessions.begin() as s:  # exactly the bytes stored when the month was issued
        row = s.scalar(select(IssuedStatement).where(IssuedStatement.number == "2024-02-1001"))
        assert hashlib.sha256(pdf.data).hexdigest() == row.pdf_sha256
        assert hashlib.sha256(csv.data).hexdigest() == row.csv_sha256


def test_a_month_not_issued_has_no_statement_404_saying_why(as_role):
    for path in ("/members/1001/statements/2024-03.json", "/members/1001/statements/2024-03.pdf",
                 "/members/1001/statements/2024-03.csv"):
        body = ok(as_role("auditor").get(path), 404)
        assert body["message"].startswith("the statements of 2024-03 are not issued yet"), path


@pytest.mark.parametrize("path, field", [
    ("/members/1001/credits?from=2024-13", "from"),
    ("/members/1001/credits?to=24-02", "to"),
    ("/members/1001/credits?from=2024-02-01", "from"),
    ("/members/1001/credits?from=" + "9" * 5000, "from"),
    ("/members/1001/credits?from=2024-03&to=2024-02", "from"),
    ("/members/1001/credits?month=2024-02", "month"),
    ("/members/1001/statements/2024-13", "period"),
    ("/members/1001/statements/2024-02.xml", "period"),
    ("/members/1001/statements/2024-13.pdf", "period"),
    ("/members?limit=0", "limit"),
    ("/members?limit=abc", "limit"),
    ("/members?limit=99999999999999999999999", "limit"),
])
def test_bad_query_and_path_values_are_422_naming_the_field(as_role, path, field):
    body = ok(as_role("member").get(path), 422)
    assert body["error"] == "invalid_input"
    assert [d["field"] for d in body["details"]] == [field], body


def test_assets_are_listed_for_every_signed_in_role(as_role):
    bodies = [ok(as_role(role).get("/assets")) for role in ("admin", "auditor", "member")]
    assert bodies[0] == bodies[1] == bodies[2]
    sun = bodies[0]["assets"][1]
    assert [a["asset_code"] for a in bodies[0]["assets"]] == ["BAT1", "SUN1"]
    assert sun == {
        "asset_code": "SUN1", "name": "School roof", "kind": "solar", "meter_code": "PM-SUN1", "timezone": "UTC",
        "latitude": 39.73, "longitude": -105.18, "altitude_m": None, "total_shares": 10, "commissioned_on": None,
        "capacity_kw_dc": 250.0, "capacity_kw_ac": 200.0, "tilt_deg": 20.0, "azimuth_deg": 180.0,
        "losses_pct": 14.0, "array_type": "fixed_open_rack", "storage_kwh": None, "storage_kw": None,
        "roundtrip_efficiency": None,
    }


def test_production_by_day_month_and_hour(as_role):
    api = as_role("member")
    day = ok(api.get("/assets/SUN1/production?from=2024-01-31&to=2024-02-02&resolution=day"))
    assert day == {"asset_code": "SUN1", "timezone": "UTC", "resolution": "day", "from": "2024-01-31",
                   "to": "2024-02-02", "total_wh": 48_000,
                   "points": [{"start": "2024-02-01T00:00:00+00:00", "wh": 24_000, "readings": 24},
                              {"start": "2024-02-02T00:00:00+00:00", "wh": 24_000, "readings": 24}]}
    month = ok(api.get("/assets/BAT1/production?from=2024-01-01&to=2024-03-31&resolution=month"))
    assert month["points"] == [{"start": "2024-02-01T00:00:00+00:00", "wh": 435_000, "readings": 696}]
    hour = ok(api.get("/assets/BAT1/production?from=2024-02-29&to=2024-02-29&resolution=hour"))
    assert [p["wh"] for p in hour["points"]] == [-2_000] * 6 + [1_500] * 18
    assert hour["points"][6]["start"] == "2024-02-29T06:00:00+00:00"
    assert hour["total_wh"] == 15_000


def test_production_buckets_are_local_hours_and_days(sessions, as_role):
    with sessions.begin() as s:
        s.query(Asset).filter_by(asset_code="SUN1").one().timezone = "America/Denver"  # UTC-7 in February
    day = ok(as_role("admin").get("/assets/SUN1/production?from=2024-02-01&to=2024-02-01&resolution=day"))
    # local 1 Feb runs 07:00 UTC on the 1st to 07:00 UTC on the 2nd: 24 hourly readings, all present
    assert day["points"] == [{"start": "2024-02-01T00:00:00-07:00", "wh": 24_000, "readings": 24}]
    month = ok(as_role("admin").get("/assets/SUN1/production?from=2024-01-01&to=2024-02-29&resolution=month"))
    # the first 7 UTC hours of February are local 31 January
    assert month["points"] == [{"start": "2024-01-01T00:00:00-07:00", "wh": 7_000, "readings": 7},
                               {"start": "2024-02-01T00:00:00-07:00", "wh": 689_000, "readings": 689}]


@pytest.mark.parametrize("query, field", [
    ("resolution=minute", "resolution"),
    ("from=2024-02-30", "from"),
    ("from=2024-03-01&to=2024-02-01", "from"),
    ("from=0001-01-01", "from"),
    ("frm=2024-02-01", "frm"),
])
def test_bad_production_queries_are_422(as_role, query, field):
    body = ok(as_role("member").get("/assets/SUN1/production?" + query), 422)
    assert [d["field"] for d in body["details"]] == [field], body


def test_too_many_hours_are_refused_with_a_reason(as_role):
    body = ok(as_role("member").get("/assets/SUN1/production?from=2020-01-01&to=2024-01-01&resolution=hour"), 422)
    assert "at most 8784" in body["message"]


def test_unknown_asset_is_404(as_role):
    for path in ("/assets/NOPE/production", "/assets/NOPE/forecast"):
        assert ok(as_role("member").get(path), 404) == {
            "error": "not_found", "message": "no asset with code 'NOPE'", "details": []}


def test_forecast_lists_stored_points_in_the_range(sessions, as_role):
    api = as_role("member")
    assert ok(api.get("/assets/SUN1/forecast?from=2024-06-01&to=2024-06-01")) == {
        "asset_code": "SUN1", "from": "2024-06-01", "to": "2024-06-01", "points": [], "total_wh": 0}
    with sessions.begin() as s:
        sun = s.query(Asset).filter_by(asset_code="SUN1").one()
        s.add_all(Forecast(asset_id=sun.id, start=t, end=t + 3600, wh=1000 + k, wh_low=None, wh_high=None,
                           source="weather", computed_at=utcnow())
                  for k, t in enumerate(range(utc(2024, 6, 1, 23), utc(2024, 6, 2, 2), 3600)))
    body = ok(api.get("/assets/SUN1/forecast?from=2024-06-02&to=2024-06-02"))
    assert body["points"] == [
        {"start": "2024-06-02T00:00:00+00:00", "end": "2024-06-02T01:00:00+00:00", "wh": 1001, "wh_low": None,
         "wh_high": None, "source": "weather"},
        {"start": "2024-06-02T01:00:00+00:00", "end": "2024-06-02T02:00:00+00:00", "wh": 1002, "wh_low": None,
         "wh_high": None, "source": "weather"},
    ]
    assert body["total_wh"] == 2003


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_ledger_entries_carry_hashes_that_verify(as_role, role):
    body = ok(as_role(role).get("/ledger?period=2024-02"))
    assert body["next_after_seq"] is None and body["period"] == "2024-02"
    entries = body["entries"]
    assert [(e["seq"], e["kind"], e["member_number"], e["asset_code"], e["wh"], e["cents"]) for e in entries] == [
        (1, "allocation", "1003", "BAT1", 435_000, 4_350),
        (2, "allocation", "1001", "SUN1", 208_800, 2_088),
        (3, "allocation", "1002", "SUN1", 103_200, 1_032),
        (4, "allocation", "1003", "SUN1", 36_000, 360),
    ]
    assert set(entries[0]) == {"seq", "kind", "member_number", "period", "booked", "asset_code", "wh", "cents",
                               "run_id", "reverses_seq", "memo", "created_at", "prev_hash", "hash"}
    assert {e["booked"] for e in entries} == {"2024-02"}
    import datetime as dt

    prev = GENESIS
    for e in entries:
        assert e["prev_hash"] == prev
        content = entry_content(e["seq"], e["kind"], e["member_number"], e["period"], e["asset_code"], e["wh"],
                                e["cents"], e["run_id"], e["reverses_seq"], e["memo"],
                                dt.datetime.fromisoformat(e["created_at"]), e["booked"])
        assert entry_hash(prev, content) == e["hash"]
        prev = e["hash"]


def test_ledger_pages_and_periods(as_role):
    api = as_role("auditor")
    first = ok(api.get("/ledger?limit=3"))
    assert [e["seq"] for e in first["entries"]] == [1, 2, 3] and first["next_after_seq"] == 3
    rest = ok(api.get("/ledger?limit=3&after_seq=3"))
    assert [e["seq"] for e in rest["entries"]] == [4] and rest["next_after_seq"] is None
    assert ok(api.get("/ledger?period=2024-03"))["entries"] == []
    assert ok(api.get("/ledger?period=2024-13"), 422)["details"][0]["field"] == "period"
    assert ok(api.get("/ledger?limit=10001"), 422)["details"][0]["field"] == "limit"


def test_members_may_not_read_the_ledger(as_role):
    assert ok(as_role("member").get("/ledger"), 403) == {
        "error": "forbidden", "message": "a member may not do this; it needs the role admin or auditor",
        "details": []}
