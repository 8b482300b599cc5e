"""Engine and sessionmaker, made once per database URL.

SQLite connections get ``foreign_keys=ON``, WAL journaling and a busy timeout so that two processes
(the web app and the scheduler) can share one file. Nobody here creates tables: ``energy-coop db upgrade``
(Alembic) does.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_readers: dict[str, sessionmaker[Session]] = {}


def is_sqlite(url_or_engine: str | Engine) -> bool:
    name = url_or_engine.dialect.name if isinstance(url_or_engine, Engine) else str(url_or_engine)
    return name.startswith("sqlite")


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (so BEGIN IMMEDIATE works).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "memory" and mode != "wal":
        cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_on_begin(conn) -> None:
    # A write transaction takes the lock at BEGIN, so two writers queue instead of failing at commit.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs) -> Engine:
    """A new engine for ``url`` with this project's connection settings (prefer :func:`get_engine`)."""
    if is_sqlite(url):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def get_sessionmaker(url: str) -> sessionmaker[Session]:
    """The process-wide sessionmaker for ``url``; callers use ``with factory.begin() as session:``."""
    with _lock:
        factory = _sessionmakers.get(url)
    if factory is None:
        engine = get_engine(url)
        with _lock:
            factory = _sessionmakers.setdefault(
                url, sessionmaker(bind=engine, expire_on_commit=False, future=True)
            )
    return factory


def _sqlite_reader_on_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA query_only=ON")  # a read engine must never write, whatever a bug asks of it
    cur.close()


def _sqlite_reader_on_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN")  # deferred: under WAL a consistent snapshot, no write lock


def get_read_sessionmaker(url: str) -> sessionmaker[Session]:
    """A sessionmaker for read-only transactions (web GET requests).

    On SQLite the ordinary engine begins with ``BEGIN IMMEDIATE``, which would make every read queue behind every
    other for the write lock; reads go through a second engine whose transactions begin deferred and which
    refuses writes (``query_only``). On PostgreSQL reads never block, so this is the ordinary sessionmaker.
    """
    if not is_sqlite(url):
        return get_sessionmaker(url)
    with _lock:
        factory = _readers.get(url)
        if factory is None:
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_reader_on_connect)
            event.listen(engine, "begin", _sqlite_reader_on_begin)
            factory = _readers[url] = sessionmaker(bind=engine, expire_on_commit=False)
        return factory


def dispose_all(*, close: bool = True) -> None:
    """Forget every engine and its pooled connections (tests call this between databases).

    ``close=False`` is for a process just forked: the connections it inherited belong to its parent, so it
    drops them without closing them (closing would end the parent's sessions with the server too)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        for factory in _readers.values():
            factory.kw["bind"].dispose(close=close)
        _engines.clear()
        _sessionmakers.clear()
        _readers.clear()
