"""``energy-coop scheduler`` / ``jobs list`` / ``jobs run``, and Alembic leaving the scheduler's tables alone."""

from __future__ import annotations

import json
import os
import time

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from energy_coop.config import Schedule
from energy_coop.db import get_engine
from energy_coop.migrate import alembic_config
from energy_coop.models import Base, JobRun, utcnow
from jobs import periods as job_periods
from jobs import runs as job_runs
from jobs import specs as job_specs
from tests.helpers import add_readings, hourly, utc


@pytest.fixture
def inbox_env(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("ENERGY_COOP_INBOX", str(inbox))
    monkeypatch.delenv("ENERGY_COOP_AUTO_POST", raising=False)
    return inbox


def test_a_malformed_schedule_setting_stops_the_scheduler_at_start(cli, monkeypatch, job_rows):
    monkeypatch.setenv("ENERGY_COOP_SCHEDULE_INBOX_MINUTES", "every now and then")
    monkeypatch.setenv("ENERGY_COOP_SCHEDULE_ALLOCATION", "3rd 04:40")
    result = cli("scheduler")
    assert result.exit_code == 2
    assert "timetable settings are malformed" in result.stderr
    assert "ENERGY_COOP_SCHEDULE_INBOX_MINUTES: 'every now and then' is not a whole number" in result.stderr
    assert "ENERGY_COOP_SCHEDULE_ALLOCATION: '3rd 04:40'" in result.stderr
    assert job_rows() == []
    assert cli("jobs", "list").exit_code == 2  # the same check wherever the timetable is shown


def test_jobs_list_shows_schedule_last_and_next_runs(cli, inbox_env):
    doc = json.loads(cli("jobs", "list", "--json").stdout)
    assert [j["name"] for j in doc["jobs"]] == list(job_specs.JOBS)
    first = doc["jobs"][0]
    assert first["schedule"] == "every 15 minutes" and first["last_run"] is None and first["next_run"]
    assert cli("jobs", "run", "import-inbox").exit_code == 0
    doc = json.loads(cli("jobs", "list", "--json").stdout)
    run = doc["jobs"][0]["last_run"]
    assert run["outcome"] == "succeeded" and run["trigger"] == "manual" and run["started_by"].startswith("cli")
    assert doc["jobs"][0]["owed"] == []
    plain = cli("jobs", "list")
    assert "import-inbox: every 15 minutes" in plain.stdout and "succeeded" in plain.stdout


def test_jobs_run_twice_is_a_no_op_that_says_so(cli, sessions, tmp_path, inbox_env):
    from tests.helpers import small_coop

    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(utc(2024, 2, 1), utc(2024, 3, 1)))
        add_readings(s, "PM-BAT1", hourly(utc(2024, 2, 1), utc(2024, 3, 1), 500_000), name="bat")
    first = cli("jobs", "run", "monthly-allocation", "--period", "2024-02", "--json")
    assert first.exit_code == 0, first.stderr
    doc = json.loads(first.stdout)
    assert (doc["ran"], doc["outcome"], doc["period"]) == (True, "succeeded", "2024-02")
    assert doc["counts"]["total_wh"] > 0 and doc["counts"]["posted"] is False
    again = cli("jobs", "run", "monthly-allocation", "--period", "2024-02", "--json")
    assert again.exit_code == 0
    doc = json.loads(again.stdout)
    assert doc["ran"] is False and doc["previous_outcome"] == "succeeded" and "nothing to do" in doc["message"]
    plain = cli("jobs", "run", "monthly-allocation", "--period", "2024-02")
    assert "already ran (succeeded" in plain.stdout


def test_jobs_run_refuses_a_bad_period_and_leaves_a_period_running_elsewhere(cli, sessions, inbox_env):
    bad = cli("jobs", "run", "monthly-allocation", "--period", "2099-01")
    assert bad.exit_code == 2 and "has not ended yet" in bad.stderr
    assert cli("jobs", "run", "no-such-job").exit_code == 2
    now = utcnow()
    with sessions.begin() as s:  # a live process on this host holds the period
        job_runs.claim_run(s, "import-inbox", job_periods.period_for("import-inbox", now, Schedule()),
                           now=now, host="elsewhere", pid=os.getppid())
    busy = cli("jobs", "run", "import-inbox")
    assert busy.exit_code == 3 and "already running" in busy.stderr


