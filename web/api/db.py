"""Read transactions for the API's GET requests.

``energy_coop.db`` begins every SQLite transaction with ``BEGIN IMMEDIATE`` so that writers queue instead of
failing at commit. A read needs no write lock: under WAL a plain (deferred) ``BEGIN`` reads a consistent
snapshot while others write. Taking the write lock for every GET would serialise all API reads behind each
other, and SQLite's busy handler then sleeps (1, 2, 5, 10... ms) between retries, which is most of the p95 at
8 concurrent clients. So GETs read through a second engine per database whose transactions begin deferred;
on PostgreSQL the ordinary sessionmaker is used (reads never block there).
"""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from energy_coop.db import get_sessionmaker, is_sqlite

_lock = threading.Lock()
_readers: dict[str, sessionmaker[Session]] = {}


def _on_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy, not the sqlite3 module, begins transactions
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA query_only=ON")  # a read engine must never write, whatever a bug asks of it
    cur.close()


def _on_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN")


def read_sessionmaker(url: str) -> sessionmaker[Session]:
    """A sessionmaker for read-only transactions on ``url`` (``with factory.begin() as s``)."""
    if not is_sqlite(url):
        return get_sessionmaker(url)
    with _lock:
        factory = _readers.get(url)
        if factory is None:
            engine = create_engine(url)
            event.listen(engine, "connect", _on_connect)
            event.listen(engine, "begin", _on_begin)
            factory = _readers[url] = sessionmaker(bind=engine, expire_on_commit=False)
        return factory


def dispose_readers() -> None:
    with _lock:
        for factory in _readers.values():
            factory.kw["bind"].dispose()
        _readers.clear()
