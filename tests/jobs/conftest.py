"""Fixtures for the scheduler's tests: a small co-op, a configuration with its own inbox, a controllable clock.

Nothing here sleeps for a real schedule: every function under test takes ``now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from energy_coop.config import Config, load_config
from energy_coop.models import JobRun
from tests.helpers import small_coop

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    """A UTC time: ``at(2024, 3, 5, 10, 15)``."""
    return dt.datetime(*args, tzinfo=UTC)


def meter_csv(meter: str, start: dt.datetime, hours: int, kwh: str = "1.5") -> str:
    """A meter file (``meter_code,start,interval_minutes,kwh``) of ``hours`` hourly readings from ``start``."""
    lines = ["meter_code,start,interval_minutes,kwh"]
    for h in range(hours):
        t = start + dt.timedelta(hours=h)
        lines.append(f"{meter},{t:%Y-%m-%dT%H:%M:%SZ},60,{kwh}")
    return "\n".join(lines) + "\n"


def month_hours(period: str) -> tuple[dt.datetime, int]:
    year, month = int(period[:4]), int(period[5:7])
    start = at(year, month, 1)
    end = at(year + month // 12, month % 12 + 1, 1)
    return start, int((end - start).total_seconds() // 3600)


def make_config(db_url: str, root: Path, **env: str) -> Config:
    base = {"ENERGY_COOP_INSTANCE": str(root / "instance"), "ENERGY_COOP_INBOX": str(root / "inbox"),
            "ENERGY_COOP_INBOX_SETTLE_SECONDS": "0"}
    return load_config(db_url, env={**base, **env})


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op of tests.helpers (PM-SUN1, PM-BAT1, UTC, a rate from 2024-01-01)."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    return sessions


@pytest.fixture
def config(db_url, tmp_path) -> Config:
    """Configuration of the test database with an (existing) inbox and no settle delay; auto-posting off."""
    cfg = make_config(db_url, tmp_path)
    cfg.inbox.mkdir(parents=True)
    return cfg


@pytest.fixture
def job_rows(sessions) -> Callable[..., list[JobRun]]:
    def rows(job: str | None = None) -> list[JobRun]:
        with sessions.begin() as s:
            q = select(JobRun).order_by(JobRun.job, JobRun.period)
            if job:
                q = q.where(JobRun.job == job)
            return list(s.scalars(q))

    return rows
