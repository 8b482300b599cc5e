"""Web test fixtures: a seeded co-op with one posted month, an app bound to it, and one-line sign-in per role.

Every test here runs on SQLite and PostgreSQL (through ``db_url``). The app keeps CSRF protection on, as in
production; ``form_token`` reads the token from a page the way a browser would. Cookies are not marked Secure
here because Flask's test client talks plain http (the default, Secure, is checked in test_security).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from energy_coop.config import Config
from energy_coop.documents.statements import issue_month
from energy_coop.services.credits import allocation
from energy_coop.services.efficiency.incentives import award_incentive
from tests.efficiency.conftest import make_measure, make_programme
from energy_coop.services.accounts.users import add_user
from tests.helpers import add_readings, hourly, small_coop, utc

PASSWORD = "a long enough password"
USERS = {
    "admin": ("admin@coop.test", "admin", None),
    "auditor": ("auditor@coop.test", "auditor", None),
    "member_a": ("ada@coop.test", "member", "1001"),
    "member_b": ("bees@coop.test", "member", "1002"),
}
FEB = (utc(2024, 2, 1), utc(2024, 3, 1))


@dataclass
class Seeded:
    """Real keys of the seeded co-op, for building URLs."""

    user_ids: dict[str, int]
    run_id: int
    premises_id: int = 0  # member A's efficiency records
    audit_id: int = 0
    measure_id: int = 0
    award_id: int = 0
    programme: str = "HEAT-24"
    period: str = "2024-02"
    member_a: str = "1001"
    member_b: str = "1002"


def seed_coop(sessions, folder: Path) -> Seeded:
    """``small_coop`` + a month of hourly readings on both assets, posted and issued; a user of every role."""
    ids = {}
    with sessions.begin() as s:
        small_coop(s, folder)
        add_readings(s, "PM-SUN1", hourly(*FEB))
        add_readings(s, "PM-BAT1", hourly(*FEB, mwh=500_000), name="bat")
        for key, (email, role, number) in USERS.items():
            ids[key] = add_user(s, email, role, PASSWORD, member_number=number, actor="test").id
    with sessions.begin() as s:  # posted and issued, as the scheduler does
        outcome = allocation.post(s, "2024-02", actor="test")
        issue_month(s, "2024-02", actor="test")
    with sessions.begin() as s:  # member A's building, audit, an installed measure and its incentive
        measure = make_measure(s, "1001", status="installed")
        make_programme(s)
        award = award_incentive(s, programme_code="HEAT-24", measure_id=measure.id,
                                awarded_on=dt.date(2024, 4, 15), actor="test")
        eff_ids = dict(premises_id=measure.audit.premises_id, audit_id=measure.audit_id, measure_id=measure.id,
                       award_id=award.id)
    return Seeded(ids, outcome.run_id, **eff_ids)


@pytest.fixture
def seeded(sessions, tmp_path) -> Seeded:
    return seed_coop(sessions, tmp_path / "registers")


def make_config(db_url: str, tmp_path: Path, **kw) -> Config:
    return Config(database_url=db_url, instance_dir=tmp_path / "instance", inbox=tmp_path / "inbox",
                  _secret_key="test-secret-key-" + "x" * 32, **kw)


@pytest.fixture
def make_app(db_url, tmp_path):
    from web import create_app

    def build(config: Config | None = None, **overrides):
        overrides.setdefault("SESSION_COOKIE_SECURE", False)
        return create_app(config or make_config(db_url, tmp_path), **overrides)

    return build


@pytest.fixture
def app(make_app, seeded):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def form_token(client, url: str = "/login") -> str:
    """The CSRF token of the form on ``url`` (as a browser would send it back)."""
    html = client.get(url).get_data(as_text=True)
    match = TOKEN_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, role: str, password: str = PASSWORD):
    """Sign ``client`` in as the seeded user of ``role``; returns the response of the sign-in POST."""
    email = USERS[role][0]
    html = client.get("/login").get_data(as_text=True)
    match = TOKEN_RE.search(html)  # absent when a test turned CSRF protection off
    data = {"email": email, "password": password}
    if match:
        data["csrf_token"] = match.group(1)
    return client.post("/login", data=data)


@pytest.fixture
def signed_in(app):
    """``signed_in("admin")`` -> a test client signed in as that seeded user."""

    def make(role: str):
        c = app.test_client()
        resp = login(c, role)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        return c

    return make
