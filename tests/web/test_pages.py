"""Every page renders for the roles that may see it, with the seeded co-op's real numbers."""

from __future__ import annotations

import re

from energy_coop.services.credits import allocation
from tests.helpers import add_readings, hourly, utc
from tests.web.conftest import form_token

MAR = (utc(2024, 3, 1), utc(2024, 4, 1))


def text(resp) -> str:
    return resp.get_data(as_text=True)


def post_march(sessions) -> None:
    """A second posted month, so that a member's balance and their latest month's credits differ."""
    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", hourly(*MAR), name="sun-mar")
        add_readings(s, "PM-BAT1", hourly(*MAR, mwh=500_000), name="bat-mar")
    with sessions.begin() as s:
        allocation.post(s, "2024-03", actor="test")


def test_member_dashboard_shows_balance_chart_holdings_and_no_forecast_yet(signed_in, seeded, sessions):
    post_march(sessions)
    c = signed_in("member_a")
    resp = c.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/members/1001")
    page = text(c.get("/members/1001"))
    # 1001 holds 3/10 of SUN1, valued at 0.10/kWh: Feb 2024, 696 kWh -> 208.800 kWh, 20.88;
    # Mar 2024, 744 kWh -> 223.200 kWh, 22.32. The balance is both months, the latest credit March alone.
    # Written by the default settings: en_US, USD.
    assert 'id="balance">$43.20<' in page and "432.000 kWh credited in all" in page
    assert 'id="latest-credit">$22.32<' in page and "for March 2024: 223.200 kWh" in page
    assert re.search(r"March 2024</th><td class=\"num\">223.200</td><td class=\"num\">\$22.32<", page)
    assert re.search(r"February 2024</th><td class=\"num\">208.800</td><td class=\"num\">\$20.88<", page)
    assert "<svg" in page and "<title id=\"credits-chart-title\">Credits by month</title>" in page
    assert "School roof" in page and "No forecast yet" in page
    # the efficiency records seeded for member A: the audit and the installed heat pump
    assert "No audits yet." not in page
    assert "Rae Auditor" in page and "Cold-climate heat pump" in page and "<td>Installed</td>" in page
    assert "<table" in page and "<th scope=\"col\">Month</th>" in page


