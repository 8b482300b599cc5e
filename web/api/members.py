"""``/me`` and the members' endpoints: details, credits, statements (SPEC sections 6 and 10).

Admins and auditors read every member; a member reads only themself and gets 404 for anyone else.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import Response, g, jsonify
from marshmallow import ValidationError

from energy_coop.services.screens import api as api_queries
from energy_coop.services.credits.queries import member_credits
from energy_coop.services.credits.issued import get_statement
from energy_coop.vocabulary import ROLES

from web.api.auth import check_member_access, reads, roles
from web.api.common import api_blueprint, documented
from web.api.schemas import (
    PERIOD_PARAMETER,
    CreditsQuery,
    CreditsSchema,
    MemberDetailSchema,
    MemberPageSchema,
    MembersQuery,
    MeSchema,
    StatementSchema,
    check_period,
)


def _attachment(member_number: str, period: str, ext: str) -> dict[str, str]:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", member_number)[:64]
    return {"Content-Disposition": f'attachment; filename="statement-{safe}-{period}.{ext}"'}


blp = api_blueprint("members", "Who is signed in; members' details, credits and statements")
EVERYONE = ROLES


def _valid_period(period: str) -> str:
    """A path's period, refused with 422 (not 404) when it is not a month, so the mistake is named."""
    try:
        check_period(period)
    except ValidationError as exc:
        raise ValidationError({"path": {"period": exc.messages}}) from None
    return period


@blp.route("/me")
@documented(blp)
@roles(*EVERYONE)
@blp.response(200, MeSchema)
def me():
    """The signed-in user: email, role and (for a member) their member number."""
    p = g.principal
    return {"email": p.email, "role": p.role, "member_number": p.member_number}


@blp.route("/members")
@documented(blp, 422)
@roles(*EVERYONE)
@blp.arguments(MembersQuery, location="query", as_kwargs=True)
@blp.response(200, MemberPageSchema)
def list_members(limit: int, after: str | None = None):
    """Members in member-number order, a page at a time (a member sees only themself).

    Pass the answer's ``next_after`` as ``after`` to get the next page; it is null on the last page.
    """
    only = g.principal.member_number if g.principal.role == "member" else None
    with reads().begin() as s:
        return api_queries.list_members(s, after=after, limit=limit, only=only)


@blp.route("/members/<member_number>")
@documented(blp, 404)
@roles(*EVERYONE)
@blp.response(200, MemberDetailSchema)
def get_member(member_number: str):
    """One member's details and the shares they hold today."""
    check_member_access(member_number)
    with reads().begin() as s:
        return api_queries.member_details(s, member_number, on=dt.date.today())


@blp.route("/members/<member_number>/credits")
@documented(blp, 404, 422)
@roles(*EVERYONE)
@blp.arguments(CreditsQuery, location="query", as_kwargs=True)
@blp.response(200, CreditsSchema)
def credits(member_number: str, from_: str | None = None, to: str | None = None):
    """Posted credits by month and asset, in integer Wh and cents, and the balance of every ledger entry.

    ``from`` and ``to`` (YYYY-MM, inclusive) bound the months listed; the balance is always the whole account.
    """
    check_member_access(member_number)
    with reads().begin() as s:
        doc = member_credits(s, member_number, from_, to)
    # The hot path of SPEC 12: the service's dict is already the documented shape (the schema tests hold it
    # to that), so it is sent as is rather than copied field by field through marshmallow.
    return jsonify(doc)


@blp.route("/members/<member_number>/statements/<period>")
@blp.route("/members/<member_number>/statements/<period>.json")
@documented(blp, 404, 422)
@blp.doc(parameters=[PERIOD_PARAMETER])
@roles(*EVERYONE)
@blp.response(200, StatementSchema)
def statement_json(member_number: str, period: str):
    """The issued statement of one month (SPEC 6, 13): opening balance, the month's credits by asset, credits
    and corrections for earlier months booked in it, other entries, closing balance; amounts in integer Wh and
    cents. It is the document the stored PDF and CSV were rendered from when the month was issued, so its
    figures are the CSV's. A month not issued: 404 saying so (only issued months have statements)."""
    check_member_access(member_number)
    _valid_period(period)
    with reads().begin() as s:
        return get_statement(s, member_number, period).document


@blp.route("/members/<member_number>/statements/<period>.csv")
@documented(blp, 404, 422)
@blp.doc(parameters=[PERIOD_PARAMETER])
@roles(*EVERYONE)
@blp.response(200, {"type": "string"}, content_type="text/csv")
def statement_as_csv(member_number: str, period: str):
    """The issued statement as CSV (for auditors): one line per figure, exact kWh and money; exactly the bytes
    stored when the month was issued. A month not issued: 404."""
    check_member_access(member_number)
    _valid_period(period)
    with reads().begin() as s:
        data = get_statement(s, member_number, period).csv
    return Response(data, mimetype="text/csv", headers=_attachment(member_number, period, "csv"))


@blp.route("/members/<member_number>/statements/<period>.pdf")
@documented(blp, 404, 422)
@blp.doc(parameters=[PERIOD_PARAMETER])
@roles(*EVERYONE)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
def statement_as_pdf(member_number: str, period: str):
    """The issued statement as PDF (for members): exactly the bytes stored when the month was issued. A month not
    issued: 404."""
    check_member_access(member_number)
    _valid_period(period)
    with reads().begin() as s:
        data = get_statement(s, member_number, period).pdf
    return Response(data, mimetype="application/pdf", headers=_attachment(member_number, period, "pdf"))
