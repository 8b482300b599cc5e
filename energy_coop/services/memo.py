"""A per-process memo for figures derived from stored data, so members' pages do not recompute them per visit.

Every change to the co-op's stored data (an import, a register load, a posting, a forecast refresh, an admin's
edit) writes a row to the append-only audit log in the same transaction, so the newest audit-log id is a
version of the data: a remembered figure is keyed on the version its caller read first and is recomputed once
anything has changed. Read the version before the data: a figure keyed on an older version can then only be
newer than its key, never staler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.models import AuditEntry

T = TypeVar("T")

LIMIT = 4096  # entries; the memo is emptied when full (older versions' entries are unreachable anyway)

_memo: dict[Any, Any] = {}
_lock = threading.Lock()


def data_version(session: Session) -> tuple[str, int, Any]:
    """The database and its newest audit-log entry (id and time; 0 and None for an empty log): changes whenever
    the stored data does. The time tells apart databases whose logs restarted at the same id (tests)."""
    newest_id, newest_at = session.execute(select(*version_columns())).one()
    return version_of(session, newest_id, newest_at)


def version_columns() -> tuple[Any, Any]:
    """The newest audit-log id and its time as two scalar subqueries, for a caller to add to its own first query
    (one round trip less); pass what they return to :func:`version_of`."""
    return (select(func.max(AuditEntry.id)).scalar_subquery(),
            select(AuditEntry.at).order_by(AuditEntry.id.desc()).limit(1).scalar_subquery())


def version_of(session: Session, newest_id: int | None, newest_at: Any) -> tuple[str, int, Any]:
    """:func:`data_version` from the values of :func:`version_columns`."""
    return session.get_bind().url.render_as_string(hide_password=True), newest_id or 0, newest_at


def remember(session: Session, key: Any, compute: Callable[[], T], *, version: tuple | None = None) -> T:
    """``compute()``, remembered under ``key`` at the current :func:`data_version` (or the ``version`` the caller
    already read). ``key`` must name everything else the figure depends on. Callers must not mutate the
    returned value."""
    full_key = (key, data_version(session) if version is None else version)
    try:
        return _memo[full_key]
    except KeyError:
        pass
    value = compute()
    with _lock:
        if len(_memo) >= LIMIT:
            _memo.clear()
        _memo[full_key] = value
    return value


def forget() -> None:
    """Empty the memo (tests that rewrite a database behind the services' back)."""
    with _lock:
        _memo.clear()
