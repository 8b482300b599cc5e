"""Job runs (SPEC section 9): claiming a (job, period), finishing it, retrying failures, resolving runs left
behind by a crashed process, and working out which periods the scheduler missed while it was down.

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

Recovery
    A ``running`` row is abandoned when its process is gone: on this host with a pid that no longer exists (or
    our own pid when this process is not running it, e.g. a restarted container that got the same pid), or,
    from anywhere, when its lease (:attr:`JobSpec.lease`) has run out. :func:`recover_stale_runs` takes the
    row over with a compare-and-set and concludes from what the run's own transaction left behind: an
    allocation posted by the run means it succeeded; files an inbox run had claimed are settled against the
    import batches (imported -> ``done/``, not imported -> back into the inbox); anything else is failed and
    retried as above. What was concluded is written into the row's message.

Catch-up
    :func:`missed_periods` derives, from the table and the timetable, what a starting scheduler owes: every
    month whose allocation fell due since the last recorded one (bounded by :data:`MAX_CATCH_UP_MONTHS`), today's
    forecast refresh, and one inbox run for the current slot (not one per missed slot). Running it twice
    yields nothing the second time, because the first pass's runs are recorded.

Like every service these functions take a session and never commit; the caller gives each claim and each
finish its own short transaction.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from energy_coop.config import Schedule
from energy_coop.errors import RefusedError
from energy_coop.models import ImportBatch, JobRun
from energy_coop.services.credits.allocation import current_run
from energy_coop.services.metering.imports import file_sha256

IMPORT_INBOX = "import-inbox"
REFRESH_FORECASTS = "refresh-forecasts"
MONTHLY_ALLOCATION = "monthly-allocation"

#: Attempts (the first run included) after which a failed period waits for a person.
MAX_ATTEMPTS = 3
#: Wait before the scheduler's own retry, multiplied by the number of attempts beyond the first.
RETRY_BACKOFF = dt.timedelta(minutes=15)
#: How far back a starting scheduler drafts missed months (a longer outage is a matter for a person).
MAX_CATCH_UP_MONTHS = 12


@dataclass(frozen=True)
class JobSpec:
    """What the job-run machinery knows about a job: its period format and how long a run may hold it.

    ``lease`` is how long a ``running`` row is trusted without any other sign of life: well beyond the longest
    run we expect (an inbox of large files, a month for 100,000 members), so a slow run is not taken over.
    """

    name: str
    summary: str
    period_format: str
    lease: dt.timedelta
    retried: bool


JOBS: dict[str, JobSpec] = {
    IMPORT_INBOX: JobSpec(IMPORT_INBOX, "import the meter files dropped into the inbox", "YYYY-MM-DDTHH:MMZ",
                          dt.timedelta(hours=1), retried=False),
    REFRESH_FORECASTS: JobSpec(REFRESH_FORECASTS, "refresh the solar assets' forecasts for the coming days",
                               "YYYY-MM-DD", dt.timedelta(hours=2), retried=True),
    MONTHLY_ALLOCATION: JobSpec(MONTHLY_ALLOCATION, "draft last month's allocation (post it when auto-posting "
                                "is on and coverage is complete)", "YYYY-MM", dt.timedelta(hours=6), retried=True),
}


def _spec(job: str) -> JobSpec:
    try:
        return JOBS[job]
    except KeyError:
        raise RefusedError(f"there is no job called {job!r}; the jobs are {', '.join(JOBS)}") from None


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("naive datetime refused: give a timezone-aware time")
    return now.astimezone(dt.UTC)


# ---------------------------------------------------------------------------------------------- periods


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _add_months(period: str, n: int) -> str:
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + (month - 1) + n
    return _month(index // 12, index % 12 + 1)


def slot_key(now: dt.datetime, minutes: int) -> str:
    """The inbox slot containing ``now``: its start, UTC, to the minute (``2024-03-05T10:15Z``)."""
    now = _aware(now)
    start = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%MZ")


def allocation_due_at(period: str, schedule: Schedule) -> dt.datetime:
    """When the allocation of ``period`` (YYYY-MM) falls due: day ``allocation_day`` of the next month, UTC."""
    following = _add_months(period, 1)
    return dt.datetime(int(following[:4]), int(following[5:7]), schedule.allocation_day,
                       schedule.allocation_at.hour, schedule.allocation_at.minute, tzinfo=dt.UTC)


def latest_due_month(now: dt.datetime, schedule: Schedule) -> str:
    """The most recent month whose allocation has fallen due at ``now``."""
    now = _aware(now)
    previous = _add_months(_month(now.year, now.month), -1)
    return previous if allocation_due_at(previous, schedule) <= now else _add_months(previous, -1)


def period_for(job: str, now: dt.datetime, schedule: Schedule) -> str:
    """The period a run of ``job`` started at ``now`` is for (the default of ``jobs run``).

    ``import-inbox``: the current slot; ``refresh-forecasts``: today (UTC); ``monthly-allocation``: the
    month before ``now``'s month (the scheduler fires on the 3rd, so that is the month just ended).
    """
    _spec(job)
    now = _aware(now)
    if job == IMPORT_INBOX:
        return slot_key(now, schedule.inbox_minutes)
    if job == REFRESH_FORECASTS:
        return now.date().isoformat()
    return _add_months(_month(now.year, now.month), -1)


def parse_period(job: str, text: str, *, now: dt.datetime, schedule: Schedule) -> str:
    """Check a period typed for ``jobs run`` and return it in its canonical form.

    Refused: a period that does not parse for that job, a future one, a month that has not ended yet (its
    run would be recorded as done before the month's readings exist), an inbox time that is not a slot start.
    """
    spec = _spec(job)
    now = _aware(now)
    text = (text or "").strip()
    wrong = RefusedError(f"{text!r} is not a period of {job}: expected {spec.period_format}")
    if job == MONTHLY_ALLOCATION:
        try:
            parsed = dt.datetime.strptime(text, "%Y-%m")
        except ValueError:
            raise wrong from None
        period = _month(parsed.year, parsed.month)
        if period >= _month(now.year, now.month):
            raise RefusedError(f"{period} has not ended yet; a month is allocated after it ends")
        return period
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


# ---------------------------------------------------------------------------------------------- claims


@dataclass
class Claim:
    """The answer to a claim: ``claimed`` (this caller now runs ``run``), else ``reason`` says why not."""

    claimed: bool
    run: JobRun
    reason: str


def _insert_running(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT the row unless (job, period) exists; the new id, or None when another row holds the key."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the project runs on these two
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = (insert(JobRun.__table__).values(**values)
            .on_conflict_do_nothing(index_elements=["job", "period"]).returning(JobRun.__table__.c.id))
    return session.execute(stmt).scalar_one_or_none()


def _get(session: Session, job: str, period: str) -> JobRun | None:
    return session.scalar(select(JobRun).where(JobRun.job == job, JobRun.period == period)
                          .execution_options(populate_existing=True))


def retry_due(run: JobRun, now: dt.datetime) -> bool:
    """Whether the scheduler may retry this failed run by itself at ``now`` (see the module docstring)."""
    if run.outcome != "failed" or not JOBS.get(run.job, JOBS[IMPORT_INBOX]).retried:
        return False
    if run.attempt >= MAX_ATTEMPTS:
        return False
    since = run.finished_at or run.started_at
    return _aware(now) >= since + RETRY_BACKOFF * (run.attempt - 1)


def _not_claimed_reason(run: JobRun, now: dt.datetime) -> str:
    what = f"{run.job} {run.period}"
    when = lambda t: f"{t:%Y-%m-%d %H:%M} UTC" if t else "an unknown time"
    if run.outcome == "running":
        return (f"{what} is already running (attempt {run.attempt}, since {when(run.started_at)}, on {run.host}, "
                f"pid {run.pid}); nothing was done")
    if run.outcome in ("succeeded", "skipped"):
        tail = f": {run.message}" if run.message else ""
        return f"{what} already ran ({run.outcome} at {when(run.finished_at)}){tail}; nothing to do"
    if run.attempt >= MAX_ATTEMPTS or not JOBS.get(run.job, JOBS[IMPORT_INBOX]).retried:
        return (f"{what} failed (attempt {run.attempt}, {when(run.finished_at)}) and is not retried automatically; "
                f"run `energy-coop jobs run {run.job} --period {run.period}` to retry it")
    after = (run.finished_at or run.started_at) + RETRY_BACKOFF * (run.attempt - 1)
    return f"{what} failed (attempt {run.attempt}); it will be retried after {when(after)}"


def claim_run(session: Session, job: str, period: str, *, now: dt.datetime, host: str, pid: int,
              trigger: str = "scheduled", started_by: str = "scheduler", force_retry: bool = False) -> Claim:
    """Claim (job, period) for this process: insert its ``running`` row, or re-claim a failed one.

    ``force_retry`` (a person's ``jobs run``) re-claims a failed row at once, past the automatic retry limit.
    The caller commits straight after, before doing the work, so the claim is what other processes see.
    """
    spec = _spec(job)
    now = _aware(now)
    fields = {"outcome": "running", "trigger": trigger, "started_by": started_by[:320], "started_at": now,
              "finished_at": None, "lease_until": now + spec.lease, "host": host[:255], "pid": pid, "message": ""}
    new_id = _insert_running(session, dict(job=job, period=period, attempt=1, counts={}, **fields))
    if new_id is not None:
        return Claim(True, session.get(JobRun, new_id), "claimed")
    run = _get(session, job, period)
    if run is None:  # the other row was rolled back between our INSERT and SELECT: try once more
        new_id = _insert_running(session, dict(job=job, period=period, attempt=1, counts={}, **fields))
        run = session.get(JobRun, new_id) if new_id is not None else _get(session, job, period)
        if new_id is not None:
            return Claim(True, run, "claimed")
    if run.outcome == "failed" and (force_retry or retry_due(run, now)):
        earlier = list((run.counts or {}).get("earlier_failures", []))
        earlier.append({"attempt": run.attempt, "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                        "message": run.message})
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run.id, JobRun.outcome == "failed", JobRun.attempt == run.attempt)
            .values(attempt=run.attempt + 1, counts={"earlier_failures": earlier[-MAX_ATTEMPTS * 3:]}, **fields)
            .execution_options(synchronize_session=False))
        run = _get(session, job, period)
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
        .values(outcome=outcome, finished_at=_aware(now), counts=merged, message=message)
        .execution_options(synchronize_session=False))
    session.expire(run)
    return result.rowcount == 1


# ---------------------------------------------------------------------------------------------- recovery


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (one we may not signal still exists)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned_reason(run: JobRun, *, now: dt.datetime, host: str,
                     running_here: Collection[tuple[str, str]] = ()) -> str | None:
    """Why a ``running`` row is presumed abandoned, or None while its process may still be running it.

    ``running_here`` holds the (job, period) keys this very process is claiming, running or finishing.
    """
    if run.outcome != "running":
        return None
    if run.host == host:
        if run.pid == os.getpid():
            if (run.job, run.period) not in running_here:
                return f"this process (pid {run.pid} on {host}) is not running it: an earlier process with that pid died"
        elif not process_alive(run.pid):
            return f"its process (pid {run.pid} on {host}) is gone"
    if _aware(now) > run.lease_until:
        return (f"its lease ran out at {run.lease_until:%Y-%m-%d %H:%M} UTC without an outcome "
                f"(host {run.host}, pid {run.pid})")
    return None


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
                       running_here: Collection[tuple[str, str]] = (), inbox: Path | None = None) -> list[JobRun]:
    """Resolve every abandoned ``running`` row (see the module docstring); return the rows resolved.

    Each row is first taken over with a compare-and-set, so of two schedulers recovering at once only one
    settles it (on PostgreSQL the second waits on the row lock and then finds it no longer running).
    """
    now = _aware(now)
    resolved = []
    candidates = session.scalars(select(JobRun).where(JobRun.outcome == "running").order_by(JobRun.id)
                                 .execution_options(populate_existing=True)).all()
    for run in candidates:
        why = abandoned_reason(run, now=now, host=host, running_here=running_here)
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


# ---------------------------------------------------------------------------------------------- catch-up


def missed_periods(session: Session, job: str, *, now: dt.datetime, schedule: Schedule) -> list[str]:
    """The periods of ``job`` a scheduler starting at ``now`` should run once (oldest first).

    Derived only from the job-run table and the timetable, so it needs no scheduler state of its own.
    """
    _spec(job)
    now = _aware(now)
    if job in (IMPORT_INBOX, REFRESH_FORECASTS):
        period = period_for(job, now, schedule)
        run = _get(session, job, period)
        if run is None or (job == REFRESH_FORECASTS and retry_due(run, now)):
            return [period]
        return []
    latest = latest_due_month(now, schedule)
    earliest = _add_months(latest, -(MAX_CATCH_UP_MONTHS - 1))
    runs = {r.period: r for r in session.scalars(
        select(JobRun).where(JobRun.job == job, JobRun.period >= earliest, JobRun.period <= latest))}
    last_recorded = session.scalar(select(JobRun.period).where(JobRun.job == job)
                                   .order_by(JobRun.period.desc()).limit(1))
    if last_recorded is None:
        wanted = {latest}  # a new installation starts with the month now due, not with history
    else:
        wanted = set()
        period = max(_add_months(last_recorded, 1), earliest)
        while period <= latest:
            wanted.add(period)
            period = _add_months(period, 1)
    wanted |= {p for p, r in runs.items() if retry_due(r, now)}
    return sorted(p for p in wanted if p not in runs or retry_due(runs[p], now))


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


# ---------------------------------------------------------------------------------------------- inbox folders
#
# The inbox job moves each file it owns through these subfolders of the inbox: a file is claimed by renaming
# it into processing/<run id>/ (a rename is atomic, so of two runs exactly one gets it), then moved to done/
# (imported, or already imported) or rejected/ (refused, with <name>.report.json beside it).

INBOX_DONE = "done"
INBOX_REJECTED = "rejected"
INBOX_PROCESSING = "processing"
PARTIAL_SUFFIXES = (".part", ".tmp")
REPORT_SUFFIX = ".report.json"


def inbox_candidate(name: str) -> bool:
    """Whether a file name in the inbox is one to import: not hidden, not a partial upload, not our report."""
    lower = name.lower()
    return not (name.startswith(".") or lower.endswith(PARTIAL_SUFFIXES) or lower.endswith(REPORT_SUFFIX))


def move_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` (created) without overwriting: ``name``, else ``name-2.ext``, ...."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem}-{n}{path.suffix}"
    os.rename(path, target)
    return target


def settle_interrupted_inbox(session: Session, inbox: Path, folder: Path) -> dict[str, Any]:
    """Settle the files an interrupted inbox run had claimed (in ``folder``) against the import batches.

    A file whose SHA-256 has an import batch was committed: it goes to ``done/``. One without was not: it goes
    back into the inbox, where the next run imports it. Returns the counts and the batches found.
    """
    counts: dict[str, Any] = {"imported": 0, "returned": 0, "unreadable": 0, "batches": []}
    if not folder.is_dir():
        return counts
    for path in sorted(folder.iterdir()):
        try:
            digest = file_sha256(path)
        except OSError:
            counts["unreadable"] += 1
            continue
        batch = session.scalar(select(ImportBatch.id).where(ImportBatch.sha256 == digest))
        if batch is not None:
            move_aside(path, inbox / INBOX_DONE)
            counts["imported"] += 1
            counts["batches"].append(batch)
        else:
            move_aside(path, inbox)
            counts["returned"] += 1
    try:
        folder.rmdir()
    except OSError:
        pass
    return counts
