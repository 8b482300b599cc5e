"""One path for every run of a job: claim (job, period), do the work, record the outcome.

The scheduler's timed jobs, its start-up catch-up and ``energy-coop jobs run`` all call :func:`run_job`, so a
manual run is recorded like a scheduled one and cannot run a period twice. Each step has its own transaction:

1. the claim (:func:`jobs.runs.claim_run`), committed at once so other processes see it;
2. the work (the job function opens its own transaction(s) and calls services);
3. the outcome (:func:`jobs.runs.finish_run`).

Nothing here raises: a failure of the work is recorded as a failed run and logged; a failure to reach the
database at all is logged and returned (there is nowhere to record it), and the next run tries again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from energy_coop.config import Config
from energy_coop.db import get_sessionmaker
from energy_coop.models import utcnow
from energy_coop.storage_faults import translate
from jobs import allocation, forecasts, inbox, periods, recovery
from jobs import runs as job_runs
from jobs.result import WorkResult
from jobs.specs import IMPORT_INBOX, JOBS, MONTHLY_ALLOCATION, REFRESH_FORECASTS

log = logging.getLogger(__name__)

HOST = socket.gethostname()

# (job, period) keys this process is claiming, running or finishing: recovery (the hourly catch-up, in another
# thread) must not take them for abandoned although they carry our own pid. A key is added before the claim
# and removed after the outcome is written, so there is no moment when our own row looks orphaned.
_active: set[tuple[str, str]] = set()
_active_lock = threading.Lock()


def running_here() -> frozenset[tuple[str, str]]:
    with _active_lock:
        return frozenset(_active)


@dataclass
class RunResult:
    """What :func:`run_job` did. ``ran`` is False when the period was not claimed (``message`` says why);
    ``recorded`` is False when the database could not be reached to record anything."""

    job: str
    period: str | None
    ran: bool
    outcome: str | None
    message: str
    counts: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    attempt: int | None = None
    recorded: bool = True
    previous_outcome: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "period": self.period, "ran": self.ran, "outcome": self.outcome,
                "previous_outcome": self.previous_outcome, "run_id": self.run_id, "attempt": self.attempt,
                "recorded": self.recorded, "message": self.message, "counts": self.counts}


Work = Callable[..., WorkResult]


def _work_function(job: str) -> Work:
    """The job function of ``job``, looked up on its module when the run starts (so a test may replace it)."""
    if job == IMPORT_INBOX:
        return inbox.import_inbox
    if job == REFRESH_FORECASTS:
        return forecasts.refresh_forecasts
    if job == MONTHLY_ALLOCATION:
        return allocation.monthly_allocation
    raise KeyError(job)


def jsonable(value: Any) -> Any:
    """``value`` with dates, decimals and other odd types turned into JSON text (for the counts column)."""
    return json.loads(json.dumps(value, default=str))


def _first_line(exc: BaseException, database: str | None = None) -> str:
    """``exc`` in one line for a run's message: a storage fault in its plain words (never SQL), else the
    exception's class and first line."""
    fault = translate(exc, database=database)
    if fault is not None:
        return fault.message
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0] if text else ''}".rstrip(": ")


def run_job(config: Config, job: str, *, now: dt.datetime | None = None, period: str | None = None,
            trigger: str = "scheduled", started_by: str = "scheduler", force_retry: bool = False,
            rerun: bool = False) -> RunResult:
    """Run ``job`` for ``period`` (default: the period ``now`` falls in) exactly once, recorded.

    ``now`` (default: the clock) is the run's time for everything: the period, the claim, "today" for the
    services and the finish time, so tests can drive the calendar. ``force_retry`` re-claims a failed period
    at once (a person's ``jobs run``); ``rerun`` runs a finished one again (a person's ``jobs run import-inbox``:
    see :func:`jobs.runs.claim_run`).
    """
    clock_given = now is not None
    now = now or utcnow()
    schedule = config.schedule
    period = period or periods.period_for(job, now, schedule)
    key = (job, period)
    if job == IMPORT_INBOX:  # a killed scheduler's claimed files are taken over within one inbox interval
        recover(config, now=now, jobs=(IMPORT_INBOX,))
    with _active_lock:
        if key in _active:  # this very process is already at it (e.g. a firing and the catch-up at once)
            return RunResult(job, period, False, None, f"{job} {period} is already running in this process; "
                             "nothing was done", previous_outcome="running")
        _active.add(key)
    try:
        return _claim_work_finish(config, job, period, now, clock_given, trigger, started_by, force_retry, rerun)
    finally:
        with _active_lock:
            _active.discard(key)


