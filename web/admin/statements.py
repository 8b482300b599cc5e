"""Issuing statements from the admin console (SPEC 13): the posted and issued months, the next month to issue,
a confirmation step, and the issue itself.

``GET /admin/statements`` lists every posted or issued month with whether it can be issued and, if not, why
(``issued.issue_status``: the rules of ``issued.prepare_issue``); admins and auditors (read-only) see it.
``GET /admin/statements/<YYYY-MM>/issue`` is the confirmation step (how many statements, and that they never
change); its form POSTs (CSRF, and the number of statements confirmed) to the same address, which calls
``documents.statements.issue_month`` in one transaction (audited there: ``store_month`` records the ``issue``
row), refused if that number is no longer the month's. Both are for admins only. A refusal is
shown beside the button, in the service's words; nothing is written then.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, url_for

from energy_coop.documents.statements import issue_month
from energy_coop.errors import ConflictError, RefusedError, RowError
from energy_coop.formatting import when
from energy_coop.period import Period
from energy_coop.services.credits import issued
from energy_coop.vocabulary import STAFF_ROLES

from web.admin import bp
from web.admin.forms import IssueForm
from web.helpers import actor, run
from web.security import roles_required


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _month(text: str) -> str:
    """The month of a URL as 'YYYY-MM'; anything else is no page here (404)."""
    try:
        month = Period.parse(text[:20])
    except (TypeError, ValueError):
        abort(404)
    if str(month) != text:
        abort(404)
    return text


def _statements_page(refused: str | None = None, refusal: RefusedError | None = None, status: int = 200):
    """The list; ``refusal`` is why issuing month ``refused`` was just refused (shown beside the button)."""
    rows = run(issued.issue_status, now=_now(), read_only=True)
    offered = next((r for r in rows if r["can_issue"]), None)
    waiting = [r for r in rows if r["issued"] is None and not r["can_issue"]][::-1]  # oldest first
    return render_template("admin/statements.html", rows=rows, offered=offered, waiting=waiting,
                           refused=refused, refusal=refusal), status


@bp.get("/statements")
@roles_required(*STAFF_ROLES)
def statements_view():
    return _statements_page()


@bp.get("/statements/<period>/issue")
@roles_required("admin")
def statements_confirm(period: str):
    """The confirmation step: how many statements issuing ``period`` makes, and that they never change."""
    period = _month(period)
    row = run(issued.month_issue_status, period, now=_now())
    return render_template("admin/statements_confirm.html", row=row, form=IssueForm(formdata=None))


@bp.post("/statements/<period>/issue")
@roles_required("admin")
def statements_issue(period: str):
    """Issue ``period``'s statements (confirmed), in one transaction; refused: the list with the reason."""
    period = _month(period)
    form = IssueForm()
    if not form.validate_on_submit():
        problems = [RowError("", "statements", e) for e in form.statements.errors]
        return _statements_page(period, RefusedError("the confirmation was incomplete", problems), 400)
    confirmed = int(form.statements.data)

    def same_count(n: int) -> None:  # told before the first statement is rendered; a refusal rolls back
        if n != confirmed:
            raise RefusedError(f"{period} now has {n} statements to issue, not the {confirmed} you confirmed "
                               "(something was posted meanwhile); look at the confirmation again")

    try:
        result = run(issue_month, period, actor=actor(), on_plan=same_count)
    except RefusedError as exc:
        return _statements_page(period, exc, 409 if isinstance(exc, ConflictError) else 400)
    flash(f"{result.statements} statements of {result.period} issued on {when(result.issued_at)} by "
          f"{result.issued_by}. They will never change; members can download them now.", "success")
    return redirect(url_for("admin.statements_view"))
