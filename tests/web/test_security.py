"""Security of the pages: CSRF, session invalidation, sign-in limits, headers, upload size, escaping, CSV
formulas, and bad form input that is explained and changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from energy_coop.models import AuditEntry, CreditRate, Member, ShareTransaction, User, WebSession
from energy_coop.services.registers import loading as registers
from tests.web.conftest import PASSWORD, form_token, login


def text(resp) -> str:
    return resp.get_data(as_text=True)


def count(sessions, model) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------------------------------------ CSRF


def test_a_form_without_its_csrf_token_is_refused_with_400(signed_in, seeded, sessions):
    c = signed_in("admin")
    before = count(sessions, ShareTransaction)
    data = {"issue-ref": "CSRF-1", "issue-date": "2024-03-01", "issue-asset_code": "SUN1",
            "issue-member_number": "1001", "issue-shares": "1"}
    resp = c.post("/admin/shares/issue", data=data)
    assert resp.status_code == 400 and "did not come from this site" in text(resp)
    resp = c.post("/admin/shares/issue", data=data | {"csrf_token": "forged"})
    assert resp.status_code == 400
    assert count(sessions, ShareTransaction) == before


def test_sign_in_without_csrf_token_is_refused(client, seeded):
    resp = client.post("/login", data={"email": "ada@coop.test", "password": PASSWORD})
    assert resp.status_code == 400


def test_with_the_token_the_same_form_works(signed_in, seeded, sessions):
    c = signed_in("admin")
    token = form_token(c, "/admin/shares")
    data = {"issue-ref": "CSRF-2", "issue-date": "2024-03-01", "issue-asset_code": "SUN1",
            "issue-member_number": "1001", "issue-shares": "1", "issue-csrf_token": token}
    resp = c.post("/admin/shares/issue", data=data)
    assert resp.status_code == 302, text(resp)[:3000]
    with sessions.begin() as s:
        assert s.scalar(select(ShareTransaction).where(ShareTransaction.ref == "CSRF-2")).shares == 1
        entry = s.scalar(select(AuditEntry).where(AuditEntry.entity_key == "CSRF-2"))
        assert entry.actor == "admin@coop.test" and entry.action == "create"


# ------------------------------------------------------------------------------------------------ sessions


def test_a_cookie_replayed_after_sign_out_is_refused(app, seeded):
    c = app.test_client()
    assert login(c, "member_a").status_code == 302
    cookie = c.get_cookie("energy_coop_session").value
    assert c.get("/members/1001").status_code == 200
    token = form_token(c, "/members/1001")
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("energy_coop_session", cookie)
    resp = thief.get("/members/1001")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_signing_out_ends_this_browser_only_and_everywhere_ends_them_all(app, seeded, sessions):
    phone, laptop, tablet = (app.test_client() for _ in range(3))
    for c in (phone, laptop, tablet):
        assert login(c, "member_a").status_code == 302
    page = text(laptop.get("/account/password"))
    assert page.count("(this browser)") == 1 and page.count("<tr><td>") == 3
    phone_cookie = phone.get_cookie("energy_coop_session").value
    assert phone.post("/logout", data={"csrf_token": form_token(phone, "/members/1001")}).status_code == 302
    assert laptop.get("/members/1001").status_code == 200  # the other devices stay signed in
    assert tablet.get("/members/1001").status_code == 200
    thief = app.test_client()
    thief.set_cookie("energy_coop_session", phone_cookie)
    assert thief.get("/members/1001").status_code == 302  # the phone's old cookie is dead
    assert text(laptop.get("/account/password")).count("<tr><td>") == 2
    resp = laptop.post("/logout/everywhere", data={"csrf_token": form_token(laptop, "/account/password")})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    for c in (laptop, tablet):
        resp = c.get("/members/1001")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    with sessions.begin() as s:
        uid = seeded.user_ids["member_a"]
        assert s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == uid)) == 0


def test_an_expired_session_is_refused_and_cleared_at_anyones_next_sign_in(app, seeded, sessions):
    import datetime as dt

    from sqlalchemy import update

    c = app.test_client()
    login(c, "member_a")
    uid = seeded.user_ids["member_a"]
    with sessions.begin() as s:  # as if it had been opened 13 hours ago (sessions last 12)
        s.execute(update(WebSession).where(WebSession.user_id == uid)
                  .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    resp = c.get("/members/1001")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login(app.test_client(), "member_b")  # anyone's sign-in clears every session that ran out
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == uid)) == 0


def test_a_session_cookie_that_does_not_parse_signs_nobody_in(app, seeded):
    from web.security import parse_session_id

    assert parse_session_id("1:1") is None and parse_session_id("1:1:short") is None
    assert parse_session_id("x:1:" + "t" * 43) is None and parse_session_id(None) is None
    assert parse_session_id("7:2:" + "t" * 43) == (7, 2, "t" * 43)


def test_a_cookie_from_before_a_password_change_is_refused(app, seeded):
    old = app.test_client()
    login(old, "member_a")
    new = app.test_client()
    login(new, "member_a")
    token = form_token(new, "/account/password")
    resp = new.post("/account/password", data={"current": PASSWORD, "new": "another long password",
                                               "csrf_token": token})
    assert resp.status_code == 302
    assert new.get("/members/1001").status_code == 200  # the browser that changed it stays signed in
    resp = old.get("/members/1001")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    fresh = app.test_client()
    assert login(fresh, "member_a").status_code == 401
    assert login(fresh, "member_a", "another long password").status_code == 302


def test_an_admin_password_reset_and_deactivation_end_sessions(app, seeded, signed_in, sessions):
    victim = app.test_client()
    login(victim, "member_b")
    admin = signed_in("admin")
    uid = seeded.user_ids["member_b"]
    token = form_token(admin, "/admin/users")
    resp = admin.post(f"/admin/users/{uid}/password", data={f"password{uid}-password": "reset by the admin",
                                                            f"password{uid}-csrf_token": token})
    assert resp.status_code == 302, text(resp)[:2000]
    assert victim.get("/members/1002").status_code == 302
    login(victim, "member_b", "reset by the admin")
    assert victim.get("/members/1002").status_code == 200
    token = form_token(admin, "/admin/users")
    resp = admin.post(f"/admin/users/{uid}/active", data={f"active{uid}-active": "0",
                                                          f"active{uid}-csrf_token": token})
    assert resp.status_code == 302
    assert victim.get("/members/1002").status_code == 302
    assert login(app.test_client(), "member_b", "reset by the admin").status_code == 401
    with sessions.begin() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.entity_key == "bees@coop.test"))]
    assert "change_password" in actions and "deactivate" in actions


def test_a_tampered_session_id_loads_nobody(app, seeded):
    c = app.test_client()
    login(c, "member_a")
    with c.session_transaction() as sess:
        sess["_user_id"] = "not-a-number"
    assert c.get("/members/1001").status_code == 302


def test_session_cookie_is_secure_httponly_samesite_by_default(make_app, seeded, db_url, tmp_path):
    from tests.web.conftest import make_config
    from web import create_app

    app = create_app(make_config(db_url, tmp_path))
    c = app.test_client()
    html = c.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    resp = c.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                  data={"email": "ada@coop.test", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.status_code
    cookie = [v for v in resp.headers.getlist("Set-Cookie") if v.startswith("energy_coop_session=")][-1]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# ------------------------------------------------------------------------------------------------ sign-in limits


def test_sign_in_is_slowed_per_account_and_address(make_app, seeded):
    # the old lock of the account from everywhere is gone (see tests/web/test_sign_in_limits.py): from here
    app = make_app(LOGIN_FREE_FAILURES=3, LOGIN_FIRST_DELAY_S=60, LOGIN_LIMIT_PER_ADDRESS=100)
    c = app.test_client()
    for _ in range(3):
        assert login(c, "member_a", "wrong password").status_code == 401
    resp = login(c, "member_a")  # the right password, but from this address the account must wait
    assert resp.status_code == 429 and "Too many sign-in attempts" in text(resp)
    assert login(c, "member_b").status_code == 302  # other accounts are not affected


def test_sign_in_is_limited_per_address(make_app, seeded):
    app = make_app(LOGIN_FREE_FAILURES=100, LOGIN_LIMIT_PER_ADDRESS=4)
    c = app.test_client()
    for i in range(4):
        token = form_token(c)
        c.post("/login", data={"email": f"nobody{i}@coop.test", "password": "x" * 12, "csrf_token": token})
    assert login(c, "member_b").status_code == 429
    other_address = app.test_client()
    token = form_token(other_address)
    resp = other_address.post("/login", data={"email": "bees@coop.test", "password": PASSWORD, "csrf_token": token},
                              environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert resp.status_code == 302


def test_two_server_processes_count_the_same_failures(make_app, seeded, sessions):
    # two apps on one database stand for two gunicorn workers: failures seen by either count for both
    first = make_app(LOGIN_FREE_FAILURES=4, LOGIN_FIRST_DELAY_S=60, LOGIN_LIMIT_PER_ADDRESS=100).test_client()
    second = make_app(LOGIN_FREE_FAILURES=4, LOGIN_FIRST_DELAY_S=60, LOGIN_LIMIT_PER_ADDRESS=100).test_client()
    for c in (first, second, first, second):
        assert login(c, "member_a", "wrong password").status_code == 401
    assert login(first, "member_a").status_code == 429
    assert login(second, "member_a").status_code == 429
    from energy_coop.models import SignInFailure

    with sessions.begin() as s:
        rows = s.scalars(select(SignInFailure).order_by(SignInFailure.id)).all()
        assert [(r.account, r.address) for r in rows] == [("ada@coop.test", "127.0.0.1")] * 4


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(make_app, seeded, db_url, tmp_path):
    import dataclasses

    from tests.web.conftest import make_config

    config = dataclasses.replace(make_config(db_url, tmp_path), proxies=1)
    app = make_app(config, LOGIN_FREE_FAILURES=100, LOGIN_LIMIT_PER_ADDRESS=2)
    c = app.test_client()

    def attempt(client_address: str, email: str = "nobody@coop.test", password: str = "x" * 12) -> int:
        token = form_token(c)
        return c.post("/login", data={"email": email, "password": password, "csrf_token": token},
                      headers={"X-Forwarded-For": client_address}).status_code

    assert [attempt("203.0.113.7"), attempt("203.0.113.7")] == [401, 401]
    assert attempt("203.0.113.7", "ada@coop.test", PASSWORD) == 429  # that client is over its limit
    assert attempt("198.51.100.4", "ada@coop.test", PASSWORD) == 302  # another one behind the same proxy is not


def test_a_malformed_proxy_count_is_refused_by_name():
    import pytest

    from energy_coop.config import load_config
    from energy_coop.errors import RefusedError

    for bad in ("yes", "-1", "9"):
        with pytest.raises(RefusedError, match="ENERGY_COOP_PROXIES"):
            load_config("sqlite://", env={"ENERGY_COOP_PROXIES": bad})
    assert load_config("sqlite://", env={"ENERGY_COOP_PROXIES": "1"}).proxies == 1


def test_the_window_slides_and_a_success_clears_the_pair(session):
    from energy_coop.services.accounts.sign_in_limits import Limits, forget_pair, record_failure, retry_after

    limits = Limits(free_failures=2, first_delay_s=10, max_delay_s=40, per_address=3, window_s=60)
    record_failure(session, "a@x", "10.0.0.1", now=1000.0, limits=limits)
    record_failure(session, "a@x", "10.0.0.1", now=1030.0, limits=limits)
    assert retry_after(session, "a@x", "10.0.0.1", now=1030.0, limits=limits) == 10  # until 1030 + 10
    assert retry_after(session, "a@x", "10.0.0.2", now=1030.0, limits=limits) == 0  # not from elsewhere
    assert retry_after(session, "b@x", "10.0.0.1", now=1030.0, limits=limits) == 0  # address: 2 of 3
    assert retry_after(session, "a@x", "10.0.0.1", now=1040.0, limits=limits) == 0  # the delay is over
    record_failure(session, "a@x", "10.0.0.1", now=1041.0, limits=limits)
    assert retry_after(session, "a@x", "10.0.0.1", now=1041.0, limits=limits) == 20  # doubled
    assert retry_after(session, "b@x", "10.0.0.1", now=1041.0, limits=limits) == 19  # 3 in 60 s: until 1000 + 60
    assert retry_after(session, "b@x", "10.0.0.1", now=1061.0, limits=limits) == 0  # 1000 is out: 2 of 3
    forget_pair(session, "a@x", "10.0.0.1")
    assert retry_after(session, "a@x", "10.0.0.1", now=1061.0, limits=limits) == 0


def test_old_failures_are_deleted_as_new_ones_come(session):
    from energy_coop.models import SignInFailure
    from energy_coop.services.accounts.sign_in_limits import Limits, record_failure

    limits = Limits(window_s=60, memory_s=60)
    for i in range(50):
        record_failure(session, f"user{i}@x", f"10.0.0.{i}", now=1000.0 + 10 * i, limits=limits)
    session.flush()
    # the last failure (at 1490) deleted those at 1430 and before: 1440 ... 1490 remain
    assert session.scalar(select(func.count()).select_from(SignInFailure)) == 6


# ------------------------------------------------------------------------------------------------ headers


def test_security_headers_and_csp_without_unsafe(client, seeded):
    for url in ("/login", "/static/style.css", "/no/such/page"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_templates_hold_no_inline_script_style_or_foreign_resource():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "web" / "templates"
    for path in root.rglob("*.html"):
        html = path.read_text()
        assert "<script" not in html, path
        assert "style=" not in html and "<style" not in html, path
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


def test_signed_in_pages_are_not_cached(signed_in, seeded):
    assert signed_in("member_a").get("/members/1001").headers["Cache-Control"] == "no-store"


# ------------------------------------------------------------------------------------------------ uploads


def test_an_upload_over_the_limit_gets_a_friendly_413_page(make_app, seeded, db_url, tmp_path):
    import io

    from tests.web.conftest import make_config

    app = make_app(make_config(db_url, tmp_path, max_upload_bytes=2048))
    c = app.test_client()
    login(c, "admin")
    token = form_token(c, "/admin/imports")
    resp = c.post("/admin/imports", data={"csrf_token": token, "file": (io.BytesIO(b"x" * 10_000), "big.csv")},
                  content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "The file is too large" in text(resp) and "<html" in text(resp)


# ------------------------------------------------------------------------------------------------ escaping


XSS = "<script>alert(1)</script>"


def test_a_member_named_like_a_script_is_escaped_everywhere(signed_in, seeded, sessions, tmp_path):
    with sessions.begin() as s:
        registers.apply_records(s, "members", [{"member_number": "1001", "name": XSS, "email": ""}],
                                source="test", actor="test")
    admin = signed_in("admin")
    member = signed_in("member_a")
    pages = [admin.get("/admin/members"), admin.get("/admin/members?q=%3Cscript"), admin.get("/members/1001"),
             admin.get("/admin/audit-log"), member.get("/members/1001"), member.get("/members/1001/statements"),
             admin.get(f"/audit/runs/{seeded.run_id}")]
    for resp in pages:
        body = text(resp)
        assert resp.status_code == 200
        assert XSS not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text(admin.get("/admin/members"))
    # a search text is echoed escaped as well
    assert XSS not in text(admin.get("/admin/members?q=" + XSS))


def test_csv_downloads_neutralise_formulas(signed_in, seeded, sessions):
    with sessions.begin() as s:
        registers.apply_records(s, "members", [{"member_number": "1003", "name": "=HYPERLINK(\"http://x\")",
                                                "email": ""}], source="test", actor="test")
        registers.apply_records(s, "members", [{"member_number": "1002", "name": "@SUM(A1)", "email": ""}],
                                source="test", actor="test")
    body = text(signed_in("admin").get("/admin/members.csv"))
    assert "'=HYPERLINK" in body and "'@SUM(A1)" in body
    for line in body.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.strip('"').startswith(("=", "+", "@", "\t", "\r")), line


# ------------------------------------------------------------------------------------------------ bad form input


def _share_post(c, **fields):
    token = form_token(c, "/admin/shares")
    data = {f"issue-{k}": v for k, v in fields.items()} | {"issue-csrf_token": token}
    return c.post("/admin/shares/issue", data=data)


def test_bad_share_forms_are_explained_beside_the_field_and_change_nothing(signed_in, seeded, sessions):
    c = signed_in("admin")
    before = count(sessions, ShareTransaction), count(sessions, AuditEntry)
    cases = [
        ({"ref": "", "date": "", "asset_code": "", "member_number": "", "shares": ""}, "Enter a reference."),
        ({"ref": "B1", "date": "2024-02-30", "asset_code": "SUN1", "member_number": "1001", "shares": "1"},
         "is not a real date"),
        ({"ref": "B2", "date": "2024-03-01", "asset_code": "SUN1", "member_number": "1001", "shares": "many"},
         "is not a whole number"),
        ({"ref": "B3", "date": "2024-03-01", "asset_code": "SUN1", "member_number": "1001",
          "shares": "9" * 19}, "is above the maximum"),
        ({"ref": "B4", "date": "2024-03-01", "asset_code": "SUN1", "member_number": "1001", "shares": "6"},
         "shares"),  # 3+2 issued of 10: 6 more would exceed the asset's total
        ({"ref": "B5", "date": "2024-03-01", "asset_code": "NOPE", "member_number": "1001", "shares": "1"},
         "no asset with code"),
        ({"ref": "B6", "date": "2024-03-01", "asset_code": "SUN1", "member_number": "9999", "shares": "1"},
         "no member with number"),
        ({"ref": "x" * 500, "date": "2024-03-01", "asset_code": "SUN1", "member_number": "1001", "shares": "1"},
         "Field cannot be longer"),
    ]
    for fields, message in cases:
        resp = _share_post(c, **fields)
        body = text(resp)
        assert resp.status_code == 400, (fields, resp.status_code)
        assert message in body, (fields, re.findall(r'class="field-error"[^>]*>([^<]*)', body))
        assert 'class="field-error"' in body or 'class="errors"' in body
    assert (count(sessions, ShareTransaction), count(sessions, AuditEntry)) == before


def test_bad_rate_and_tariff_forms_change_nothing(signed_in, seeded, sessions):
    c = signed_in("admin")
    before = count(sessions, CreditRate)
    token = form_token(c, "/admin/rates")
    for valid_from, rate, message in (("2024-03-01T00:00:00", "0.1", "has no UTC offset"),
                                      ("2024-03-01T00:00:00Z", "0.1234567", "more than 6 decimal places"),
                                      ("2024-03-01T00:00:00Z", "1e999999", "no exponent"),
                                      ("yesterday", "abc", "is not an ISO 8601 timestamp")):
        resp = c.post("/admin/rates", data={"rate-valid_from": valid_from, "rate-rate_per_kwh": rate,
                                            "rate-asset_code": "", "rate-csrf_token": token})
        assert resp.status_code == 400 and message in text(resp), (valid_from, rate)
    tou = {"tou-asset_code": "", "tou-timezone": "Mars/Olympus", "tou-first_day": "2024-03-05",
           "tou-last_day": "2024-03-01", "tou-band1_start": "25:00", "tou-band1_rate": "0.1",
           "tou-band2_start": "07:00", "tou-band2_rate": "-1", "tou-band3_start": "08:00",
           "tou-band3_rate": "1e999999", "tou-csrf_token": token}
    body = text(c.post("/admin/rates/time-of-use", data=tou))
    for message in ("is not a known time zone", "is before the first day", "is not a time of day",
                    "may not be negative", "is far too large"):
        assert message in body, message
    assert count(sessions, CreditRate) == before


def test_a_time_of_use_form_writes_the_step_rows(signed_in, seeded, sessions):
    c = signed_in("admin")
    token = form_token(c, "/admin/rates")
    tou = {"tou-asset_code": "SUN1", "tou-timezone": "UTC", "tou-first_day": "2024-03-01",
           "tou-last_day": "2024-03-02", "tou-band1_start": "00:00", "tou-band1_rate": "0.08",
           "tou-band2_start": "16:00", "tou-band2_rate": "0.25", "tou-csrf_token": token}
    resp = c.post("/admin/rates/time-of-use", data=tou)
    assert resp.status_code == 302, text(resp)[:3000]
    with sessions.begin() as s:
        rows = s.execute(select(CreditRate.valid_from, CreditRate.rate_micros).where(CreditRate.scope == "SUN1")
                         .order_by(CreditRate.valid_from)).all()
        assert [(v.isoformat(), r) for v, r in rows] == [
            ("2024-03-01T00:00:00+00:00", 80_000), ("2024-03-01T16:00:00+00:00", 250_000),
            ("2024-03-02T00:00:00+00:00", 80_000), ("2024-03-02T16:00:00+00:00", 250_000)]
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "credit_rate",
                                                                          AuditEntry.actor == "admin@coop.test")) == 4


def test_bad_user_forms_change_nothing(signed_in, seeded, sessions):
    c = signed_in("admin")
    before = count(sessions, User), count(sessions, AuditEntry)
    token = form_token(c, "/admin/users")
    cases = [({"add-email": "not an email", "add-role": "member", "add-member_number": "1001",
               "add-password": "long enough password"}, "is not an email address"),
             ({"add-email": "x@coop.test", "add-role": "member", "add-member_number": "",
               "add-password": "long enough password"}, "a member user needs"),
             ({"add-email": "x@coop.test", "add-role": "root", "add-member_number": "",
               "add-password": "long enough password"}, "is not one of"),
             ({"add-email": "x@coop.test", "add-role": "admin", "add-member_number": "",
               "add-password": "short"}, "too short"),
             ({"add-email": "ada@coop.test", "add-role": "admin", "add-member_number": "",
               "add-password": "long enough password"}, "already exists")]
    for data, message in cases:
        resp = c.post("/admin/users", data=data | {"add-csrf_token": token})
        assert resp.status_code in (400, 409) and message in text(resp), (data, message)
    uid = seeded.user_ids["member_a"]
    resp = c.post(f"/admin/users/{uid}/role", data={f"role{uid}-role": "member", f"role{uid}-member_number": "777",
                                                    f"role{uid}-csrf_token": token})
    assert resp.status_code == 400 and "no member with number" in text(resp)
    own = seeded.user_ids["admin"]
    resp = c.post(f"/admin/users/{own}/active", data={f"active{own}-active": "0", f"active{own}-csrf_token": token})
    assert resp.status_code == 400 and "cannot deactivate your own account" in text(resp)
    resp = c.post("/admin/users/99999/role", data={"role99999-role": "admin", "role99999-csrf_token": token})
    assert resp.status_code == 404
    assert (count(sessions, User), count(sessions, AuditEntry)) == before


def test_member_rows_unchanged_after_refused_input(signed_in, seeded, sessions):
    """A refused share form leaves the member and share rows byte for byte as they were."""
    with sessions.begin() as s:
        snapshot = [(m.member_number, m.name, m.email) for m in s.scalars(select(Member).order_by(Member.id))]
        shares = [(t.ref, t.shares, t.date) for t in s.scalars(select(ShareTransaction).order_by(ShareTransaction.id))]
    c = signed_in("admin")
    _share_post(c, ref="S-1", date="2024-01-01", asset_code="SUN1", member_number="1001", shares="99")
    with sessions.begin() as s:
        assert [(m.member_number, m.name, m.email) for m in s.scalars(select(Member).order_by(Member.id))] == snapshot
        assert [(t.ref, t.shares, t.date) for t in
                s.scalars(select(ShareTransaction).order_by(ShareTransaction.id))] == shares


def test_loading_the_signed_in_user_on_a_post_waits_for_no_writer(app, seeded, db_url):
    """Who is asking is read without the write lock, so a POST that is refused (an auditor's write) answers at
    once even while a long import holds the database's write lock (SQLite; PostgreSQL never waited)."""
    import sqlite3
    import time

    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    c = app.test_client()
    login(c, "auditor")
    token = form_token(c, "/admin/shares")
    writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert c.post("/admin/shares/issue", data={"csrf_token": token}).status_code == 403
        assert time.monotonic() - started < 10  # the busy timeout is 30 s
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_hsts_only_when_cookies_are_secure(make_app, seeded, db_url, tmp_path):
    import dataclasses

    from tests.web.conftest import make_config
    from web import create_app

    secure = create_app(make_config(db_url, tmp_path)).test_client()  # ENERGY_COOP_COOKIE_SECURE default: true
    for url in ("/login", "/no/such/page", "/api/v1/me"):
        assert secure.get(url, base_url="https://localhost").headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains")
    plain = create_app(dataclasses.replace(make_config(db_url, tmp_path), cookie_secure=False)).test_client()
    for url in ("/login", "/api/v1/me"):
        assert "Strict-Transport-Security" not in plain.get(url).headers


def test_every_csv_download_of_the_pages_names_one_charset(signed_in, seeded):
    admin = signed_in("admin")
    urls = ["/admin/members.csv", f"/members/{seeded.member_a}/statements/{seeded.period}.csv",
            "/audit/exports/ledger.csv"] + [f"/efficiency/export/{kind}.csv" for kind in (
                "premises", "audits", "measures", "programmes", "awards", "payments")]
    for url in urls:
        resp = admin.get(url)
        assert resp.status_code == 200, url
        assert resp.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"], (url, resp.headers)