def test_member_statements_list_and_downloads(signed_in, seeded):
    c = signed_in("member_a")
    page = text(c.get("/members/1001/statements"))
    assert "2024-02" in page
    pdf = c.get("/members/1001/statements/2024-02.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="statement_2024-02_1001.pdf"'
    csv_resp = c.get("/members/1001/statements/2024-02.csv")
    assert csv_resp.status_code == 200 and "closing_balance" in text(csv_resp)
    assert "208.800" in text(csv_resp) and "20.88" in text(csv_resp)


def test_bad_statement_urls_are_404_not_500(signed_in, seeded):
    c = signed_in("member_a")
    for url in ("/members/1001/statements/2024-13.pdf", "/members/1001/statements/2024-02.exe",
                "/members/1001/statements/garbage.csv", "/members/9999", "/members/1001/x/y"):
        assert c.get(url).status_code == 404, url


def test_month_13_is_refused_in_every_url_before_any_statement_is_read(signed_in, seeded, monkeypatch):
    from energy_coop.services.screens import member as member_screens

    def must_not_run(*args, **kwargs):
        raise AssertionError("a statement was read for a month that does not exist")

    monkeypatch.setattr(member_screens, "member_statement_file", must_not_run)
    c = signed_in("member_a")
    for url in ("/members/1001/statements/2024-13.pdf", "/members/1001/statements/2024-13.csv",
                "/members/1001/statements/2024-00.csv", "/members/1001/statements/%EF%BC%92024-02.csv"):
        assert c.get(url).status_code == 404, url
    staff = signed_in("auditor")
    for url in ("/audit/exports/audit-2024-13.zip", "/audit/exports/statements-2024-13-csv.zip"):
        assert staff.get(url).status_code == 404, url
    for url in ("/admin/allocation?period=2024-13", "/admin/coverage?period=2024-13", "/audit/ledger?period=2024-13"):
        resp = staff.get(url)
        assert resp.status_code == 200 and "errors" in text(resp) and "is not a month" in text(resp), url


def test_admin_pages_render(signed_in, seeded):
    c = signed_in("admin")
    for url in ("/admin/", "/admin/members", "/admin/members?q=ada", "/admin/members?page=99999",
                "/admin/assets", "/admin/shares", "/admin/rates", "/admin/imports", "/admin/coverage?period=2024-02",
                "/admin/allocation?period=2024-02", "/admin/allocation?period=2024-01", "/admin/users",
                "/admin/audit-log", "/admin/audit-log?page=abc", "/admin/jobs", "/members/1002",
                "/audit/", "/audit/ledger", "/audit/runs", f"/audit/runs/{seeded.run_id}"):
        resp = c.get(url)
        assert resp.status_code == 200, (url, resp.status_code, text(resp)[:500])
    cov = text(c.get("/admin/coverage?period=2024-02"))
    assert "100.00%" in cov
    alloc = text(c.get("/admin/allocation?period=2024-02"))
    assert f"run {seeded.run_id}" in alloc and "Repost 2024-02" in alloc
    assert "No scheduler runs recorded." in text(c.get("/admin/jobs"))


def test_bad_period_arguments_are_explained_not_crashed(signed_in, seeded):
    c = signed_in("admin")
    for url in ("/admin/coverage?period=2024-99", "/admin/allocation?period=%01%ff", "/audit/ledger?period=abc",
                "/admin/allocation?period=" + "9" * 500):
        resp = c.get(url)
        assert resp.status_code == 200, url
        assert "errors" in text(resp)


def test_auditor_reads_everything_but_sees_no_forms(signed_in, seeded):
    c = signed_in("auditor")
    assert c.get("/").headers["Location"].endswith("/audit/")
    page = text(c.get("/audit/"))
    assert "The hash chain verifies." in page
    ledger = text(c.get("/audit/ledger"))
    assert "Chain verified" in ledger
    for url in ("/admin/shares", "/admin/rates", "/admin/users", "/admin/imports"):
        html = text(c.get(url))
        assert 'method="post" action="/admin' not in html, url
    alloc = text(c.get("/admin/allocation?period=2024-02"))
    assert "post-button" not in alloc


def test_auditor_downloads(signed_in, seeded):
    import io
    import zipfile

    c = signed_in("auditor")
    ledger = c.get("/audit/exports/ledger.csv")
    assert ledger.status_code == 200
    lines = text(ledger).splitlines()
    assert lines[0].startswith("seq,kind,member_number") and len(lines) == 5
    bundle = c.get("/audit/exports/audit-2024-02.zip")
    assert bundle.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(bundle.data)).namelist()
    assert "manifest.json" in names and "readings.csv" in names
    assert c.get("/audit/exports/audit-2023-01.zip").status_code == 404  # never posted
    st = c.get("/audit/exports/statements-2024-02-pdf.zip")
    assert st.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(st.data)).namelist()) == 3
    doc = c.get(f"/audit/runs/{seeded.run_id}.json")
    assert doc.status_code == 200 and b'"period": "2024-02"' in doc.data
    assert c.get("/members/1001/statements/2024-02.csv").status_code == 200


def test_login_failure_message_and_next_redirect_only_local(client, seeded):
    token = form_token(client)
    resp = client.post("/login", data={"email": "ada@coop.test", "password": "wrong password!", "csrf_token": token})
    assert resp.status_code == 401 and "do not match" in text(resp)
    token = form_token(client)
    resp = client.post("/login?next=//evil.example/x", data={"email": "ada@coop.test", "password": "a long enough password",
                                                             "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/members/1001"


def test_anonymous_is_sent_to_sign_in(client, seeded):
    resp = client.get("/members/1001")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/login").status_code == 200
    assert re.search(r"<form method=\"post\"", text(client.get("/login")))


def test_member_me_redirect(signed_in, seeded):
    assert signed_in("member_b").get("/me").headers["Location"].endswith("/members/1002")
    assert signed_in("admin").get("/me").headers["Location"].endswith("/")
