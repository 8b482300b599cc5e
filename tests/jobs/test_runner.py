"""Running jobs through the job-run table: the monthly allocation, the forecast refresh, catch-up after an
outage, failures recorded and followed by a good run, and a database that is briefly unreachable."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import sys
import types

from sqlalchemy import select

from energy_coop.db import dispose_all
from energy_coop.models import AllocationRun, JobRun
from energy_coop.services.credits import issued
from jobs import periods as job_periods
from jobs import runs as job_runs
from jobs import runner
from tests.helpers import add_readings, hourly, utc
from tests.jobs.conftest import at, make_config


def readings_for(sessions, *months: tuple[int, int], complete: bool = True) -> None:
    with sessions.begin() as s:
        for year, month in months:
            start, end = utc(year, month, 1), utc(year + month // 12, month % 12 + 1, 1)
            add_readings(s, "PM-SUN1", hourly(start, end if complete else end - 7200), name=f"sun {year}-{month}")
            add_readings(s, "PM-BAT1", hourly(start, end, 500_000), name=f"bat {year}-{month}")


def allocation_runs(sessions) -> list[tuple[str, int]]:
    with sessions.begin() as s:
        return [(r.period, r.generation) for r in s.scalars(select(AllocationRun).order_by(AllocationRun.period))]


def auto_posting(config):
    return dataclasses.replace(config, auto_post=True)


def test_the_monthly_draft_records_its_totals_and_coverage_and_posts_nothing(coop, config, job_rows):
    readings_for(coop, (2024, 2))
    result = runner.run_job(config, "monthly-allocation", now=at(2024, 3, 3, 4, 40))
    assert (result.ran, result.outcome, result.period) == (True, "succeeded", "2024-02")
    assert "auto-posting is off (an admin posts it from the allocation page" in result.message
    assert "--" not in result.message  # shown on the admins' jobs page: no command-line option
    [run] = job_rows("monthly-allocation")
    assert run.counts["coverage"] == {"BAT1": "1.0000", "SUN1": "1.0000"}
    assert run.counts["total_wh"] == 29 * 24 * 1500 and run.counts["posted"] is False
    assert (run.host, run.started_at, run.finished_at) == (runner.HOST, at(2024, 3, 3, 4, 40), at(2024, 3, 3, 4, 40))
    assert allocation_runs(coop) == []
    again = runner.run_job(config, "monthly-allocation", now=at(2024, 3, 3, 5, 40))
    assert not again.ran and "already ran (succeeded" in again.message
    assert len(job_rows()) == 1


def test_auto_posting_posts_a_complete_month_once(coop, config, job_rows):
    readings_for(coop, (2024, 2))
    config = auto_posting(config)
    result = runner.run_job(config, "monthly-allocation", now=at(2024, 3, 3, 4, 40))
    assert result.outcome == "succeeded" and "posted 2024-02 as allocation run" in result.message
    assert result.counts["posted"] is True and result.counts["allocation_run_id"]
    # posted and issued in the same job: the month's statements exist and are frozen
    assert result.message.endswith("3 statements issued") and result.counts["statements_issued"] == 3
    with coop.begin() as s:
        assert [m["period"] for m in issued.issued_months(s)] == ["2024-02"]
    manual = runner.run_job(config, "monthly-allocation", period="2024-02", trigger="manual", started_by="cli:ada",
                            force_retry=True, now=at(2024, 3, 4))
    assert not manual.ran and "already ran" in manual.message
    assert allocation_runs(coop) == [("2024-02", 1)]


def test_auto_posting_waits_for_complete_coverage(coop, config):
    readings_for(coop, (2024, 2), complete=False)
    result = runner.run_job(auto_posting(config), "monthly-allocation", now=at(2024, 3, 3, 4, 40))
    assert result.outcome == "succeeded" and "Not posted: coverage is below 100 %" in result.message
    assert "SUN1" in result.message and result.counts["incomplete"]
    assert allocation_runs(coop) == []


def test_a_month_posted_by_hand_is_skipped(coop, config, cli):
    readings_for(coop, (2024, 2))
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    result = runner.run_job(auto_posting(config), "monthly-allocation", now=at(2024, 3, 3, 4, 40))
    assert result.outcome == "skipped" and "already posted" in result.message
    assert allocation_runs(coop) == [("2024-02", 1)]


def test_a_failing_job_is_recorded_and_logged_and_the_next_run_still_happens(coop, config, monkeypatch, caplog,
                                                                              job_rows):
    from energy_coop.services.credits import issued, allocation

    real = allocation.compute
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(allocation, "compute", flaky)
    readings_for(coop, (2024, 2))
    with caplog.at_level(logging.ERROR, logger="jobs"):
        first = runner.run_job(config, "monthly-allocation", now=at(2024, 3, 3, 4, 40))
    assert first.outcome == "failed" and first.message == "failed: RuntimeError: disk on fire"
    assert "disk on fire" in caplog.text
    assert job_rows()[0].outcome == "failed"
    # the next pass of the catch-up retries it (attempt 2) and it succeeds; nothing else is owed
    results = runner.catch_up(config, now=at(2024, 3, 3, 5, 7))
    by_job = {r.job: r for r in results}
    assert by_job["monthly-allocation"].outcome == "succeeded" and by_job["monthly-allocation"].attempt == 2
    [run] = job_rows("monthly-allocation")
    assert run.counts["earlier_failures"][0]["message"] == "failed: RuntimeError: disk on fire"


def test_a_refused_month_fails_with_the_reason(coop, config):
    readings_for(coop, (2023, 12))  # before the first credit rate (2024-01-01)
    result = runner.run_job(config, "monthly-allocation", period="2023-12", now=at(2024, 3, 3, 4, 40))
    assert result.outcome == "failed" and "could not be drafted" in result.message and "rate" in result.message


def test_the_forecast_job_without_its_service_fails_clearly(config, monkeypatch, job_rows):
    monkeypatch.setitem(sys.modules, "energy_coop.services.forecasting.forecasts", None)
    result = runner.run_job(config, "refresh-forecasts", now=at(2024, 3, 5, 4, 20))
    assert result.outcome == "failed"
    assert "forecast refresh service (energy_coop.services.forecasting.forecasts.refresh_forecasts) is not part of this " \
           "installation" in result.message
    assert job_rows()[0].period == "2024-03-05"


def test_the_forecast_job_calls_the_refresh_service_for_its_day(config, monkeypatch, job_rows):
    seen = []

    def refresh_forecasts(session, *, today, days=7, actor):
        seen.append((today, days, actor))
        return {"assets": 1, "days": days, "total_kwh": {"SUN1": "812.500"}}

    fake = types.ModuleType("energy_coop.services.forecasting.forecasts")
    fake.refresh_forecasts = refresh_forecasts
    monkeypatch.setitem(sys.modules, "energy_coop.services.forecasting.forecasts", fake)
    result = runner.run_job(config, "refresh-forecasts", now=at(2024, 3, 5, 4, 20))
    assert result.outcome == "succeeded" and seen == [(at(2024, 3, 5).date(), 7, "scheduler")]
    assert job_rows()[0].counts == {"assets": 1, "days": 7, "total_kwh": {"SUN1": "812.500"}}


def test_down_across_two_month_ends_each_missed_month_is_drafted_once(coop, config, job_rows, monkeypatch):
    monkeypatch.setitem(sys.modules, "energy_coop.services.forecasting.forecasts", None)
    readings_for(coop, (2024, 1), (2024, 2), (2024, 3))
    config = auto_posting(config)
    assert runner.run_job(config, "monthly-allocation", now=at(2024, 2, 3, 4, 40)).outcome == "succeeded"
    # the scheduler stops on 2024-02-10 and starts again on 2024-04-10: February and March fell due meanwhile
    restart = at(2024, 4, 10, 9, 0)
    with coop.begin() as s:
        assert job_periods.missed_periods(s, "monthly-allocation", now=restart, schedule=config.schedule) == [
            "2024-02", "2024-03"]
    first = runner.catch_up(config, now=restart)
    assert [(r.job, r.period, r.outcome) for r in first] == [
        ("import-inbox", "2024-04-10T09:00Z", "succeeded"),  # one inbox run, not one per missed slot
        ("refresh-forecasts", "2024-04-10", "failed"),        # today's only (its service is absent here)
        ("monthly-allocation", "2024-02", "succeeded"),
        ("monthly-allocation", "2024-03", "succeeded"),
    ]
    second = runner.catch_up(config, now=at(2024, 4, 10, 9, 1))
    assert [(r.job, r.period) for r in second] == [("refresh-forecasts", "2024-04-10")]  # the retry of the failure
    assert runner.catch_up(config, now=at(2024, 4, 10, 9, 2)) == []
    assert [r.period for r in job_rows("monthly-allocation")] == ["2024-01", "2024-02", "2024-03"]
    assert allocation_runs(coop) == [("2024-01", 1), ("2024-02", 1), ("2024-03", 1)]


def test_a_new_installation_catches_up_only_the_month_now_due(config, sessions):
    with sessions.begin() as s:
        assert job_periods.missed_periods(s, "monthly-allocation", now=at(2024, 4, 10), schedule=config.schedule) == [
            "2024-03"]
        s.add(JobRun(job="monthly-allocation", period="2021-05", outcome="succeeded", attempt=1, trigger="manual",
                     started_by="t", started_at=at(2021, 6, 3), lease_until=at(2021, 6, 3), host="h", pid=1,
                     counts={}, message=""))
        s.flush()
        owed = job_periods.missed_periods(s, "monthly-allocation", now=at(2024, 4, 10), schedule=config.schedule)
    assert owed[0] == "2023-04" and owed[-1] == "2024-03" and len(owed) == job_periods.MAX_CATCH_UP_MONTHS


def test_a_briefly_unreachable_database_fails_the_run_and_the_next_run_succeeds(tmp_path, sqlite_template, caplog):
    folder = tmp_path / "not-yet"
    config = make_config(f"sqlite:///{folder / 'energy_coop.db'}", tmp_path)
    config.inbox.mkdir(parents=True)
    with caplog.at_level(logging.ERROR, logger="jobs"):
        down = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 15))
    assert (down.ran, down.outcome, down.recorded) == (False, "failed", False)
    assert "could not be started: the database could not be reached" in down.message
    assert "could not be reached" in caplog.text
    assert runner.catch_up(config, now=at(2024, 3, 5, 10, 16)) == []  # logged, not raised
    folder.mkdir()
    shutil.copyfile(sqlite_template, folder / "energy_coop.db")
    up = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))
    assert (up.ran, up.outcome, up.recorded) == (True, "succeeded", True)
    dispose_all()


def test_an_outcome_that_cannot_be_written_leaves_the_run_for_recovery(config, monkeypatch, sessions, job_rows):
    def broken(*args, **kwargs):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(job_runs, "finish_run", broken)
    result = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 15))
    assert result.ran and result.recorded is False
    monkeypatch.undo()
    assert job_rows()[0].outcome == "running"
    # this process is not running it any more, so the next recovery resolves it
    resolved = runner.recover(config, now=at(2024, 3, 5, 10, 16))
    assert [r["outcome"] for r in resolved] == ["failed"]


def test_the_hourly_recovery_never_takes_this_process_own_running_run(config, monkeypatch, job_rows):
    """The catch-up thread recovers while another thread of the same process is mid-run (same host and pid)."""
    from jobs import inbox as inbox_job

    seen = {}
    real = inbox_job.import_inbox

    def work_while_recovery_runs(*args, **kwargs):
        seen["recovered"] = runner.recover(config, now=at(2024, 3, 5, 10, 16))
        seen["nested"] = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 16))
        return real(*args, **kwargs)

    monkeypatch.setattr(inbox_job, "import_inbox", work_while_recovery_runs)
    result = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 15))
    assert result.outcome == "succeeded" and result.recorded
    assert seen["recovered"] == []
    assert not seen["nested"].ran and "already running in this process" in seen["nested"].message
    assert [r.outcome for r in job_rows()] == ["succeeded"]


# ------------------------------------------------------------------------------------------------ unfinished months


def zoned_readings(sessions) -> None:
    """SUN1 in Los Angeles (UTC-8 in February), BAT1 in Berlin (UTC+1); hourly readings covering both of their
    local Februaries of 2024 whole."""
    from energy_coop.models import Asset

    with sessions.begin() as s:
        for asset in s.scalars(select(Asset)):
            asset.timezone = {"SUN1": "America/Los_Angeles", "BAT1": "Europe/Berlin"}[asset.asset_code]
        add_readings(s, "PM-SUN1", hourly(utc(2024, 1, 31), utc(2024, 3, 2)), name="sun")
        add_readings(s, "PM-BAT1", hourly(utc(2024, 1, 31), utc(2024, 3, 2), 500_000), name="bat")


def test_the_job_never_posts_a_month_not_over_in_the_latest_zone(coop, config, job_rows):
    zoned_readings(coop)
    config = auto_posting(config)
    # February 2024 ends in Los Angeles at 2024-03-01 08:00 UTC; a person runs the job one second earlier
    early = runner.run_job(config, "monthly-allocation", period="2024-02", trigger="manual", started_by="cli:ada",
                           now=at(2024, 3, 1, 7, 59, 59))
    assert early.outcome == "failed" and early.counts["posted"] is False and early.counts["month_over"] is False
    assert ("Not posted: month not over: 2024-02 has not ended for asset SUN1: it ends at 2024-03-01 00:00 "
            "America/Los_Angeles (08:00 UTC)") in early.message
    assert allocation_runs(coop) == []
    # at the instant it ends there, the retry posts it
    later = runner.run_job(config, "monthly-allocation", period="2024-02", trigger="manual", started_by="cli:ada",
                           force_retry=True, now=at(2024, 3, 1, 8, 0))
    assert later.outcome == "succeeded" and later.counts["posted"] is True, later.message
    assert allocation_runs(coop) == [("2024-02", 1)]


def test_the_scheduled_run_on_the_third_posts_months_of_every_zone(coop, config):
    zoned_readings(coop)
    result = runner.run_job(auto_posting(config), "monthly-allocation", now=at(2024, 3, 3, 4, 40))
    assert (result.period, result.outcome, result.counts["posted"]) == ("2024-02", "succeeded", True)
