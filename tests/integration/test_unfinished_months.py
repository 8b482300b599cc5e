"""A month can be posted only after it has ended in every asset's time zone (SPEC 13), and a meter reading can
only be of the past: on SQLite and PostgreSQL, through the service, the command line and the API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from energy_coop.errors import RefusedError
from energy_coop.models import AllocationRun, Asset, ImportBatch, LedgerEntry, Reading
from energy_coop.period import Period
from energy_coop.services.credits import allocation
from energy_coop.services.metering.imports import ImportRefused, import_file
from tests.conftest import TEST_DATA
from tests.helpers import add_readings, hourly, small_coop, utc

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op (SUN1, BAT1) with hourly readings from 2024-01-30 to 2024-03-03 UTC: every zone's
    February whole."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(utc(2024, 1, 30), utc(2024, 3, 3)), name="sun")
        add_readings(s, "PM-BAT1", hourly(utc(2024, 1, 30), utc(2024, 3, 3), 500_000), name="bat")
    return sessions


def zones(sessions, **by_asset: str) -> None:
    with sessions.begin() as s:
        for asset in s.scalars(select(Asset)):
            asset.timezone = by_asset.get(asset.asset_code, asset.timezone)


def written(sessions) -> tuple[int, int]:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(AllocationRun)),
                s.scalar(select(func.count()).select_from(LedgerEntry)))


# ------------------------------------------------------------------------------------------------ the service


def test_an_unfinished_month_is_refused_naming_the_asset_where_it_ends_last(coop):
    zones(coop, SUN1="Pacific/Auckland", BAT1="America/Los_Angeles")
    for flags in ({}, {"allow_gaps": True}, {"repost": True}, {"allow_gaps": True, "repost": True}):
        with pytest.raises(RefusedError) as refused, coop.begin() as s:
            allocation.post(s, "2024-02", actor="test", now=at(2024, 3, 1, 7, 59, 59), **flags)
        assert refused.value.exit_code == 2
        assert refused.value.message == ("2024-02 has not ended for asset BAT1: it ends at 2024-03-01 00:00 "
                                         "America/Los_Angeles (08:00 UTC); it can be posted after that")
        assert [(e.where, e.field) for e in refused.value.errors] == [("asset BAT1", "period")]
    assert written(coop) == (0, 0)
    with coop.begin() as s:
        outcome = allocation.post(s, "2024-02", actor="test", now=at(2024, 3, 1, 8))
    assert outcome.status == "posted" and outcome.month_over
    assert written(coop)[0] == 1


def test_the_utc_date_is_named_when_the_month_ends_there_on_another_day(coop):
    zones(coop, SUN1="Pacific/Auckland", BAT1="Pacific/Auckland")
    with pytest.raises(RefusedError) as refused, coop.begin() as s:
        allocation.post(s, "2024-02", actor="test", now=at(2024, 2, 29, 10, 59))
    assert refused.value.message == ("2024-02 has not ended for asset BAT1: it ends at 2024-03-01 00:00 "
                                     "Pacific/Auckland (2024-02-29 11:00 UTC); it can be posted after that")


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Auckland", "Asia/Kolkata", "Europe/Berlin", "UTC",
                                  "America/New_York", "America/Los_Angeles", "Pacific/Pago_Pago", "Etc/GMT+12"])
def test_a_month_can_be_posted_from_the_instant_it_ends_in_every_zone(coop, zone):
    zones(coop, SUN1=zone, BAT1=zone)
    end = Period(2024, 2).local_end(zone).astimezone(UTC)
    with pytest.raises(RefusedError, match="has not ended for asset BAT1"), coop.begin() as s:
        allocation.post(s, "2024-02", actor="test", now=end - dt.timedelta(seconds=1))
    assert written(coop) == (0, 0)
    with coop.begin() as s:
        outcome = allocation.post(s, "2024-02", actor="test", now=end)
    assert outcome.status == "posted" and not outcome.incomplete, outcome.incomplete
    runs, entries = written(coop)
    assert runs == 1 and entries > 0


def test_a_draft_of_an_unfinished_month_is_computed_and_says_so(coop):
    zones(coop, SUN1="America/New_York")
    with coop.begin() as s:
        draft = allocation.compute(s, "2024-02", now=at(2024, 3, 1, 4))
    doc = draft.document
    assert doc["status"] == "draft" and doc["month_over"] is False
    assert doc["note"] == ("month not over: 2024-02 has not ended for asset SUN1: it ends at 2024-03-01 00:00 "
                           "America/New_York (05:00 UTC); it can be posted after that")
    assert doc["total_wh"] > 0
    with coop.begin() as s:
        over = allocation.compute(s, "2024-02", now=at(2024, 3, 1, 5))
    assert over.document["month_over"] is True and "note" not in over.document
    with pytest.raises(RefusedError, match="2024-04 is in the future"), coop.begin() as s:
        allocation.compute(s, "2024-04", now=at(2024, 3, 31, 23))
    assert written(coop) == (0, 0)


# ------------------------------------------------------------------------------------------------ the command line


def test_the_command_line_refuses_the_current_month_with_exit_2_and_writes_nothing(coop, cli):
    zones(coop, SUN1="America/New_York")
    month = Period.of(dt.datetime.now(UTC))
    ends = month.local_end("America/New_York")
    for flags in ([], ["--allow-gaps"], ["--repost"], ["--allow-gaps", "--repost"]):
        result = cli("allocate", str(month), "--post", *flags)
        assert result.exit_code == 2, result.stderr
        assert (f"error: {month} has not ended for asset SUN1: it ends at {ends:%Y-%m-%d} 00:00 America/New_York "
                f"({ends.astimezone(UTC):%H:%M} UTC); it can be posted after that") in result.stderr
    as_json = cli("allocate", str(month), "--post", "--json")
    assert as_json.exit_code == 2 and "has not ended for asset SUN1" in json.loads(as_json.stdout)["message"]
    assert written(coop) == (0, 0)
    draft = cli("allocate", str(month))
    assert draft.exit_code == 0 and f"{month} (draft, month not over)" in draft.stdout
    assert "month not over: " in draft.stderr
    doc = json.loads(cli("allocate", str(month), "--json").stdout)
    assert doc["month_over"] is False and doc["note"].startswith(f"month not over: {month} has not ended")
    assert written(coop) == (0, 0)


def test_the_command_line_adds_its_own_flag_to_a_refusal_the_service_words_neutrally(coop, cli):
    zones(coop, SUN1="UTC", BAT1="UTC")
    with coop.begin() as s:  # a gap on 2024-02-10
        s.execute(Reading.__table__.delete().where(Reading.start == utc(2024, 2, 10, 12)))
    gaps = cli("allocate", "2024-02", "--post")
    assert gaps.exit_code == 2
    assert "2024-02 cannot be posted: some meter readings are missing; use --allow-gaps to post anyway" in gaps.stderr
    assert cli("allocate", "2024-02", "--post", "--allow-gaps").exit_code == 0
    again = cli("allocate", "2024-02", "--post", "--allow-gaps")
    assert again.exit_code == 3 and "use --repost to replace it with reversal entries and new ones" in again.stderr


# ------------------------------------------------------------------------------------------------ readings of the future


def test_a_csv_reading_that_starts_after_now_refuses_the_file(coop, write):
    path = write("late.csv", "meter_code,start,interval_minutes,kwh\n"
                             "PM-SUN1,2026-12-01T12:00:00Z,60,1.0\n"
                             "PM-SUN1,2027-01-03T10:00:00Z,60,1.0\n"
                             "PM-SUN1,2026-12-01T13:00:00Z,60,1.0\n"
                             "PM-SUN1,2026-12-01T14:00:00Z,60,1.0\n")
    with coop.begin() as s:
        before = s.scalar(select(func.count()).select_from(Reading))
    with pytest.raises(ImportRefused) as refused, coop.begin() as s:
        import_file(s, path, actor="test", now=at(2026, 12, 1, 13))
    report = refused.value.report
    assert report.status == "refused" and report.accepted == 0
    assert [e.as_dict() for e in report.errors] == [
        {"where": "line 3", "field": "start", "line": 3,
         "reason": "starts 2027-01-03 10:00 UTC, after now (2026-12-01 13:00 UTC): meter readings can only be of "
                   "the past"},
        {"where": "line 5", "field": "start", "line": 5,
         "reason": "starts 2026-12-01 14:00 UTC, after now (2026-12-01 13:00 UTC): meter readings can only be of "
                   "the past"},
    ]
    with coop.begin() as s:  # nothing of the file: the line starting exactly at now was not kept either
        assert s.scalar(select(func.count()).select_from(Reading)) == before
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.file_name == "late.csv")) == 0
    with coop.begin() as s:  # the same file an hour later is all past
        assert import_file(s, path, actor="test", now=at(2027, 1, 3, 10)).accepted == 4


def test_a_green_button_reading_that_starts_after_now_refuses_the_file(coop):
    # the fixture's 8 hourly readings start at 2024-01-31 20:00 UTC
    with coop.begin() as s:
        batches = s.scalar(select(func.count()).select_from(ImportBatch))
        held = s.execute(select(Reading.start, Reading.mwh).order_by(Reading.id)).all()
    with pytest.raises(ImportRefused) as refused, coop.begin() as s:
        import_file(s, TEST_DATA / "gb_month_end.xml", actor="test", meter="PM-SUN1", now=at(2024, 1, 31, 22, 30))
    errors = refused.value.report.errors
    assert [(e.where, e.field) for e in errors] == [
        (f"UsagePoint 'PV-ME', IntervalBlock 1, IntervalReading {k}", "timePeriod/start") for k in range(4, 9)]
    assert errors[0].reason == ("starts 2024-01-31 23:00 UTC, after now (2024-01-31 22:30 UTC): meter readings can "
                                "only be of the past")
    with coop.begin() as s:  # nothing of the file: no batch, no reading revised
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == batches
        assert s.execute(select(Reading.start, Reading.mwh).order_by(Reading.id)).all() == held


def test_the_command_line_refuses_a_file_of_future_readings(coop, cli, write):
    path = write("future.csv", "meter_code,start,interval_minutes,kwh\nPM-SUN1,2099-01-01T00:00:00Z,60,1.0\n")
    result = cli("import", str(path), "--json")
    assert result.exit_code == 2
    [report] = json.loads(result.stdout)["files"]
    assert report["status"] == "refused" and report["accepted"] == 0
    [error] = report["errors"]
    assert (error["line"], error["field"]) == (2, "start")
    assert error["reason"].startswith("starts 2099-01-01 00:00 UTC, after now (")
    assert error["reason"].endswith("): meter readings can only be of the past")
