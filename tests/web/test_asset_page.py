"""An asset's page (issue 18): shares sold and unsold today, its holders, production against the expectation
and the performance ratio by month. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

from energy_coop.services.screens.admin import asset_screen


def test_shares_and_holders_are_today_s(signed_in, seeded):
    page = signed_in("auditor").get("/admin/assets/SUN1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "5 of 10 shares are held by members; 5 are unsold." in html  # 3 + (2 - 1) + 1
    holders = re.findall(r'<a href="/members/(\d+)">\d+</a></th><td>[^<]*</td><td class="num">(\d+)</td>', html)
    assert holders == [("1001", "3"), ("1002", "1"), ("1003", "1")]
    battery = signed_in("admin").get("/admin/assets/BAT1").get_data(as_text=True)
    assert "4 of 4 shares are held by members; 0 are unsold." in battery and "Production against" not in battery
    assert signed_in("admin").get("/admin/assets/NOPE").status_code == 404
    assert signed_in("member_a").get("/admin/assets/SUN1").status_code == 403


def test_production_by_month_is_the_metered_energy_against_the_expectation(sessions, seeded):
    with sessions.begin() as s:
        data = asset_screen(s, "SUN1", today=dt.date(2024, 3, 15), months=3)
    feb, jan, dec = data["production"]
    assert [r["period"] for r in (feb, jan, dec)] == ["2024-02", "2024-01", "2023-12"]
    assert feb["metered_wh"] == 29 * 24 * 1000  # the seeded hourly 1 kWh readings
    assert feb["expected_wh"] > 0 and feb["performance_ratio"] is not None
    assert jan["metered_wh"] == 0 and jan["performance_ratio"] is None
