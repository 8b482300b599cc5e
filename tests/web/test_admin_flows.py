"""Admin work through the pages: upload a meter file, preview, post and repost a month; the import report;
share transfers and redemptions through the register's own checks."""

from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import func, select

from energy_coop.models import AllocationRun, ImportBatch, LedgerEntry, Member, ShareTransaction
from tests.web.conftest import form_token


def text(resp) -> str:
    return resp.get_data(as_text=True)


def month_csv(meters: list[str], year: int, month: int, kwh: str = "1.000", last_hours: int | None = None) -> bytes:
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=dt.UTC)
    lines = ["meter_code,start,interval_minutes,kwh"]
    t = start
    while t < end:
        for m in meters:
            lines.append(f"{m},{t:%Y-%m-%dT%H:%M:%SZ},60,{kwh}")
        t += dt.timedelta(hours=1)
    if last_hours is not None:
        lines = lines[:1] + lines[1:][-last_hours:]
    return ("\n".join(lines) + "\n").encode()


def upload(c, body: bytes, name: str = "march.csv", **extra):
    token = form_token(c, "/admin/imports")
    data = {"csrf_token": token, "file": (io.BytesIO(body), name)} | extra
    return c.post("/admin/imports", data=data, content_type="multipart/form-data")


INPUTS_RE = re.compile(r'name="inputs_sha256" type="hidden" value="([0-9a-f]{64})"')


def confirm(c, period: str, token: str, *, repost: bool = False, **extra):
    """Post ``period`` the way a person does: the page's button, then the confirmation page's button."""
    data = {"period": period, "repost": "1" if repost else "0", "csrf_token": token}
    step = c.post("/admin/allocation", data=data)
    page = text(step)
    assert step.status_code == 200 and f"Confirm: {'repost' if repost else 'post'} {period}" in page, page[:3000]
    digest = INPUTS_RE.search(page).group(1)
    return c.post("/admin/allocation", data=data | {"confirm": "1", "inputs_sha256": digest} | extra)


def test_upload_preview_post_conflict_stale_repost(signed_in, seeded, sessions):
    c = signed_in("admin")
    resp = upload(c, month_csv(["PM-SUN1", "PM-BAT1"], 2024, 3))
    page = text(resp)
    assert resp.status_code == 200 and "Status: imported" in page
    assert 'id="report-accepted">1488<' in page  # 31 days x 24 h x 2 meters
    again = upload(c, month_csv(["PM-SUN1", "PM-BAT1"], 2024, 3))
    assert "Status: duplicate" in text(again)

    preview = text(c.get("/admin/allocation?period=2024-03"))
    assert "Not posted yet." in preview and "Post 2024-03" in preview
    token = form_token(c, "/admin/allocation?period=2024-03")
    resp = confirm(c, "2024-03", token)
    assert resp.status_code == 302
    with sessions.begin() as s:
        run = s.scalar(select(AllocationRun).where(AllocationRun.period == "2024-03"))
        assert run.posted_by == "admin@coop.test" and run.generation == 1
    page = text(c.get("/admin/allocation?period=2024-03"))
    assert f"Posted: run {run.id}" in page and "Repost 2024-03" in page

    # a second plain post (e.g. from a stale tab) is a conflict, explained, nothing written
    with sessions.begin() as s:
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
    resp = c.post("/admin/allocation", data={"period": "2024-03", "repost": "0", "csrf_token": token})
    assert resp.status_code == 409 and "already posted" in text(resp)
    resp = c.post("/admin/allocation", data={"period": "2024-03", "repost": "0", "csrf_token": token, "confirm": "1",
                                             "inputs_sha256": "0" * 64})
    assert resp.status_code == 409 and "already posted" in text(resp)
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == entries

    # a revised reading in the posted month marks it stale; the page lists it; a repost fixes it
    revised = b"meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-03-10T12:00:00Z,60,2.500\n"
    page = text(upload(c, revised, "fix.csv"))
    assert "Posted months now stale" in page and "2024-03" in page
    page = text(c.get("/admin/allocation?period=2024-03"))
    assert "Months to repost" in page and "Stale since" in page
    resp = confirm(c, "2024-03", token, repost=True)
    assert resp.status_code == 302
    with sessions.begin() as s:
        runs = s.scalars(select(AllocationRun).where(AllocationRun.period == "2024-03")
                         .order_by(AllocationRun.generation)).all()
        assert [r.generation for r in runs] == [1, 2] and runs[0].superseded and runs[1].stale_since is None
    assert "Months to repost" not in text(c.get("/admin/allocation?period=2024-03"))


