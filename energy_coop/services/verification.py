"""One verification of everything chained (issue 16): the ledger (``services.credits.ledger.verify``) and the
audit log (``services.audit_chain.verify``), as ``energy-coop verify`` and ``ledger verify`` report it.

``verify(session).as_dict()`` is the ``--json`` document::

    {"ledger": {"seq", "hash", "entries", "total_wh", "total_cents"},   # the heads as the chains have them
     "audit_log": {"seq", "hash", "entries"},
     "ok": true, "problems": ["ledger: entry 2: ...", "audit log entry 5 (...): ..."]}

with energy in Wh and money in cents (integers). A caller that compares heads with an earlier one (an anchor)
reads ``ledger`` and ``audit_log`` from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from energy_coop.services import audit_chain
from energy_coop.services.credits import ledger


@dataclass
class Verification:
    ledger: ledger.VerifyReport
    audit_log: audit_chain.AuditChainReport

    @property
    def ok(self) -> bool:
        return self.ledger.ok and self.audit_log.ok

    @property
    def problems(self) -> list[str]:
        """Every problem, the ledger's first (each says which chain and which entry)."""
        return [f"ledger: {p}" for p in self.ledger.problems] + list(self.audit_log.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"ledger": self.ledger.head(), "audit_log": self.audit_log.head(), "ok": self.ok,
                "problems": self.problems}


def verify(session: Session) -> Verification:
    """Re-walk both chains and re-sum the ledger; see the module's text."""
    return Verification(ledger.verify(session), audit_chain.verify(session))
