"""Real processes: two schedulers on one database, two inbox runs at once, a run SIGKILLed mid-way.

Each test starts fresh Python processes on the test database (SQLite file or PostgreSQL schema), so the
exactly-once guarantees are those of the database, not of anything shared in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from energy_coop.config import Schedule
from energy_coop.db import get_engine
from energy_coop.models import AllocationRun, ImportBatch
from jobs import periods as job_periods
from jobs import runner
from tests.helpers import REPO_ROOT, add_readings, hourly, utc
from tests.jobs.conftest import at, make_config, meter_csv

WORKER = textwrap.dedent("""
    import datetime as dt, json, pathlib, sys, time
    from energy_coop.config import load_config
    from jobs import runs as job_runs
    from energy_coop.services.credits import ledger
    from jobs import runner

    url, root, job, period, now, go, pause, marker = sys.argv[1:9]
    config = load_config(url, env={"ENERGY_COOP_INSTANCE": root + "/instance", "ENERGY_COOP_INBOX": root + "/inbox",
                                   "ENERGY_COOP_INBOX_SETTLE_SECONDS": "0", "ENERGY_COOP_AUTO_POST": "1"})
    marker = pathlib.Path(marker)

    def stop_here():
        marker.write_text("reached")
        time.sleep(120)

    if pause == "before-commit":          # the allocation's entries are written, not committed
        real_append = ledger.append
        def append_then_stop(session, entries, **kw):
            seqs = real_append(session, entries, **kw)
            session.flush()
            stop_here()
            return seqs
        ledger.append = append_then_stop
    elif pause == "after-commit":         # the work committed; the outcome is not written yet
        real_finish = job_runs.finish_run
        def stop_then_finish(*args, **kw):
            stop_here()
            return real_finish(*args, **kw)
        job_runs.finish_run = stop_then_finish
    if job.startswith("tick:"):                # what the scheduler process calls when a trigger fires
        import logging
        from jobs import scheduler
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        fire = getattr(scheduler, job[5:])
    if go != "-":
        while not pathlib.Path(go).exists():
            time.sleep(0.005)
    if job.startswith("tick:"):
        fire(config)
    else:
        result = runner.run_job(config, job, now=dt.datetime.fromisoformat(now), period=period)
        print(json.dumps(result.as_dict()))
