"""Two processes importing the same file at the same moment: one imports it, the other exits 3 (a conflict)
saying so, on SQLite and PostgreSQL alike; the file's readings are there once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time

from sqlalchemy import func, select, text

from energy_coop.db import get_engine
from energy_coop.models import ImportBatch, Reading
from tests.faults.conftest import NOT_FOR_PEOPLE
from tests.helpers import REPO_ROOT, small_coop
from tests.jobs.conftest import at, meter_csv

IMPORTER = textwrap.dedent("""
    import pathlib, sys, time
    from energy_coop.cli import main
    from energy_coop.cli.context import require_current_schema
    import energy_coop.services.metering.imports

    go, ready, args = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
    require_current_schema(args[1])  # warm (modules, engine) before the start line, so both start together
    ready.write_text("ready")
    while not go.exists():
        time.sleep(0.002)
    main(args, prog_name="energy-coop")
""")


def _hold_imports(db_url: str):
    """Hold what an import waits for, for a moment: SQLite's write lock; on PostgreSQL a lock on the import
    batches that lets both processes look for an earlier import but not yet insert their own."""
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(db_url[len("sqlite:///"):], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        return holder.close
    conn = get_engine(db_url).connect()
    conn.execute(text("LOCK TABLE import_batches IN EXCLUSIVE MODE"))
    return conn.close


def test_the_same_file_imported_twice_at_once_is_imported_once_and_the_loser_exits_3(sessions, db_url, tmp_path):
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    path = tmp_path / "readings.csv"
    path.write_text(meter_csv("PM-SUN1", at(2024, 1, 1), 24 * 60))
    script = tmp_path / "importer.py"
    script.write_text(IMPORTER)
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), ENERGY_COOP_INSTANCE=str(tmp_path / "instance"))
    procs = [subprocess.Popen([sys.executable, str(script), str(go), str(tmp_path / f"ready{i}"), "--db", db_url,
                               "import", str(path)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):  # both up, waiting for the start line
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "an importer did not start"
        time.sleep(0.05)
    release = _hold_imports(db_url)  # so that both are surely inside their import when the race begins
    go.write_text("go")
    time.sleep(2.0)
    release()
    outs = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _out, _err in outs)
    text = "".join(out + err for _code, out, err in outs)
    assert codes == [0, 3], text
    [(_, loser_out, loser_err)] = [o for o in outs if o[0] == 3]
    assert "readings.csv: imported by another process at the same time; nothing imported here" in loser_out
    assert "another import of this same file (SHA-256 " in loser_err
    assert not any(bad in text for bad in NOT_FOR_PEOPLE), text
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 1
        assert s.scalar(select(func.count()).select_from(Reading)) == 24 * 60
