"""Sign-in throttling (issue 14): wrong passwords slow down one account from one address with growing delays
and cap one address over all accounts, so failures sent from elsewhere never lock the real user (an admin
included) out; an admin can unlock a user (page and CLI); every lock and unlock is in the audit log."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from energy_coop.models import AuditEntry, SignInFailure
from tests.web.conftest import PASSWORD, USERS, form_token
from web.extensions import login_limiter


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock [s], moved by the test: ``clock.now += 2``."""

    class Clock:
        now = 1_800_000_000.0

        def __call__(self) -> float:
            return self.now

    c = Clock()
    monkeypatch.setattr(login_limiter, "clock", c)
    return c


def attempt(client, role: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    token = form_token(client)
    return client.post("/login", data={"email": USERS[role][0], "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def audit_rows(sessions, action: str) -> list[AuditEntry]:
    with sessions.begin() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.entity == "sign_in", AuditEntry.action == action)
                         .order_by(AuditEntry.id)).all()
        s.expunge_all()
        return rows


def test_wrong_passwords_from_one_address_do_not_lock_the_admin_out_elsewhere(make_app, seeded, clock):
    app = make_app()
    attacker, admin = app.test_client(), app.test_client()
    for _ in range(12):  # more than the old lock (5 of them): the attacker's own attempts get slower
        assert attempt(attacker, "admin", "wrong password", "203.0.113.7").status_code in (401, 429)
        clock.now += 0.5
    resp = attempt(admin, "admin", PASSWORD, "198.51.100.4")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def test_delays_grow_for_one_account_from_one_address(make_app, seeded, clock):
    app = make_app()
    c = app.test_client()
    for _ in range(3):  # three free failures
        assert attempt(c, "member_a", "wrong password").status_code == 401
    waits = []
    for _ in range(4):
        refused = attempt(c, "member_a")  # even the right password waits out the delay from here
        assert refused.status_code == 429
        assert "Too many sign-in attempts from here. Try again in" in refused.get_data(as_text=True)
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        clock.now += wait
        assert attempt(c, "member_a", "wrong password").status_code == 401
    assert waits == [1, 2, 4, 8]
    clock.now += 16
    assert attempt(c, "member_a").status_code == 302  # the right password after the delay
    c2 = app.test_client()
    assert attempt(c2, "member_a", "wrong password").status_code == 401  # the success cleared the pair


def test_the_delay_is_capped_at_fifteen_minutes(session):
    from energy_coop.services.accounts.sign_in_limits import Limits, pair_delay_s, record_failure, retry_after

    limits = Limits()
    assert [pair_delay_s(n, limits) for n in (0, 2, 3, 4, 5, 12, 13, 14, 500)] == [
        0, 0, 1, 2, 4, 512, 900, 900, 900]
    for i in range(20):
        record_failure(session, "a@x", "10.0.0.1", now=1000.0 + i, limits=limits)
    assert retry_after(session, "a@x", "10.0.0.1", now=1019.0, limits=limits) == 900
    assert retry_after(session, "a@x", "10.0.0.2", now=1019.0, limits=limits) == 0  # another address
    # the address has 20 failures in 15 minutes: every account waits there until the first leaves the window
    assert retry_after(session, "b@x", "10.0.0.1", now=1019.0, limits=limits) == 900 - 19


def test_the_per_address_cap_counts_every_account(make_app, seeded, clock, sessions):
    app = make_app(LOGIN_FREE_FAILURES=100, LOGIN_LIMIT_PER_ADDRESS=4)
    c = app.test_client()
    for i in range(4):
        token = form_token(c)
        assert c.post("/login", data={"email": f"nobody{i}@coop.test", "password": "x" * 12,
                                      "csrf_token": token}).status_code == 401
    resp = attempt(c, "member_b")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) == 900
    assert attempt(app.test_client(), "member_b", address="10.0.0.9").status_code == 302
    clock.now += 901
    assert attempt(c, "member_b").status_code == 302
    locks = audit_rows(sessions, "lock")
    assert [(r.actor, r.entity_key, r.after["failures"]) for r in locks] == [("sign-in limiter", "127.0.0.1", 4)]


