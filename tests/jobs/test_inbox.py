"""The import-inbox job: each dropped file imported once and filed in done/ or rejected/ (with a report);
partial and fresh files left alone; an unreadable inbox, a vanishing file and a failing database recorded."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from energy_coop.models import ImportBatch
from jobs import runs as job_runs
from jobs import inbox as inbox_job
from jobs import runner
from tests.jobs.conftest import at, make_config, meter_csv

SLOT = at(2024, 3, 5, 10, 15)


def drop(config, name: str, content: str) -> Path:
    path = config.inbox / name
    path.write_text(content, encoding="utf-8")
    old = time.time() - 60
    os.utime(path, (old, old))  # settled: not being written any more
    return path


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def batches(sessions) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(ImportBatch))


def test_files_are_imported_once_and_filed(coop, config, job_rows):
    drop(config, "sun.csv", meter_csv("PM-SUN1", at(2024, 3, 1), 24))
    drop(config, "bat.csv", meter_csv("PM-BAT1", at(2024, 3, 1), 24, "-2"))
    drop(config, "bad.csv", "meter_code,start,interval_minutes,kwh\nPM-NOPE,2024-03-01T00:00:00Z,60,1\n")
    result = runner.run_job(config, "import-inbox", now=SLOT)
    assert result.outcome == "succeeded", result.message
    assert (result.counts["imported"], result.counts["refused"], result.counts["accepted"]) == (2, 1, 48)
    assert listing(config.inbox / "done") == ["bat.csv", "sun.csv"]
    assert listing(config.inbox / "rejected") == ["bad.csv", "bad.csv.report.json"]
    report = json.loads((config.inbox / "rejected" / "bad.csv.report.json").read_text())
    assert report["report"]["status"] == "refused" and "PM-NOPE" in json.dumps(report["report"]["errors"])
    assert report["job_run"] == result.run_id
    assert listing(config.inbox) == ["done", "processing", "rejected"]  # nothing left behind
    assert listing(config.inbox / "processing") == []  # processing/<run id>/ is removed once empty
    assert batches(coop) == 2
    [run] = job_rows()
    assert run.counts["batches"] and "bad.csv refused" in run.message

    # the same file dropped again is already imported: it goes to done/ too, under a new name
    drop(config, "sun.csv", meter_csv("PM-SUN1", at(2024, 3, 1), 24))
    again = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))
    assert again.counts["duplicates"] == 1 and "already imported" in again.message
    assert listing(config.inbox / "done") == ["bat.csv", "sun-2.csv", "sun.csv"]
    assert batches(coop) == 2


def test_hidden_partial_and_fresh_files_are_left_for_the_next_run(coop, db_url, tmp_path):
    config = make_config(db_url, tmp_path, ENERGY_COOP_INBOX_SETTLE_SECONDS="30")
    config.inbox.mkdir(parents=True)
    for name in (".hidden.csv", "upload.csv.part", "upload.csv.tmp"):
        drop(config, name, meter_csv("PM-SUN1", at(2024, 3, 1), 1))
    (config.inbox / "fresh.csv").write_text(meter_csv("PM-SUN1", at(2024, 3, 2), 2))  # just written
    os.utime(config.inbox / "fresh.csv", (1_700_000_000, 1_700_000_000))
    real_time = time.time
    time.time = lambda: 1_700_000_010.0  # ten seconds after it changed, of the thirty it must rest
    try:
        result = runner.run_job(config, "import-inbox", now=SLOT)
    finally:
        time.time = real_time
    assert result.outcome == "succeeded" and result.counts["still_being_written"] == 1
    assert result.message.endswith("left because still being written: fresh.csv (changed at 22:13:20 UTC; "
                                   "taken by a run from 22:13:50 UTC)")
    assert listing(config.inbox) == [".hidden.csv", "fresh.csv", "upload.csv.part", "upload.csv.tmp"]
    old = time.time() - 60
    os.utime(config.inbox / "fresh.csv", (old, old))
    later = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))
    assert later.counts["imported"] == 1 and listing(config.inbox / "done") == ["fresh.csv"]


def test_a_file_growing_between_look_and_claim_is_put_back(coop, config, monkeypatch):
    path = drop(config, "growing.csv", meter_csv("PM-SUN1", at(2024, 3, 1), 2))
    real_scan = inbox_job._scan

    def scan_then_append(inbox, settle):
        ready, recent = real_scan(inbox, settle)
        with path.open("a") as fh:  # a writer adds a line after we looked
            fh.write("PM-SUN1,2024-03-01T02:00:00Z,60,1.5\n")
        return ready, recent

    monkeypatch.setattr(inbox_job, "_scan", scan_then_append)
    result = runner.run_job(config, "import-inbox", now=SLOT)
    assert result.counts["still_being_written"] == 1 and result.counts["imported"] == 0
    assert "growing.csv" in listing(config.inbox) and batches(coop) == 0


@pytest.mark.parametrize("problem", ["missing", "not-a-folder", "no-permission"])
def test_an_unreadable_inbox_fails_the_run_and_the_next_run_works(coop, db_url, tmp_path, problem, job_rows):
    config = make_config(db_url, tmp_path)
    if problem == "not-a-folder":
        config.inbox.write_text("oops")
    elif problem == "no-permission":
        if os.geteuid() == 0:
            pytest.skip("root reads any folder: a permission problem cannot be made here")
        config.inbox.mkdir()
        config.inbox.chmod(0)
    result = runner.run_job(config, "import-inbox", now=SLOT)
    assert result.outcome == "failed" and f"cannot read the inbox {config.inbox}" in result.message
    assert job_rows()[0].outcome == "failed"
    if problem == "not-a-folder":
        config.inbox.unlink()
    if config.inbox.exists():
        config.inbox.chmod(0o755)
    else:
        config.inbox.mkdir()
    drop(config, "sun.csv", meter_csv("PM-SUN1", at(2024, 3, 1), 4))
    later = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))
    assert later.outcome == "succeeded" and later.counts["imported"] == 1


def test_a_file_that_disappears_mid_import_is_reported_and_nothing_is_kept(coop, config, monkeypatch):
    drop(config, "gone.csv", meter_csv("PM-SUN1", at(2024, 3, 1), 4))
    drop(config, "stays.csv", meter_csv("PM-BAT1", at(2024, 3, 1), 4))
    real = inbox_job.import_file

    def vanish_first(session, path, **kwargs):
        if path.name == "gone.csv":
            path.unlink()  # someone deletes it under our feet
        return real(session, path, **kwargs)

    monkeypatch.setattr(inbox_job, "import_file", vanish_first)
    result = runner.run_job(config, "import-inbox", now=SLOT)
    assert result.outcome == "succeeded"
    assert (result.counts["vanished"], result.counts["imported"]) == (1, 1)
    assert "gone.csv disappeared while it was being imported" in result.message
    assert listing(config.inbox / "done") == ["stays.csv"] and listing(config.inbox / "rejected") == []
    assert batches(coop) == 1


def test_a_database_failure_puts_the_file_back_and_the_next_run_imports_it(coop, config, monkeypatch):
    from sqlalchemy.exc import OperationalError

    drop(config, "sun.csv", meter_csv("PM-SUN1", at(2024, 3, 1), 4))

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(inbox_job, "import_file", down)
    result = runner.run_job(config, "import-inbox", now=SLOT)
    assert result.outcome == "failed" and "put back into the inbox" in result.message
    assert "sun.csv" in listing(config.inbox) and listing(config.inbox / "processing") == []
    monkeypatch.undo()
    later = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))
    assert later.outcome == "succeeded" and later.counts["imported"] == 1 and batches(coop) == 1


def test_recovery_settles_the_files_a_crashed_run_had_claimed(coop, config, sessions, job_rows):
    import subprocess
    import sys

    from energy_coop.services.metering.imports import import_file

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with sessions.begin() as s:
        claim = job_runs.claim_run(s, "import-inbox", "2024-03-05T10:15Z", now=SLOT, host=runner.HOST, pid=proc.pid)
        run_id = claim.run.id
    folder = config.inbox / "processing" / str(run_id)
    folder.mkdir(parents=True)
    committed = folder / "committed.csv"
    committed.write_text(meter_csv("PM-SUN1", at(2024, 3, 1), 4))
    with sessions.begin() as s:  # its import had committed before the crash; the move to done/ had not happened
        import_file(s, committed, actor="scheduler")
    (folder / "pending.csv").write_text(meter_csv("PM-BAT1", at(2024, 3, 1), 4))
    [run] = runner.recover(config, now=at(2024, 3, 5, 10, 20))
    assert run["outcome"] == "failed" and run["counts"]["imported"] == 1 and run["counts"]["returned"] == 1
    assert "put back into the inbox" in run["message"] and "is gone" in run["message"]
    assert listing(config.inbox / "done") == ["committed.csv"] and "pending.csv" in listing(config.inbox)
    assert not folder.exists()
    later = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 30))
    assert later.counts["imported"] == 1 and batches(coop) == 2


def test_a_dropped_file_with_readings_of_the_wrong_sign_is_imported_and_the_run_says_so(coop, config, job_rows):
    # PM-SUN1 is 200 kW AC: its standby draw is 1,000 W, 1 kWh an hour; -2 kWh an hour is flagged, not refused
    drop(config, "night.csv", meter_csv("PM-SUN1", at(2024, 3, 1), 3, "-2"))
    result = runner.run_job(config, "import-inbox", now=SLOT)
    assert result.outcome == "succeeded" and result.counts["accepted"] == 3
    assert "night.csv: warning: meter 'PM-SUN1' has 3 readings with the wrong sign in 2024-03" in result.message
