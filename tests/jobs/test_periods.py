"""Period keys, the allocation calendar and the timetable settings (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from energy_coop.config import Schedule, load_config
from energy_coop.errors import RefusedError
from jobs import periods as job_periods
from jobs import specs as job_specs
from jobs.scheduler import next_run_times, timetable
from tests.jobs.conftest import at

S = Schedule()


def test_period_keys_of_each_job():
    now = at(2024, 3, 5, 10, 29, 59)
    assert job_periods.period_for("import-inbox", now, S) == "2024-03-05T10:15Z"
    assert job_periods.period_for("refresh-forecasts", now, S) == "2024-03-05"
    assert job_periods.period_for("monthly-allocation", now, S) == "2024-02"
    assert job_periods.period_for("monthly-allocation", at(2024, 1, 3), S) == "2023-12"
    assert job_periods.slot_key(at(2024, 3, 5, 10, 59), 60) == "2024-03-05T10:00Z"
    other_zone = dt.datetime(2024, 3, 5, 11, 20, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert job_periods.period_for("import-inbox", other_zone, S) == "2024-03-05T10:15Z"


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        job_periods.period_for("import-inbox", dt.datetime(2024, 3, 5), S)


def test_allocation_falls_due_on_the_third_at_0440_utc():
    assert job_periods.allocation_due_at("2024-02", S) == at(2024, 3, 3, 4, 40)
    assert job_periods.allocation_due_at("2024-12", S) == at(2025, 1, 3, 4, 40)
    assert job_periods.latest_due_month(at(2024, 3, 3, 4, 39), S) == "2024-01"
    assert job_periods.latest_due_month(at(2024, 3, 3, 4, 40), S) == "2024-02"
    assert job_periods.latest_due_month(at(2024, 1, 1), S) == "2023-11"


@pytest.mark.parametrize("job, text, expected", [
    ("monthly-allocation", "2024-02", "2024-02"),
    ("monthly-allocation", " 2024-2 ", "2024-02"),
    ("refresh-forecasts", "2024-03-05", "2024-03-05"),
    ("import-inbox", "2024-03-05T10:15Z", "2024-03-05T10:15Z"),
    ("import-inbox", "2024-03-05T10:15+00:00", "2024-03-05T10:15Z"),
])
def test_manual_periods_are_normalised(job, text, expected):
    assert job_periods.parse_period(job, text, now=at(2024, 3, 5, 10, 20), schedule=S) == expected


@pytest.mark.parametrize("job, text, reason", [
    ("monthly-allocation", "2024-03", "has not ended yet"),
    ("monthly-allocation", "2024-13", "expected YYYY-MM"),
    ("monthly-allocation", "last month", "expected YYYY-MM"),
    ("refresh-forecasts", "2024-03-06", "in the future"),
    ("refresh-forecasts", "2024-02-30", "expected YYYY-MM-DD"),
    ("import-inbox", "2024-03-05T10:10Z", "not the start of an inbox slot"),
    ("import-inbox", "2024-03-05T10:30Z", "in the future"),
    ("import-inbox", "2024-03-05", "expected YYYY-MM-DDTHH:MMZ"),
    ("no-such-job", "2024-03", "there is no job called"),
])
def test_bad_manual_periods_are_refused_with_a_reason(job, text, reason):
    with pytest.raises(RefusedError, match=reason):
        job_periods.parse_period(job, text, now=at(2024, 3, 5, 10, 20), schedule=S)


def test_schedule_defaults_and_overrides():
    assert load_config("sqlite://", env={}).schedule == Schedule()
    cfg = load_config("sqlite://", env={"ENERGY_COOP_SCHEDULE_INBOX_MINUTES": "5",
                                        "ENERGY_COOP_SCHEDULE_FORECASTS": "05:30",
                                        "ENERGY_COOP_SCHEDULE_ALLOCATION": "4 06:15",
                                        "ENERGY_COOP_INBOX_SETTLE_SECONDS": "2.5"})
    assert cfg.schedule == Schedule(5, dt.time(5, 30), 4, dt.time(6, 15), 2.5)
    times = next_run_times(cfg.schedule, at(2024, 3, 5, 10, 16))
    assert times["import-inbox"] == at(2024, 3, 5, 10, 20)
    assert times["refresh-forecasts"] == at(2024, 3, 6, 5, 30)
    assert times["monthly-allocation"] == at(2024, 4, 4, 6, 15)


def test_every_malformed_schedule_setting_is_named():
    cfg = load_config("sqlite://", env={"ENERGY_COOP_SCHEDULE_INBOX_MINUTES": "7",
                                        "ENERGY_COOP_SCHEDULE_FORECASTS": "25:00",
                                        "ENERGY_COOP_SCHEDULE_ALLOCATION": "31 04:40",
                                        "ENERGY_COOP_INBOX_SETTLE_SECONDS": "soon",
                                        "ENERGY_COOP_JOB_HEARTBEAT_SECONDS": "0"})
    with pytest.raises(RefusedError) as info:
        _ = cfg.schedule
    names = [e.where for e in info.value.errors]
    assert names == ["ENERGY_COOP_SCHEDULE_INBOX_MINUTES", "ENERGY_COOP_SCHEDULE_FORECASTS",
                     "ENERGY_COOP_SCHEDULE_ALLOCATION", "ENERGY_COOP_INBOX_SETTLE_SECONDS",
                     "ENERGY_COOP_JOB_HEARTBEAT_SECONDS"]
    assert "'0' is not a whole number of seconds between 1 and 60" in str(info.value)
    assert "'7' is not a whole number of minutes that divides an hour" in str(info.value)


def test_timetable_options_are_deliberate():
    table = {t.job_id: t for t in timetable(S)}
    assert set(table) == {*job_specs.JOBS, "catch-up", "watch"}
    assert table["import-inbox"].misfire_grace_time == 300  # a third of the slot
    # the watch fires every minute, so a silent run is taken over at most a minute after its silence ends
    first = table["watch"].trigger.get_next_fire_time(None, dt.datetime(2024, 3, 5, 10, 0, 1, tzinfo=dt.UTC))
    second = table["watch"].trigger.get_next_fire_time(first, first)
    assert second - first == dt.timedelta(minutes=1)
    assert table["monthly-allocation"].misfire_grace_time == 24 * 3600
    for t in table.values():  # every trigger is in UTC, so clock changes cannot skip or repeat a run
        assert str(t.trigger.timezone) in ("UTC", "UTC+00:00")


def test_the_cli_knows_every_job():
    from energy_coop.cli import JOB_NAMES

    assert JOB_NAMES == tuple(job_specs.JOBS)
