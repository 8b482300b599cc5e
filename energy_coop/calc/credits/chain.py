"""The ledger's hash chain (SPEC section 6), as pure functions an auditor can re-implement from this text.

For every entry, in ``seq`` order::

    content = "|".join([seq, kind, member_number, period, asset_code, wh, cents, run_id, reverses_seq, memo,
                        created_at])
    hash    = sha256(prev_hash + "\\n" + content).hexdigest()

with integers in decimal, absent values as the empty string, ``created_at`` as ISO 8601 UTC with microseconds
(``2024-04-03T02:00:00.000000+00:00``), ``|`` and ``\\`` in the memo escaped with a backslash, and the first entry's
``prev_hash`` sixty-four zeros. Changing, removing or reordering any entry changes every later hash.
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


def entry_content(seq: int, kind: str, member_number: str, period: str | None, asset_code: str | None, wh: int,
                  cents: int, run_id: int | None, reverses_seq: int | None, memo: str | None,
                  created_at: dt.datetime | str) -> str:
    """The text that is hashed; ``created_at`` may be given already formatted by :func:`format_time`."""
    when = created_at if isinstance(created_at, str) else format_time(created_at)
    return "|".join([
        str(seq), kind, _text(member_number), _text(period), _text(asset_code), str(wh), str(cents),
        _text(run_id), _text(reverses_seq), _text(memo), when,
    ])


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
                                e.reverses_seq, e.memo, e.created_at)
        expected = entry_hash(e.prev_hash, content)
        if expected != e.hash:
            problems.append(f"entry {e.seq}: its content does not match its hash (altered after posting)")
        prev_hash, prev_seq = e.hash, e.seq
    return problems
