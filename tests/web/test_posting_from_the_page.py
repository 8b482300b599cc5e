"""Posting a month from the allocation page (SPEC 5, 13): a confirmation step with the draft's totals, a post
only on the confirmed request with the draft's inputs hash, a changed draft refused, never a double post; an
unfinished month offers no post button and a forced one is refused; the API answers 422 for it. SQLite and
PostgreSQL, through the Flask test client."""

from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import func, select

from energy_coop.models import AllocationRun, LedgerEntry
from energy_coop.period import Period
from energy_coop.services.accounts.users import new_token
from tests.helpers import add_readings, hourly, utc
from tests.web.conftest import form_token

MAR = (utc(2024, 3, 1), utc(2024, 4, 1))
INPUTS_RE = re.compile(r'name="inputs_sha256" type="hidden" value="([0-9a-f]{64})"')


def text(resp) -> str:
    return resp.get_data(as_text=True)


def add_march(sessions) -> None:
    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", hourly(*MAR), name="sun-mar")
        add_readings(s, "PM-BAT1", hourly(*MAR, mwh=500_000), name="bat-mar")


def written(sessions, period: str) -> tuple[int, int]:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(AllocationRun).where(AllocationRun.period == period)),
                s.scalar(select(func.count()).select_from(LedgerEntry)))


def step_one(c, period: str, token: str, repost: bool = False):
    return c.post("/admin/allocation", data={"period": period, "repost": "1" if repost else "0", "csrf_token": token})


def test_the_post_button_leads_to_a_confirmation_with_the_drafts_totals_and_posts_nothing(signed_in, seeded,
                                                                                          sessions):
    add_march(sessions)
    c = signed_in("admin")
    page = text(c.get("/admin/allocation?period=2024-03"))
    assert 'id="draft-h">Draft<' in page and "Post 2024-03" in page
    token = form_token(c, "/admin/allocation?period=2024-03")
    before = written(sessions, "2024-03")
    step = step_one(c, "2024-03", token)
    html = text(step)
    assert step.status_code == 200
    totals = html.split('id="confirm-totals"')[1].split("</dl>")[0]
    # 744 h x 1 kWh on SUN1 + 744 h x 0.5 kWh on BAT1 = 1,116 kWh at 0.10/kWh; members 1001, 1002, 1003
    assert "<dd>2024-03</dd>" in totals and "1,116.000 kWh" in totals and "111.60" in totals
    assert "<dt>Members credited</dt><dd>3</dd>" in totals
    coverage = html.split('id="confirm-coverage"')[1].split("</table>")[0]
    assert coverage.count("100.00%") == 2 and "SUN1" in coverage and "BAT1" in coverage
    assert "Confirm: post 2024-03" in html and "Post even though readings are missing" not in html
    assert written(sessions, "2024-03") == before  # the confirmation step writes nothing
    digest = INPUTS_RE.search(html).group(1)
    confirmed = {"period": "2024-03", "repost": "0", "csrf_token": token, "confirm": "1", "inputs_sha256": digest}
    done = c.post("/admin/allocation", data=confirmed)
    assert done.status_code == 302
    runs, entries = written(sessions, "2024-03")
    assert runs == 1 and entries == before[1] + 4
    # the same confirmation sent again (a double click, a reloaded page) is a conflict and writes nothing
    again = c.post("/admin/allocation", data=confirmed)
    assert again.status_code == 409 and "already posted" in text(again)
    assert written(sessions, "2024-03") == (1, entries)
    # the page now heads the month "Posted", with the run, when and who, and never "Draft"
    posted = text(c.get("/admin/allocation?period=2024-03"))
    with sessions.begin() as s:
        run = s.scalar(select(AllocationRun).where(AllocationRun.period == "2024-03"))
    assert 'id="posted-h">Posted<' in posted and f"Posted: run {run.id}" in posted and "by admin@coop.test" in posted
    assert ">Draft<" not in posted and "Draft:" not in posted
    audit = text(c.get(f"/audit/runs/{run.id}"))
    assert f"<strong>Posted</strong>: run {run.id}" in audit and "by admin@coop.test" in audit
    assert "Draft" not in audit


def test_a_draft_that_changed_since_the_confirmation_is_refused(signed_in, seeded, sessions):
    add_march(sessions)
    c = signed_in("admin")
    token = form_token(c, "/admin/allocation?period=2024-03")
    digest = INPUTS_RE.search(text(step_one(c, "2024-03", token))).group(1)
    # someone imports a revised reading of March in between
    revised = b"meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-03-10T12:00:00Z,60,2.500\n"
    upload = c.post("/admin/imports", data={"csrf_token": form_token(c, "/admin/imports"),
                                            "file": (io.BytesIO(revised), "fix.csv")},
                    content_type="multipart/form-data")
    assert upload.status_code == 200 and "Status: imported" in text(upload)
    before = written(sessions, "2024-03")
    resp = c.post("/admin/allocation", data={"period": "2024-03", "repost": "0", "csrf_token": token,
                                             "confirm": "1", "inputs_sha256": digest})
    assert resp.status_code == 400
    assert "the draft of 2024-03 changed since you looked; check it again" in text(resp)
    assert written(sessions, "2024-03") == before == (0, before[1])
    # a confirmation without the draft it confirms posts nothing either
    bare = c.post("/admin/allocation", data={"period": "2024-03", "repost": "0", "csrf_token": token, "confirm": "1"})
    assert bare.status_code == 400 and written(sessions, "2024-03") == before


