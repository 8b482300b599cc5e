"""Fault injection: a tiny full filesystem (a tmpfs mounted when the tests run as root), a read-only database,
commands run as real processes, and the checks every fault must pass: a clear message (no traceback, no SQL),
a non-zero exit status, the ledger intact and no partial files.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from energy_coop.db import dispose_all, get_sessionmaker
from energy_coop.models import AllocationRun, ImportBatch, LedgerEntry
from energy_coop.services.credits import ledger
from tests.helpers import REPO_ROOT, add_readings, hourly, small_coop, utc

FEB = (utc(2024, 2, 1), utc(2024, 3, 1))
#: What a message for people never shows: a traceback, SQL or its parameters.
NOT_FOR_PEOPLE = ("Traceback", "[SQL:", "[parameters:", "INSERT INTO", "SELECT ", "UPDATE ", "sqlalche.me",
                  "OperationalError", "IntegrityError")


def mount_tmpfs(folder: Path, size: str = "8m") -> None:
    """Mount a tmpfs of ``size`` on ``folder``, or skip saying why (not root, or mounting is not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("the full-disk tests mount a tiny tmpfs, which needs root: run them as root (CI does) to "
                    "include them")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"could not mount a tmpfs on {folder} ({done.stderr.strip() or done.returncode}): the "
                    "full-disk tests need a container or machine that allows mount")


def unmount(folder: Path) -> None:
    dispose_all()
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def tiny_disk(tmp_path):
    """An 8 MB tmpfs (root only; skipped otherwise), unmounted afterwards."""
    folder = tmp_path / "tiny"
    mount_tmpfs(folder)
    yield folder
    unmount(folder)


FILLER = ".filler"


def fill(folder: Path, leave: int = 0) -> None:
    """Fill the file system of ``folder`` (a file ``.filler``), then give back ``leave`` bytes."""
    path = folder / FILLER
    chunk = b"\0" * 65536
    with open(path, "ab", buffering=0) as fh:  # unbuffered: nothing is left to fail when the file closes
        try:
            while True:
                fh.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    for size in (4096, 1):  # what the last chunk left: page by page, then byte by byte
        with open(path, "ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    if leave:
        os.truncate(path, max(0, path.stat().st_size - leave))


def listing(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` but the filler, relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != FILLER)


def cli_process(db_url: str, *args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """``energy-coop --db URL ARGS`` as its own process, as an operator runs it."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), ENERGY_COOP_INSTANCE=str(cwd / "instance"))
    return subprocess.run([sys.executable, "-m", "energy_coop.cli", "--db", db_url, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_clear(done: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """Exit status ``code``; ``error: ...`` on stderr with ``words``; nothing meant for a programmer."""
    out = done.stdout + done.stderr
    assert done.returncode == code, out
    assert "error: " in done.stderr, out
    for bad in NOT_FOR_PEOPLE:
        assert bad not in out, out
    for word in words:
        assert word in done.stderr, out


def seed_february(sessions, folder: Path) -> None:
    """The small co-op with a complete February on both assets (not posted)."""
    with sessions.begin() as s:
        small_coop(s, folder)
        add_readings(s, "PM-SUN1", hourly(*FEB), name="sun")
        add_readings(s, "PM-BAT1", hourly(*FEB, mwh=500_000), name="bat")


def ledger_state(url: str) -> tuple[int, int, int, bool]:
    """(allocation runs, ledger entries, import batches, the chain verifies)."""
    with get_sessionmaker(url).begin() as s:
        return (s.scalar(select(func.count()).select_from(AllocationRun)),
                s.scalar(select(func.count()).select_from(LedgerEntry)),
                s.scalar(select(func.count()).select_from(ImportBatch)),
                ledger.verify(s).ok)


def copy_database(template: Path, folder: Path) -> str:
    path = folder / "coop.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op of tests.helpers, no readings."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    return sessions


@pytest.fixture
def job_rows(sessions):
    from energy_coop.models import JobRun

    def rows(job: str | None = None) -> list[JobRun]:
        with sessions.begin() as s:
            q = select(JobRun).order_by(JobRun.job, JobRun.period)
            if job:
                q = q.where(JobRun.job == job)
            return list(s.scalars(q))

    return rows


@pytest.fixture
def pg_on_tiny_disk(db_url, backend, tmp_path):
    """The PostgreSQL test schema with an unposted February, every table and index of it moved into a
    tablespace on an 8 MB tmpfs (root only; skipped otherwise), the server's own disk untouched. Yields
    (url, folder); afterwards the tables go back to the default tablespace and the tmpfs is unmounted."""
    if backend != "postgresql":
        pytest.skip("the SQLite database's own file sits on the tiny disk in the test above")
    if os.geteuid() != 0:
        pytest.skip("the full-disk tests mount a tiny tmpfs, which needs root: run them as root (CI does)")
    import tempfile

    from sqlalchemy import create_engine, inspect, text

    from tests.conftest import _worker

    seed_february(get_sessionmaker(db_url), tmp_path / "registers")
    dispose_all()
    base = Path(tempfile.mkdtemp(prefix="energy-coop-pg-tiny-", dir="/tmp"))  # the server's user must reach it
    base.chmod(0o755)
    folder = base / "space"
    mount_tmpfs(folder)
    shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    name = f"ec_tiny_{_worker()}_{os.getpid()}"
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            try:
                conn.execute(text(f"CREATE TABLESPACE {name} LOCATION '{folder}'"))
            except Exception as exc:  # noqa: BLE001 - a server on another machine cannot see our tmpfs
                unmount(folder)
                pytest.skip(f"the PostgreSQL server could not use a tablespace in {folder} ({str(exc).splitlines()[0]}); "
                            "it must run on this machine, as CI's does")
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            indexes = conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")).scalars().all()
            for verb, what in [("TABLE", tables), ("INDEX", indexes)]:
                for item in what:
                    conn.execute(text(f'ALTER {verb} "{item}" SET TABLESPACE {name}'))
        dispose_all()
        yield db_url, folder
    finally:
        dispose_all()
        (folder / FILLER).unlink(missing_ok=True)
        with engine.connect() as conn:
            for (table,) in conn.execute(text("SELECT tablename FROM pg_tables WHERE tablespace = :n"), {"n": name}):
                conn.execute(text(f'ALTER TABLE "{table}" SET TABLESPACE pg_default'))
            for (index,) in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablespace = :n"), {"n": name}):
                conn.execute(text(f'ALTER INDEX "{index}" SET TABLESPACE pg_default'))
            conn.execute(text(f"DROP TABLESPACE IF EXISTS {name}"))
        engine.dispose()
        unmount(folder)
        shutil.rmtree(base, ignore_errors=True)