def test_locks_are_audited_once_per_pair_and_address(make_app, seeded, clock, sessions):
    app = make_app(LOGIN_LIMIT_PER_ADDRESS=5)
    c = app.test_client()
    for _ in range(3):
        attempt(c, "member_a", "wrong password")
    clock.now += 1
    attempt(c, "member_a", "wrong password")  # 4th: a longer delay, no new lock entry
    clock.now += 2
    attempt(c, "member_b", "wrong password")  # the address's 5th: its cap
    rows = audit_rows(sessions, "lock")
    assert [(r.entity_key, r.after) for r in rows] == [
        ("ada@coop.test", {"account": "ada@coop.test", "address": "127.0.0.1", "failures": 3, "delay_s": 1.0}),
        ("127.0.0.1", {"address": "127.0.0.1", "failures": 5, "window_s": 900.0}),
    ]
    assert "3 wrong passwords for this account from 127.0.0.1" in rows[0].note


def test_an_admin_unlocks_a_user_on_the_users_page(make_app, seeded, clock, sessions):
    app = make_app()
    c = app.test_client()
    for _ in range(10):  # ten wrong passwords, each after the delay the one before imposed
        resp = attempt(c, "member_a", "wrong password")
        if resp.status_code == 429:
            clock.now += int(resp.headers["Retry-After"])
            assert attempt(c, "member_a", "wrong password").status_code == 401
    assert attempt(c, "member_a").status_code == 429
    admin = app.test_client()
    assert attempt(admin, "admin", address="10.1.1.1").status_code == 302
    from energy_coop.models import User

    with sessions.begin() as s:
        user_id = s.scalar(select(User.id).where(User.email == "ada@coop.test"))
    page = admin.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{user_id}/unlock"' in page
    assert admin.post(f"/admin/users/{user_id}/unlock").status_code == 400  # no CSRF token: refused
    assert attempt(c, "member_a").status_code == 429  # still locked
    token = form_token(admin, "/admin/users")
    resp = admin.post(f"/admin/users/{user_id}/unlock", data={f"unlock{user_id}-csrf_token": token,
                                                               "csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 200 and "Sign-in unlocked for ada@coop.test" in resp.get_data(as_text=True)
    assert attempt(c, "member_a").status_code == 302
    (row,) = audit_rows(sessions, "unlock")
    assert (row.actor, row.entity_key, row.after) == ("admin@coop.test", "ada@coop.test", {"failures_cleared": 10})


def test_an_auditor_cannot_unlock(make_app, seeded, signed_in, sessions):
    from energy_coop.models import User

    with sessions.begin() as s:
        user_id = s.scalar(select(User.id).where(User.email == "ada@coop.test"))
    auditor = signed_in("auditor")
    token = form_token(auditor, "/admin/users")
    assert auditor.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": token}).status_code == 403
    assert audit_rows(sessions, "unlock") == []


def test_users_unlock_on_the_command_line(cli, seeded, sessions):
    from energy_coop.services.accounts.sign_in_limits import Limits, record_failure, retry_after

    with sessions.begin() as s:
        for i in range(6):
            record_failure(s, "ada@coop.test", "10.0.0.1", now=1000.0 + i, limits=Limits())
        record_failure(s, "bees@coop.test", "10.0.0.1", now=1006.0, limits=Limits())
    result = cli("users", "unlock", "ADA@coop.test", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"email": "ada@coop.test", "failures_cleared": 6}
    with sessions.begin() as s:
        assert retry_after(s, "ada@coop.test", "10.0.0.1", now=1007.0, limits=Limits()) == 0
        assert s.scalars(select(SignInFailure.account)).all() == ["bees@coop.test"]  # other users' stay
    text = cli("users", "unlock", "bees@coop.test")
    assert text.exit_code == 0 and text.stdout == "unlocked sign-in for bees@coop.test: 1 failed attempts forgotten\n"
    unknown = cli("users", "unlock", "nobody@coop.test")
    assert unknown.exit_code == 4 and "no user with email 'nobody@coop.test'" in unknown.stderr  # not found: 4
    assert [r.entity_key for r in audit_rows(sessions, "unlock")] == ["ada@coop.test", "bees@coop.test"]
