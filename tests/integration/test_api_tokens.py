"""``users token|tokens|revoke``: named, expiring, scoped tokens, listed and revoked from the command line; the
migration that gives tokens made before it an expiry. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re

from alembic import command
from sqlalchemy import select, text

from energy_coop.db import dispose_all, get_engine
from energy_coop.migrate import alembic_config
from energy_coop.models import ApiToken, AuditEntry, utcnow
from energy_coop.services.accounts.tokens import token_digest, user_for_token

MEMBERS = "member_number,name\n1001,Ada\n"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def add_admin(cli, email="admin@example.org"):
    r = cli("users", "add", email, "--role", "admin", "--password-stdin", input="correct horse battery\n")
    assert r.exit_code == 0, r.stderr


def test_a_token_with_a_name_days_and_scopes_and_its_json(cli, sessions):
    add_admin(cli)
    r = cli("users", "token", "admin@example.org", "--name", "roof logger", "--days", "30", "--scope", "read",
            "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"id", "email", "token", "name", "scopes", "created_at", "expires_at"}
    assert (doc["email"], doc["name"], doc["scopes"]) == ("admin@example.org", "roof logger", ["read"])
    created, expires = dt.datetime.fromisoformat(doc["created_at"]), dt.datetime.fromisoformat(doc["expires_at"])
    assert expires - created == dt.timedelta(days=30) and abs(utcnow() - created) < dt.timedelta(minutes=1)
    with sessions.begin() as s:
        row = s.scalar(select(ApiToken))
        assert row.token_sha256 == token_digest(doc["token"]) and doc["token"] not in row.token_sha256
        assert (row.name, row.scopes) == ("roof logger", "read")
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "create_token"))
        assert entry.after["name"] == "roof logger" and entry.after["scopes"] == ["read"]


def test_without_options_the_token_is_printed_alone_and_lasts_90_days(cli, sessions):
    add_admin(cli)
    r = cli("users", "token", "admin@example.org")
    assert r.exit_code == 0 and re.fullmatch(r"ecp_[A-Za-z0-9_-]{43}\n", r.stdout)
    with sessions.begin() as s:
        row = s.scalar(select(ApiToken))
        assert (row.name, row.scopes, row.expires_at - row.created_at) == ("token", "read write",
                                                                          dt.timedelta(days=90))


def test_list_and_revoke_with_exact_output(cli, sessions, write):
    add_admin(cli)
    assert cli("users", "tokens", "admin@example.org").stdout == "admin@example.org has no API tokens\n"
    cli("users", "token", "admin@example.org")
    cli("users", "token", "admin@example.org", "--name", "dashboard", "--days", "7", "--scope", "read")
    r = cli("users", "tokens", "admin@example.org")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "id  name       scopes      created (UTC)     expires (UTC)     status"
    assert re.fullmatch(rf"1   token      read write  {STAMP}  {STAMP}  active", lines[1]), lines[1]
    assert re.fullmatch(rf"2   dashboard  read        {STAMP}  {STAMP}  active", lines[2]), lines[2]
    assert len(lines) == 3 and "ecp_" not in r.stdout

    r = cli("users", "revoke", "admin@example.org", "2")
    assert (r.exit_code, r.stdout) == (0, "revoked token 2 (dashboard) of admin@example.org\n")
    r = cli("users", "tokens", "admin@example.org", "--json")
    doc = json.loads(r.stdout)
    assert [(t["id"], t["name"], t["scopes"], t["status"]) for t in doc["tokens"]] == [
        (1, "token", ["read", "write"], "active"), (2, "dashboard", ["read"], "revoked")]
    assert doc["tokens"][1]["revoked_at"] is not None and doc["tokens"][0]["revoked_at"] is None
    assert re.fullmatch(rf"2   dashboard  read        {STAMP}  {STAMP}  revoked {STAMP}",
                        cli("users", "tokens", "admin@example.org").stdout.splitlines()[2])
    with sessions.begin() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "user")
                            .order_by(AuditEntry.id)).all()
        assert actions == ["create", "create_token", "create_token", "revoke_token"]
        revoked = s.scalar(select(ApiToken).where(ApiToken.id == 2))
        assert revoked.revoked_at is not None
        assert s.scalar(select(ApiToken).where(ApiToken.id == 1)).revoked_at is None

    r = cli("users", "revoke", "admin@example.org", "2", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["message"].startswith(
        "token 2 (dashboard) of admin@example.org was already revoked on ")


def test_token_refusals_name_what_was_wrong_and_change_nothing(cli, sessions, write):
    add_admin(cli)
    cli("load", "members", str(write("m.csv", MEMBERS)))
    cli("users", "add", "ada@example.org", "--role", "member", "--member", "1001", "--password-stdin",
        input="ada's long password\n")
    cli("users", "token", "ada@example.org")
    cases = [
        (["users", "token", "admin@example.org", "--days", "\u0661\u0662", "--scope", "everything", "--name", ""],
         2, "error: the token was not made\n"
            "  - name: give the token a name, such as the program that will use it\n"
            "  - days: '\u0661\u0662' is not a whole number of days from 1 to 365\n"
            "  - scope: 'everything' is not a scope; use read, write or meter:CODE\n"),
        (["users", "token", "admin@example.org", "--scope", "meter:NOPE"], 2,
         "error: the token was not made\n  - scope: 'meter:NOPE': no meter with code 'NOPE' is registered\n"),
        (["users", "tokens", "nobody@example.org"], 4, "error: no user with email 'nobody@example.org'\n"),
        (["users", "revoke", "admin@example.org", "1"], 4, "error: user admin@example.org has no token with id 1\n"),
        (["users", "revoke", "admin@example.org", "\u0661"], 2,
         "error: no token was revoked\n  - TOKEN_ID: '\u0661' is not a token id; `energy-coop users tokens EMAIL` "
         "lists them\n"),
        (["users", "revoke", "nobody@example.org", "1"], 4, "error: no user with email 'nobody@example.org'\n"),
    ]
    for args, code, message in cases:
        r = cli(*args)
        assert (r.exit_code, r.stderr) == (code, message), args
    with sessions.begin() as s:  # ada's token (id 1) is untouched; no other token was made
        assert [(t.id, t.revoked_at) for t in s.scalars(select(ApiToken))] == [(1, None)]


def test_the_migration_gives_older_tokens_90_days_read_write_and_a_name(db_url):
    cfg = alembic_config(db_url)
    dispose_all()
    command.downgrade(cfg, "0010")
    try:
        engine = get_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, email, role, active, session_version, created_at) "
                              "VALUES (1, 'old@example.org', 'admin', :t, 1, :now)"),
                         {"t": True, "now": dt.datetime(2025, 1, 1)})
            conn.execute(text("INSERT INTO api_tokens (user_id, token_sha256, created_at) VALUES (1, :h, :now)"),
                         {"h": token_digest("ecp_old"), "now": dt.datetime(2025, 1, 1)})
        dispose_all()
        before = utcnow().replace(microsecond=0)
    finally:
        command.upgrade(cfg, "head")
        dispose_all()
    from energy_coop.db import get_sessionmaker

    with get_sessionmaker(db_url).begin() as s:
        row = s.scalar(select(ApiToken))
        assert (row.name, row.scopes) == ("token", "read write")
        assert before + dt.timedelta(days=90) <= row.expires_at <= utcnow() + dt.timedelta(days=90)
        assert user_for_token(s, "ecp_old").email == "old@example.org"  # it keeps working until then
        assert user_for_token(s, "ecp_old", now=before + dt.timedelta(days=91)) is None
