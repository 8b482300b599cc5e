"""Posting is all-or-nothing across a SIGKILL, and of two concurrent posts exactly one wins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from energy_coop.models import AllocationRun, LedgerEntry, LedgerHead
from energy_coop.services.credits import ledger
from tests.helpers import REPO_ROOT, add_readings, hourly, small_coop, utc

POSTER = textwrap.dedent("""
    import datetime as dt, pathlib, sys, time
    from energy_coop.db import get_sessionmaker
    from energy_coop.errors import ConflictError
    from energy_coop.services.credits import allocation, ledger

    url, marker, go, pause = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    real_append = ledger.append

    def append_then_wait(session, entries, **kw):
        seqs = real_append(session, entries, **kw)
        session.flush()                      # every entry is in the database, uncommitted
        marker.write_text(str(len(seqs)))
        time.sleep(pause)
        return seqs

    ledger.append = append_then_wait
    if go != "-":
        while not pathlib.Path(go).exists():
            time.sleep(0.01)
    try:
        with get_sessionmaker(url).begin() as s:
            allocation.post(s, "2024-02", actor=f"process {marker.name}", today=dt.date(2024, 3, 5))
    except ConflictError as exc:
        print(exc, file=sys.stderr)
        sys.exit(3)
""")


@pytest.fixture
def coop(sessions, tmp_path):
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        add_readings(s, "PM-SUN1", hourly(utc(2024, 2, 1), utc(2024, 3, 1)))
        add_readings(s, "PM-BAT1", hourly(utc(2024, 2, 1), utc(2024, 3, 1), 500_000), name="bat")
    return sessions


def _poster(tmp_path: Path, db_url: str, name: str, go: str, pause: float) -> subprocess.Popen:
    script = tmp_path / "poster.py"
    script.write_text(POSTER)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen([sys.executable, str(script), db_url, str(tmp_path / name), go, str(pause)],
                            env=env, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"poster ended early: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("poster never reached the ledger")
        time.sleep(0.02)


def _ledger_state(sessions) -> tuple[int, int, int]:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(AllocationRun)),
                s.scalar(select(func.count()).select_from(LedgerEntry)),
                s.get(LedgerHead, 1).entries)


def test_a_post_killed_part_way_leaves_nothing_and_then_posts_cleanly(coop, db_url, tmp_path, cli):
    proc = _poster(tmp_path, db_url, "killed", "-", 60)
    _wait_for(tmp_path / "killed", proc)
    assert int((tmp_path / "killed").read_text()) == 4  # the entries were written, not yet committed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _ledger_state(coop) == (0, 0, 0)  # none of the run
    result = cli("allocate", "2024-02", "--post")
    assert result.exit_code == 0, result.stderr
    assert _ledger_state(coop) == (1, 4, 4)  # all of the run
    with coop.begin() as s:
        assert ledger.verify(s).ok


def test_two_processes_posting_one_month_at_once_exactly_one_wins(coop, db_url, tmp_path):
    go = tmp_path / "go"
    procs = [_poster(tmp_path, db_url, f"p{i}", str(go), 1.0) for i in range(2)]
    time.sleep(1.0)  # both are started and waiting at the barrier
    go.write_text("go")
    codes = sorted(p.wait(timeout=120) for p in procs)
    errors = "".join(p.stderr.read() for p in procs)
    assert codes == [0, 3], errors
    assert "2024-02" in errors
    assert _ledger_state(coop) == (1, 4, 4)
    with coop.begin() as s:
        assert ledger.verify(s).ok
