"""The auditors' screens (SPEC 1, 6, 10); admins read them too.

One read function per screen; each takes a Session and plain values and returns dicts of integers (Wh, cents),
hashes, dates and codes, never formatted text. Nothing here writes. The verification and the ledger pages must
see one instant, so their views run them in a snapshot (``web.helpers.run_snapshot``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from energy_coop.period import Period
from energy_coop.services import audit_chain
from energy_coop.services.credits import issued, ledger
from energy_coop.services.credits import queries as credits


def audit_home(session: Session) -> dict[str, Any]:
    """The auditor's home page: the ledger's verification report, the audit log's (``audit_log``: ok, seq,
    hash, entries, problems), the posted months, the stale ones and the issued months (``{period: {"issued_at",
    "issued_by", "statements", ...}}``; only they have statements)."""
    return {"verify": ledger.verify(session).as_dict(), "audit_log": audit_chain.verify(session).as_dict(),
            "periods": credits.posted_periods(session),
            "stale": credits.stale_runs(session),
            "issued": {m["period"]: m for m in issued.issued_months(session)}}


def ledger_screen(session: Session, *, page: int = 1, per_page: int = 100,
                  period: Period | None = None) -> dict[str, Any]:
    """The ledger page: the whole chain's verification and one page of entries (one month's, if given)."""
    return {"verify": ledger.verify(session).as_dict(),
            "entries": credits.ledger_entries_page(session, page=page, per_page=per_page, period=period)}


def runs_screen(session: Session) -> list[dict[str, Any]]:
    """The allocation runs page: every run, newest first."""
    return credits.allocation_runs(session)


def run_screen(session: Session, run_id: int) -> dict[str, Any]:
    """One allocation run with its posted document (its page and its JSON download)."""
    return credits.allocation_run(session, run_id)
