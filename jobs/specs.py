"""The jobs the job-run machinery knows (SPEC section 9): their names, period formats, leases and retry limits.

The bottom of :mod:`jobs`: every other module of the bookkeeping (:mod:`jobs.runs`, :mod:`jobs.periods`,
:mod:`jobs.processes`, :mod:`jobs.recovery`) reads the job table and the retry limits from here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from energy_coop.errors import RefusedError
from energy_coop.timetable import IMPORT_INBOX, MONTHLY_ALLOCATION, REFRESH_FORECASTS  # noqa: F401 - the names

#: Attempts (the first run included) after which a failed period waits for a person.
MAX_ATTEMPTS = 3
#: Wait before the scheduler's own retry, multiplied by the number of attempts beyond the first.
RETRY_BACKOFF = dt.timedelta(minutes=15)


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


def spec(job: str) -> JobSpec:
    """The :class:`JobSpec` of ``job``; an unknown name is refused with the list of jobs."""
    try:
        return JOBS[job]
    except KeyError:
        raise RefusedError(f"there is no job called {job!r}; the jobs are {', '.join(JOBS)}") from None


def retried(job: str) -> bool:
    """Whether the scheduler retries a failed run of ``job`` by itself (an unknown job: like the inbox, no)."""
    return JOBS.get(job, JOBS[IMPORT_INBOX]).retried


def aware(now: dt.datetime) -> dt.datetime:
    """``now`` in UTC; a naive datetime is refused (a ``ValueError``)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime refused: give a timezone-aware time")
    return now.astimezone(dt.UTC)
