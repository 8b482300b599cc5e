"""The Overview's to-do list (issue 18): what needs an administrator, each with what to open next.

:func:`todo` returns plain items (dicts of codes, months, counts, datetimes); the page words and links them.
Kinds, in the order the page lists them:

``scheduler``  no inbox pass recorded for two of its intervals (or none ever): no scheduler seems to run
``stale``      a posted month whose readings were revised since (``allocate --repost`` fixes it)
``unposted``   a month that is over everywhere, metered completely on every asset, and not posted
``gap``        an asset meter missing intervals in the last 7 whole days (UTC)
``wrong_sign`` a meter with readings whose sign contradicts its kind in a month (SPEC 20; ``message`` says it)
``refused``    files the inbox refused, still in its ``rejected/`` folder
``underperforming``  a solar array below the performance threshold last month
``budget``     an incentive programme that has awarded 90 % or more of its budget

The unposted check looks at months after the latest posted one (at most :data:`LOOKBACK_MONTHS`), so the
page costs a few queries per asset meter whatever the history.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.days import last_month_end
from energy_coop.config import Schedule
from energy_coop.models import AllocationRun, Asset, JobRun, Meter, Reading
from energy_coop.period import Period
from energy_coop.services.credits import allocation
from energy_coop.services.efficiency.incentives import budget_summary
from energy_coop.services.metering.coverage import coverage_from_starts, month_coverage
from energy_coop.services.metering.inbox import refused_files
from energy_coop.services.metering.queries import wrong_sign_todos
from energy_coop.timetable import IMPORT_INBOX, RECORDED_JOBS, next_times, scheduler_silence

LOOKBACK_MONTHS = 12
GAP_DAYS = 7
#: A programme is "near its budget" once it has awarded this share of it [basis points of the budget].
BUDGET_NEAR_BP = 9_000


def todo(session: Session, *, now: dt.datetime, schedule: Schedule, inbox: Path | None,
         performance: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every to-do item (see the module docstring), in page order. ``performance``: last month's rows of
    :func:`energy_coop.services.forecasting.forecasts.performance` (the Overview has them already)."""
    now = now.astimezone(dt.UTC)
    items: list[dict[str, Any]] = []
    silence = scheduler_silence(schedule, _last_start(session, IMPORT_INBOX), now)
    if silence is not None:
        items.append({"kind": "scheduler", "last_started": silence.last_started, "since": silence.since,
                      "every_minutes": int(silence.expected_every.total_seconds() // 60)})
    for run in allocation.stale_periods(session):
        items.append({"kind": "stale", "period": run.period, "since": run.stale_since, "reason": run.stale_reason})
    items += [{"kind": "unposted", "period": p} for p in _complete_unposted(session, now)]
    items += _gaps(session, now)
    items += [{"kind": "wrong_sign", **row} for row in wrong_sign_todos(session)]
    listed, total = refused_files(inbox)
    if total:
        items.append({"kind": "refused", "files": listed, "count": total})
    items += [{"kind": "underperforming", "asset_code": r["asset_code"], "period": r.get("period"),
               "performance_ratio": r.get("performance_ratio")} for r in performance if r.get("flagged")]
    for p in budget_summary(session, on=now.date()):
        if p["budget_cents"] > 0 and p["awarded_cents"] * 10_000 >= p["budget_cents"] * BUDGET_NEAR_BP:
            items.append({"kind": "budget", "code": p["code"], "name": p["name"], "budget_cents": p["budget_cents"],
                          "awarded_cents": p["awarded_cents"], "left_cents": p["left_cents"]})
    return items


def scheduler_state(session: Session, *, now: dt.datetime, schedule: Schedule) -> dict[str, Any]:
    """Each recorded job's newest run (dict or None) and next firing, and the silence warning (None when the
    scheduler has run lately): the Jobs page's timetable."""
    now = now.astimezone(dt.UTC)
    upcoming = next_times(schedule, now)
    jobs = []
    for job in RECORDED_JOBS:
        run = session.scalar(select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at.desc()).limit(1))
        jobs.append({"job": job, "next_run": upcoming[job],
                     "last_run": None if run is None else {"period": run.period, "outcome": run.outcome,
                                                           "started_at": run.started_at,
                                                           "finished_at": run.finished_at, "message": run.message}})
    silence = scheduler_silence(schedule, _last_start(session, IMPORT_INBOX), now)
    return {"jobs": jobs, "silence": silence, "inbox_minutes": schedule.inbox_minutes}


def _last_start(session: Session, job: str) -> dt.datetime | None:
    return session.scalar(select(func.max(JobRun.started_at)).where(JobRun.job == job))


def _complete_unposted(session: Session, now: dt.datetime) -> list[str]:
    zones = [(code, tz) for code, tz in session.execute(select(Asset.asset_code, Asset.timezone))]
    if not zones:
        return []
    latest_posted = session.scalar(select(func.max(AllocationRun.period)))
    month = Period.of(now.date()).previous()
    candidates = []
    while len(candidates) < LOOKBACK_MONTHS and (latest_posted is None or str(month) > latest_posted):
        if last_month_end(str(month), zones).end_utc <= now.timestamp():
            candidates.append(str(month))
        month = month.previous()
    first_reading = session.scalar(select(func.min(Reading.start)).join(Asset, Asset.meter_id == Reading.meter_id))
    if first_reading is None:
        return []
    first_month = str(Period.of(dt.datetime.fromtimestamp(first_reading, dt.UTC).date()))
    out = []
    for period in sorted(p for p in candidates if p >= first_month):
        if allocation.current_run(session, period) is None and all(c.complete for c in month_coverage(session, period)):
            out.append(period)
    return out


def _gaps(session: Session, now: dt.datetime) -> list[dict[str, Any]]:
    end = int(dt.datetime.combine(now.date(), dt.time.min, dt.UTC).timestamp())
    start = end - GAP_DAYS * 86_400
    out = []
    meters = session.execute(select(Meter.id, Meter.code, Asset.asset_code).join(Asset, Asset.meter_id == Meter.id)
                             .order_by(Meter.code)).all()
    for meter_id, code, asset_code in meters:
        rows = session.execute(select(Reading.start, Reading.end).where(
            Reading.meter_id == meter_id, Reading.start >= start, Reading.start < end)).all()
        starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        interval_s = None
        if not len(rows):  # nothing in the window: the meter's own interval, from its latest reading
            last = session.execute(select(Reading.start, Reading.end).where(Reading.meter_id == meter_id)
                                   .order_by(Reading.start.desc()).limit(1)).first()
            interval_s = (last[1] - last[0]) if last is not None and 0 < last[1] - last[0] <= 3600 else None
        cover = coverage_from_starts(code, starts, ends, start, end, interval_s)
        if not cover.complete:
            first_gap = dt.datetime.fromtimestamp(cover.gaps[0][0], dt.UTC) if cover.gaps else None
            out.append({"kind": "gap", "meter_code": code, "asset_code": asset_code,
                        "missing": cover.expected - cover.present, "expected": cover.expected,
                        "interval_minutes": cover.interval_s // 60, "first_gap": first_gap,
                        "from": dt.datetime.fromtimestamp(start, dt.UTC).date(),
                        "to": dt.datetime.fromtimestamp(end - 1, dt.UTC).date()})
    return out
