"""An issued statement on screen (issue 15): the same lines as its PDF, only for issued months, only one's own."""

from __future__ import annotations

import re

from sqlalchemy import select

from energy_coop.models import IssuedStatement, Member
from energy_coop.services.credits import allocation
from energy_coop.services.credits.statements import Statement
from tests.helpers import add_readings, hourly, utc


def plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").replace("\xa0", " ").split())


def test_a_member_reads_an_issued_statement_line_by_line(signed_in, seeded, sessions):
    client = signed_in("member_a")
    listing = client.get("/members/1001/statements").get_data(as_text=True)
    assert 'href="/members/1001/statements/2024-02"' in listing and "February 2024" in listing
    resp = client.get("/members/1001/statements/2024-02")
    assert resp.status_code == 200
    text = plain(resp.get_data(as_text=True))
    with sessions.begin() as s:
        doc = s.scalar(select(IssuedStatement.document).join(Member, IssuedStatement.member_id == Member.id)
                       .where(Member.member_number == "1001", IssuedStatement.period == "2024-02"))
    st = Statement.from_dict(doc)
    assert "Credit statement for February 2024" in text and f"Statement no. {st.number}" in text
    assert "Opening balance 0.000 kWh $0.00" in text
    for c in st.credits:
        assert c.asset_code in text
    closing = f"Closing balance {st.closing_wh / 1000:,.3f} kWh ${st.closing_cents / 100:,.2f}"
    assert closing in text, text[:3000]
    assert 'href="/members/1001/statements/2024-02.pdf"' in resp.get_data(as_text=True)


def test_a_month_not_issued_has_no_statement_page_and_another_members_is_closed(signed_in, seeded):
    client = signed_in("member_a")
    resp = client.get("/members/1001/statements/2024-03")
    assert resp.status_code == 404
    assert "not issued yet" in plain(resp.get_data(as_text=True))
    assert client.get("/members/1001/statements/2024-13").status_code == 404
    assert client.get("/members/1002/statements/2024-02").status_code in (403, 404)
    auditor = signed_in("auditor")
    assert auditor.get("/members/1002/statements/2024-02").status_code == 200


def test_a_late_posting_shows_on_the_dashboard_and_its_rows_add_up_to_the_balance(signed_in, seeded, sessions):
    """January 2024 posted after February was issued: booked in March, listed as "Credits for January 2024"."""
    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", hourly(utc(2024, 1, 1), utc(2024, 2, 1)), name="january, late")
    with sessions.begin() as s:
        allocation.post(s, "2024-01", actor="test", allow_gaps=True)
    html = signed_in("member_a").get("/members/1001").get_data(as_text=True)
    table = html[html.index('id="month-entries"'):html.index("</table>", html.index('id="month-entries"'))]
    text = plain(table)
    assert "Every entry of March 2024" in text and "Credits for January 2024: School roof (SUN1)" in text
    rows = [int(c) for c in re.findall(r'<td class="num"[^>]*data-cents="(-?\d+)"', table)]
    opening, *entries, closing = rows
    assert entries and opening + sum(entries) == closing
    assert "The closing balance is your credit balance shown above." in html
