"""Loading the register files of SPEC section 3: members, assets, shares, rates.

``load_register`` is an upsert keyed by each file's key column; loading the same file twice changes nothing.
A file with any invalid row is refused whole with every problem named (:class:`RefusedError`) and nothing
written. Every created or changed row is recorded in the audit log with its before/after values.
The caller owns the transaction; nothing here commits.

This module reads the file (or the form's records) and hands the rows to the register's own loader:
:mod:`~energy_coop.services.registers.members`, :mod:`~energy_coop.services.registers.assets`,
:mod:`~energy_coop.services.registers.shares`, :mod:`~energy_coop.services.registers.rates`; what they share
is in :mod:`~energy_coop.services.registers.upsert`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from energy_coop.errors import RefusedError, RowError
from energy_coop.importers.registers.tables import TableRow, read_table
from energy_coop.services.registers import assets, members, rates, shares
from energy_coop.services.registers.shares import share_register
from energy_coop.services.registers.upsert import LoadResult

__all__ = ["COLUMNS", "KINDS", "LoadResult", "apply_records", "load_register", "share_register"]

KINDS = ("members", "assets", "shares", "rates")

#: kind -> (required columns, optional columns)
COLUMNS: dict[str, tuple[set[str], set[str]]] = {
    "members": (members.REQUIRED, members.OPTIONAL),
    "assets": (assets.REQUIRED, assets.OPTIONAL),
    "shares": (shares.REQUIRED, shares.OPTIONAL),
    "rates": (rates.REQUIRED, rates.OPTIONAL),
}

_LOADERS: dict[str, Callable[[Session, list[TableRow], str, str], LoadResult]] = {
    "members": members.load_members,
    "assets": assets.load_assets,
    "shares": shares.load_shares,
    "rates": rates.load_rates,
}


def load_register(session: Session, kind: str, path: str | Path, *, actor: str) -> LoadResult:
    """Load register file ``path`` of ``kind`` (members|assets|shares|rates) into the session's transaction.

    Raises :class:`RefusedError` naming every bad row; the caller must then roll back (nothing is flushed
    before all rows are known to be valid).
    """
    if kind not in KINDS:
        raise RefusedError(f"unknown register {kind!r}; choose one of: {', '.join(KINDS)}")
    required, optional = COLUMNS[kind]
    path = Path(path)
    _, rows = read_table(path, required=required, optional=optional)
    return _LOADERS[kind](session, rows, path.name, actor)


def apply_records(session: Session, kind: str, records: list[dict[str, str]], *, source: str,
                  actor: str) -> LoadResult:
    """The same upsert and checks as :func:`load_register`, for rows that come from a form instead of a file.

    ``records`` are text values by column name (blank = empty); errors name "line N" = the N-th record.
    """
    if kind not in KINDS:
        raise RefusedError(f"unknown register {kind!r}; choose one of: {', '.join(KINDS)}")
    required, optional = COLUMNS[kind]
    errors = []
    for col in sorted({c for r in records for c in r} - required - optional):
        errors.append(RowError("", col, "unknown field"))
    for col in sorted(required - {c for r in records for c in r}):
        errors.append(RowError("", col, "is required"))
    if errors or not records:
        raise RefusedError(f"{source}: refused, nothing was saved", errors)
    rows = [TableRow(i + 1, {k: (v or "").strip() for k, v in r.items()}) for i, r in enumerate(records)]
    return _LOADERS[kind](session, rows, source, actor)
