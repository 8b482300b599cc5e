"""The member dashboard shows a battery as energy charged and discharged (bars, a table, one sentence), never
as negative production, and lists the month's ledger entries so that the balance on screen reconciles."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from markupsafe import escape

from energy_coop.services.accounts.users import add_user
from energy_coop.services.credits import ledger
from tests.battery import seed_battery_coop
from tests.web.conftest import PASSWORD, USERS, login

MEMO = ("goodwill credit after the inverter fault of 12 February, agreed at the members' meeting; "
        "see minutes item 7 for the reasoning and the vote")


@pytest.fixture
def battery_client(sessions, make_app, tmp_path):
    seed_battery_coop(sessions, tmp_path / "registers")
    with sessions.begin() as s:
        for key in ("member_a", "member_b"):
            email, role, number = USERS[key]
            add_user(s, email, role, PASSWORD, member_number=number, actor="test")
        ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=250, period="2024-02",
                                   memo=MEMO, actor="test", today=dt.date(2024, 3, 7))
    client = make_app().test_client()
    assert login(client, "member_a").status_code == 302
    return client


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start:html.index("</section>", start)]


def cents_of(fragment: str) -> list[int]:
    return [int(v) for v in re.findall(r'data-cents="(-?\d+)"', fragment)]


def test_battery_is_charged_and_discharged_and_the_month_reconciles(battery_client):
    html = battery_client.get("/members/1001").get_data(as_text=True)
    month = section(html, "month-h")
    # 1001's quarter of the battery: 36.250 kWh in, 32.625 kWh out (net -3.625 kWh in the ledger), 7.61 earned
    assert "Credits: Depot battery" in month
    assert "charged 36.250 kWh, discharged 32.625 kWh" in month
    battery = section(html, "battery-BAT1-h")
    text = re.sub(r"<[^>]+>", "", battery)
    assert ("In February 2024 your share of the Depot battery charged 36.2 kWh when energy was cheaper and "
            "discharged 32.6 kWh when it was dearer; moving that energy earned you $7.61.") in " ".join(text.split())
    assert 'class="bar first"' in battery and 'class="bar second"' in battery  # two bars a month
    assert "February 2024: charged 36.2 kWh" in battery and "February 2024: discharged 32.6 kWh" in battery
    assert "<td class=\"num\">36.250</td><td class=\"num\">32.625</td><td class=\"num\">$7.61</td>" in battery
    # never negative production: no negative kWh anywhere, no daily net chart of the battery
    assert "-3.625" not in html and "−3.625" not in html and "bar negative" not in html
    assert 'id="prod-BAT1-h"' not in html and 'id="prod-SUN1-h"' in html
    # every entry of the month with its memo in full; opening + entries = closing = the balance shown
    assert str(escape(MEMO)) in month
    opening, *entries, closing = cents_of(month)
    [balance] = cents_of(html[html.index('id="balance"') - 40:html.index('id="balance"')])
    assert opening == 0 and len(entries) == 3  # BAT1, SUN1, the adjustment
    assert 250 in entries and 761 in entries
    assert opening + sum(entries) == closing == balance
    assert "The closing balance is your credit balance shown above." in month


def test_a_member_without_a_battery_sees_no_battery_section(sessions, battery_client):
    client = battery_client
    client.get("/logout")
    assert login(client, "member_b").status_code == 302
    html = client.get("/members/1002").get_data(as_text=True)
    # 1002 holds battery shares from 15 February: their own share, also never negative
    assert 'id="battery-BAT1-h"' in html
    assert "bar negative" not in html
    month = section(html, "month-h")
    opening, *entries, closing = cents_of(month)
    assert opening + sum(entries) == closing