""")


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT))


def worker(tmp_path: Path, db_url: str, job: str, period: str, now: dt.datetime, *, go: str = "-",
           pause: str = "-", marker: str = "-") -> subprocess.Popen:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    return subprocess.Popen([sys.executable, str(script), db_url, str(tmp_path), job, period, now.isoformat(), go,
                             pause, marker], env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the worker ended early: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the worker never reached its stopping point")
        time.sleep(0.02)


def complete_month(sessions, period: str) -> None:
    year, month = int(period[:4]), int(period[5:7])
    start, end = utc(year, month, 1), utc(year + month // 12, month % 12 + 1, 1)
    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", hourly(start, end), name=f"sun {period}")
        add_readings(s, "PM-BAT1", hourly(start, end, 500_000), name=f"bat {period}")


def count(sessions, model, *where) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_two_inbox_runs_at_once_import_each_file_once(coop, db_url, tmp_path):
    config = make_config(db_url, tmp_path)
    config.inbox.mkdir(parents=True)
    names = []
    for i in range(16):
        name = f"day{i:02d}.csv"
        # days of February: every reading is before the runs' now (a reading of the future is refused)
        (config.inbox / name).write_text(meter_csv("PM-SUN1", at(2024, 2, 1) + dt.timedelta(days=i), 24))
        names.append(name)
    old = time.time() - 60
    for name in names:
        os.utime(config.inbox / name, (old, old))
    go = tmp_path / "go"
    # two different slots, so both runs are claimed and really race for the same files
    procs = [worker(tmp_path, db_url, "import-inbox", period, at(2024, 3, 5, 10, 45), go=str(go))
             for period in ("2024-03-05T10:15Z", "2024-03-05T10:30Z")]
    time.sleep(1.5)
    go.write_text("go")
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert [r["outcome"] for r in results] == ["succeeded", "succeeded"]
    assert sum(r["counts"]["imported"] for r in results) == 16
    assert sum(r["counts"]["taken_by_another_run"] for r in results) + 16 == sum(r["counts"]["files"] for r in results)
    assert count(coop, ImportBatch) == 16
    assert sorted(p.name for p in (config.inbox / "done").iterdir()) == names  # each once, no name-2 copies
    assert not (config.inbox / "rejected").exists()


@pytest.mark.parametrize("stop", ["before-commit", "after-commit"])
def test_a_run_killed_mid_way_is_resolved_on_restart_without_a_duplicate(coop, db_url, tmp_path, stop, job_rows):
    complete_month(coop, "2024-02")
    marker = tmp_path / "reached"
    proc = worker(tmp_path, db_url, "monthly-allocation", "2024-02", at(2024, 3, 3, 4, 40), pause=stop,
                  marker=str(marker))
    wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    [run] = job_rows()
    assert run.outcome == "running" and run.pid == proc.pid
    assert count(coop, AllocationRun) == (1 if stop == "after-commit" else 0)

    config = make_config(db_url, tmp_path, ENERGY_COOP_AUTO_POST="1")
    restart = at(2024, 3, 3, 5, 0)
    [resolved] = runner.recover(config, now=restart)
    assert "is gone" in resolved["message"]
    if stop == "after-commit":
        assert resolved["outcome"] == "succeeded" and "was committed" in resolved["message"]
    else:
        assert resolved["outcome"] == "failed" and "nothing was posted" in resolved["message"]
    results = runner.catch_up(config, now=restart)
    allocations = [r for r in results if r.job == "monthly-allocation"]
    if stop == "after-commit":
        assert allocations == []
    else:
        assert [(r.outcome, r.attempt) for r in allocations] == [("succeeded", 2)]
    assert runner.recover(config, now=restart) == []
    assert [r.outcome for r in job_rows("monthly-allocation")] == ["succeeded"]
    assert count(coop, AllocationRun) == 1  # posted once, whichever side of the commit the kill fell


def test_two_scheduler_processes_on_one_database_run_each_period_once(coop, db_url, tmp_path, job_rows):
    now = dt.datetime.now(dt.UTC)
    month = job_periods.latest_due_month(now, Schedule())
    complete_month(coop, month)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "sun.csv").write_text(meter_csv("PM-SUN1", at(2024, 3, 1), 24))
    old = time.time() - 60
    os.utime(tmp_path / "inbox" / "sun.csv", (old, old))
    environment = dict(env(), ENERGY_COOP_INSTANCE=str(tmp_path / "instance"), ENERGY_COOP_INBOX=str(tmp_path / "inbox"),
                       ENERGY_COOP_AUTO_POST="1", ENERGY_COOP_INBOX_SETTLE_SECONDS="0")
    logs = [open(tmp_path / f"scheduler{i}.log", "w+") for i in range(2)]  # noqa: SIM115 - closed below
    # Hold the job-run table locked while both start, so that both wait at their first look at it and then
    # race for the same periods the moment it is released.
    gate = get_engine(db_url).connect()
    gate_tx = gate.begin()
    if gate.dialect.name == "postgresql":
        gate.execute(text("LOCK TABLE job_runs IN ACCESS EXCLUSIVE MODE"))
    else:
        gate.execute(text("INSERT INTO job_runs (job, period, outcome, attempt, trigger, started_by, started_at, "
                          "lease_until, host, pid, counts, message) VALUES ('gate', 'gate', 'skipped', 1, 'test', "
                          "'test', '2000-01-01', '2000-01-01', 'test', 0, '{}', '')"))
    procs = [subprocess.Popen([sys.executable, "-m", "energy_coop.cli", "--db", db_url, "scheduler"],
                              env=environment, stdout=log, stderr=log, text=True) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while sum("scheduler starting" in (tmp_path / f"scheduler{i}.log").read_text() for i in range(2)) < 2:
            assert time.monotonic() < deadline, "the schedulers did not start"
            time.sleep(0.1)
        time.sleep(1.0)  # both are now blocked on the table
        gate_tx.rollback()
        gate.close()
        deadline = time.monotonic() + 90
        while True:
            runs = job_rows()
            done = {r.job for r in runs if r.outcome != "running"}
            if {"import-inbox", "monthly-allocation"} <= done and "refresh-forecasts" in {r.job for r in runs}:
                break
            for p in procs:
                assert p.poll() is None, f"a scheduler stopped: {(tmp_path / 'scheduler0.log').read_text()}"
            assert time.monotonic() < deadline, "the schedulers never caught up"
            time.sleep(0.3)
        time.sleep(2)  # let the slower one finish its catch-up pass too
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=60) for p in procs]
    text_ = "".join(log.seek(0) or log.read() for log in logs)
    for log in logs:
        log.close()
    assert codes == [0, 0], text_
    allocation_rows = job_rows("monthly-allocation")
    assert [(r.period, r.outcome, r.attempt) for r in allocation_rows] == [(month, "succeeded", 1)], text_
    assert count(coop, AllocationRun) == 1
    inbox_rows = job_rows("import-inbox")
    assert sum(r.counts.get("imported", 0) for r in inbox_rows) == 1 and count(coop, ImportBatch) == 3
    assert len({r.pid for r in job_rows()}) >= 1
    assert "scheduler started" in text_ and "scheduler stopped" in text_


@pytest.mark.parametrize("tick", ["monthly_allocation_job", "catch_up_job"])
def test_two_schedulers_firing_the_same_period_at_the_same_instant_run_it_once(coop, db_url, tmp_path, tick,
                                                                              job_rows):
    """What each scheduler process calls when its trigger fires, started in two processes at one instant."""
    month = job_periods.latest_due_month(dt.datetime.now(dt.UTC), Schedule())
    if tick == "monthly_allocation_job":  # the cron firing allocates the month before the current one
        now = dt.datetime.now(dt.UTC)
        month = f"{now.year - (now.month == 1):04d}-{(now.month - 2) % 12 + 1:02d}"
    complete_month(coop, month)
    go = tmp_path / "go"
    procs = [worker(tmp_path, db_url, f"tick:{tick}", "-", at(2024, 1, 1), go=str(go)) for _ in range(2)]
    time.sleep(2.0)  # both have imported everything and wait at the barrier
    go.write_text("go")
    logs = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        logs.append(err)
    rows = job_rows("monthly-allocation")
    assert [(r.period, r.outcome, r.attempt) for r in rows] == [(month, "succeeded", 1)], logs
    assert count(coop, AllocationRun) == 1
    started = [log for log in logs if f"monthly-allocation {month}: started" in log]
    assert len(started) == 1, logs  # exactly one process ran it
    if tick == "monthly_allocation_job":  # the other fired too, and said why it did nothing
        assert any(f"monthly-allocation {month} is already running" in log or
                   f"monthly-allocation {month} already ran" in log for log in logs), logs
