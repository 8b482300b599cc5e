"""End-to-end fixtures: the real app served by waitress on a free localhost port, driven by headless Chromium.

Browsers cannot be downloaded here, so Playwright launches the distribution's Chromium at
``ENERGY_COOP_CHROMIUM`` (default ``/usr/bin/chromium``; Debian: ``apt-get install -y chromium``). Without it
these tests skip, saying how to install it, unless ``ENERGY_COOP_REQUIRE_BROWSER=1`` (CI), where they fail.
The database is a fresh SQLite file seeded in the test process; cookies keep their production setting
(Secure: browsers accept secure cookies from http://127.0.0.1).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from energy_coop.db import dispose_all, get_sessionmaker
from tests.web.conftest import PASSWORD, USERS, Seeded, make_config, seed_coop

CHROMIUM = os.environ.get("ENERGY_COOP_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("ENERGY_COOP_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOW_TO_INSTALL = (f"end-to-end browser tests skipped: no Chromium at {CHROMIUM}. Install it with "
                  "`apt-get update && apt-get install -y chromium` (or set ENERGY_COOP_CHROMIUM to a Chromium "
                  "binary); ENERGY_COOP_REQUIRE_BROWSER=1 turns this skip into a failure.")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _chromium_available():
    if not os.path.exists(CHROMIUM):
        if REQUIRE_BROWSER:
            pytest.fail("ENERGY_COOP_REQUIRE_BROWSER=1 but " + HOW_TO_INSTALL, pytrace=False)
        pytest.skip(HOW_TO_INSTALL)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the system Chromium."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@dataclass
class LiveCoop:
    url: str
    seeded: Seeded
    sessions: object
    app: object = None

    def login(self, page, role: str, password: str = PASSWORD) -> None:
        page.goto(self.url + "/login")
        page.get_by_label("Email").fill(USERS[role][0])
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()


def _recent_readings(sessions) -> None:
    """Two weeks of hourly SUN1 readings ending today, so the member's production chart has bars."""
    from tests.helpers import add_readings

    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = int((today - dt.timedelta(days=13)).timestamp())
    rows = []
    for t in range(start, int(today.timestamp()), 3600):
        hour = (t // 3600) % 24
        rows.append((t, t + 3600, max(0, 12 - abs(hour - 12)) * 150_000 + 1))
    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", rows, name="recent")


@pytest.fixture
def live_coop(sqlite_template, tmp_path) -> LiveCoop:
    from waitress.server import create_server

    from web import create_app

    path = tmp_path / "e2e.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    sessions = get_sessionmaker(url)
    seeded = seed_coop(sessions, tmp_path / "registers")
    _recent_readings(sessions)
    app = create_app(make_config(url, tmp_path))
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield LiveCoop(f"http://127.0.0.1:{server.effective_port}", seeded, sessions, app)
    finally:
        server.close()
        thread.join(timeout=5)
        dispose_all()