def _claim_work_finish(config: Config, job: str, period: str, now: dt.datetime, clock_given: bool, trigger: str,
                       started_by: str, force_retry: bool, rerun: bool = False) -> RunResult:
    try:
        factory = get_sessionmaker(config.database_url)
        with factory.begin() as session:
            claim = job_runs.claim_run(session, job, period, now=now, host=HOST, pid=os.getpid(), trigger=trigger,
                                       started_by=started_by, force_retry=force_retry, rerun=rerun)
            run_id, attempt, previous = claim.run.id, claim.run.attempt, claim.run.outcome
    except Exception as exc:  # noqa: BLE001 - the database is unreachable: log, say so, try again next time
        message = f"{job} {period} could not be started: the database could not be reached ({_first_line(exc, config.database_url)})"
        log.error("%s", message)
        return RunResult(job, period, False, "failed", message, recorded=False)
    if not claim.claimed:
        log.info("%s", claim.reason)
        return RunResult(job, period, False, None, claim.reason, run_id=run_id, attempt=attempt,
                         previous_outcome=previous)

    log.info("%s %s: started (%s, attempt %d, run %d)", job, period, trigger, attempt, run_id)
    beat = Heartbeat(factory, run_id, attempt, claimed_at=now, every=config.schedule.heartbeat_seconds)
    beat.start()
    try:
        work = _work_function(job)
        result = work(config, period, now=now, run_id=run_id, actor=started_by)
        result.counts = jsonable(result.counts)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and logged; the next run still happens
        log.error("%s %s failed:\n%s", job, period, traceback.format_exc())
        result = WorkResult("failed", {}, f"failed: {_first_line(exc, config.database_url)}")
    finally:
        beat.stop()

    finished = now if clock_given else utcnow()
    try:
        with factory.begin() as session:
            written = job_runs.finish_run(session, run_id, attempt, outcome=result.outcome, now=finished,
                                          counts=result.counts, message=result.message)
    except Exception as exc:  # noqa: BLE001 - the row stays 'running'; recovery will resolve it
        log.error("%s %s: %s, but its outcome could not be recorded (%s); it stays 'running' until recovered",
                  job, period, result.outcome, _first_line(exc, config.database_url))
        return RunResult(job, period, True, result.outcome, result.message, result.counts, run_id, attempt,
                         recorded=False)
    if not written:
        log.warning("%s %s: finished %s, but another process had taken the run over; its record stands",
                    job, period, result.outcome)
    log_level = logging.INFO if result.outcome != "failed" else logging.ERROR
    log.log(log_level, "%s %s: %s - %s", job, period, result.outcome, result.message)
    return RunResult(job, period, True, result.outcome, result.message, result.counts, run_id, attempt,
                     recorded=written)


class Heartbeat:
    """A thread that writes ``job_runs.heartbeat_at`` for one claimed run every ``every`` seconds while the
    work goes on, so a scheduler on another host can tell a slow run from a dead one (ten beats of silence).

    The time written is the run's clock: ``claimed_at`` plus the time elapsed since the claim (the wall clock in
    production; a test that drives the calendar gets beats on its own calendar). Each beat is one short
    transaction on its own connection; a beat that fails (database busy or gone) is logged and the next one tries
    again. A beat that finds the row no longer ``running`` at this attempt (another process took it over) stops.
    """

    def __init__(self, factory, run_id: int, attempt: int, *, claimed_at: dt.datetime, every: float):
        self._factory, self._run_id, self._attempt, self._every = factory, run_id, attempt, every
        self._claimed_at, self._started = claimed_at, time.monotonic()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-run-{run_id}", daemon=True)
        self.beats = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stopping.wait(self._every):
            at = self._claimed_at + dt.timedelta(seconds=time.monotonic() - self._started)
            try:
                with self._factory.begin() as session:
                    alive = job_runs.beat(session, self._run_id, self._attempt, at=at)
            except Exception as exc:  # noqa: BLE001 - a missed beat is not fatal; ten in a row are
                log.warning("run %d: its heartbeat could not be written (%s)", self._run_id, _first_line(exc))
                continue
            if not alive:
                log.warning("run %d was taken over by another process; its heartbeat stops", self._run_id)
                return
            self.beats += 1


def recover(config: Config, *, now: dt.datetime | None = None,
            jobs: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Resolve runs abandoned by a crashed process (see :func:`jobs.recovery.recover_stale_runs`), of ``jobs``
    only when given (every inbox pass recovers the inbox's own).

    Returns the resolved runs as dictionaries; a database that cannot be reached is logged and yields none.
    """
    now = now or utcnow()
    try:
        with get_sessionmaker(config.database_url).begin() as session:
            runs = recovery.recover_stale_runs(session, now=now, host=HOST, running_here=running_here(),
                                               inbox=config.inbox, jobs=jobs, silence=config.schedule.silence)
            resolved = [r.as_dict() for r in runs]
    except Exception as exc:  # noqa: BLE001
        log.error("recovery of abandoned runs failed: %s", _first_line(exc, config.database_url))
        return []
    for run in resolved:
        log.warning("%s %s: %s - %s", run["job"], run["period"], run["outcome"], run["message"])
    return resolved


def catch_up(config: Config, *, now: dt.datetime | None = None) -> list[RunResult]:
    """Run, once each, the periods the job-run table says were missed (oldest first, job by job)."""
    now_given = now
    now = now or utcnow()
    schedule = config.schedule
    results = []
    for job in JOBS:
        try:
            with get_sessionmaker(config.database_url).begin() as session:
                owed = periods.missed_periods(session, job, now=now, schedule=schedule)
        except Exception as exc:  # noqa: BLE001
            log.error("catch-up of %s could not read the job runs: %s", job, _first_line(exc, config.database_url))
            continue
        for period in owed:
            log.info("%s %s: catching up", job, period)
            results.append(run_job(config, job, now=now_given, period=period, trigger="catch-up"))
    return results
