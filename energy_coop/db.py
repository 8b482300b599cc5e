"""Engine and sessionmaker, made once per database URL.

SQLite connections get ``foreign_keys=ON``, WAL journaling and a busy timeout so that two processes
(the web app and the scheduler) can share one file, and ``recursive_triggers=ON``, so that the row an ``INSERT OR
REPLACE`` would delete fires the append-only DELETE trigger (``migrations/helpers.py``) and the REPLACE is refused:
the ledger relies on that, since a BEFORE INSERT trigger on it would triple the cost of posting; the other
append-only tables refuse a repeated key by trigger on every connection. The busy timeout is 30 s unless the URL
says otherwise with SQLite's own ``?timeout=SECONDS`` (``sqlite:///coop.db?timeout=5``); past it a write fails with
"database is locked", which :mod:`energy_coop.storage_faults` words as "the database is busy; try again in a
minute". On PostgreSQL the equivalent is the server's ``lock_timeout`` (e.g. ``?options=-c%20lock_timeout%3D30s``
in the URL); without one a change waits for the lock as long as it takes. Nobody here creates tables:
``energy-coop db upgrade`` (Alembic) does.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_readers: dict[str, sessionmaker[Session]] = {}
_snapshots: dict[str, sessionmaker[Session]] = {}


def is_sqlite(url_or_engine: str | Engine) -> bool:
    name = url_or_engine.dialect.name if isinstance(url_or_engine, Engine) else str(url_or_engine)
    return name.startswith("sqlite")


#: How long a SQLite connection waits for another's write lock before "database is locked" [ms].
DEFAULT_BUSY_TIMEOUT_MS = 30_000


def sqlite_busy_timeout_ms(url: str) -> int:
    """The busy timeout of a SQLite URL [ms]: its ``?timeout=SECONDS``, else :data:`DEFAULT_BUSY_TIMEOUT_MS`."""
    from sqlalchemy.engine import make_url

    text = make_url(url).query.get("timeout")
    if isinstance(text, tuple):
        text = text[-1]
    try:
        return max(0, int(float(text) * 1000)) if text is not None else DEFAULT_BUSY_TIMEOUT_MS
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_MS


def _sqlite_on_connect(dbapi_conn, _record, busy_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (so BEGIN IMMEDIATE works).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA recursive_triggers=ON")  # a REPLACE's delete fires the append-only DELETE triggers
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
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
        busy_ms = sqlite_busy_timeout_ms(url)
        event.listen(engine, "connect", lambda conn, record: _sqlite_on_connect(conn, record, busy_ms))
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


def _sqlite_reader_on_connect(dbapi_conn, _record, busy_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA recursive_triggers=ON")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA query_only=ON")  # a read engine must never write, whatever a bug asks of it
    cur.close()


def _sqlite_reader_on_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN")  # deferred: under WAL a consistent snapshot, no write lock


def _pg_read_only_on_connect(dbapi_conn, _record) -> None:
    """Every transaction of this connection is READ ONLY: a write, whatever a bug asks, is refused."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True  # SET SESSION outside any transaction, so that it lasts
    with dbapi_conn.cursor() as cur:
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    dbapi_conn.autocommit = autocommit


def get_read_sessionmaker(url: str) -> sessionmaker[Session]:
    """A sessionmaker for read-only work (web GET requests), on an engine of its own that refuses writes.

    On SQLite the ordinary engine begins with ``BEGIN IMMEDIATE``, which would make every read queue behind every
    other for the write lock; reads begin deferred instead (under WAL one consistent snapshot, no lock) and the
    connection is ``query_only``. On PostgreSQL each statement of a READ COMMITTED transaction sees its own
    snapshot anyway, so reads run in autocommit: no BEGIN and COMMIT round trips (about a third of a small
    request's time on loopback), with every session ``READ ONLY``.
    """
    with _lock:
        factory = _readers.get(url)
        if factory is None:
            if is_sqlite(url):
                engine = create_engine(url)
                busy_ms = sqlite_busy_timeout_ms(url)
                event.listen(engine, "connect",
                             lambda conn, record: _sqlite_reader_on_connect(conn, record, busy_ms))
                event.listen(engine, "begin", _sqlite_reader_on_begin)
            else:
                engine = create_engine(url, pool_pre_ping=True, isolation_level="AUTOCOMMIT")
                event.listen(engine, "connect", _pg_read_only_on_connect)
            factory = _readers[url] = sessionmaker(bind=engine, expire_on_commit=False)
        return factory


def get_snapshot_sessionmaker(url: str) -> sessionmaker[Session]:
    """A sessionmaker for read-only work that must see the data as of one instant across many statements (the
    ledger's verification, exports, audit bundles), streaming large results through a server-side cursor.

    SQLite: the read sessionmaker (a deferred transaction under WAL is one snapshot). PostgreSQL: REPEATABLE READ
    READ ONLY transactions on an engine of their own.
    """
    if is_sqlite(url):
        return get_read_sessionmaker(url)
    with _lock:
        factory = _snapshots.get(url)
        if factory is None:
            engine = create_engine(url, pool_pre_ping=True, isolation_level="REPEATABLE READ")
            event.listen(engine, "connect", _pg_read_only_on_connect)
            factory = _snapshots[url] = sessionmaker(bind=engine, expire_on_commit=False)
        return factory


def dispose_all(*, close: bool = True) -> None:
    """Forget every engine and its pooled connections (tests call this between databases).

    ``close=False`` is for a process just forked: the connections it inherited belong to its parent, so it
    drops them without closing them (closing would end the parent's sessions with the server too)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        for factory in (*_readers.values(), *_snapshots.values()):
            factory.kw["bind"].dispose(close=close)
        _engines.clear()
        _snapshots.clear()
        _sessionmakers.clear()
        _readers.clear()
