"""Which months can be issued, and why not (``issued.issue_status``, SPEC 13): the rules of ``prepare_issue``,
read for the page without writing anything."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from energy_coop.documents.statements import issue_month
from energy_coop.errors import RefusedError
from energy_coop.models import AuditEntry, LedgerHead
from energy_coop.services.credits import allocation, issued
from tests.helpers import three_metered_months

NOW = dt.datetime(2024, 5, 3, 4, 40, tzinfo=dt.timezone.utc)


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op with February to April 2024 metered; February to April posted, nothing issued."""
    three_metered_months(sessions, tmp_path / "registers")
    for period in ("2024-02", "2024-03", "2024-04"):
        with sessions.begin() as s:
            allocation.post(s, period, actor="test", today=NOW.date())
    return sessions


def status(sessions, now=NOW) -> dict[str, dict]:
    with sessions.begin() as s:
        return {row["period"]: row for row in issued.issue_status(s, now=now)}


def test_only_the_earliest_month_is_offered_and_the_others_say_why(coop):
    rows = status(coop)
    assert list(rows) == ["2024-04", "2024-03", "2024-02"]  # newest first
    feb, mar = rows["2024-02"], rows["2024-03"]
    assert feb["can_issue"] and feb["reason"] is None and feb["statements_to_issue"] == 3
    assert feb["run"]["posted_by"] == "test" and feb["issued"] is None
    assert not mar["can_issue"] and mar["statements_to_issue"] is None
    assert mar["reason"] == ("2024-03 cannot be issued: 2024-02 has entries and its statements are not issued "
                             "yet; months are issued in order: issue 2024-02 first")


def test_after_issuing_the_next_month_is_offered(coop):
    with coop.begin() as s:
        issue_month(s, "2024-02", actor="admin@coop.test", now=NOW)
    rows = status(coop)
    feb = rows["2024-02"]
    assert feb["issued"]["statements"] == 3 and feb["issued"]["issued_by"] == "admin@coop.test"
    assert feb["issued"]["issued_at"] == NOW and not feb["can_issue"] and feb["reason"] is None
    assert rows["2024-03"]["can_issue"] and rows["2024-03"]["statements_to_issue"] == 3
    assert not rows["2024-04"]["can_issue"] and "issue 2024-03 first" in rows["2024-04"]["reason"]


def test_a_month_not_over_names_the_asset_and_when_it_ends(coop):
    rows = status(coop, now=dt.datetime(2024, 2, 29, 23, 0, tzinfo=dt.timezone.utc))
    assert not rows["2024-02"]["can_issue"]  # both assets keep UTC: February ends at midnight UTC
    assert rows["2024-02"]["reason"] == ("2024-02 cannot be issued: the month is not over yet: 2024-02 ends at "
                                         "2024-03-01 00:00 UTC for SUN1")


def test_a_stale_month_says_to_repost_it_and_a_month_never_posted_says_so(coop, sessions):
    with coop.begin() as s:
        allocation.current_run(s, "2024-02").stale_since = NOW
        allocation.current_run(s, "2024-02").stale_reason = "PM-SUN1 revised"
    row = status(coop)["2024-02"]
    assert not row["can_issue"] and row["reason"] == ("2024-02 cannot be issued: meter readings changed after it "
                                                      "was posted (PM-SUN1 revised); repost the month first")
    with coop.begin() as s:
        never = issued.month_issue_status(s, "2024-01", now=NOW)
    assert never["run"] is None and not never["can_issue"]
    assert never["reason"] == "2024-01 cannot be issued: it has not been posted; post the month's credits first"


def test_reading_the_status_writes_nothing(coop):
    with coop.begin() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
        seq = s.get(LedgerHead, 1).last_seq
    status(coop)
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
        assert s.get(LedgerHead, 1).last_seq == seq
        with pytest.raises(RefusedError):
            issued.month_issue_status(s, "2024-13", now=NOW)
