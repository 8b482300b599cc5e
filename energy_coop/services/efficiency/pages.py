"""What each efficiency page shows, read in one transaction as plain values (SPEC sections 8 and 10): a
member's overview of their own buildings, the staff overview of the programme, and one building's page.

A ``member_number`` given means a member's own view: another member's records do not exist for them
(:class:`NotFoundError`, a 404 page), nor does a member number that names nobody. Read-only: nothing here
writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError
from energy_coop.services.efficiency.incentives import budget_summary, list_awards, list_payments
from energy_coop.services.efficiency.measures import FINAL, list_measures, measures_by_status
from energy_coop.services.efficiency.premises import get_premises, list_audits, list_premises, member_id_of
from energy_coop.services.efficiency.savings import premises_savings, programme_savings
from energy_coop.services.efficiency.serialisers import (audit_dict, award_dict, measure_dict, payment_dict,
                                                         premises_dict)


def _own(session: Session, member_number: str) -> int:
    member_id = member_id_of(session, member_number)
    if member_id is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    return member_id


def member_overview(session: Session, member_number: str, *, today: dt.date) -> dict[str, Any]:
    """A member's premises, audits, measures, awards and payments, and each premises' measured savings up to
    ``today`` (``savings``: premises id -> :func:`savings.premises_savings` document)."""
    member_id = _own(session, member_number)
    premises = list_premises(session, member_id=member_id)
    return {"premises": [premises_dict(p) for p in premises],
            "audits": [audit_dict(a) for a in list_audits(session, member_id=member_id)],
            "measures": [measure_dict(m) for m in list_measures(session, member_id=member_id)],
            "awards": [award_dict(a) for a in list_awards(session, member_id=member_id)],
            "payments": [payment_dict(p) for p in list_payments(session, member_id=member_id)],
            "savings": {p.id: premises_savings(session, p.id, until=today, member_id=member_id)
                        for p in premises}}


def staff_overview(session: Session, *, today: dt.date) -> dict[str, Any]:
    """The programme for admins and auditors: each programme's budget [cents] and whether it is open
    ``today``, measures by status, savings estimated vs measured per programme, every measure, award and
    premises."""
    programmes = budget_summary(session, on=today)
    return {"programmes": programmes, "by_status": measures_by_status(session),
            "programme_savings": [programme_savings(session, p["code"], until=today) for p in programmes],
            "measures": [measure_dict(m) for m in list_measures(session)],
            "awards": [award_dict(a) for a in list_awards(session)],
            "premises": [premises_dict(p) for p in list_premises(session)]}


def premises_page(session: Session, premises_id: int, *, today: dt.date, member_number: str | None = None,
                  with_awards: bool = False) -> dict[str, Any]:
    """One building: its details, measured savings up to ``today``, measures (``editable``: the ids of those
    whose figures can still be corrected) and audits; with ``with_awards``, ``awarded``: the ids of the
    measures with an incentive award (else an empty set)."""
    member_id = None if member_number is None else _own(session, member_number)
    p = get_premises(session, premises_id, member_id=member_id)
    measures = [measure_dict(m) for m in list_measures(session, premises_id=p.id)]
    awarded = {a.measure_id for a in list_awards(session, member_id=p.member_id)} if with_awards else set()
    return {"premises": premises_dict(p),
            "savings": premises_savings(session, p.id, until=today, member_id=member_id),
            "measures": measures, "audits": [audit_dict(a) for a in list_audits(session, premises_id=p.id)],
            "editable": {m["id"] for m in measures if m["status"] not in FINAL}, "awarded": awarded}
