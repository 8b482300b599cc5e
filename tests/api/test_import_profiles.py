"""Import profiles through the API (SPEC 20): the listing, and an upload naming or detecting its profile."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from energy_coop.models import Reading
from energy_coop.services.metering.profiles import add_profile
from tests.conftest import TEST_DATA
from tests.helpers import utc
from tests.profile_exports import MY_UTILITY

DATA = TEST_DATA / "profiles"


def upload(api, name: str, **fields):
    data = {"file": (io.BytesIO((DATA / name).read_bytes()), name)} | fields
    return api.post("/imports", data=data, content_type="multipart/form-data")


def test_the_listing_names_built_ins_then_stored_profiles(sessions, as_role):
    with sessions.begin() as s:
        add_profile(s, MY_UTILITY, source="my-utility.toml", actor="admin@example.org")
    resp = as_role("auditor").get("/import-profiles")
    assert resp.status_code == 200
    profiles = resp.get_json()["profiles"]
    assert [p["name"] for p in profiles] == ["utility-blocks", "start-end-kwh", "inverter-register", "my-utility"]
    assert profiles[0]["layout"] == "blocks" and profiles[0]["blocks"]["received"][0] == "energy received"
    assert (profiles[3]["built_in"], profiles[3]["added_by"], profiles[3]["timezone"]) == (
        False, "admin@example.org", "Europe/Berlin")
    assert as_role("member").get("/import-profiles").status_code == 403


def test_an_upload_detects_the_utility_layout_and_imports_it_exactly(sessions, as_role):
    resp = upload(as_role("admin"), "utility_blocks_2022-08.csv", meter="PM-SUN1", timezone="America/New_York")
    assert resp.status_code == 200, resp.get_json()
    doc = resp.get_json()
    assert (doc["status"], doc["profile"], doc["accepted"]) == ("imported", "utility-blocks", 48)
    with sessions.begin() as s:
        assert s.scalar(select(func.sum(Reading.mwh)).where(Reading.start >= utc(2022, 8, 1),
                                                            Reading.start < utc(2022, 8, 4))) == 9_356_000


def test_an_upload_names_its_profile_and_an_unknown_one_is_a_bad_field(sessions, as_role):
    api = as_role("admin")
    named = upload(api, "start_end_kwh_2024-03.csv", meter="PM-SUN1", timezone="UTC", profile="start-end-kwh")
    # a consumption export on a solar meter: its only channel is not the meter's
    assert named.status_code == 422
    assert named.get_json()["report"]["errors"][0]["field"] == "channel"
    unknown = upload(api, "start_end_kwh_2024-03.csv", meter="PM-SUN1", profile="no-such-layout")
    assert unknown.status_code == 422
    body = unknown.get_json()
    assert "there is no import profile 'no-such-layout'" in str(body)
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Reading).where(Reading.start < utc(2024, 1, 1))) == 0
