"""The scheduler process: APScheduler 3 in the foreground, its own process, never inside a web worker.

APScheduler only says *when* to try. Its job store is the default in-memory one: a job store cannot be shared
between processes (APScheduler FAQ), and none is needed, because what ran is recorded in our job-run table and
a starting scheduler works out what it missed from there (:func:`jobs.runner.catch_up`). That is how
"schedules survive restarts"; exactly-once comes from the table's UNIQUE (job, period), so a second scheduler on
the same database claims nothing twice.

Every trigger is in UTC: a local clock change can neither skip nor repeat a run, and the daily and monthly
times default to after 04:00 UTC, clear of the 01:00-03:00 window in which clocks change.

Job options, on purpose:

``coalesce=True``
    runs that piled up while the process was stalled become one: running the inbox three times in a row for
    the same files would do nothing more.
``max_instances=1``
    a slow run (a month for 100,000 members) is never overlapped by the next firing in this process; other
    processes are kept out by the claim.
``misfire_grace_time``
    how late a firing may still start: a third of a slot for the inbox (5 minutes of 15), so a late firing still
    belongs to its own slot and never competes with the next; 6 hours for the daily forecast (a late refresh
    is still worth having that morning); 24 hours for the monthly draft (APScheduler's 1 s default would silently
    drop it after a short stall; the period is derived from the date, which stays in the month for days). A
    firing missed beyond that is not lost: the hourly catch-up finds it in the job-run table.
``replace_existing=True`` with explicit ids
    one definition per job, whatever the job store ever held.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import make_url

from energy_coop.config import Config, Schedule
from energy_coop.models import utcnow
from energy_coop.timetable import CATCH_UP, WATCH
from jobs import runner
from jobs.specs import IMPORT_INBOX, MONTHLY_ALLOCATION, REFRESH_FORECASTS

log = logging.getLogger(__name__)

UTC = dt.UTC


# Module-level job functions (APScheduler refers to them by id; each catches everything, see runner.run_job).


def import_inbox_job(config: Config) -> None:
    runner.run_job(config, IMPORT_INBOX)


def refresh_forecasts_job(config: Config) -> None:
    runner.run_job(config, REFRESH_FORECASTS)


def monthly_allocation_job(config: Config) -> None:
    runner.run_job(config, MONTHLY_ALLOCATION)


def watch_job(config: Config) -> None:
    """Every minute: take over the runs of a process that stopped beating (see :mod:`jobs.processes`)."""
    runner.recover(config)


def catch_up_job(config: Config) -> None:
    """Resolve abandoned runs, then run the missed and retry-due periods (on start, then hourly)."""
    runner.recover(config)
    runner.catch_up(config)


@dataclass(frozen=True)
class Timetable:
    """One scheduled job: its APScheduler trigger, how late it may start, and a description for people."""

    job_id: str
    function: Any
    trigger: CronTrigger
    misfire_grace_time: int  # [s]
    describe: str


def timetable(schedule: Schedule) -> list[Timetable]:
    """The scheduler's jobs for ``schedule`` (all UTC)."""
    m = schedule.inbox_minutes
    f, a = schedule.forecasts_at, schedule.allocation_at
    return [
        Timetable(IMPORT_INBOX, import_inbox_job,
                  CronTrigger(minute="0" if m == 60 else f"*/{m}", timezone=UTC),
                  m * 60 // 3, f"every {m} minutes"),
        Timetable(REFRESH_FORECASTS, refresh_forecasts_job,
                  CronTrigger(hour=f.hour, minute=f.minute, timezone=UTC),
                  6 * 3600, f"daily at {f:%H:%M} UTC"),
        Timetable(MONTHLY_ALLOCATION, monthly_allocation_job,
                  CronTrigger(day=schedule.allocation_day, hour=a.hour, minute=a.minute, timezone=UTC),
                  24 * 3600, f"day {schedule.allocation_day} of each month at {a:%H:%M} UTC, for the month before"),
        Timetable(WATCH, watch_job, CronTrigger(second=30, timezone=UTC), 30,
                  f"every minute: take over the runs of a scheduler that went silent "
                  f"({schedule.silence.total_seconds():g} s without a heartbeat)"),
        Timetable(CATCH_UP, catch_up_job, CronTrigger(minute=7, timezone=UTC), 30 * 60,
                  "on start, then hourly at :07: recover abandoned runs, run missed and retry-due periods"),
    ]


def next_run_times(schedule: Schedule, now: dt.datetime | None = None) -> dict[str, dt.datetime | None]:
    """When each job fires next after ``now`` (for ``jobs list``; no scheduler needs to be running)."""
    now = now or utcnow()
    return {t.job_id: t.trigger.get_next_fire_time(None, now) for t in timetable(schedule)}


def build_scheduler(config: Config, schedule: Schedule, *, catch_up_now: bool = True) -> BlockingScheduler:
    """A BlockingScheduler with every job added (not started). The catch-up job first fires at once."""
    scheduler = BlockingScheduler(timezone=UTC, executors={"default": ThreadPoolExecutor(max_workers=4)})
    for t in timetable(schedule):
        extra = {"next_run_time": utcnow()} if (t.job_id == CATCH_UP and catch_up_now) else {}
        scheduler.add_job(t.function, t.trigger, args=(config,), id=t.job_id, name=f"{t.job_id} ({t.describe})",
                          replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=t.misfire_grace_time, **extra)
    return scheduler


def serve(config: Config, *, check_schema: Callable[[str], None] | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM or Ctrl+C.

    ``config.schedule`` is parsed first, so a malformed timetable setting stops here with a clear message
    (:class:`~energy_coop.errors.RefusedError`); so does ``check_schema`` (the CLI's "run db upgrade first").
    A missing inbox folder is created. Runs abandoned by an
    earlier process are resolved before any job fires; the missed periods are then caught up by the first
    firing of the catch-up job, in the scheduler's thread pool.
    """
    schedule = config.schedule
    log.info("scheduler starting (host %s, pid %d)", runner.HOST, os.getpid())
    if check_schema is not None:
        check_schema(config.database_url)
    if not config.inbox.exists():
        config.inbox.mkdir(parents=True, exist_ok=True)
        log.info("created the inbox %s", config.inbox)
    runner.recover(config)
    scheduler = build_scheduler(config, schedule)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping after the running jobs finish", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for t in timetable(schedule):
        log.info("job %s: %s", t.job_id, t.describe)
    log.info("scheduler started (host %s, database %s, inbox %s)", runner.HOST,
             _safe_url(config.database_url), config.inbox)
    scheduler.start()
    log.info("scheduler stopped")


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
