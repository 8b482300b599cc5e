"""The three journeys of SPEC section 1 in a real browser: a member, an admin and an auditor."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.test_admin_flows import month_csv

NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_member_signs_in_and_sees_balance_and_charts(live_coop, page, browser, artifacts):
    problems = []  # CSP violations and failed loads show up as console errors
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    live_coop.login(page, "member_a")
    expect(page).to_have_url(re.compile(r"/members/1001$"))
    expect(page.locator("#balance")).to_have_text("$20.88")
    expect(page.get_by_role("heading", name="Credits by month")).to_be_visible()
    chart = page.locator("figure.chart svg").first
    expect(chart).to_be_visible()
    assert page.locator("#credits-chart-title").text_content() == "Credits by month"
    assert page.locator("figure.chart rect.bar").count() >= 2  # a credit bar and production bars
    expect(page.get_by_text("No forecast yet for this asset.").first).to_be_visible()
    page.screenshot(path=str(artifacts / "member-dashboard.png"), full_page=True)
    assert not problems, problems

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, has_touch=True)
    try:
        small = phone.new_page()
        live_coop.login(small, "member_a")
        expect(small.locator("#balance")).to_have_text("$20.88")
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the member dashboard scrolls sideways on a phone"
        small.screenshot(path=str(artifacts / "member-dashboard-phone.png"), full_page=True)
        small.set_viewport_size({"width": 375, "height": 812})
        small.reload()
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the member dashboard scrolls sideways at 375 px"
    finally:
        phone.close()


def test_a_member_cannot_open_another_members_page(live_coop, page):
    live_coop.login(page, "member_b")
    response = page.goto(live_coop.url + "/members/1001")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


@pytest.mark.skipif(importlib.util.find_spec("energy_coop.services.metering.imports") is None,
                    reason="the import service (energy_coop.services.metering.imports) has not landed in this branch yet")
def test_admin_uploads_a_meter_file_previews_and_posts_a_month(live_coop, page, artifacts, tmp_path):
    meter_file = tmp_path / "march-2024.csv"
    meter_file.write_bytes(month_csv(["PM-SUN1", "PM-BAT1"], 2024, 3))
    live_coop.login(page, "admin")
    expect(page.get_by_role("heading", name="Co-op overview")).to_be_visible()
    page.get_by_role("link", name="Meter files").click()
    page.get_by_label("Meter file (CSV or Green Button XML)").set_input_files(str(meter_file))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-report")).to_contain_text("Status: imported")
    expect(page.locator("#report-accepted")).to_have_text("1488")

    page.get_by_role("link", name="Allocation").click()
    page.get_by_label("Month (YYYY-MM)").fill("2024-03")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#posted-status")).to_have_text("Not posted yet.")
    expect(page.locator("#draft-assets")).to_contain_text("SUN1")
    page.screenshot(path=str(artifacts / "admin-allocation-draft.png"), full_page=True)
    page.get_by_role("button", name="Post 2024-03").click()
    # a confirmation step shows the draft's totals; only its own button posts
    expect(page.get_by_role("heading", name="Post 2024-03?")).to_be_visible()
    expect(page.locator("#confirm-totals")).to_contain_text("1,488.000 kWh")
    page.screenshot(path=str(artifacts / "admin-allocation-confirm.png"), full_page=True)
    page.get_by_role("button", name="Confirm: post 2024-03").click()
    expect(page.get_by_text("2024-03 is posted")).to_be_visible()
    expect(page.locator("#posted-h")).to_have_text("Posted")
    expect(page.locator("#posted-status")).to_contain_text("Posted: run")
    page.screenshot(path=str(artifacts / "admin-allocation.png"), full_page=True)


def test_auditor_verifies_the_ledger_and_downloads_a_statement(live_coop, page, artifacts):
    live_coop.login(page, "auditor")
    expect(page.locator("#verify")).to_contain_text("The hash chain verifies.")
    page.get_by_role("link", name="Browse the ledger").click()
    expect(page.locator("#chain-status")).to_contain_text("Chain verified")
    page.screenshot(path=str(artifacts / "auditor-ledger.png"), full_page=True)

    page.goto(live_coop.url + "/members/1001/statements")
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV statement for 2024-02").click()
    download = info.value
    assert download.suggested_filename == "statement_2024-02_1001.csv"
    body = Path(download.path()).read_text(encoding="utf-8")
    assert "closing_balance" in body and "208.800" in body
    with page.expect_download() as info:
        page.get_by_role("link", name="PDF statement for 2024-02").click()
    assert Path(info.value.path()).read_bytes()[:4] == b"%PDF"


def test_admin_records_a_payout_and_the_pages_fit_a_phone(live_coop, browser, artifacts):
    """The payouts page and the account page (sessions) work in a phone-sized browser, with no console error
    (a CSP violation would be one) and no sideways scrolling."""
    phone = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True,
                                has_touch=True)
    try:
        small = phone.new_page()
        problems = []
        small.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        live_coop.login(small, "admin")
        small.goto(live_coop.url + "/members/1001")
        small.get_by_role("link", name="Record a payout or adjustment").click()
        expect(small.get_by_label("Member number")).to_have_value("1001")
        small.get_by_label("Amount").fill("-5.00")
        small.get_by_label("Memo").fill("cheque 17")
        small.get_by_role("button", name="Record the entry").click()
        expect(small.get_by_text("payout of -$5.00 for member 1001")).to_be_visible()
        expect(small.get_by_role("cell", name="cheque 17")).to_be_visible()
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the payouts page scrolls sideways on a phone"
        small.screenshot(path=str(artifacts / "admin-payouts-phone.png"), full_page=True)
        small.goto(live_coop.url + "/account/password")
        expect(small.get_by_text("(this browser)")).to_be_visible()
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the account page scrolls sideways on a phone"
        assert not problems, problems
    finally:
        phone.close()


def test_a_member_opens_this_months_statement_on_a_phone_and_sees_every_entry(live_coop, browser, artifacts):
    """March 2024 holds a late entry for February and a long memo; the member reads it all at 375 px."""
    from energy_coop.documents.statements import issue_month
    from energy_coop.services.credits import allocation, ledger

    memo = ("Applied to the March invoice of the community kitchen, as agreed at the assembly of 3 April; "
            "credit union cheque 17, reference CU-2024-000417-B")
    with live_coop.sessions.begin() as s:
        ledger.record_manual_entry(s, kind="bill_application", member_number="1001", cents=-500, memo=memo,
                                   actor="test", period="2024-03", today=dt.date(2024, 4, 2))
        ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=125,
                                   memo="Meter fault in February: estimated credit", actor="test",
                                   period="2024-02", today=dt.date(2024, 4, 2))
        allocation.post(s, "2024-03", actor="test", allow_gaps=True)
        issue_month(s, "2024-03", actor="test")
    phone = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2,
                                is_mobile=True, has_touch=True)
    try:
        small = phone.new_page()
        live_coop.login(small, "member_a")
        small.get_by_role("link", name="Your latest statement: March 2024").click()
        expect(small.get_by_role("heading", name="Credit statement for March 2024")).to_be_visible()
        lines = small.locator("table.statement-lines tbody th")
        texts = [" ".join(t.split()) for t in lines.all_inner_texts()]
        assert texts[0] == "Opening balance" and "Closing balance" in texts
        assert any(memo in t for t in texts), texts  # the memo whole, never cut
        assert any(t.startswith("Adjustment") and "(for February 2024)" in t for t in texts), texts
        for row in small.locator("table.statement-lines tbody tr:not(.sentence)").all():
            assert row.is_visible()
        amounts = small.locator("table.statement-lines tbody td.num").all_inner_texts()
        assert "-$5.00" in amounts and "$1.25" in amounts
        assert small.evaluate(NO_HORIZONTAL_SCROLL), "the statement scrolls sideways on a phone"
        small.screenshot(path=str(artifacts / "member-statement-phone.png"), full_page=True)
        with small.expect_download() as download:
            small.get_by_role("link", name="Download the PDF").click()
        assert download.value.suggested_filename == "statement_2024-03_1001.pdf"
    finally:
        phone.close()
