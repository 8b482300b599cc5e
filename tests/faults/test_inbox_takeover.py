"""A scheduler killed while importing a claimed inbox file: the surviving scheduler's next inbox pass (one
interval later, not the hourly catch-up) releases the dead claim and imports the file, once. On this host the
dead pid says so at once; from another host, the silence of the dead run's heartbeat (ten beats), long
before its one-hour lease ends, and never while the run still beats."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select

from energy_coop.models import ImportBatch, JobRun
from jobs import runner
from tests.helpers import REPO_ROOT
from tests.jobs.conftest import at, make_config, meter_csv

SCHEDULER = textwrap.dedent("""
    import datetime as dt, pathlib, sys, time
    from energy_coop.config import load_config
    from jobs import inbox, runner

    url, root, marker = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    if len(sys.argv) > 4:
        runner.HOST = sys.argv[4]   # a scheduler on another machine: its pid means nothing here
    config = load_config(url, env={"ENERGY_COOP_INSTANCE": root + "/instance", "ENERGY_COOP_INBOX": root + "/inbox",
                                   "ENERGY_COOP_INBOX_SETTLE_SECONDS": "0", "ENERGY_COOP_JOB_HEARTBEAT_SECONDS": "1"})
    real_import = inbox.import_file

    def import_then_hang(session, path, **kw):   # the file is claimed and being imported, nothing committed
        report = real_import(session, path, **kw)
        session.flush()
        marker.write_text(str(path))
        time.sleep(120)
        return report

    inbox.import_file = import_then_hang
    runner.run_job(config, "import-inbox", now=dt.datetime(2024, 3, 5, 10, 15, tzinfo=dt.UTC))
""")


def _start_hanging_scheduler(db_url, tmp_path, *host):
    """A scheduler process that claims the inbox file for 2024-03-05T10:15Z and hangs mid-import."""
    config = make_config(db_url, tmp_path, ENERGY_COOP_JOB_HEARTBEAT_SECONDS="1")
    config.inbox.mkdir(parents=True)
    (config.inbox / "march.csv").write_text(meter_csv("PM-SUN1", at(2024, 3, 1), 24))
    script = tmp_path / "scheduler.py"
    script.write_text(SCHEDULER)
    marker = tmp_path / "reached"
    proc = subprocess.Popen([sys.executable, str(script), db_url, str(tmp_path), str(marker), *host],
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the first scheduler never reached its import"
        time.sleep(0.05)
    return config, proc


def test_the_survivor_takes_over_a_killed_schedulers_file_on_its_next_inbox_pass(coop, db_url, tmp_path, job_rows):
    config, proc = _start_hanging_scheduler(db_url, tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    [crashed] = job_rows("import-inbox")
    assert crashed.outcome == "running" and crashed.pid == proc.pid
    assert not (config.inbox / "march.csv").exists()  # claimed into processing/<run>/ by the dead process

    result = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))  # the survivor's next pass

    assert result.outcome == "succeeded" and result.counts["imported"] == 1, result.message
    runs = {r.period: r for r in job_rows("import-inbox")}
    assert runs["2024-03-05T10:15Z"].outcome == "failed"
    assert "is gone" in runs["2024-03-05T10:15Z"].message and "put back into the inbox" in runs["2024-03-05T10:15Z"].message
    assert sorted(p.name for p in (config.inbox / "done").iterdir()) == ["march.csv"]
    assert not (config.inbox / "processing" / str(crashed.id)).exists()
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 1
        assert s.scalar(select(func.count()).select_from(JobRun).where(JobRun.outcome == "running")) == 0


def test_a_scheduler_on_another_host_is_taken_over_once_its_heartbeat_is_silent(coop, db_url, backend, tmp_path,
                                                                                 job_rows):
    if backend == "sqlite":
        pytest.skip("a SQLite database is only shared by processes of one host (where the dead pid is seen at "
                    "once), and the hanging import's writer lock holds every other write back")
    config, proc = _start_hanging_scheduler(db_url, tmp_path, "scheduler-b.example")
    try:
        # alive and beating every second: its heartbeat moves on while the import hangs
        deadline = time.monotonic() + 60
        while True:
            [run] = job_rows("import-inbox")
            if run.heartbeat_at - run.started_at >= dt.timedelta(seconds=2):
                break
            assert time.monotonic() < deadline, "the running scheduler never wrote a heartbeat"
            time.sleep(0.2)
        assert run.host == "scheduler-b.example" and run.outcome == "running"
        # another host cannot see its pid; a heartbeat nine beats old is a slow run, not a dead one
        assert runner.recover(config, now=run.heartbeat_at + dt.timedelta(seconds=9)) == []
        [still] = job_rows("import-inbox")
        assert still.outcome == "running"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    [dead] = job_rows("import-inbox")
    last_beat = dead.heartbeat_at
    assert dead.lease_until - last_beat > dt.timedelta(minutes=50)  # the lease alone would wait most of an hour

    # the survivor's watch, eleven seconds after the last beat (ten beats of silence): the claim is released
    [recovered] = runner.recover(config, now=last_beat + dt.timedelta(seconds=11))
    assert recovered["outcome"] == "failed"
    assert "scheduler-b.example" in recovered["message"] and "has not been heard from since" in recovered["message"]
    assert "put back into the inbox" in recovered["message"]
    assert (config.inbox / "march.csv").exists()

    # and its next inbox pass imports the file, once
    result = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))
    assert result.outcome == "succeeded" and result.counts["imported"] == 1, result.message
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 1
        assert s.scalar(select(func.count()).select_from(JobRun).where(JobRun.outcome == "running")) == 0
