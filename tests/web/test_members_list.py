"""The members list (issue 18): search, filters, sorting, shares and balance columns, a CSV of what the filter
shows, and pages that keep the filter. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select

from energy_coop.models import LedgerEntry, Member


def numbers(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/members/(\d+)">', html)


def balances(sessions) -> dict[str, int]:
    with sessions.begin() as s:
        return {n: int(c) for n, c in s.execute(select(Member.member_number, func.coalesce(func.sum(LedgerEntry.cents), 0))
                              .outerjoin(LedgerEntry, LedgerEntry.member_id == Member.id)
                              .group_by(Member.member_number)).all()}


def test_filters_and_sorting_choose_the_rows(signed_in, seeded):
    admin = signed_in("admin")
    assert numbers(admin.get("/admin/members").get_data(as_text=True)) == ["1001", "1002", "1003"]
    assert numbers(admin.get("/admin/members?asset=BAT1").get_data(as_text=True)) == ["1003"]
    assert numbers(admin.get("/admin/members?type=worker_coop").get_data(as_text=True)) == ["1002"]
    by_shares = admin.get("/admin/members?sort=shares&order=desc").get_data(as_text=True)
    assert numbers(by_shares) == ["1003", "1001", "1002"]  # 1 + 4, 3, 2 - 1 shares held today
    assert numbers(admin.get("/admin/members?q=bees").get_data(as_text=True)) == ["1002"]
    page = admin.get("/admin/members?type=household").get_data(as_text=True)
    assert "Household" in page and "household</td>" not in page  # words, not codes


def test_the_balance_column_is_the_ledger_and_filters_by_amount(signed_in, seeded, sessions):
    held = balances(sessions)
    html = signed_in("auditor").get("/admin/members?sort=balance&order=desc").get_data(as_text=True)
    assert numbers(html) == sorted(held, key=lambda n: (-held[n], n))
    assert held["1001"] > 0
    admin = signed_in("admin")
    rows = list(csv.reader(io.StringIO(admin.get("/admin/members-list.csv").get_data(as_text=True))))
    assert rows[0] == ["member_number", "name", "member_type", "email", "joined_on", "low_income", "shares",
                       "balance_cents"]
    assert {r[0]: (int(r[6]), int(r[7])) for r in rows[1:]} == {
        "1001": (3, held["1001"]), "1002": (1, held["1002"]), "1003": (5, held["1003"])}
    threshold = held["1001"] - 1  # the amount in currency units, as a person types it
    above = f"{threshold // 100}.{threshold % 100:02d}"
    expected = sorted(n for n, c in held.items() if c > threshold)
    assert numbers(admin.get(f"/admin/members?balance_above={above}").get_data(as_text=True)) == expected
    filtered = list(csv.reader(io.StringIO(admin.get(f"/admin/members-list.csv?balance_above={above}")
                                           .get_data(as_text=True))))
    assert [r[0] for r in filtered[1:]] == expected


def test_a_filter_that_cannot_apply_says_why_and_shows_nothing(signed_in, seeded):
    admin = signed_in("admin")
    bad = admin.get("/admin/members?balance_above=lots&asset=NOPE&sort=mood")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "balance above: amount &#39;lots&#39; is not a number" in html
    assert numbers(html) == []
    asset = admin.get("/admin/members?asset=NOPE").get_data(as_text=True)
    assert "asset: no asset with code &#39;NOPE&#39;" in asset
    assert admin.get("/admin/members-list.csv?sort=mood").status_code == 400


def test_pages_keep_the_filter(signed_in, seeded, sessions, tmp_path):
    from energy_coop.services.registers.loading import load_register

    lines = ["member_number,name,member_type"] + [f"{2000 + i},Neighbour {i},household" for i in range(60)]
    path = tmp_path / "more.csv"
    path.write_text("\n".join(lines) + "\n")
    with sessions.begin() as s:
        load_register(s, "members", path, actor="test")
    first = signed_in("admin").get("/admin/members?type=household").get_data(as_text=True)
    assert "Page 1 of 2 (61 in all)" in first
    assert 'href="/admin/members?page=2&amp;type=household"' in first
