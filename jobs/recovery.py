"""Resolving job runs left ``running`` by a crashed process (SPEC section 9, recovery).

A ``running`` row is abandoned when its process is gone (:func:`jobs.processes.abandoned_reason`).
:func:`recover_stale_runs` takes the row over with a compare-and-set and concludes from what the run's own
transaction left behind: an allocation posted by the run means it succeeded; files an inbox run had claimed
are settled against the import batches (imported -> ``done/``, not imported -> back into the inbox); anything
else is failed and retried as :mod:`jobs.runs` says. What was concluded is written into the row's message.

When it runs: when a scheduler starts, at its hourly catch-up, and, for ``import-inbox`` runs, at the start of
every inbox pass (:func:`jobs.runner.run_job`): so a surviving scheduler takes over the files of one killed
mid-import within one inbox interval (a dead pid on this host at once; a run of another host once its
heartbeat has been silent for ten beats, five minutes by default). The scheduler also looks every minute
(its ``watch`` job), so a dead claim is released at most a minute after its silence ends, whatever the job.

Like services these functions take a session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from energy_coop.models import JobRun
from energy_coop.services.credits.allocation import current_run
from jobs.inbox_files import INBOX_DONE, INBOX_PROCESSING, settle_interrupted_inbox
from jobs.processes import abandoned_reason
from jobs.specs import IMPORT_INBOX, MONTHLY_ALLOCATION, REFRESH_FORECASTS, aware


def _resolve_allocation(session: Session, run: JobRun, inbox: Path | None) -> tuple[str, dict[str, Any], str]:
    posted = current_run(session, run.period)
    if posted is not None and posted.posted_at >= run.started_at:
        counts = {"posted": True, "allocation_run_id": posted.id, "total_wh": posted.total_wh,
                  "total_cents": posted.total_cents}
        return "succeeded", counts, (f"allocation run {posted.id} for {run.period} was committed "
                                     f"({posted.posted_at:%Y-%m-%d %H:%M} UTC) before the process died; "
                                     "marked succeeded, nothing to redo")
    if posted is not None:
        return "skipped", {"posted": True, "allocation_run_id": posted.id}, (
            f"{run.period} had been posted before this run started (run {posted.id}); nothing to redo")
    return "failed", {"posted": False}, (f"nothing was posted for {run.period} (a draft writes nothing), so it "
                                         "is failed and will be drafted again")


def _resolve_forecasts(session: Session, run: JobRun, inbox: Path | None) -> tuple[str, dict[str, Any], str]:
    return "failed", {}, "a forecast refresh replaces its rows whole, so it is failed and will simply run again"


def _resolve_inbox(session: Session, run: JobRun, inbox: Path | None) -> tuple[str, dict[str, Any], str]:
    if inbox is None:
        return "failed", {}, "the inbox folder is not known here, so its claimed files were not checked"
    folder = inbox / INBOX_PROCESSING / str(run.id)
    counts = settle_interrupted_inbox(session, inbox, folder)
    text = (f"{counts['imported']} claimed file(s) had been imported and were moved to {INBOX_DONE}/; "
            f"{counts['returned']} had not and were put back into the inbox for the next run")
    if counts["unreadable"]:
        text += f"; {counts['unreadable']} could not be read and stay in {folder}"
    return "failed", counts, text


_RESOLVERS = {MONTHLY_ALLOCATION: _resolve_allocation, REFRESH_FORECASTS: _resolve_forecasts,
              IMPORT_INBOX: _resolve_inbox}


def recover_stale_runs(session: Session, *, now: dt.datetime, host: str,
                       running_here: Collection[tuple[str, str]] = (), inbox: Path | None = None,
                       jobs: Collection[str] | None = None, silence: dt.timedelta | None = None) -> list[JobRun]:
    """Resolve every abandoned ``running`` row (of ``jobs`` only, when given; see the module docstring); return
    the rows resolved. ``silence``: how long a heartbeat may be missing (the schedule's; None: leases only).

    Each row is first taken over with a compare-and-set, so of two schedulers recovering at once only one
    settles it (on PostgreSQL the second waits on the row lock and then finds it no longer running).
    """
    now = aware(now)
    resolved = []
    query = select(JobRun).where(JobRun.outcome == "running")
    if jobs is not None:
        query = query.where(JobRun.job.in_(list(jobs)))
    candidates = session.scalars(query.order_by(JobRun.id).execution_options(populate_existing=True)).all()
    for run in candidates:
        why = abandoned_reason(run, now=now, host=host, running_here=running_here, silence=silence)
        if why is None:
            continue
        taken = session.execute(
            update(JobRun).where(JobRun.id == run.id, JobRun.outcome == "running", JobRun.attempt == run.attempt)
            .values(outcome="failed", finished_at=now).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            continue
        resolver = _RESOLVERS.get(run.job, _resolve_forecasts)
        outcome, counts, conclusion = resolver(session, run, inbox)
        merged = {**(run.counts or {}), **counts}
        session.execute(update(JobRun).where(JobRun.id == run.id).values(
            outcome=outcome, counts=merged,
            message=f"interrupted: {why}. Recovered by {host} pid {os.getpid()}: {conclusion}")
            .execution_options(synchronize_session=False))
        session.refresh(run)
        resolved.append(run)
    return resolved