def test_posting_with_gaps_needs_the_box_ticked(signed_in, seeded, sessions):
    c = signed_in("admin")
    upload(c, month_csv(["PM-SUN1", "PM-BAT1"], 2024, 4, last_hours=100))
    page = text(c.get("/admin/allocation?period=2024-04"))
    assert "Some readings are missing" in page
    token = form_token(c, "/admin/allocation?period=2024-04")
    step = c.post("/admin/allocation", data={"period": "2024-04", "repost": "0", "csrf_token": token})
    page = text(step)
    assert step.status_code == 200 and "Post even though readings are missing for: BAT1, SUN1" in page
    digest = re.search(r'name="inputs_sha256" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    confirmed = {"period": "2024-04", "repost": "0", "csrf_token": token, "confirm": "1", "inputs_sha256": digest}
    resp = c.post("/admin/allocation", data=confirmed)
    assert resp.status_code == 400 and "some meter readings are missing" in text(resp)
    assert "--" not in text(resp).split('id="draft-h"')[0].split("<main")[-1]
    with sessions.begin() as s:
        assert s.scalar(select(AllocationRun).where(AllocationRun.period == "2024-04")) is None
    resp = c.post("/admin/allocation", data=confirmed | {"allow_gaps": "y"})
    assert resp.status_code == 302


def test_bad_allocation_requests_are_explained(signed_in, seeded):
    c = signed_in("admin")
    token = form_token(c, "/admin/allocation")
    for period in ("", "2024-13", "abcd", "9999-01", "2024-02" + "x" * 1000):
        resp = c.post("/admin/allocation", data={"period": period, "repost": "0", "csrf_token": token})
        assert resp.status_code in (400, 409), (period, resp.status_code)
        assert 'class="errors"' in text(resp)


def test_a_refused_file_shows_every_bad_row_and_keeps_nothing(signed_in, seeded, sessions):
    c = signed_in("admin")
    body = (b"meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-05-01T00:00:00Z,60,1\n"
            b"PM-SUN1,2024-05-01 01:00,60,1\nNOPE,2024-05-01T02:00:00Z,60,1\nPM-SUN1,2024-05-01T03:00:00Z,60,abc\n")
    with sessions.begin() as s:
        batches = s.scalar(select(func.count()).select_from(ImportBatch))
    resp = upload(c, body, "<i>bad.csv")
    page = text(resp)
    assert resp.status_code == 400 and "Status: refused" in page and "nothing was imported" in page
    assert page.count("<th scope=\"row\">line ") >= 3
    assert "<i>bad" not in page and "&lt;i&gt;bad.csv" in page
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == batches
    assert upload(c, b"", "empty.csv").status_code == 400
    assert upload(c, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image.png").status_code == 400
    resp = c.post("/admin/imports", data={"csrf_token": form_token(c, "/admin/imports")},
                  content_type="multipart/form-data")
    assert resp.status_code == 400 and "Choose a file to upload." in text(resp)


def test_transfer_and_redeem_through_the_forms(signed_in, seeded, sessions):
    c = signed_in("admin")
    token = form_token(c, "/admin/shares")
    resp = c.post("/admin/shares/transfer", data={
        "transfer-ref": "T-9", "transfer-date": "2024-03-01", "transfer-asset_code": "SUN1",
        "transfer-from_member_number": "1001", "transfer-member_number": "1003", "transfer-shares": "1",
        "transfer-csrf_token": token})
    assert resp.status_code == 302, text(resp)[:3000]
    resp = c.post("/admin/shares/redeem", data={
        "redeem-ref": "R-9", "redeem-date": "2024-03-02", "redeem-asset_code": "SUN1",
        "redeem-member_number": "1003", "redeem-shares": "5", "redeem-csrf_token": token})
    assert resp.status_code == 400 and "member 1003 would hold -3 shares of SUN1" in text(resp)
    resp = c.post("/admin/shares/transfer", data={
        "transfer-ref": "T-10", "transfer-date": "2024-03-01", "transfer-asset_code": "SUN1",
        "transfer-member_number": "1003", "transfer-shares": "1", "transfer-csrf_token": token})
    assert resp.status_code == 400 and "a transfer needs the member the shares come from" in text(resp)
    with sessions.begin() as s:
        refs = set(s.scalars(select(ShareTransaction.ref)))
    assert "T-9" in refs and "R-9" not in refs and "T-10" not in refs
    assert c.post("/admin/shares/gift", data={"csrf_token": token}).status_code == 404


def test_a_payout_through_the_form_and_its_refusals(signed_in, seeded, sessions):
    c = signed_in("admin")
    with sessions.begin() as s:
        before = s.scalar(select(func.sum(LedgerEntry.cents)).join(Member).where(Member.member_number == "1001"))
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
    page = text(c.get("/admin/ledger-entries?member=1001"))
    assert 'value="1001"' in page  # "Record a payout" from the member's page fills in the number
    token = form_token(c, "/admin/ledger-entries")
    form = {"csrf_token": token, "kind": "payout", "member_number": "1001", "amount": "-0.05",
            "memo": "<script>alert(1)</script> cheque 17", "period": "2024-02"}
    resp = c.post("/admin/ledger-entries", data=form, follow_redirects=True)
    assert resp.status_code == 200
    page = text(resp)
    assert before > 0 and "payout of -$0.05 for member 1001 in 2024-02. Their balance is now $" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; cheque 17" in page and "<script>alert(1)" not in page
    with sessions.begin() as s:
        assert s.scalar(select(func.sum(LedgerEntry.cents)).join(Member).where(Member.member_number == "1001")) == before - 5
    # refused: each reason beside its field, a 400, and no entry
    for change, words in [({"amount": "5.00"}, "write it as a negative amount"),
                          ({"amount": "-1.234"}, "has more than 2 decimal places"),
                          ({"amount": f"-{before // 100 + 1}.00"}, "would leave it at"),
                          ({"member_number": "9999"}, "there is no member"),
                          ({"memo": "=1+1"}, "run as a formula"),
                          ({"period": "2999-01"}, "an entry cannot be dated ahead"),
                          ({"kwh": "1"}, "moves money, not energy"),
                          ({"memo": ""}, "Enter a memo saying why.")]:
        resp = c.post("/admin/ledger-entries", data=form | change)
        assert resp.status_code == 400 and words in text(resp), (change, text(resp)[:3000])
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == entries + 1
    # an auditor sees the list but not the form
    page = text(signed_in("auditor").get("/admin/ledger-entries"))
    assert "cheque 17" in page and "Record an entry" not in page
