"""``energy-coop allocate P --post`` SIGKILLed at random moments across the whole post: each month is either
posted whole or not at all, and ``ledger verify`` passes after every kill (SQLite and PostgreSQL).

A month of 300 members x 3 assets (900 entries), 40 trials. The commands run in processes forked from one warm
parent (so each trial costs the post, not Python's start-up); the first post is timed whole, and each trial
then kills its post after a random delay between 0 and that duration. A month a trial left unposted is tried
again by the next one; a posted month moves the trials on to the next month.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, insert, select

from energy_coop.db import dispose_all
from energy_coop.models import AllocationRun, ImportBatch, LedgerEntry, Meter, Reading
from energy_coop.services.credits import ledger
from tests.helpers import REPO_ROOT, load_registers, utc

TRIALS = 40
MEMBERS = 300
ASSETS = 3
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)]

SERVER = textwrap.dedent("""
    import os, sys, time
    from energy_coop.cli import main
    from energy_coop.cli.context import require_current_schema
    from energy_coop.db import dispose_all
    import energy_coop.services.credits.allocation, energy_coop.formatting  # warm: what a post imports

    url = sys.argv[1]
    require_current_schema(url)
    dispose_all()                     # no connection of the parent's reaches a child
    print("ready", flush=True)
    for line in sys.stdin:
        period = line.split()[1]
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            try:
                main(["--db", url, "allocate", period, "--post"], prog_name="energy-coop")
            except SystemExit as exc:
                os._exit(exc.code if isinstance(exc.code, int) else 1)
            os._exit(0)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
""")


def _seed(sessions, folder) -> None:
    members = "member_number,name,member_type\n" + "".join(f"M{i:04d},Member {i},household\n"
                                                           for i in range(MEMBERS))
    assets = ("asset_code,name,kind,meter_code,timezone,latitude,longitude,total_shares,capacity_kw_dc,"
              "capacity_kw_ac,tilt_deg,azimuth_deg,storage_kwh,storage_kw\n"
              + "".join(f"A{a},Array {a},solar,PM-A{a},UTC,39.7,-105.1,{MEMBERS + 50},100,80,20,180,,\n"
                        for a in range(ASSETS)))
    shares = "ref,date,asset_code,kind,member_number,from_member_number,shares\n" + "".join(
        f"S-{a}-{i},2023-01-01,A{a},issue,M{i:04d},,1\n" for a in range(ASSETS) for i in range(MEMBERS))
    rates = "valid_from,rate_per_kwh,asset_code\n2023-01-01T00:00:00Z,0.123457,\n"
    with sessions.begin() as s:
        load_registers(s, folder, members=members, assets=assets, shares=shares, rates=rates)
    start, end = utc(2023, 1, 1), utc(2026, 1, 1)
    with sessions.begin() as s:
        for a in range(ASSETS):
            meter = s.scalar(select(Meter).where(Meter.code == f"PM-A{a}"))
            batch = ImportBatch(file_name=f"a{a}", sha256=hashlib.sha256(f"a{a}".encode()).hexdigest(), format="csv",
                                imported_by="test", status="imported", meters=[meter.code], accepted=0, unchanged=0,
                                revised=0, rejected=0, notes=[])
            s.add(batch)
            s.flush()
            s.execute(insert(Reading), [
                {"meter_id": meter.id, "start": t, "end": t + 3600, "mwh": 1_000_000 + 7_919 * ((t // 3600) % 13),
                 "quality": "actual", "batch_id": batch.id} for t in range(start, end, 3600)])


def _state(sessions, period: str) -> tuple[int, int, bool]:
    with sessions.begin() as s:
        runs = s.scalar(select(func.count()).select_from(AllocationRun).where(AllocationRun.period == period))
        entries = s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.period == period))
        return runs, entries, ledger.verify(s).ok


class Server:
    def __init__(self, tmp_path, db_url):
        script = tmp_path / "server.py"
        script.write_text(SERVER)
        self.proc = subprocess.Popen([sys.executable, str(script), db_url], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT),
                                     ENERGY_COOP_INSTANCE=str(tmp_path / "instance")))
        assert self.proc.stdout.readline().strip() == "ready"

    def start(self, period: str) -> int:
        self.proc.stdin.write(f"post {period}\n")
        self.proc.stdin.flush()
        word, pid = self.proc.stdout.readline().split()
        assert word == "pid"
        return int(pid)

    def outcome(self) -> int:
        word, code = self.proc.stdout.readline().split()
        assert word == "exit"
        return int(code)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.mark.slow
def test_a_post_killed_at_random_moments_is_all_or_nothing_and_the_ledger_verifies(sessions, db_url, tmp_path,
                                                                                 backend, capsys):
    _seed(sessions, tmp_path / "registers")
    dispose_all()
    server = Server(tmp_path, db_url)
    try:
        began = time.monotonic()
        server.start(MONTHS[0])
        assert server.outcome() == 0
        full = time.monotonic() - began  # one whole post: the span the kills are spread over
        runs, per_month, ok = _state(sessions, MONTHS[0])
        assert runs == 1 and per_month >= MEMBERS * ASSETS and ok
        rng = random.Random(os.environ.get("ENERGY_COOP_KILL_SEED", str(time.time_ns())))
        month, killed, posted, started = 1, 0, 0, time.monotonic()
        for _trial in range(TRIALS):
            assert month < len(MONTHS), "more posts than months of readings: add months"
            period = MONTHS[month]
            delay = rng.uniform(0, full)
            pid = server.start(period)
            time.sleep(delay)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            code = server.outcome()
            runs, entries, ok = _state(sessions, period)
            assert ok, f"ledger verify failed after a kill at {delay:.3f} s into the post of {period}"
            assert (runs, entries) in ((0, 0), (1, per_month)), (period, delay, code, runs, entries)
            if runs:
                posted += 1
                month += 1
            else:
                killed += 1
                assert code == -signal.SIGKILL
        elapsed = time.monotonic() - started
    finally:
        server.close()
    with capsys.disabled():
        print(f"\n[{backend}] SIGKILL trials: {TRIALS} ({killed} left nothing, {posted} posted whole); full post "
              f"{full:.2f} s of {per_month} entries; trials took {elapsed:.1f} s")
    assert killed + posted == TRIALS
