"""A seeded co-op served by the app, and a signed-in client per role.

The co-op is ``tests.helpers.small_coop`` with February 2024 metered (SUN1: 1 kWh every hour; BAT1: charging
2 kWh in night hours, discharging 1.5 kWh otherwise), posted and issued, plus four users with API tokens:
an admin, an auditor, and members 1001 and 1002.
"""

from __future__ import annotations

import datetime as dt

import pytest

from energy_coop.config import Config
from energy_coop.documents.statements import issue_month
from energy_coop.services.credits import allocation
from energy_coop.services.accounts import users
from tests.helpers import add_readings, hourly, small_coop, utc
from web import create_app

FEB = (utc(2024, 2, 1), utc(2024, 3, 1))
TODAY = dt.date(2024, 3, 5)
USERS = {
    "admin": ("admin@example.org", "admin", None),
    "auditor": ("auditor@example.org", "auditor", None),
    "member": ("ada@example.org", "member", "1001"),
    "member_b": ("bees@example.org", "member", "1002"),
}


def seed(sessions, folder) -> dict[str, str]:
    """Seed the co-op, post February 2024 and return a bearer token per role name in ``USERS``."""
    tokens = {}
    with sessions.begin() as s:
        small_coop(s, folder)
        add_readings(s, "PM-SUN1", hourly(*FEB))
        add_readings(s, "PM-BAT1", [(t, t + 3600, -2_000_000 if (t // 3600) % 24 < 6 else 1_500_000)
                                    for t in range(*FEB, 3600)])
        allocation.post(s, "2024-02", actor="test", today=TODAY)
        issue_month(s, "2024-02", actor="test")  # posted and issued, as the scheduler does
        for key, (email, role, number) in USERS.items():
            users.add_user(s, email, role, "correct horse battery", member_number=number, actor="test")
            tokens[key] = users.new_token(s, email, actor="test")
    return tokens


@pytest.fixture
def app(db_url, tmp_path):
    from web.api.db import dispose_readers

    config = Config(database_url=db_url, instance_dir=tmp_path / "instance", inbox=tmp_path / "inbox",
                    _secret_key="test-secret")
    yield create_app(config)
    dispose_readers()


@pytest.fixture
def tokens(sessions, tmp_path, monkeypatch) -> dict[str, str]:
    # API users sign in by token; their passwords only need to exist, so hash them cheaply here.
    from argon2 import PasswordHasher

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return seed(sessions, tmp_path / "registers")


class Client:
    """The Flask test client signed in with one token (or none): ``api.get("/me")`` -> response."""

    def __init__(self, app, token: str | None):
        self._client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __getattr__(self, method):
        call = getattr(self._client, method)

        def request(path, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return call("/api/v1" + path, headers=headers, **kwargs)

        return request


@pytest.fixture
def as_role(app, tokens):
    """``as_role("admin").get("/members")``; ``as_role(None)`` is anonymous."""
    return lambda role: Client(app, tokens[role] if role else None)
