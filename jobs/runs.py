"""Job runs (SPEC section 9): claiming a (job, period), finishing it, retrying failures, listing what ran.

The ``job_runs`` table (:class:`~energy_coop.models.JobRun`) is the record of what ran; APScheduler only
decides *when* to try. The rules:

Claim
    A run is claimed by INSERTing its (job, period) row as ``running`` (``INSERT ... ON CONFLICT DO NOTHING``)
    in the caller's short transaction, committed before any work starts. The UNIQUE (job, period) key means a
    second scheduler on the same database, or a ``jobs run`` typed at the same moment, finds the row and does
    nothing. The work then happens in transactions of its own, and :func:`finish_run` writes the outcome.

Retry
    Only a ``failed`` row is ever claimed again, in place: ``UPDATE ... WHERE outcome = 'failed' AND attempt =
    <the attempt we read>`` (a compare-and-set: of two processes retrying at once, one updates the row and the
    other updates nothing). The scheduler retries a failed run by itself at most :data:`MAX_ATTEMPTS` times in
    all: the first retry at its next catch-up pass (on start and hourly), each later one no sooner than
    :data:`RETRY_BACKOFF` x (attempts so far - 1) after the last failure. After that only a person retries it,
    with ``energy-coop jobs run NAME --period P``, which re-claims a failed period at any time. A ``succeeded``
    or ``skipped`` period is never run again: asking for it is a no-op that says so. Import-inbox slots are not
    retried (the next slot, 15 minutes later, imports whatever is still in the inbox).

The rest of the bookkeeping is beside this module: the jobs and their limits in :mod:`jobs.specs`, periods
and the catch-up in :mod:`jobs.periods`, whether a run's process is alive in :mod:`jobs.processes`, the
resolution of abandoned runs in :mod:`jobs.recovery`, the inbox's file moves in :mod:`jobs.inbox_files`.

Like services these functions take a session and never commit; the caller gives each claim and each finish
its own short transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from energy_coop.models import JobRun
from jobs.specs import JOBS, MAX_ATTEMPTS, RETRY_BACKOFF, aware, retried, spec

#: The INSERT ... ON CONFLICT construct of each database the project runs on.
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass
class Claim:
    """The answer to a claim: ``claimed`` (this caller now runs ``run``), else ``reason`` says why not."""

    claimed: bool
    run: JobRun
    reason: str


def _insert_running(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT the row unless (job, period) exists; the new id, or None when another row holds the key."""
    dialect = session.get_bind().dialect.name
    insert = _INSERT.get(dialect)
    if insert is None:  # pragma: no cover - the project runs on these two
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = (insert(JobRun.__table__).values(**values)
            .on_conflict_do_nothing(index_elements=["job", "period"]).returning(JobRun.__table__.c.id))
    return session.execute(stmt).scalar_one_or_none()


def get_run(session: Session, job: str, period: str) -> JobRun | None:
    """The row of (job, period) as the database has it now, or None."""
    return session.scalar(select(JobRun).where(JobRun.job == job, JobRun.period == period)
                          .execution_options(populate_existing=True))


def retry_due(run: JobRun, now: dt.datetime) -> bool:
    """Whether the scheduler may retry this failed run by itself at ``now`` (see the module docstring)."""
    if run.outcome != "failed" or not retried(run.job):
        return False
    if run.attempt >= MAX_ATTEMPTS:
        return False
    since = run.finished_at or run.started_at
    return aware(now) >= since + RETRY_BACKOFF * (run.attempt - 1)


def _not_claimed_reason(run: JobRun, now: dt.datetime) -> str:
    what = f"{run.job} {run.period}"
    when = lambda t: f"{t:%Y-%m-%d %H:%M} UTC" if t else "an unknown time"
    if run.outcome == "running":
        return (f"{what} is already running (attempt {run.attempt}, since {when(run.started_at)}, on {run.host}, "
                f"pid {run.pid}); nothing was done")
    if run.outcome in ("succeeded", "skipped"):
        tail = f": {run.message}" if run.message else ""
        return f"{what} already ran ({run.outcome} at {when(run.finished_at)}){tail}; nothing to do"
    if run.attempt >= MAX_ATTEMPTS or not retried(run.job):
        return (f"{what} failed (attempt {run.attempt}, {when(run.finished_at)}) and is not retried automatically; "
                f"run `energy-coop jobs run {run.job} --period {run.period}` to retry it")
    after = (run.finished_at or run.started_at) + RETRY_BACKOFF * (run.attempt - 1)
    return f"{what} failed (attempt {run.attempt}); it will be retried after {when(after)}"


def beat(session: Session, run_id: int, attempt: int, *, at: dt.datetime) -> bool:
    """Write that the process holding run ``run_id`` (at ``attempt``) is alive at ``at``; False when the row is
    no longer ``running`` at that attempt (taken over: nothing written)."""
    result = session.execute(
        update(JobRun).where(JobRun.id == run_id, JobRun.outcome == "running", JobRun.attempt == attempt)
        .values(heartbeat_at=aware(at)).execution_options(synchronize_session=False))
    return result.rowcount == 1


