"""Issuing a month's statements from the admin page (SPEC 13): the list of posted and issued months, the next
month's button, the confirmation step, the issue itself, and refusals that write nothing."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from energy_coop.models import AuditEntry, IssuedMonth, IssuedStatement
from energy_coop.period import Period
from energy_coop.services.credits import allocation
from tests.helpers import add_readings, hourly, utc
from tests.web.conftest import form_token

MAR = (utc(2024, 3, 1), utc(2024, 4, 1))
APR = (utc(2024, 4, 1), utc(2024, 5, 1))


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def posted(seeded, sessions):
    """The seeded co-op (February 2024 posted and issued) with March and April 2024 metered and posted."""
    for period, (start, end) in (("2024-03", MAR), ("2024-04", APR)):
        with sessions.begin() as s:
            add_readings(s, "PM-SUN1", hourly(start, end), name=f"sun {period}")
            add_readings(s, "PM-BAT1", hourly(start, end, mwh=500_000), name=f"bat {period}")
            allocation.post(s, period, actor="test")
    return seeded


def written(sessions) -> tuple[int, int, int]:
    """(issued months, issued statements, audit-log rows)."""
    with sessions.begin() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (IssuedMonth, IssuedStatement,
                                                                              AuditEntry))


def test_the_page_lists_months_and_offers_the_next_one(signed_in, posted):
    page = text(signed_in("admin").get("/admin/statements"))
    assert page.index('id="month-2024-04"') < page.index('id="month-2024-03"') < page.index('id="month-2024-02"')
    assert "2024-03 is posted and over: 3 statements can be issued." in page
    assert "Issue statements for 2024-03" in page and "Issue statements for 2024-04" not in page
    assert ("<strong>2024-04</strong>: 2024-04 cannot be issued: 2024-03 has entries and its statements are not "
            "issued yet; months are issued in order: issue 2024-03 first") in page
    feb = page[page.index('id="month-2024-02"'):page.index("</tr>", page.index('id="month-2024-02"'))]
    assert "by test" in feb and ">3<" in feb  # issued by the seeding, 3 statements
    assert "<caption>Months, newest first</caption>" in page
    assert 'href="/admin/statements"' in page  # in the navigation


def test_issuing_through_the_page_confirms_then_issues_and_offers_the_next_month(signed_in, posted, sessions):
    c = signed_in("admin")
    confirm = c.get("/admin/statements/2024-03/issue")
    page = text(confirm)
    assert confirm.status_code == 200 and "This issues <strong>3 statements</strong> for 2024-03" in page
    assert "Issued statements can never change afterwards." in page
    assert written(sessions)[0] == 1  # looking at the confirmation writes nothing
    token = form_token(c, "/admin/statements/2024-03/issue")
    assert 'name="statements" value="3"' in page  # the number confirmed goes with the form
    resp = c.post("/admin/statements/2024-03/issue", data={"csrf_token": token, "statements": "3"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/statements")
    with sessions.begin() as s:
        month = s.get(IssuedMonth, "2024-03")
        assert month.issued_by == "admin@coop.test" and month.statements == 3
        rows = s.scalars(select(IssuedStatement).where(IssuedStatement.period == "2024-03")
                         .order_by(IssuedStatement.number)).all()
        assert [r.number for r in rows] == ["2024-03-1001", "2024-03-1002", "2024-03-1003"]
        for r in rows:
            assert r.pdf.startswith(b"%PDF") and r.pdf_sha256 == hashlib.sha256(r.pdf).hexdigest()
            assert r.csv_sha256 == hashlib.sha256(r.csv).hexdigest()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity == "statements",
                                                   AuditEntry.entity_key == "2024-03")).all()
        assert [(a.action, a.actor, a.after["statements"]) for a in audit] == [("issue", "admin@coop.test", 3)]
    page = text(c.get("/admin/statements"))
    assert "3 statements of 2024-03 issued on " in page and "by admin@coop.test" in page
    assert "Issue statements for 2024-04" in page and "Issue statements for 2024-03" not in page
    # issuing it again (a second tab) is a conflict, explained beside the button, nothing written
    before = written(sessions)
    again = c.post("/admin/statements/2024-03/issue", data={"csrf_token": token, "statements": "3"})
    assert again.status_code == 409 and "The statements of 2024-03 were not issued: 2024-03&#39;s statements are " \
        "issued already (3 statements" in text(again)
    assert written(sessions) == before


@pytest.mark.parametrize("period, status, reason", [
    ("2024-04", 400, "2024-04 cannot be issued: 2024-03 has entries and its statements are not issued yet; months "
                     "are issued in order: issue 2024-03 first"),
    ("2024-01", 400, "2024-01 cannot be issued: 2024-01 comes before 2024-02, whose statements are issued already"),
    ("2024-02", 409, "2024-02&#39;s statements are issued already"),
])
def test_a_forced_post_for_a_month_that_cannot_be_issued_is_refused_with_the_reason(
        signed_in, posted, sessions, period, status, reason):
    c = signed_in("admin")
    token = form_token(c, "/admin/statements")
    before = written(sessions)
    resp = c.post(f"/admin/statements/{period}/issue", data={"csrf_token": token, "statements": "3"})
    page = text(resp)
    assert resp.status_code == status and f"The statements of {period} were not issued: " in page
    assert reason in page and "--" not in page.split('id="issue-refusal"')[1].split("</div>")[0]
    assert "Issue statements for 2024-03" in page  # the next month's button is still there
    assert written(sessions) == before


def test_this_month_is_refused_as_not_over_naming_the_asset(signed_in, posted, sessions):
    c = signed_in("admin")
    this_month = str(Period.of(dt.datetime.now(dt.timezone.utc).date()))
    page = text(c.get(f"/admin/statements/{this_month}/issue"))
    assert f"{this_month} cannot be issued: the month is not over yet: {this_month} ends at " in page
    assert "for SUN1" in page and 'id="confirm-button"' not in page
    before = written(sessions)
    resp = c.post(f"/admin/statements/{this_month}/issue",
                  data={"csrf_token": form_token(c, "/admin/statements"), "statements": "3"})
    assert resp.status_code == 400 and "the month is not over yet" in text(resp) and written(sessions) == before


def test_members_and_auditors_cannot_issue(signed_in, posted, sessions):
    before = written(sessions)
    auditor = signed_in("auditor")
    page = text(auditor.get("/admin/statements"))
    assert "2024-03 is posted and over" in page and "An administrator can issue it." in page
    assert 'id="issue-button"' not in page
    assert auditor.get("/admin/statements/2024-03/issue").status_code == 403
    token = form_token(auditor, "/admin/statements")  # the navigation's sign-out form carries one
    confirmed = {"csrf_token": token, "statements": "3"}
    assert auditor.post("/admin/statements/2024-03/issue", data=confirmed).status_code == 403
    member = signed_in("member_a")
    assert member.get("/admin/statements").status_code == 403
    token = form_token(member, "/account/password")
    confirmed = {"csrf_token": token, "statements": "3"}
    assert member.post("/admin/statements/2024-03/issue", data=confirmed).status_code == 403
    assert written(sessions) == before


@pytest.mark.parametrize("path", ["/admin/statements/2024-13/issue", "/admin/statements/March/issue",
                                  "/admin/statements/2024-3/issue"])
def test_a_url_that_is_not_a_month_is_404(signed_in, posted, path):
    assert signed_in("admin").get(path).status_code == 404


def test_a_count_that_changed_since_the_confirmation_is_refused_and_nothing_is_written(signed_in, posted, sessions):
    c = signed_in("admin")
    token = form_token(c, "/admin/statements/2024-03/issue")
    before = written(sessions)
    resp = c.post("/admin/statements/2024-03/issue", data={"csrf_token": token, "statements": "2"})
    assert resp.status_code == 400
    assert ("2024-03 now has 3 statements to issue, not the 2 you confirmed (something was posted meanwhile); "
            "look at the confirmation again") in text(resp)
    assert written(sessions) == before


@pytest.mark.parametrize("value", ["", "x" * 100_000, "\u0661\u0662\u0663", "-1", "3.0", "9" * 30, "1e3"])
def test_hostile_confirmed_counts_are_refused_and_nothing_is_written(signed_in, posted, sessions, value):
    c = signed_in("admin")
    token = form_token(c, "/admin/statements/2024-03/issue")
    before = written(sessions)
    resp = c.post("/admin/statements/2024-03/issue", data={"csrf_token": token, "statements": value})
    assert resp.status_code == 400 and "The statements of 2024-03 were not issued" in text(resp)
    assert written(sessions) == before
