"""Issued statement months in the API (SPEC 13): GET /statement-months for every role, POST
/statement-months/{period}/issue for admins: 201 with the result, 409 issued already, 422 with the reason, 403
for other roles, 404 for a path that is not a month; every refusal writes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from energy_coop.models import AuditEntry, IssuedMonth, IssuedStatement
from energy_coop.period import Period
from energy_coop.services.credits import allocation
from tests.api.conftest import TODAY
from tests.helpers import add_readings, hourly, utc

MAR = (utc(2024, 3, 1), utc(2024, 4, 1))
APR = (utc(2024, 4, 1), utc(2024, 5, 1))


def answer(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def written(sessions) -> tuple[int, int, int]:
    """(issued months, issued statements, audit-log rows)."""
    with sessions.begin() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (IssuedMonth, IssuedStatement,
                                                                              AuditEntry))


@pytest.fixture
def posted(tokens, sessions):
    """The API's seeded co-op (February 2024 posted and issued) with March and April 2024 posted too."""
    for period, (start, end) in (("2024-03", MAR), ("2024-04", APR)):
        with sessions.begin() as s:
            add_readings(s, "PM-SUN1", hourly(start, end), name=f"sun {period}")
            add_readings(s, "PM-BAT1", hourly(start, end, 500_000), name=f"bat {period}")
            allocation.post(s, period, actor="test", today=TODAY.replace(month=6))
    return tokens


@pytest.mark.parametrize("role, issued_by", [("admin", "test"), ("auditor", "test"), ("member", None)])
def test_every_role_lists_the_issued_months(as_role, tokens, role, issued_by):
    months = answer(as_role(role).get("/statement-months"), 200)["months"]
    assert len(months) == 1
    feb = months[0]
    assert (feb["period"], feb["statements"], feb["issued_by"]) == ("2024-02", 3, issued_by)
    assert dt.datetime.fromisoformat(feb["issued_at"]).tzinfo is not None
    assert isinstance(feb["allocation_run_id"], int) and isinstance(feb["ledger_seq"], int)


def test_an_admin_issues_the_next_month_201(as_role, posted, sessions):
    api = as_role("admin")
    doc = answer(api.post("/statement-months/2024-03/issue"), 201)
    assert (doc["period"], doc["statements"], doc["issued_by"]) == ("2024-03", 3, "admin@example.org")
    assert set(doc) == {"period", "issued_at", "issued_by", "statements", "allocation_run_id"}
    with sessions.begin() as s:
        assert s.get(IssuedMonth, "2024-03").allocation_run_id == doc["allocation_run_id"]
        rows = s.scalars(select(IssuedStatement).where(IssuedStatement.period == "2024-03")).all()
        assert len(rows) == 3 and all(r.pdf_sha256 == hashlib.sha256(r.pdf).hexdigest() for r in rows)
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity == "statements",
                                                   AuditEntry.entity_key == "2024-03")).all()
        assert [(a.action, a.actor) for a in audit] == [("issue", "admin@example.org")]
    months = answer(api.get("/statement-months"), 200)["months"]
    assert [(m["period"], m["statements"]) for m in months] == [("2024-03", 3), ("2024-02", 3)]
    # the member's statement of the month is there now, exactly the stored bytes
    pdf = as_role("member").get("/members/1001/statements/2024-03.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_month_issued_already_is_409_and_changes_nothing(as_role, posted, sessions):
    before = written(sessions)
    body = answer(as_role("admin").post("/statement-months/2024-02/issue"), 409)
    assert body["error"] == "conflict" and body["message"].startswith("2024-02's statements are issued already "
                                                                      "(3 statements")
    assert written(sessions) == before


@pytest.mark.parametrize("period, message", [
    ("2024-04", "2024-04 cannot be issued: 2024-03 has entries and its statements are not issued yet; months are "
                "issued in order: issue 2024-03 first"),
    ("2024-01", "2024-01 cannot be issued: 2024-01 comes before 2024-02, whose statements are issued already; "
                "months are issued in order, and entries for 2024-01 now appear on the statement of the next "
                "month to be issued"),
])
def test_out_of_order_is_422_with_the_reason(as_role, posted, sessions, period, message):
    before = written(sessions)
    body = answer(as_role("admin").post(f"/statement-months/{period}/issue"), 422)
    assert (body["error"], body["message"]) == ("invalid_input", message)
    assert written(sessions) == before


def test_not_posted_stale_and_not_over_are_422_with_the_reason(as_role, posted, sessions):
    api = as_role("admin")
    assert answer(api.post("/statement-months/2024-03/issue"), 201)["statements"] == 3
    assert answer(api.post("/statement-months/2024-04/issue"), 201)["statements"] == 3
    before = written(sessions)
    body = answer(api.post("/statement-months/2024-05/issue"), 422)
    assert body["message"] == "2024-05 cannot be issued: it has not been posted; post the month's credits first"
    this_month = str(Period.of(dt.datetime.now(dt.timezone.utc).date()))
    body = answer(api.post(f"/statement-months/{this_month}/issue"), 422)
    assert body["message"] == f"{this_month} cannot be issued: the month is not over yet"
    assert body["details"][0]["where"] == "asset SUN1"
    assert body["details"][0]["reason"].startswith(f"{this_month} ends at ")
    assert written(sessions) == before


def test_a_stale_month_is_422_saying_to_repost(as_role, posted, sessions):
    with sessions.begin() as s:
        run = allocation.current_run(s, "2024-03")
        run.stale_since = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
        run.stale_reason = "PM-SUN1 revised"
    before = written(sessions)
    body = answer(as_role("admin").post("/statement-months/2024-03/issue"), 422)
    assert body["message"] == ("2024-03 cannot be issued: meter readings changed after it was posted "
                               "(PM-SUN1 revised); repost the month first")
    assert written(sessions) == before


@pytest.mark.parametrize("role", ["auditor", "member", "member_b"])
def test_other_roles_cannot_issue_403(as_role, posted, sessions, role):
    before = written(sessions)
    body = answer(as_role(role).post("/statement-months/2024-03/issue"), 403)
    assert body["error"] == "forbidden"
    assert written(sessions) == before
    assert answer(as_role(None).post("/statement-months/2024-03/issue"), 401)["error"] == "unauthorized"


@pytest.mark.parametrize("period", ["2024-13", "March", "2024-3", "1800-01"])
def test_a_path_that_is_not_a_month_is_404(as_role, posted, sessions, period):
    before = written(sessions)
    body = answer(as_role("admin").post(f"/statement-months/{period}/issue"), 404)
    assert body["error"] == "not_found" and body["message"].startswith(f"there is no statement month '{period}'")
    assert written(sessions) == before


def test_the_document_describes_both_operations(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    issue = doc["paths"]["/api/v1/statement-months/{period}/issue"]["post"]
    assert set(issue["responses"]) >= {"201", "401", "403", "404", "409", "422"}
    listing = doc["paths"]["/api/v1/statement-months"]["get"]
    assert "200" in listing["responses"] and "StatementMonthList" in str(listing["responses"]["200"])
