"""Commands that look something up by its code or list a register: an unknown code is exit 4 with its name,
like ``coverage --meter`` (SPEC 2), and the lists show what an administrator needs (SQLite, PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from energy_coop.services.accounts.users import add_user
from tests.helpers import small_coop


@pytest.fixture
def coop(sessions, tmp_path):
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    return sessions


def test_performance_of_an_unknown_or_storage_asset_is_exit_4_naming_it(coop, cli):
    unknown = cli("performance", "2024-06", "--asset", "NOPE")
    assert unknown.exit_code == 4
    assert "no asset with code 'NOPE'" in unknown.stderr and "Traceback" not in unknown.stderr
    battery = cli("performance", "2024-06", "--asset", "BAT1", "--json")
    assert battery.exit_code == 4
    assert "BAT1 is a storage asset: performance is measured for solar assets only" in battery.stderr
    assert cli("performance", "2024-06", "--asset", "SUN1", "--json").exit_code == 0


def test_users_list_shows_every_user_and_filters_by_role(coop, cli):
    with coop.begin() as s:
        add_user(s, "admin@example.org", "admin", "correct horse battery", actor="test")
        add_user(s, "auditor@example.org", "auditor", "correct horse battery", actor="test")
        add_user(s, "m1@example.org", "member", "correct horse battery", member_number="1001", actor="test")
    result = cli("users", "list", "--json")
    assert result.exit_code == 0, result.stderr
    users = json.loads(result.stdout)["users"]
    assert [(u["email"], u["role"], u["member_number"], u["active"]) for u in users] == [
        ("admin@example.org", "admin", None, True), ("auditor@example.org", "auditor", None, True),
        ("m1@example.org", "member", "1001", True)]
    members = cli("users", "list", "--role", "member")
    assert members.stdout.split() == ["m1@example.org", "member", "member", "1001"]
    assert cli("users", "list", "--role", "boss").exit_code == 2
