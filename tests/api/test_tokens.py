"""API tokens end: they expire, are revoked one by one, and end with a password, role or active change; their
scopes limit what they do (read: GET only; write: the other methods; meter:CODE: that meter's readings only).
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from flask import Flask, g

from energy_coop.errors import RefusedError
from energy_coop.models import utcnow
from energy_coop.services.accounts import sessions as accounts
from energy_coop.services.accounts import tokens as api_tokens
from energy_coop.services.accounts import users
from tests.api.conftest import Client
from tests.api.test_writes_and_auth import march_csv, ok, upload


def issue(sessions, email, **options) -> str:
    with sessions.begin() as s:
        return api_tokens.issue(s, email, actor="test", **options).token


def user_id(sessions, email) -> int:
    with sessions.begin() as s:
        return users.find_user(s, email).id


def test_a_token_past_its_expiry_is_401(app, sessions, tokens):
    made = utcnow() - dt.timedelta(days=31)
    old = issue(sessions, "admin@example.org", days=30, now=made)
    fresh = issue(sessions, "admin@example.org", days=1)
    body = ok(Client(app, old).get("/me"), 401)
    assert body["message"] == ("that token is not valid: it is unknown, expired or revoked, or its user is "
                               "deactivated")
    assert ok(Client(app, fresh).get("/me"))["email"] == "admin@example.org"


def test_a_token_lasts_90_days_unless_told(sessions, tokens):
    with sessions.begin() as s:
        now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
        issued = api_tokens.issue(s, "ada@example.org", actor="test", now=now)
        assert issued.expires_at == dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
        assert issued.scopes == ("read", "write") and issued.name == "token"
        grant = api_tokens.grant_for_token(s, issued.token, now=now + dt.timedelta(days=89, hours=23))
        assert grant is not None and grant.user.email == "ada@example.org"
        assert api_tokens.grant_for_token(s, issued.token, now=now + dt.timedelta(days=90)) is None


def test_one_revoked_token_is_401_and_the_users_other_tokens_go_on(app, sessions, tokens):
    second = issue(sessions, "ada@example.org", name="laptop script")
    with sessions.begin() as s:
        first_id = api_tokens.list_tokens(s, "ada@example.org")[0]["id"]
        api_tokens.revoke(s, "ada@example.org", first_id, actor="admin@example.org")
    assert ok(Client(app, tokens["member"]).get("/me"), 401)["error"] == "unauthorized"
    assert ok(Client(app, second).get("/me"))["member_number"] == "1001"


def test_a_read_scoped_token_reads_but_every_write_is_403(app, sessions, tokens):
    reader = Client(app, issue(sessions, "admin@example.org", name="dashboard", scopes=["read"]))
    assert ok(reader.get("/members"))  # reading works
    for response in (reader.post("/allocations/2024-02", json={"post": True}), upload(reader, march_csv()),
                     reader.post("/ledger", json={})):
        assert ok(response, 403) == {"error": "forbidden", "details": [], "message": (
            "this token may not write here (its scopes: read); make a token with the write scope")}
    # nothing was imported by it: the admin's full token finds the three March readings new
    assert ok(upload(Client(app, tokens["admin"]), march_csv()))["accepted"] == 3


def test_a_write_only_or_meter_token_may_not_read(app, sessions, tokens):
    writer = Client(app, issue(sessions, "admin@example.org", scopes=["write"]))
    body = ok(writer.get("/me"), 403)
    assert body["message"] == "this token may not read (its scopes: write); make a token with the read scope"
    logger = Client(app, issue(sessions, "admin@example.org", name="roof logger", scopes=["meter:PM-SUN1"]))
    assert ok(logger.get("/members"), 403)["error"] == "forbidden"
    body = ok(upload(logger, march_csv()), 403)  # a logger writes its meter's readings endpoint only
    assert "its scopes: meter:PM-SUN1" in body["message"]


def test_a_meter_token_writes_to_its_own_meters_endpoint_only():
    """The scope rule on its own, on a bare app (the real endpoint, SPEC 20's ``/meters/<meter_code>/readings``, is
    tested in ``test_logger_readings``)."""
    from web.api.auth import Principal, check_scopes

    app = Flask(__name__)
    scopes = frozenset({"meter:PM-SUN1"})

    @app.before_request
    def sign_in():
        g.principal = Principal("logger@example.org", "admin", None, scopes)
        return check_scopes(g.principal)

    @app.route("/meters/<meter_code>/readings", methods=["GET", "POST"])
    def readings(meter_code):
        return {"meter": meter_code}

    c = app.test_client()
    assert c.post("/meters/PM-SUN1/readings").get_json() == {"meter": "PM-SUN1"}
    assert c.post("/meters/PM-BAT1/readings").status_code == 403
    assert c.get("/meters/PM-SUN1/readings").status_code == 403
    assert Principal("x", "admin", None, scopes).meters == {"PM-SUN1"}


def test_the_role_change_from_member_to_auditor_ends_the_members_token(app, sessions, tokens):
    member = Client(app, tokens["member"])
    assert ok(member.get("/members/1002"), 404)  # a member does not see another member
    with sessions.begin() as s:
        accounts.change_role(s, user_id(sessions, "ada@example.org"), "auditor", None, actor="admin@example.org")
    assert ok(member.get("/members/1002"), 401)["error"] == "unauthorized"
    assert ok(member.get("/members"), 401)["error"] == "unauthorized"


def test_a_password_reset_a_password_change_and_deactivation_end_tokens(app, sessions, tokens):
    with sessions.begin() as s:
        accounts.reset_password(s, user_id(sessions, "ada@example.org"), "a new long password",
                                actor="admin@example.org")
    assert ok(Client(app, tokens["member"]).get("/me"), 401)["error"] == "unauthorized"
    with sessions.begin() as s:
        accounts.change_own_password(s, user_id(sessions, "bees@example.org"), "correct horse battery",
                                     "another long password", lifetime=dt.timedelta(hours=1))
    assert ok(Client(app, tokens["member_b"]).get("/me"), 401)["error"] == "unauthorized"
    with sessions.begin() as s:
        accounts.set_active(s, user_id(sessions, "auditor@example.org"), False, actor="admin@example.org")
    with sessions.begin() as s:
        accounts.set_active(s, user_id(sessions, "auditor@example.org"), True, actor="admin@example.org")
    assert ok(Client(app, tokens["auditor"]).get("/me"), 401)["error"] == "unauthorized"  # reactivating: still ended
    assert ok(Client(app, tokens["admin"]).get("/me"))["role"] == "admin"


@pytest.mark.parametrize("options, field, reason", [
    ({"days": 0}, "days", "0 is not a whole number of days from 1 to 365"),
    ({"days": "366"}, "days", "'366' is not a whole number of days from 1 to 365"),
    ({"days": "\u0661\u0662"}, "days", "'\u0661\u0662' is not a whole number of days from 1 to 365"),
    ({"name": " "}, "name", "give the token a name, such as the program that will use it"),
    ({"name": "x" * 101}, "name", "is 101 characters long; use at most 100"),
    ({"name": "a\x00b"}, "name", "may not hold control characters (tabs, line breaks, NUL)"),
    ({"scopes": ["admin"]}, "scope", "'admin' is not a scope; use read, write or meter:CODE"),
    ({"scopes": ["meter:NOPE"]}, "scope", "'meter:NOPE': no meter with code 'NOPE' is registered"),
    ({"scopes": ["meter:"]}, "scope", "'meter:' needs the meter's code, as in meter:PM-SUN1"),
])
def test_bad_token_requests_are_refused_by_field_and_make_nothing(sessions, tokens, options, field, reason):
    with sessions.begin() as s:
        before = len(api_tokens.list_tokens(s, "admin@example.org"))
        with pytest.raises(RefusedError) as refused:
            api_tokens.issue(s, "admin@example.org", actor="test", **options)
    assert refused.value.message == "the token was not made"
    assert [(e.field, e.reason) for e in refused.value.errors] == [(field, reason)]
    with sessions.begin() as s:
        assert len(api_tokens.list_tokens(s, "admin@example.org")) == before
