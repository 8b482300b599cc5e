"""The periods of the jobs (SPEC section 9) and the catch-up: what a run is for, and what a scheduler owes.

Each job has its own period key: ``import-inbox`` a 15-minute slot (``2024-03-05T10:15Z``), ``refresh-forecasts``
a UTC day (``2024-03-05``), ``monthly-allocation`` a month (``2024-02``, an :class:`energy_coop.period.Period`).
All times are UTC and must be timezone-aware.

Catch-up
    :func:`missed_periods` derives, from the job-run table and the timetable, what a starting scheduler owes:
    every month whose allocation fell due since the last recorded one (bounded by :data:`MAX_CATCH_UP_MONTHS`),
    today's forecast refresh, and one inbox run for the current slot (not one per missed slot). Running it twice
    yields nothing the second time, because the first pass's runs are recorded.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.config import Schedule
from energy_coop.errors import RefusedError
from energy_coop.models import JobRun
from energy_coop.period import Period
from energy_coop.services.credits.allocation import current_run
from jobs.runs import get_run, retry_due
from jobs.specs import IMPORT_INBOX, MONTHLY_ALLOCATION, REFRESH_FORECASTS, aware, spec

#: How far back a starting scheduler drafts missed months (a longer outage is a matter for a person).
MAX_CATCH_UP_MONTHS = 12


def slot_key(now: dt.datetime, minutes: int) -> str:
    """The inbox slot containing ``now``: its start, UTC, to the minute (``2024-03-05T10:15Z``)."""
    now = aware(now)
    start = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%MZ")


def allocation_due_at(period: str, schedule: Schedule) -> dt.datetime:
    """When the allocation of ``period`` (YYYY-MM) falls due: day ``allocation_day`` of the next month, UTC."""
    following = Period.parse(period).next()
    return dt.datetime(following.year, following.month, schedule.allocation_day,
                       schedule.allocation_at.hour, schedule.allocation_at.minute, tzinfo=dt.UTC)


def latest_due_month(now: dt.datetime, schedule: Schedule) -> str:
    """The most recent month whose allocation has fallen due at ``now``."""
    now = aware(now)
    previous = Period.of(now).previous()
    return str(previous if allocation_due_at(str(previous), schedule) <= now else previous.previous())


def period_for(job: str, now: dt.datetime, schedule: Schedule) -> str:
    """The period a run of ``job`` started at ``now`` is for (the default of ``jobs run``).

    ``import-inbox``: the current slot; ``refresh-forecasts``: today (UTC); ``monthly-allocation``: the
    month before ``now``'s month (the scheduler fires on the 3rd, so that is the month just ended).
    """
    spec(job)
    now = aware(now)
    if job == IMPORT_INBOX:
        return slot_key(now, schedule.inbox_minutes)
    if job == REFRESH_FORECASTS:
        return now.date().isoformat()
    return str(Period.of(now).previous())


def parse_period(job: str, text: str, *, now: dt.datetime, schedule: Schedule) -> str:
    """Check a period typed for ``jobs run`` and return it in its canonical form.

    A month may be typed with a one-digit month (``2024-2`` -> ``2024-02``). Refused: a period that does not
    parse for that job, a future one, a month that has not ended yet (its run would be recorded as done before
    the month's readings exist), an inbox time that is not a slot start.
    """
    job_spec = spec(job)
    now = aware(now)
    text = (text or "").strip()
    wrong = RefusedError(f"{text!r} is not a period of {job}: expected {job_spec.period_format}")
    if job == MONTHLY_ALLOCATION:
        try:
            month = Period.of(dt.datetime.strptime(text, "%Y-%m"))
        except ValueError:
            raise wrong from None
        if month >= Period.of(now):
            raise RefusedError(f"{month} has not ended yet; a month is allocated after it ends")
        return str(month)
    if job == REFRESH_FORECASTS:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise wrong from None
        if day > now.date():
            raise RefusedError(f"{day} is in the future; forecasts are refreshed on the day or later")
        return day.isoformat()
    try:
        start = dt.datetime.strptime(text.replace("+00:00", "Z"), "%Y-%m-%dT%H:%MZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise wrong from None
    if start.minute % schedule.inbox_minutes:
        raise RefusedError(f"{text} is not the start of an inbox slot (every {schedule.inbox_minutes} minutes "
                           f"from the hour)")
    if start > now:
        raise RefusedError(f"{text} is in the future")
    return slot_key(start, schedule.inbox_minutes)


def missed_periods(session: Session, job: str, *, now: dt.datetime, schedule: Schedule) -> list[str]:
    """The periods of ``job`` a scheduler starting at ``now`` should run once (oldest first).

    Derived from the job-run table and the timetable, so it needs no scheduler state of its own; a month
    already posted (by hand or by an earlier run) is not owed.
    """
    spec(job)
    now = aware(now)
    if job in (IMPORT_INBOX, REFRESH_FORECASTS):
        period = period_for(job, now, schedule)
        run = get_run(session, job, period)
        if run is None or (job == REFRESH_FORECASTS and retry_due(run, now)):
            return [period]
        return []
    latest = Period.parse(latest_due_month(now, schedule))
    earliest = latest.add(-(MAX_CATCH_UP_MONTHS - 1))
    runs = {r.period: r for r in session.scalars(
        select(JobRun).where(JobRun.job == job, JobRun.period >= str(earliest), JobRun.period <= str(latest)))}
    last_recorded = session.scalar(select(JobRun.period).where(JobRun.job == job)
                                   .order_by(JobRun.period.desc()).limit(1))
    if last_recorded is None:
        wanted = {str(latest)}  # a new installation starts with the month now due, not with history
    else:
        wanted = set()
        month = max(Period.parse(last_recorded).next(), earliest)
        while month <= latest:
            wanted.add(str(month))
            month = month.next()
    wanted |= {p for p, r in runs.items() if retry_due(r, now)}
    owed = sorted(p for p in wanted if p not in runs or retry_due(runs[p], now))
    # a month posted by hand (``allocate --post``, the admin page) is not owed: the job would only skip it
    return [p for p in owed if current_run(session, p) is None]
