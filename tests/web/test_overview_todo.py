"""The Overview is a to-do list (issue 18): each thing that needs an administrator, with where to go next.

The service is driven with its own clock (``now``); the page with the real one. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from energy_coop.config import Schedule
from energy_coop.services.credits import allocation
from energy_coop.services.efficiency.incentives import award_incentive
from energy_coop.services.metering.imports import import_file
from energy_coop.services.screens.todo import todo
from tests.efficiency.conftest import make_measure, make_programme
from tests.helpers import add_readings, hourly, small_coop, utc

NOW = dt.datetime(2024, 3, 8, 12, 0, tzinfo=dt.UTC)


def items(sessions, now=NOW, inbox=None, kinds=None):
    with sessions.begin() as s:
        found = todo(s, now=now, schedule=Schedule(), inbox=inbox, performance=[])
    return [i for i in found if kinds is None or i["kind"] in kinds]


@pytest.fixture
def metered(sessions, tmp_path):
    """February complete on both assets; March 1-7 too, except that the solar meter misses March 4."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(utc(2024, 2, 1), utc(2024, 3, 4)) + hourly(utc(2024, 3, 5), utc(2024, 3, 8)))
        add_readings(s, "PM-BAT1", hourly(utc(2024, 2, 1), utc(2024, 3, 8), mwh=500_000), name="bat")
    return sessions


def test_a_missing_day_is_a_gap_and_a_complete_month_waits_to_be_posted(metered):
    found = items(metered, kinds={"gap", "unposted", "scheduler"})
    assert [i["kind"] for i in found] == ["scheduler", "unposted", "gap"]
    assert found[0]["last_started"] is None  # no scheduler run was ever recorded
    assert found[1]["period"] == "2024-02"
    gap = found[2]
    assert (gap["meter_code"], gap["asset_code"], gap["missing"], gap["expected"], gap["interval_minutes"]) == \
        ("PM-SUN1", "SUN1", 24, 168, 60)
    assert gap["first_gap"] == dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
    assert (gap["from"], gap["to"]) == (dt.date(2024, 3, 1), dt.date(2024, 3, 7))
    with metered.begin() as s:
        allocation.post(s, "2024-02", actor="test", now=NOW)
    assert [i["kind"] for i in items(metered, kinds={"unposted", "stale"})] == []


def test_a_revision_after_posting_makes_the_month_stale_on_the_list(metered, tmp_path):
    with metered.begin() as s:
        allocation.post(s, "2024-02", actor="test", now=NOW)
    assert items(metered, kinds={"stale"}) == []
    revised = tmp_path / "revised.csv"
    revised.write_text("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-10T12:00:00Z,60,2.5\n")
    with metered.begin() as s:
        report = import_file(s, revised, actor="test", now=NOW)
        assert report.revised == 1
    [stale] = items(metered, kinds={"stale"})
    assert stale["period"] == "2024-02" and stale["since"] is not None


def test_refused_inbox_files_and_a_programme_near_its_budget_are_listed(metered, tmp_path):
    rejected = tmp_path / "inbox" / "rejected"
    rejected.mkdir(parents=True)
    (rejected / "bad.csv").write_text("meter_code,start\n")
    (rejected / "bad.csv.report.json").write_text(json.dumps(
        {"refused_at": "2024-03-07T10:15:00+00:00", "summary": "bad.csv: refused: line 2, kwh: missing"}))
    (rejected / "lonely.csv").write_text("x\n")  # its report was removed: still listed
    with metered.begin() as s:
        measure = make_measure(s, "1001", status="installed")
        make_programme(s, budget_cents=250_000)
        award_incentive(s, programme_code="HEAT-24", measure_id=measure.id, awarded_on=dt.date(2024, 3, 1),
                        actor="test")
    found = items(metered, inbox=tmp_path / "inbox", kinds={"refused", "budget"})
    refused, budget = found
    assert refused["count"] == 2
    by_name = {f["name"]: f for f in refused["files"]}
    assert by_name["bad.csv"]["summary"] == "bad.csv: refused: line 2, kwh: missing"
    assert by_name["bad.csv"]["refused_at"] == dt.datetime(2024, 3, 7, 10, 15, tzinfo=dt.UTC)
    assert by_name["lonely.csv"]["summary"] is None
    assert (budget["code"], budget["budget_cents"], budget["awarded_cents"]) == ("HEAT-24", 250_000, 240_000)
    assert budget["left_cents"] == 10_000


def test_the_overview_page_words_each_item_with_its_link(signed_in, seeded, sessions, tmp_path):
    revised = tmp_path / "revised.csv"
    revised.write_text("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-10T12:00:00Z,60,2.5\n")
    with sessions.begin() as s:
        import_file(s, revised, actor="test")
    html = signed_in("admin").get("/admin/").get_data(as_text=True)
    assert "February 2024 was posted, but its readings changed since" in html
    assert 'href="/admin/allocation?period=2024-02"' in html
    assert "No scheduler run has ever been recorded" in html
    assert "Meter PM-SUN1 (asset SUN1) is missing" in html  # nothing metered in the last 7 days
    jobs = signed_in("auditor").get("/admin/jobs").get_data(as_text=True)
    assert "Import the inbox" in jobs and "Timetable (UTC)" in jobs and "No scheduler run has ever been recorded" in jobs
