"""Verifying the audit log's hash chain (issue 16): re-walk every entry, check the head. Nothing here writes.

``verify(session)`` is the one check; ``energy-coop verify``, the auditors' page and any caller that anchors or
compares heads use its report. Run it in a snapshot (``AppContext.snapshot()``, ``web.helpers.run_snapshot``) so
the entries and the head are read as of one instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.audit.chain import GENESIS, AuditLink, verify_links
from energy_coop.models import AuditEntry, AuditHead


@dataclass
class AuditChainReport:
    """The audit log as verified: its last ``seq`` and ``hash`` as the chain has them, how many ``entries``, and
    every problem in plain words (none: intact)."""

    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def head(self) -> dict[str, Any]:
        """The head as ``verify --json`` prints it: ``{"seq", "hash", "entries"}``."""
        return {"seq": self.last_seq, "hash": self.last_hash, "entries": self.entries}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.head(), "problems": self.problems}


def iter_links(session: Session, *, batch: int = 20_000) -> Iterator[AuditLink]:
    """Every audit entry in ``seq`` order as the chain sees it."""
    stmt = select(AuditEntry.seq, AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
                  AuditEntry.entity, AuditEntry.entity_key, AuditEntry.before, AuditEntry.after, AuditEntry.note,
                  AuditEntry.prev_hash, AuditEntry.hash).order_by(AuditEntry.seq)
    for row in session.execute(stmt.execution_options(yield_per=batch)):
        yield AuditLink(*row)


def verify(session: Session) -> AuditChainReport:
    """Re-walk the audit log's chain and compare its end with ``audit_head``; name the first changed or missing
    entry of every break."""
    report = AuditChainReport()
    problems, report.last_seq, report.last_hash, report.entries = verify_links(iter_links(session))
    report.problems.extend(problems)
    head = session.get(AuditHead, 1)
    if head is None:
        report.problems.append("the audit log's head row is missing")
        return report
    if head.last_seq > report.last_seq:
        missing = (f"entry {head.last_seq} is" if head.last_seq == report.last_seq + 1
                   else f"entries {report.last_seq + 1}..{head.last_seq} are")
        report.problems.append(f"audit log {missing} missing: the audit log's head says it ends at entry "
                               f"{head.last_seq}, the log ends at entry {report.last_seq}")
    elif head.last_seq < report.last_seq:
        report.problems.append(f"the audit log's head says it ends at entry {head.last_seq}, but the log goes on to "
                               f"entry {report.last_seq} (the head was moved back)")
    elif head.last_hash != report.last_hash:
        report.problems.append(f"audit log entry {report.last_seq}: its hash is not the one the audit log's head "
                               f"holds (the entry was rewritten)")
    if head.entries != report.entries and head.last_seq == report.last_seq:
        report.problems.append(f"the audit log's head counts {head.entries} entries; the log has {report.entries}")
    return report
