"""The demo co-op (SPEC section 2), seeded at the edge: like the CLI, this package is an entry point.

:func:`seed_demo` is its one way in. It owns every transaction of the seeding (one per step, each committed
before the next, every step idempotent) and calls services and the demo's own steps inside them
(:mod:`energy_coop.demo.seed`, :mod:`energy_coop.demo.efficiency`), which take a session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from energy_coop.db import get_sessionmaker
from energy_coop.documents.statements import issue_month, render_pool
from energy_coop.demo.efficiency import seed_efficiency
from energy_coop.demo.logger import LOGGER_NAME, logger_request
from energy_coop.demo.seed import (
    DEMO_SETTINGS,
    DemoLogins,
    demo_months,
    demo_now,
    post_month,
    seed_manual_entries,
    seed_registers,
    write_reading_files,
)
from energy_coop.models import utcnow
from energy_coop.services.credits import issued
from energy_coop.services.forecasting import forecasts
from energy_coop.services.metering.imports import import_file
from energy_coop.services.metering.logger import submit_readings
from energy_coop.services.settings import set_settings

__all__ = ["DemoLogins", "seed_demo"]

#: Days of forecasts the demo stores: the last 30 and the next 7.
FORECAST_HISTORY_DAYS, FORECAST_DAYS = 30, 7


def seed_demo(url: str, folder: Path, *, today: dt.date, actor: str = "demo",
              progress: Callable[[str], None] | None = None) -> DemoLogins:
    """Create (or complete) the demo co-op in the database at ``url``; return its logins.

    Registers and logins; the co-op's settings (name, contact, USD, en_US, New York, an emission factor);
    13 complete months and this month so far of 15-minute readings, imported as files
    (one transaction per file), and yesterday's of one meter sent again by its data logger (:mod:`.logger`); each complete month posted (one transaction per month); a few manual ledger
    entries in the last of them; each posted month's statements issued (one transaction per month); forecasts for the last 30 and next 7 days; the efficiency programme's demo
    records. The files are written under ``folder``. ``progress`` is told the name of each step as it starts.
    """
    say = progress or (lambda _msg: None)
    sessions = get_sessionmaker(url)
    months = demo_months(today)
    now = demo_now(today)  # the demo's clock: its readings end here, and every month before it has ended
    say("registers")
    with sessions.begin() as session:
        logins = seed_registers(session, folder, today=today, actor=actor)
    say("co-op settings")
    with sessions.begin() as session:
        set_settings(session, DEMO_SETTINGS, actor=actor)  # unchanged values are left alone: idempotent
    say("meter readings")
    for path in write_reading_files(folder / "readings", months[0].first_day, today):
        with sessions.begin() as session:
            import_file(session, path, actor=actor, now=now)
    say("data logger")
    meter, body, key = logger_request(today)
    with sessions.begin() as session:
        submit_readings(session, meter, body, key=key, owner=f"user {logins.admin[0]}", source=LOGGER_NAME,
                        actor=actor, now=now)
    say("allocations")
    for month in months:
        with sessions.begin() as session:
            post_month(session, month, actor=actor, now=now)
    with sessions.begin() as session:
        seed_manual_entries(session, str(months[-1]), actor=actor, today=today)
    say("statements")
    with render_pool() as pool:  # the PDFs on every core: 13 months of 180 members' statements
        for month in months:  # in order, as months are issued
            with sessions.begin() as session:
                if issued.issued_month(session, str(month)) is None:
                    issue_month(session, str(month), actor=actor, now=utcnow(), pool=pool)
    say("forecasts")
    with sessions.begin() as session:
        forecasts.refresh_forecasts(session, today=today - dt.timedelta(days=FORECAST_HISTORY_DAYS),
                                    days=FORECAST_HISTORY_DAYS + FORECAST_DAYS)
    say("efficiency programme")
    with sessions.begin() as session:
        seed_efficiency(session, today=today, folder=folder / "efficiency", actor=actor)
    return logins
