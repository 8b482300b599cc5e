"""An administrator issues a month's statements from a phone (SPEC 13): the Statements page, its button, the
confirmation step, the result; no sideways scrolling and no console error (a CSP violation would be one)."""

from __future__ import annotations

from playwright.sync_api import expect

from energy_coop.services.credits import allocation
from tests.helpers import add_readings, hourly, utc

NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
MAR = (utc(2024, 3, 1), utc(2024, 4, 1))


def test_admin_issues_the_next_month_on_a_phone(live_coop, browser, artifacts):
    with live_coop.sessions.begin() as s:
        add_readings(s, "PM-SUN1", hourly(*MAR), name="sun march")
        add_readings(s, "PM-BAT1", hourly(*MAR, mwh=500_000), name="bat march")
        allocation.post(s, "2024-03", actor="test")
    phone = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True,
                                has_touch=True)
    try:
        small = phone.new_page()
        problems = []
        small.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        live_coop.login(small, "admin")
        small.get_by_role("link", name="Statements", exact=True).click()
        expect(small.get_by_role("heading", name="Statements", exact=True)).to_be_visible()
        expect(small.get_by_role("table", name="Months, newest first")).to_be_visible()
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the statements page scrolls sideways on a phone"
        small.screenshot(path=str(artifacts / "admin-statements-phone.png"), full_page=True)
        small.get_by_role("button", name="Issue statements for 2024-03").click()
        expect(small.get_by_text("Issued statements can never change afterwards.")).to_be_visible()
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the confirmation scrolls sideways on a phone"
        small.get_by_role("button", name="Issue 3 statements for 2024-03").click()
        expect(small.get_by_text("3 statements of 2024-03 issued on")).to_be_visible()
        expect(small.get_by_text("No month can be issued now.")).to_be_visible()
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the statements page scrolls sideways after issuing"
        assert not problems, problems
    finally:
        phone.close()