def test_a_failed_manual_run_exits_non_zero_with_the_reason(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGY_COOP_INBOX", str(tmp_path / "no-such-inbox"))
    result = cli("jobs", "run", "import-inbox")
    assert result.exit_code == 1 and "cannot read the inbox" in result.stderr


def test_autogenerate_never_drops_the_scheduler_job_store_table(db_url):
    """An APScheduler SQLAlchemy job store in our database must not show up as a table to drop."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    engine = get_engine(db_url)
    store = SQLAlchemyJobStore(engine=engine)
    store.start(BackgroundScheduler(), "default")  # creates apscheduler_jobs as APScheduler itself does
    try:
        assert "apscheduler_jobs" in inspect(engine).get_table_names()
        with engine.connect() as conn:  # without the exclusion, autogenerate would want to drop it ...
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert ("remove_table", "apscheduler_jobs") in [(d[0], d[1].name) for d in diff if d[0] == "remove_table"]
        command.check(alembic_config(db_url))  # ... but through migrations/env.py it finds nothing to do
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE apscheduler_jobs"))


def test_the_job_run_table_has_its_unique_key(db_url):
    engine = get_engine(db_url)
    uniques = inspect(engine).get_unique_constraints("job_runs")
    assert {"name": "uq_job_runs_job_period", "column_names": ["job", "period"]} in [
        {"name": u["name"], "column_names": u["column_names"]} for u in uniques]
    assert JobRun.__tablename__ == "job_runs"


def test_jobs_run_import_inbox_by_hand_imports_what_is_there_now(cli, sessions, tmp_path, inbox_env):
    from tests.helpers import small_coop
    from tests.jobs.conftest import at, meter_csv

    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    settled = time.time() - 60
    first = cli("jobs", "run", "import-inbox", "--json")  # the slot's pass: nothing there yet
    assert first.exit_code == 0 and json.loads(first.stdout)["counts"]["files"] == 0
    (inbox_env / "sun.csv").write_text(meter_csv("PM-SUN1", at(2024, 3, 1), 24))
    os.utime(inbox_env / "sun.csv", (settled, settled))
    again = cli("jobs", "run", "import-inbox", "--json")  # the same quarter-hour: it still imports the file
    assert again.exit_code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert (doc["ran"], doc["outcome"], doc["attempt"], doc["counts"]["imported"]) == (True, "succeeded", 2, 1)
    assert doc["period"] == json.loads(first.stdout)["period"]
    assert sorted(p.name for p in (inbox_env / "done").iterdir()) == ["sun.csv"]


def test_jobs_list_does_not_call_a_month_posted_by_hand_owed(cli, sessions, tmp_path, inbox_env):
    import datetime as dt

    from energy_coop.config import Schedule
    from energy_coop.services.credits import allocation
    from jobs.periods import latest_due_month
    from tests.helpers import small_coop

    month = latest_due_month(dt.datetime.now(dt.UTC), Schedule())
    start = dt.datetime.fromisoformat(f"{month}-01").replace(tzinfo=dt.UTC)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    start, end = int(start.timestamp()), int(end.timestamp())
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(start, end))
        add_readings(s, "PM-BAT1", hourly(start, end, 500_000), name="bat")
    owed = {j["name"]: j["owed"] for j in json.loads(cli("jobs", "list", "--json").stdout)["jobs"]}
    assert owed["monthly-allocation"] == [month]
    with sessions.begin() as s:
        allocation.post(s, month, actor="admin@example.org")
    owed = {j["name"]: j["owed"] for j in json.loads(cli("jobs", "list", "--json").stdout)["jobs"]}
    assert owed["monthly-allocation"] == []
