"""Issued statement months (SPEC 13): list them, and issue the next one (administrators).

``GET /statement-months`` lists the issued months (every role that reads statements: admins, auditors and
members). ``POST /statement-months/{period}/issue`` freezes a month's statements through
``documents.statements.issue_month`` in one transaction (audited there). Refusals are ``issued.prepare_issue``'s:
409 for a month issued already, 422 naming why for one not posted, posted but with readings changed since, not
over yet, or out of order; nothing is written then. A path that is not a month (``2024-13``) is 404: there is no
such statement month.
"""

from __future__ import annotations

from flask import g
from marshmallow import ValidationError

from energy_coop.documents.statements import issue_month
from energy_coop.errors import NotFoundError
from energy_coop.services.credits import issued
from energy_coop.vocabulary import ROLES

from web.api.auth import reads, roles, sessions
from web.api.common import api_blueprint, documented
from web.api.schemas import (
    PERIOD_PARAMETER,
    IssueResultSchema,
    StatementMonthListSchema,
    check_period,
)

blp = api_blueprint("statements", "Issued statement months: list them, issue the next one")


@blp.route("/statement-months")
@documented(blp, 403)
@roles(*ROLES)
@blp.response(200, StatementMonthListSchema)
def statement_months():
    """The issued months, newest first, with how many statements each has and when it was issued.

    Only issued months have statements (``/members/{member_number}/statements/{period}``); their files never
    change. ``issued_by`` is null when a member asks."""
    with reads().begin() as s:
        months = issued.issued_months(s)
    staff = g.principal.role != "member"
    return {"months": [{**m, "issued_at": m["issued_at"].isoformat(), "issued_by": m["issued_by"] if staff else None}
                       for m in months]}


@blp.route("/statement-months/<period>/issue", methods=["POST"])
@documented(blp, 403, 404, 409, 422)
@blp.doc(parameters=[PERIOD_PARAMETER])
@roles("admin")
@blp.response(201, IssueResultSchema)
def issue(period: str):
    """Issue a posted, ended month's statements: one per member with an entry in or before it, stored (PDF and
    CSV, with their SHA-256) and never changed again; the answer says how many, when and by whom.

    Months are issued in order. 409: the month is issued already. 422, with the reason: not posted, posted but
    with readings changed since (repost it), not over yet in some asset's time zone (naming the asset and when it
    ends), or an earlier month with entries is not issued yet (or a later one is). 404: the path is not a month.
    """
    try:
        check_period(period)
    except ValidationError as exc:
        raise NotFoundError(f"there is no statement month {period[:20]!r}: " + " ".join(exc.messages)) from None
    with sessions().begin() as s:
        return issue_month(s, period, actor=g.principal.email).as_dict()
