"""The ledger's hash chain (SPEC section 6), as pure functions an auditor can re-implement from this text.

For every entry, in ``seq`` order::

    content = "|".join([seq, kind, member_number, period, asset_code, wh, cents, run_id, reverses_seq, memo,
                        created_at])
    hash    = sha256(prev_hash + "\\n" + content).hexdigest()

with integers in decimal, absent values as the empty string, ``created_at`` as ISO 8601 UTC with microseconds
(``2024-04-03T02:00:00.000000+00:00``), ``|`` and ``\\`` in the memo escaped with a backslash, and the first entry's
``prev_hash`` sixty-four zeros. Changing, removing or reordering any entry changes every later hash.

The booked month (SPEC 13, ledger column ``booked``: the month whose statement shows the entry) is covered too,
in a way that keeps every hash made before it existed valid. An entry's *default* booked month is its
``period``, or, for an entry without a period, the UTC month (``YYYY-MM``) of its ``created_at``. When
``booked`` equals that default nothing is added; otherwise ``"|booked=" + booked`` is appended to ``content``::

    content = "...|2026-12-03T04:40:00.000000+00:00|booked=2027-01"   # a 2026-12 entry shown on 2027-01's statement

So moving an entry to another statement month (or back to its own) changes its hash like any other edit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Iterable

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    kind: str
    member_number: str
    period: str | None
    booked: str
    asset_code: str | None
    wh: int
    cents: int
    run_id: int | None
    reverses_seq: int | None
    memo: str | None
    created_at: dt.datetime
    prev_hash: str
    hash: str


def format_time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive timestamp in the ledger")
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("\\", "\\\\").replace("|", "\\|")


def default_booked(period: str | None, created_at: dt.datetime | str) -> str:
    """The booked month an entry had before booked months existed: its ``period``, else the UTC month of
    ``created_at`` (given as a datetime or as :func:`format_time`'s text)."""
    if period:
        return period
    when = created_at if isinstance(created_at, str) else format_time(created_at)
    return when[:7]


def entry_content(seq: int, kind: str, member_number: str, period: str | None, asset_code: str | None, wh: int,
                  cents: int, run_id: int | None, reverses_seq: int | None, memo: str | None,
                  created_at: dt.datetime | str, booked: str | None = None) -> str:
    """The text that is hashed; ``created_at`` may be given already formatted by :func:`format_time`.
    ``booked`` (``None``: the default, see the module's text) adds ``|booked=YYYY-MM`` when it is not the
    default."""
    when = created_at if isinstance(created_at, str) else format_time(created_at)
    content = "|".join([
        str(seq), kind, _text(member_number), _text(period), _text(asset_code), str(wh), str(cents),
        _text(run_id), _text(reverses_seq), _text(memo), when,
    ])
    if booked is not None and booked != default_booked(period, when):
        content += "|booked=" + _text(booked)
    return content


def entry_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + content).encode("utf-8")).hexdigest()


def verify_chain(entries: Iterable[ChainEntry], start_hash: str = GENESIS, start_seq: int = 0) -> list[str]:
    """Every break in the chain, in plain words (empty list = intact). ``entries`` in ``seq`` order."""
    problems: list[str] = []
    prev_hash, prev_seq = start_hash, start_seq
    for e in entries:
        if e.seq != prev_seq + 1:
            problems.append(f"entry {e.seq}: follows entry {prev_seq}; entries {prev_seq + 1}..{e.seq - 1} are missing"
                            if e.seq > prev_seq + 1 else f"entry {e.seq}: out of order after entry {prev_seq}")
        if e.prev_hash != prev_hash:
            problems.append(f"entry {e.seq}: its previous-hash does not match entry {prev_seq}'s hash")
        content = entry_content(e.seq, e.kind, e.member_number, e.period, e.asset_code, e.wh, e.cents, e.run_id,
                                e.reverses_seq, e.memo, e.created_at, e.booked)
        expected = entry_hash(e.prev_hash, content)
        if expected != e.hash:
            problems.append(f"entry {e.seq}: its content does not match its hash (altered after posting)")
        prev_hash, prev_seq = e.hash, e.seq
    return problems
