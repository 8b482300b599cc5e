"""A scheduler killed while importing a claimed inbox file: the surviving scheduler's next inbox pass (one
interval later, not the hourly catch-up) releases the dead claim and imports the file, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

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
    config = load_config(url, env={"ENERGY_COOP_INSTANCE": root + "/instance", "ENERGY_COOP_INBOX": root + "/inbox",
                                   "ENERGY_COOP_INBOX_SETTLE_SECONDS": "0"})
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


def test_the_survivor_takes_over_a_killed_schedulers_file_on_its_next_inbox_pass(coop, db_url, tmp_path, job_rows):
    config = make_config(db_url, tmp_path)
    config.inbox.mkdir(parents=True)
    (config.inbox / "march.csv").write_text(meter_csv("PM-SUN1", at(2024, 3, 1), 24))
    script = tmp_path / "scheduler.py"
    script.write_text(SCHEDULER)
    marker = tmp_path / "reached"
    proc = subprocess.Popen([sys.executable, str(script), db_url, str(tmp_path), str(marker)],
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the first scheduler never reached its import"
        time.sleep(0.05)
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
