"""The web never speaks command-line (SPEC 10, 13): on the demo co-op, every page an admin, an auditor and a
member can reach by following links, and the refusals the admin's forms give for the usual mistakes, name no
command-line option ("--allow-gaps", "--repost", "--timezone", ...). SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import deque
from urllib.parse import urlsplit

from energy_coop.demo import seed_demo
from energy_coop.period import Period
from tests.web.conftest import TOKEN_RE

#: A command-line option: two hyphens and a letter, not inside a word, an HTML comment or a CSS variable.
FLAG = re.compile(r"(?<![\w!-])(?<!var\()--[a-z][a-z-]*")
HREF = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/logout", "/static/", "/api/")
DOWNLOADS = (".csv", ".pdf", ".json", ".zip")
PER_SHAPE = 3  # pages per URL shape (member 1002 and member 1003 are the same page)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def visible(html: str) -> str:
    """What a person can read of a page: without <style>/<script> blocks, style attributes and comments."""
    html = re.sub(r"<(style|script)\b.*?</\1>", "", html, flags=re.S | re.I)
    html = re.sub(r'\sstyle="[^"]*"', "", html)
    return re.sub(r"<!--.*?-->", "", html, flags=re.S)


def flags_in(html: str) -> list[str]:
    return FLAG.findall(visible(html).replace("&#34;", '"'))


def sign_in(app, email: str, password: str):
    c = app.test_client()
    token = TOKEN_RE.search(text(c.get("/login"))).group(1)
    resp = c.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, text(resp)[:1000]
    return c


def shape(url: str) -> str:
    parts = urlsplit(url)
    return re.sub(r"\d+", "N", parts.path) + "?" + ",".join(sorted(q.split("=")[0] for q in parts.query.split("&")
                                                                   if q))


def walk(c, starts: list[str], at_least: int) -> dict[str, list[str]]:
    """Follow same-site links from ``starts`` (pages only, a few of each shape); page -> the flags on it."""
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    queue = deque(starts)
    while queue:
        url = queue.popleft()
        if url in seen or url.startswith(SKIP) or urlsplit(url).path.endswith(DOWNLOADS):
            continue
        seen.add(url)
        key = shape(url)
        if shapes.get(key, 0) >= PER_SHAPE:
            continue
        shapes[key] = shapes.get(key, 0) + 1
        resp = c.get(url)
        if resp.status_code in (301, 302, 303):
            queue.append(urlsplit(resp.headers["Location"]).path)
            continue
        assert resp.status_code == 200, (url, resp.status_code)
        if not resp.mimetype.startswith("text/html"):
            continue
        html = text(resp)
        if flags_in(html):
            found[url] = flags_in(html)
        queue.extend(u.replace("&amp;", "&") for u in HREF.findall(html))
    assert len(seen) >= at_least, seen
    return found


def test_no_page_or_refusal_of_the_demo_names_a_command_line_option(make_app, db_url, tmp_path):
    today = dt.date.today()
    logins = seed_demo(db_url, tmp_path / "demo", today=today)
    app = make_app()
    this_month = Period.of(today)
    last_month = this_month.previous()
    starts = ["/", "/admin/", f"/admin/allocation?period={this_month}", f"/admin/allocation?period={last_month}",
              f"/admin/coverage?period={this_month}", "/admin/jobs", "/audit/", "/audit/runs", "/me"]

    admin = sign_in(app, *logins.admin)
    found = walk(admin, starts, 40)
    auditor = sign_in(app, *logins.auditor)
    found |= {f"auditor {u}": f for u, f in walk(auditor, starts, 15).items()}
    member = sign_in(app, *logins.member[:2])
    found |= {f"member {u}": f for u, f in walk(member, ["/", "/me", f"/members/{logins.member[2]}/statements"],
                                                5).items()}

    # the refusals of the admin's forms, for the usual mistakes
    def form_post(url: str, page: str, data: dict, **kw):
        token = TOKEN_RE.search(text(admin.get(page))).group(1)
        resp = admin.post(url, data={"csrf_token": token} | data, **kw)
        assert resp.status_code in (200, 302, 400, 409, 422), (url, resp.status_code)
        return resp

    alloc = "/admin/allocation"
    refusals = {
        "posting this month": form_post(alloc, alloc, {"period": str(this_month), "repost": "0"}),
        "confirming this month with gaps allowed": form_post(alloc, alloc, {
            "period": str(this_month), "repost": "0", "confirm": "1", "inputs_sha256": "0" * 64, "allow_gaps": "y"}),
        "posting a posted month again": form_post(alloc, alloc, {"period": str(last_month), "repost": "0"}),
        "confirming a posted month again": form_post(alloc, alloc, {
            "period": str(last_month), "repost": "0", "confirm": "1", "inputs_sha256": "0" * 64}),
        "confirming a changed draft": form_post(alloc, alloc, {
            "period": str(last_month), "repost": "1", "confirm": "1", "inputs_sha256": "0" * 64}),
        "a month in the future": form_post(alloc, alloc, {"period": str(this_month.add(3)), "repost": "0"}),
        "a file without offsets": form_post("/admin/imports", "/admin/imports", {"file": (io.BytesIO(
            b"meter_code,start,interval_minutes,kwh\nPM-SCHOOL,2024-03-01 00:00,15,1\n"), "naive.csv")},
            content_type="multipart/form-data"),
        "a file of future readings": form_post("/admin/imports", "/admin/imports", {"file": (io.BytesIO(
            b"meter_code,start,interval_minutes,kwh\nPM-SCHOOL,2099-03-01T00:00:00Z,15,1\n"), "future.csv")},
            content_type="multipart/form-data"),
        "a Green Button file with a meter code for many": form_post("/admin/imports", "/admin/imports", {
            "file": (io.BytesIO(b"<feed xmlns='http://www.w3.org/2005/Atom'/>"), "gb.xml"), "meter": "X"},
            content_type="multipart/form-data"),
        "a member user without a member number": form_post("/admin/users", "/admin/users", {
            "add-email": "new@example.org", "add-role": "member", "add-password": "a long enough password"}),
    }
    for what, resp in refusals.items():
        assert resp.status_code != 302, what
        if flags_in(text(resp)):
            found[f"refusal: {what}"] = flags_in(text(resp))
    assert "has not ended for asset" in text(refusals["posting this month"])
    assert "meter readings can only be of the past" in text(refusals["a file of future readings"])
    assert found == {}
