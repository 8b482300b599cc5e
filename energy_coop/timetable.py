"""When each scheduled job fires next, from the :class:`~energy_coop.config.Schedule` alone (SPEC section 9).

The scheduler process (``jobs.scheduler``) hands the same timetable to APScheduler as cron triggers; this module
answers "when next?" and "what is late?" without APScheduler and without a running scheduler, for the pages
and the API (the web may not import ``jobs``). ``tests/jobs/test_timetable.py`` holds the two to agree.

All times are UTC datetimes. A firing "at" a time includes that very second, as a cron trigger's does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from energy_coop.config import Schedule

IMPORT_INBOX = "import-inbox"
REFRESH_FORECASTS = "refresh-forecasts"
MONTHLY_ALLOCATION = "monthly-allocation"
WATCH = "watch"
CATCH_UP = "catch-up"

#: The jobs that do work and leave a row in ``job_runs`` (the watch and the catch-up only look).
RECORDED_JOBS: tuple[str, ...] = (IMPORT_INBOX, REFRESH_FORECASTS, MONTHLY_ALLOCATION)
#: What a person reads for each job's name.
JOB_LABELS: dict[str, str] = {IMPORT_INBOX: "Import the inbox", REFRESH_FORECASTS: "Refresh forecasts",
                              MONTHLY_ALLOCATION: "Monthly allocation draft", WATCH: "Watch for silent runs",
                              CATCH_UP: "Catch up missed runs"}


def _ceil_second(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("naive datetime refused: give a timezone-aware time")
    now = now.astimezone(dt.UTC)
    return now if now.microsecond == 0 else now.replace(microsecond=0) + dt.timedelta(seconds=1)


def next_inbox_pass(schedule: Schedule, now: dt.datetime) -> dt.datetime:
    """The next inbox slot start at or after ``now``: every ``inbox_minutes`` from the hour."""
    t = _ceil_second(now)
    m = schedule.inbox_minutes
    base = t.replace(minute=0, second=0)
    slot = base + dt.timedelta(minutes=-(-((t - base) // dt.timedelta(seconds=1)) // (m * 60)) * m)
    return slot


def _daily(at: dt.time, now: dt.datetime) -> dt.datetime:
    t = _ceil_second(now)
    candidate = t.replace(hour=at.hour, minute=at.minute, second=0)
    return candidate if candidate >= t else candidate + dt.timedelta(days=1)


def next_allocation(schedule: Schedule, now: dt.datetime) -> dt.datetime:
    """The next monthly draft: day ``allocation_day`` at ``allocation_at``."""
    t = _ceil_second(now)
    at = schedule.allocation_at
    candidate = t.replace(day=schedule.allocation_day, hour=at.hour, minute=at.minute, second=0)
    if candidate < t:
        year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
        candidate = candidate.replace(year=year, month=month)
    return candidate


def next_watch(now: dt.datetime) -> dt.datetime:
    """The scheduler's watch: every minute at :30 seconds."""
    t = _ceil_second(now)
    candidate = t.replace(second=30)
    return candidate if candidate >= t else candidate + dt.timedelta(minutes=1)


def next_catch_up(now: dt.datetime) -> dt.datetime:
    """The hourly catch-up at :07."""
    t = _ceil_second(now)
    candidate = t.replace(minute=7, second=0)
    return candidate if candidate >= t else candidate + dt.timedelta(hours=1)


def next_times(schedule: Schedule, now: dt.datetime) -> dict[str, dt.datetime]:
    """When each of the scheduler's jobs fires next at or after ``now``."""
    return {IMPORT_INBOX: next_inbox_pass(schedule, now),
            REFRESH_FORECASTS: _daily(schedule.forecasts_at, now),
            MONTHLY_ALLOCATION: next_allocation(schedule, now),
            WATCH: next_watch(now), CATCH_UP: next_catch_up(now)}


def interval(schedule: Schedule, job: str) -> dt.timedelta:
    """How far apart two firings of ``job`` are at most [a month: 31 days]."""
    return {IMPORT_INBOX: dt.timedelta(minutes=schedule.inbox_minutes), REFRESH_FORECASTS: dt.timedelta(days=1),
            MONTHLY_ALLOCATION: dt.timedelta(days=31), WATCH: dt.timedelta(minutes=1),
            CATCH_UP: dt.timedelta(hours=1)}[job]


@dataclass(frozen=True)
class Silence:
    """The scheduler looks stopped: its most frequent recorded job (the inbox) has no run for two intervals."""

    last_started: dt.datetime | None   # the newest inbox run's start, None when none was ever recorded
    expected_every: dt.timedelta
    since: dt.datetime | None          # when two intervals without a run ended (None: never ran)


def scheduler_silence(schedule: Schedule, last_inbox_start: dt.datetime | None, now: dt.datetime) -> Silence | None:
    """A :class:`Silence` when no inbox pass was recorded for two of its intervals before ``now`` (or ever),
    else None. The inbox fires every ``inbox_minutes``, so two missed slots mean no scheduler is running."""
    every = interval(schedule, IMPORT_INBOX)
    if last_inbox_start is None:
        return Silence(None, every, None)
    limit = last_inbox_start + 2 * every
    if now.astimezone(dt.UTC) > limit:
        return Silence(last_inbox_start, every, limit)
    return None
