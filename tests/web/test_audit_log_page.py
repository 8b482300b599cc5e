"""The audit log page (issue 18): filters by who, record, change and dates, and each change in words and
formatted amounts, ids shown as member numbers and codes. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

from sqlalchemy import select

from energy_coop.models import Member
from energy_coop.services import audit
from energy_coop.services.screens.audit_log import AuditFilter, audit_log_screen, label


def rows(html: str) -> list[str]:
    return re.findall(r'<tr><th scope="row">(\d+)</th>', html)


def test_labels_drop_units_and_name_references():
    assert [label(f) for f in ("cost_cents", "annual_usage_wh", "member_id", "opens_on", "rate_micros_per_kwh")] == \
        ["Cost", "Annual usage", "Member", "Opens on", "Rate"]


def test_changes_are_typed_and_ids_become_numbers(sessions, seeded):
    with sessions.begin() as s:
        member_id = s.scalar(select(Member.id).where(Member.member_number == "1002"))
        audit.record(s, actor="treasurer@coop.test", action="update", entity="payout_account", key="7",
                     before={"member_id": member_id, "limit_cents": 10_000, "active": True, "note": "old"},
                     after={"member_id": member_id, "limit_cents": 25_050, "active": False, "note": "old"})
    with sessions.begin() as s:
        page = audit_log_screen(s, filter=AuditFilter(actor="treasurer@coop.test"))
    [entry] = page.items
    assert [(c["label"], c["kind"], c["before"], c["after"]) for c in entry["changes"]] == [
        ("Limit", "money", 10_000, 25_050), ("Active", "yes_no", True, False)]  # unchanged fields left out
    with sessions.begin() as s:
        audit.record(s, actor="treasurer@coop.test", action="create", entity="payout_account", key="8",
                     after={"member_id": member_id, "limit_cents": 500})
    with sessions.begin() as s:
        newest = audit_log_screen(s, filter=AuditFilter(actor="treasurer@coop.test")).items[0]
    assert [(c["label"], c["after"], c["created"]) for c in newest["changes"]] == [("Member", "1002", True),
                                                                                   ("Limit", 500, True)]


def test_the_page_filters_and_formats(signed_in, seeded, sessions):
    admin = signed_in("admin")
    everything = admin.get("/admin/audit-log").get_data(as_text=True)
    assert "cost_cents" not in everything and "budget_cents" not in everything
    measures = html_lib.unescape(admin.get("/admin/audit-log?entity=measure").get_data(as_text=True))
    assert rows(measures) and len(rows(measures)) < len(rows(everything))
    assert "Cost" in measures and "$8,000.00" in measures  # the seeded measure's 800,000 cents
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert rows(admin.get(f"/admin/audit-log?since={tomorrow}").get_data(as_text=True)) == []
    today = dt.date.today().isoformat()
    assert rows(admin.get(f"/admin/audit-log?since={today}&until={today}").get_data(as_text=True)) == rows(everything)
    bad = admin.get("/admin/audit-log?since=31/03/2026&until=2026-01-01")
    text = html_lib.unescape(bad.get_data(as_text=True))
    assert bad.status_code == 400 and "From: '31/03/2026' is not a date; write it as YYYY-MM-DD" in text
    assert rows(text) == []
    who = admin.get("/admin/audit-log?actor=nobody%40example.org").get_data(as_text=True)
    assert rows(who) == [] and "Nothing recorded that matches the filter" in who