def test_a_repost_is_confirmed_the_same_way(signed_in, seeded, sessions):
    c = signed_in("admin")
    token = form_token(c, "/admin/allocation?period=2024-02")
    step = step_one(c, "2024-02", token, repost=True)
    html = text(step)
    assert step.status_code == 200 and "Confirm: repost 2024-02" in html and f"run {seeded.run_id}" in html
    # 29 days x 24 h x (1 + 0.5) kWh = 1,044 kWh
    assert "1,044.000 kWh" in html.split('id="confirm-totals"')[1]
    digest = INPUTS_RE.search(html).group(1)
    resp = c.post("/admin/allocation", data={"period": "2024-02", "repost": "1", "csrf_token": token,
                                             "confirm": "1", "inputs_sha256": digest})
    assert resp.status_code == 302
    assert written(sessions, "2024-02")[0] == 1  # nothing changed since run 1: not reposted


def test_missing_readings_are_named_in_a_plain_words_checkbox(signed_in, seeded, sessions):
    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", hourly(utc(2024, 3, 1), utc(2024, 3, 20)), name="sun-part")
        add_readings(s, "PM-BAT1", hourly(*MAR, mwh=500_000), name="bat-mar")
    c = signed_in("admin")
    token = form_token(c, "/admin/allocation?period=2024-03")
    html = text(step_one(c, "2024-03", token))
    assert "Post even though readings are missing for: SUN1</label>" in html
    digest = INPUTS_RE.search(html).group(1)
    confirmed = {"period": "2024-03", "repost": "0", "csrf_token": token, "confirm": "1", "inputs_sha256": digest}
    refused = c.post("/admin/allocation", data=confirmed)
    assert refused.status_code == 400 and "2024-03 cannot be posted: some meter readings are missing" in text(refused)
    assert written(sessions, "2024-03")[0] == 0
    assert c.post("/admin/allocation", data=confirmed | {"allow_gaps": "y"}).status_code == 302
    assert written(sessions, "2024-03")[0] == 1


def test_an_unfinished_month_has_no_post_button_and_a_forced_post_is_refused(signed_in, seeded, sessions):
    month = Period.of(dt.datetime.now(dt.UTC))  # this month: it has not ended in UTC, where both assets are
    c = signed_in("admin")
    page = text(c.get(f"/admin/allocation?period={month}"))
    assert f'id="draft-h">Draft: month not over<' in page and "Month not over." in page
    assert f"It can be posted after {month.next()}-01 00:00 UTC." in page
    assert "post-button" not in page
    token = form_token(c, "/admin/allocation")
    before = written(sessions, str(month))
    reason = (f"{month} has not ended for asset BAT1: it ends at {month.next()}-01 00:00 UTC; it can be posted "
              "after that")
    for data in ({}, {"confirm": "1", "inputs_sha256": "0" * 64}, {"confirm": "1", "inputs_sha256": "0" * 64,
                                                                   "allow_gaps": "y"}):
        for repost in ("0", "1"):
            resp = c.post("/admin/allocation", data={"period": str(month), "repost": repost, "csrf_token": token}
                          | data)
            assert resp.status_code == 400 and reason in text(resp), text(resp)[:3000]
    assert written(sessions, str(month)) == before == (0, before[1])


def test_the_api_answers_422_for_an_unfinished_month_and_labels_its_draft(app, seeded, sessions):
    with sessions.begin() as s:
        token = new_token(s, "admin@coop.test", actor="test")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    month = Period.of(dt.datetime.now(dt.UTC))
    before = written(sessions, str(month))
    for body in ({"post": True}, {"post": True, "allow_gaps": True}, {"repost": True}):
        resp = client.post(f"/api/v1/allocations/{month}", json=body, headers=headers)
        assert resp.status_code == 422
        assert resp.get_json()["message"] == (f"{month} has not ended for asset BAT1: it ends at {month.next()}-01 "
                                              "00:00 UTC; it can be posted after that")
    assert written(sessions, str(month)) == before
    for resp in (client.post(f"/api/v1/allocations/{month}", json={}, headers=headers),
                 client.get(f"/api/v1/allocations/{month}", headers=headers)):
        doc = resp.get_json()
        assert resp.status_code == 200 and doc["status"] == "draft" and doc["month_over"] is False
        assert doc["note"].startswith(f"month not over: {month} has not ended for asset BAT1")
        assert doc["note"] in doc["messages"]
    posted = client.get("/api/v1/allocations/2024-02", headers=headers).get_json()
    assert posted["month_over"] is True and "note" not in posted