def claim_run(session: Session, job: str, period: str, *, now: dt.datetime, host: str, pid: int,
              trigger: str = "scheduled", started_by: str = "scheduler", force_retry: bool = False,
              rerun: bool = False) -> Claim:
    """Claim (job, period) for this process: insert its ``running`` row, or re-claim a failed one.

    ``force_retry`` (a person's ``jobs run``) re-claims a failed row at once, past the automatic retry limit.
    ``rerun`` re-claims a finished (succeeded or skipped) row too: a person's ``jobs run import-inbox`` imports
    what is in the inbox now, although the slot's scheduled pass already ran (importing is idempotent).
    The caller commits straight after, before doing the work, so the claim is what other processes see.
    """
    job_spec = spec(job)
    now = aware(now)
    fields = {"outcome": "running", "trigger": trigger, "started_by": started_by[:320], "started_at": now,
              "finished_at": None, "lease_until": now + job_spec.lease, "heartbeat_at": now, "host": host[:255],
              "pid": pid,
              "message": ""}
    new_id = _insert_running(session, dict(job=job, period=period, attempt=1, counts={}, **fields))
    if new_id is not None:
        return Claim(True, session.get(JobRun, new_id), "claimed")
    run = get_run(session, job, period)
    if run is None:  # the other row was rolled back between our INSERT and SELECT: try once more
        new_id = _insert_running(session, dict(job=job, period=period, attempt=1, counts={}, **fields))
        run = session.get(JobRun, new_id) if new_id is not None else get_run(session, job, period)
        if new_id is not None:
            return Claim(True, run, "claimed")
    if rerun and run.outcome in ("succeeded", "skipped"):
        earlier = list((run.counts or {}).get("earlier_runs", []))
        earlier.append({"attempt": run.attempt, "outcome": run.outcome, "trigger": run.trigger,
                        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                        "message": run.message})
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run.id, JobRun.outcome == run.outcome, JobRun.attempt == run.attempt)
            .values(attempt=run.attempt + 1, counts={"earlier_runs": earlier[-20:]}, **fields)
            .execution_options(synchronize_session=False))
        run = get_run(session, job, period)
        if result.rowcount == 1:
            return Claim(True, run, f"run again by hand (attempt {run.attempt})")
        return Claim(False, run, f"{job} {period} was started by another process at the same moment; nothing was done")
    if run.outcome == "failed" and (force_retry or retry_due(run, now)):
        earlier = list((run.counts or {}).get("earlier_failures", []))
        earlier.append({"attempt": run.attempt, "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                        "message": run.message})
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run.id, JobRun.outcome == "failed", JobRun.attempt == run.attempt)
            .values(attempt=run.attempt + 1, counts={"earlier_failures": earlier[-MAX_ATTEMPTS * 3:]}, **fields)
            .execution_options(synchronize_session=False))
        run = get_run(session, job, period)
        if result.rowcount == 1:
            return Claim(True, run, f"retry (attempt {run.attempt})")
        return Claim(False, run, f"{job} {period} was retried by another process at the same moment; nothing was done")
    return Claim(False, run, _not_claimed_reason(run, now))


def finish_run(session: Session, run_id: int, attempt: int, *, outcome: str, now: dt.datetime,
               counts: dict[str, Any] | None = None, message: str = "") -> bool:
    """Write the outcome of a claimed run; False when the claim was lost meanwhile (nothing written).

    The claim is lost when recovery on another host took the row over after its lease ran out (and perhaps
    re-claimed it): the compare-and-set on (outcome 'running', attempt) keeps a late finisher from
    overwriting the newer attempt's record.
    """
    if outcome not in ("succeeded", "failed", "skipped"):
        raise ValueError(f"not a final outcome: {outcome!r}")
    run = session.get(JobRun, run_id, populate_existing=True)
    if run is None or run.outcome != "running" or run.attempt != attempt:
        return False
    merged = dict(counts or {})
    if (run.counts or {}).get("earlier_failures"):
        merged["earlier_failures"] = run.counts["earlier_failures"]
    result = session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.outcome == "running", JobRun.attempt == attempt)
        .values(outcome=outcome, finished_at=aware(now), counts=merged, message=message)
        .execution_options(synchronize_session=False))
    session.expire(run)
    return result.rowcount == 1


# ---------------------------------------------------------------------------------------------- reading


def list_runs(session: Session, limit: int = 100, job: str | None = None) -> list[JobRun]:
    """The most recent job runs first (the admin page and ``jobs list``)."""
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job is not None:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))


def last_runs(session: Session) -> dict[str, JobRun | None]:
    """The most recently started run of every job (None for a job that never ran)."""
    return {job: (list_runs(session, 1, job) or [None])[0] for job in JOBS}
