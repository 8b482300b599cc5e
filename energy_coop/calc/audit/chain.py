"""The audit log's hash chain (SPEC section 1: every change recorded; issue 16: nothing rewritten unnoticed).

The audit log has a chain of its own, separate from the ledger's (``energy_coop.calc.credits.chain``) and built
the same way. For every audit entry, in ``seq`` order (1, 2, 3, ... without gaps)::

    content = "|".join([seq, at, actor, action, entity, entity_key, before, after, note])
    hash    = sha256(prev_hash + "\\n" + content).hexdigest()

where

* ``seq`` is the entry's place in the chain, in decimal (not its database ``id``, which may skip numbers);
* ``at`` is ISO 8601 UTC with microseconds (``2026-12-03T04:40:00.000000+00:00``);
* ``before`` and ``after`` (the changed record as it was and as it became, JSON objects) are written as
  canonical JSON: keys sorted, no spaces (``{"a":1,"b":[true,null,"x"]}``), every character outside ASCII as a
  ``\\uXXXX`` escape (UTF-16 surrogate pairs beyond the BMP), strings escaped as JSON requires, integers in
  decimal; that is Python's ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``;
* an absent value (no key, no before, no after, no note) is the empty string;
* in every text field (``actor``, ``action``, ``entity``, ``entity_key``, ``note`` and the JSON texts) ``\\`` is
  written ``\\\\`` and ``|`` is written ``\\|``, so the separators cannot be forged;
* the first entry's ``prev_hash`` is sixty-four zeros, and every later entry's is the hash of the entry before.

The text is encoded as UTF-8 before hashing. The audit log's head (``audit_head``: last seq, last hash, number
of entries) must equal the last entry of the chain. Changing, removing or reordering an entry changes every
later hash, and removing the last entries leaves the head pointing past the chain's end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

from energy_coop.calc.credits.chain import format_time

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditLink:
    """One audit entry as its hash sees it, plus where it sits (``id``) and its stored hashes."""

    seq: int
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_key: str | None
    before: Any
    after: Any
    note: str | None
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """``value`` as the chain's canonical JSON (see the module's text); ``None`` (absent) as ``""``."""
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value).replace("\\", "\\\\").replace("|", "\\|")


def audit_content(seq: int, at: dt.datetime | str, actor: str, action: str, entity: str, entity_key: str | None,
                  before: Any, after: Any, note: str | None) -> str:
    """The text that is hashed for one audit entry; ``at`` may be given already formatted by ``format_time``;
    ``before`` and ``after`` are the JSON values (dicts, lists, ...), not their text."""
    when = at if isinstance(at, str) else format_time(at)
    return "|".join([str(seq), when, _text(actor), _text(action), _text(entity), _text(entity_key),
                     _text(canonical_json(before)), _text(canonical_json(after)), _text(note)])


def audit_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + content).encode("utf-8")).hexdigest()


def link_hash(link: AuditLink) -> str:
    """The hash ``link`` should carry, from its own ``prev_hash`` and content."""
    return audit_hash(link.prev_hash, audit_content(link.seq, link.at, link.actor, link.action, link.entity,
                                                    link.entity_key, link.before, link.after, link.note))


def _where(link: AuditLink) -> str:
    what = f"{link.action} {link.entity}" + (f" {link.entity_key}" if link.entity_key else "")
    return f"audit log entry {link.seq} (id {link.id}, {format_time(link.at)[:19]}Z, {link.actor[:80]}: {what[:120]})"


def verify_links(links: Iterable[AuditLink], start_hash: str = GENESIS, start_seq: int = 0) -> tuple[list[str],
                                                                                                    int, str, int]:
    """Walk ``links`` (in ``seq`` order); return ``(problems, last_seq, last_hash, count)``.

    Each problem names the entry in plain words: a missing sequence (``audit log entries 5..6 are missing``), an
    entry whose content no longer matches its hash (changed after it was written), or whose previous-hash does
    not match the entry before it (one removed or rewritten before it)."""
    problems: list[str] = []
    prev_hash, prev_seq, count = start_hash, start_seq, 0
    for link in links:
        count += 1
        if link.seq > prev_seq + 1:
            missing = (f"entry {prev_seq + 1} is" if link.seq == prev_seq + 2
                       else f"entries {prev_seq + 1}..{link.seq - 1} are")
            problems.append(f"audit log {missing} missing (entry {link.seq} follows entry {prev_seq})")
        elif link.seq <= prev_seq:
            problems.append(f"{_where(link)}: out of order after entry {prev_seq}")
        if link.prev_hash != prev_hash:
            problems.append(f"{_where(link)}: its previous-hash does not match entry {prev_seq}'s hash "
                            f"(an entry before it was removed or rewritten)")
        if link_hash(link) != link.hash:
            problems.append(f"{_where(link)}: its content does not match its hash (changed after it was written)")
        prev_hash, prev_seq = link.hash, link.seq
    return problems, prev_seq, prev_hash, count
