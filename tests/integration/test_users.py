"""Users and API tokens: argon2id hashes, tokens stored as hashes, refusals."""

from __future__ import annotations

import json

from sqlalchemy import select

from energy_coop.models import ApiToken, AuditEntry, User
from energy_coop.services.accounts.users import check_password, user_for_token

MEMBERS = "member_number,name\n1001,Ada\n"


def test_add_users_of_each_role_and_issue_a_token(cli, write, sessions):
    assert cli("load", "members", str(write("m.csv", MEMBERS))).exit_code == 0
    r = cli("users", "add", "Admin@Example.org", "--role", "admin", "--password-stdin", input="correct horse battery\n")
    assert r.exit_code == 0, r.stderr
    r = cli("users", "add", "ada@example.org", "--role", "member", "--member", "1001", "--password-stdin", "--json",
            input="ada's long password\n")
    assert json.loads(r.stdout) == {"email": "ada@example.org", "role": "member", "member_number": "1001"}
    r = cli("users", "token", "admin@example.org")
    token = r.stdout.strip()
    assert r.exit_code == 0 and token.startswith("ecp_") and len(token) > 40
    with sessions.begin() as s:
        admin = s.scalar(select(User).where(User.email == "admin@example.org"))
        assert admin.password_hash.startswith("$argon2id$")
        assert check_password(admin, "correct horse battery") and not check_password(admin, "wrong password")
        assert user_for_token(s, token).email == "admin@example.org"
        assert user_for_token(s, token + "x") is None and user_for_token(s, "garbage") is None
        stored = s.scalars(select(ApiToken.token_sha256)).all()
        assert token not in stored and len(stored) == 1  # only the hash is kept
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.entity == "user"))]
        assert actions == ["create", "create", "create_token"]


def test_user_refusals(cli, write, sessions):
    cli("load", "members", str(write("m.csv", MEMBERS)))
    cases = [
        (["users", "add", "x@example.org", "--role", "member", "--password-stdin"], "a member user needs a member number"),
        (["users", "add", "x@example.org", "--role", "member", "--member", "9", "--password-stdin"],
         "no member with number '9'"),
        (["users", "add", "not-an-email", "--role", "admin", "--password-stdin"], "is not an email address"),
        (["users", "token", "nobody@example.org"], "no user with email"),
    ]
    for args, message in cases:
        r = cli(*args, input="a sufficiently long password\n")
        assert r.exit_code != 0 and message in r.stderr, (args, r.stderr)
    r = cli("users", "add", "short@example.org", "--role", "admin", "--password-stdin", input="short\n")
    assert r.exit_code == 2 and "too short" in r.stderr
    cli("users", "add", "a@example.org", "--role", "auditor", "--password-stdin", input="a long enough password\n")
    r = cli("users", "add", "A@example.org", "--role", "auditor", "--password-stdin", input="a long enough password\n")
    assert r.exit_code == 3 and "already exists" in r.stderr
    with sessions.begin() as s:
        assert s.scalars(select(User.email)).all() == ["a@example.org"]
