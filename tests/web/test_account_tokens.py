"""The Account page lists one's own API tokens, makes one (shown once) and revokes one, with CSRF-protected
POSTs; another user's token cannot be touched. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select

from energy_coop.models import ApiToken, AuditEntry
from energy_coop.services.accounts import tokens as api_tokens
from tests.web.conftest import form_token

ACCOUNT = "/account/password"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def make_token(c, **fields):
    data = {"token-name": "my spreadsheet", "token-days": "30", "token-scope": "read"} | {
        f"token-{k}": v for k, v in fields.items()}
    return c.post("/account/tokens", data=data | {"token-csrf_token": form_token(c, ACCOUNT)})


def api_me(app, token: str, method: str = "get"):
    return getattr(app.test_client(), method)("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_make_a_token_on_the_account_page_shown_once_and_listed(app, signed_in, sessions):
    c = signed_in("member_a")
    first = text(c.get(ACCOUNT))
    assert "You have no token that still works." in first
    # the tokens section is in the page once, and not inside its <title>
    assert first.count('<h2 id="tokens-h">') == 1
    assert "<title>Your account" in first and "<section" not in first.split("</title>")[0]
    resp = make_token(c)
    assert resp.status_code == 201, text(resp)[:3000]
    token = re.search(r'<code id="new-token">(ecp_[A-Za-z0-9_-]{43})</code>', text(resp)).group(1)
    assert "Copy it now: it is shown this once and never again." in text(resp)
    assert api_me(app, token).get_json()["member_number"] == "1001"
    page = text(c.get(ACCOUNT))
    assert token not in page  # never shown again
    row = re.search(r"<tr><td>my spreadsheet</td><td>read</td>", page)
    assert row, page
    with sessions.begin() as s:
        stored = s.scalar(select(ApiToken))
        assert (stored.name, stored.scopes, (stored.expires_at - stored.created_at).days) == ("my spreadsheet",
                                                                                              "read", 30)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "create_token"))
        assert (entry.actor, entry.entity_key) == ("ada@coop.test", "ada@coop.test")


def test_revoke_from_the_account_page(app, signed_in, sessions):
    c = signed_in("member_a")
    token = re.search(r'id="new-token">([^<]+)<', text(make_token(c))).group(1)
    with sessions.begin() as s:
        token_id = s.scalar(select(ApiToken.id))
    page = text(c.get(ACCOUNT))
    assert f'action="/account/tokens/{token_id}/revoke"' in page
    resp = c.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": form_token(c, ACCOUNT)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(ACCOUNT)
    page = text(c.get(ACCOUNT))
    assert "The token \u201cmy spreadsheet\u201d was revoked: it signs in no more." in page
    assert "You have no token that still works." in page
    assert api_me(app, token).status_code == 401
    with sessions.begin() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "revoke_token"))
        assert (entry.actor, entry.after) == ("ada@coop.test", {"id": token_id, "name": "my spreadsheet"})


def test_revoking_without_the_csrf_token_or_someone_elses_token_changes_nothing(app, signed_in, sessions):
    with sessions.begin() as s:
        bees = api_tokens.issue(s, "bees@coop.test", actor="test", name="bees' logger")
    c = signed_in("member_a")
    assert c.post(f"/account/tokens/{bees.id}/revoke", data={"csrf_token": "forged"}).status_code == 400
    resp = c.post(f"/account/tokens/{bees.id}/revoke", data={"csrf_token": form_token(c, ACCOUNT)})
    assert resp.status_code == 404  # as for a token that does not exist: ids cannot be probed
    assert c.post("/account/tokens/99999/revoke", data={"csrf_token": form_token(c, ACCOUNT)}).status_code == 404
    assert "bees&#39; logger" not in text(c.get(ACCOUNT))
    assert api_me(app, bees.token).get_json()["email"] == "bees@coop.test"
    with sessions.begin() as s:
        assert s.scalar(select(ApiToken.revoked_at).where(ApiToken.id == bees.id)) is None


def test_a_bad_token_form_is_explained_beside_its_fields_and_makes_nothing(app, signed_in, sessions):
    c = signed_in("member_a")
    assert c.post("/account/tokens", data={"token-name": "x", "token-days": "30", "token-scope": "read",
                                           "token-csrf_token": "forged"}).status_code == 400
    resp = make_token(c, name="", days="\u0661\u0662", scope="read")
    assert resp.status_code == 400
    page = text(resp)
    assert "the token was not made" in page
    assert re.search(r'id="token-name-err">give the token a name, such as the program that will use it<', page)
    assert re.search(r'id="token-days-err">&#39;\u0661\u0662&#39; is not a whole number of days from 1 to 365<',
                     page)
    resp = make_token(c, scope="admin")
    assert resp.status_code == 400 and "Not a valid choice" in text(resp)
    with sessions.begin() as s:
        assert s.scalars(select(ApiToken)).all() == []


def test_an_admin_making_a_member_an_auditor_on_the_users_page_ends_their_tokens(app, signed_in, seeded, sessions):
    with sessions.begin() as s:
        ada = api_tokens.issue(s, "ada@coop.test", actor="test").token
    members = app.test_client().get("/api/v1/members", headers={"Authorization": f"Bearer {ada}"})
    assert [m["member_number"] for m in members.get_json()["members"]] == ["1001"]  # a member sees only themself
    admin = signed_in("admin")
    uid = seeded.user_ids["member_a"]
    resp = admin.post(f"/admin/users/{uid}/role", data={f"role{uid}-role": "auditor", f"role{uid}-member_number": "",
                                                        f"role{uid}-csrf_token": form_token(admin, "/admin/users")})
    assert resp.status_code == 302, text(resp)[:2000]
    members = app.test_client().get("/api/v1/members", headers={"Authorization": f"Bearer {ada}"})
    assert members.status_code == 401  # the member's token does not become an auditor's
    with sessions.begin() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "revoke_tokens"))
        assert (entry.actor, entry.entity_key, entry.after) == ("admin@coop.test", "ada@coop.test",
                                                                {"revoked": 1, "reason": "role changed"})


def test_an_admin_makes_a_data_loggers_token_for_one_meter_and_a_member_cannot(app, signed_in, sessions):
    admin = signed_in("admin")
    assert "the code of the meter it sends readings for" in text(admin.get(ACCOUNT))
    with sessions.begin() as s:
        from energy_coop.models import Meter
        code = s.scalars(select(Meter.code).order_by(Meter.code)).first()
    resp = make_token(admin, name="roof logger", meter=code)
    assert resp.status_code == 201, text(resp)[:3000]
    assert f"({'meter:' + code})" in text(resp)
    assert f"<tr><td>roof logger</td><td>meter:{code}</td>" in text(admin.get(ACCOUNT))
    member = signed_in("member_a")
    assert "the code of the meter it sends readings for" not in text(member.get(ACCOUNT))
    assert make_token(member, name="sneaky", meter=code).status_code == 201  # the field is ignored for a member
    with sessions.begin() as s:
        assert s.scalar(select(ApiToken.scopes).where(ApiToken.name == "sneaky")) == "read"
    assert make_token(admin, name="typo", meter="NO-SUCH-METER").status_code == 400
