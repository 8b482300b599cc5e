"""Shared fixtures: a fresh, migrated database per test on every backend under test.

Backends come from ``ENERGY_COOP_TEST_BACKENDS`` (default ``sqlite,postgresql``). PostgreSQL tests use
``ENERGY_COOP_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); without a
reachable server they skip, saying how to enable them, unless ``ENERGY_COOP_REQUIRE_PG=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from energy_coop.db import dispose_all, get_sessionmaker
from energy_coop.services import memo

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
TEST_DATA = REPO / "tests" / "data"

BACKENDS = [b.strip() for b in os.environ.get("ENERGY_COOP_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
PG_URL = os.environ.get("ENERGY_COOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("ENERGY_COOP_REQUIRE_PG") == "1"
HOW_TO_ENABLE_PG = (
    "PostgreSQL tests skipped: no server answered at {url} ({why}). Start one (user postgres, database test) "
    "or point ENERGY_COOP_TEST_PG_URL at yours; ENERGY_COOP_TEST_BACKENDS=sqlite hides these skips."
)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from energy_coop.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    dispose_all()
    return path


@pytest.fixture(scope="session")
def pg_schema_url():
    """A migrated schema of this test worker's own inside the PostgreSQL test database."""
    from energy_coop.migrate import upgrade

    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        message = HOW_TO_ENABLE_PG.format(url=PG_URL, why=str(exc).splitlines()[0][:120])
        if REQUIRE_PG:
            pytest.fail("ENERGY_COOP_REQUIRE_PG=1 but " + message, pytrace=False)
        pytest.skip(message)
    # one schema per test process, so that several runs (CI, a developer, parallel workers) never share one
    schema = f"ec_test_{_worker()}_{os.getpid()}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    dispose_all()
    yield url
    dispose_all()
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _pg_reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        if names:
            # Replica mode skips the append-only triggers: only the test harness may wipe the ledger.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
            if "ledger_head" in names:  # the migrations' single rows at the ends of the (empty) chains
                conn.execute(text("INSERT INTO ledger_head (id, last_seq, last_hash, entries, total_wh, total_cents) "
                                  "VALUES (1, 0, :h, 0, 0, 0)"), {"h": "0" * 64})
            if "audit_head" in names:  # and the audit log's (migration 0015)
                conn.execute(text("INSERT INTO audit_head (id, last_seq, last_hash, entries) VALUES (1, 0, :h, 0)"),
                             {"h": "0" * 64})
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Any:
    """URL of an empty, migrated database (a fresh SQLite file, or a wiped PostgreSQL schema)."""
    backend = request.param
    memo.forget()  # the PostgreSQL schema is reused with its audit log restarted at id 1
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "energy_coop.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
    elif backend == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
        _pg_reset(url)
    else:
        raise pytest.UsageError(f"unknown backend {backend!r} in ENERGY_COOP_TEST_BACKENDS")
    yield url
    dispose_all()


@pytest.fixture
def backend(db_url) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def sessions(db_url):
    """The sessionmaker for the test database: ``with sessions.begin() as s: ...``."""
    return get_sessionmaker(db_url)


@pytest.fixture
def session(sessions):
    """One session in one transaction, committed at the end of the test body if nothing raised."""
    with sessions.begin() as s:
        yield s


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch) -> Callable[..., Any]:
    """Run ``energy-coop ARGS`` against the test database; returns click's Result (exit_code, stdout, stderr)."""
    from energy_coop.cli import main

    monkeypatch.setenv("ENERGY_COOP_INSTANCE", str(tmp_path / "instance"))

    def run(*args: str, input: str | None = None):
        runner = CliRunner()
        return runner.invoke(main, ["--db", db_url, *args], input=input, catch_exceptions=False)

    return run


@pytest.fixture
def write(tmp_path) -> Callable[[str, str | bytes], Path]:
    """Write a small input file under tmp_path: ``write("members.csv", "member_number,name\\n...")``."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / "inputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write
