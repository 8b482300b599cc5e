"""Whether the process holding a ``running`` job run is still there (SPEC section 9, recovery).

A ``running`` row is abandoned when its process is gone: on this host with a pid that no longer exists (or
our own pid when this process is not running it, e.g. a restarted container that got the same pid); on
another host, when its heartbeat has been silent for :attr:`energy_coop.config.Schedule.silence` (ten beats: a
process there was killed, or the host lost its power or its network); from anywhere, when its lease
(:attr:`jobs.specs.JobSpec.lease`) has run out (the last word, and the only one for rows written before
heartbeats existed). On its own host a live pid is trusted over a silent heartbeat: a SQLite database is
only ever shared on one host, and its writer lock can hold a beat back for as long as an import runs.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection

from energy_coop.models import JobRun
from jobs.specs import aware


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
                     running_here: Collection[tuple[str, str]] = (),
                     silence: dt.timedelta | None = None) -> str | None:
    """Why a ``running`` row is presumed abandoned, or None while its process may still be running it.

    ``running_here`` holds the (job, period) keys this very process is claiming, running or finishing;
    ``silence`` is how long a heartbeat may be missing (None: heartbeats are not looked at).
    """
    if run.outcome != "running":
        return None
    if run.host == host:
        if run.pid == os.getpid():
            if (run.job, run.period) not in running_here:
                return f"this process (pid {run.pid} on {host}) is not running it: an earlier process with that pid died"
        elif not process_alive(run.pid):
            return f"its process (pid {run.pid} on {host}) is gone"
    if run.host != host and silence is not None and run.heartbeat_at is not None and aware(now) - run.heartbeat_at > silence:
        return (f"its process (pid {run.pid} on {run.host}) has not been heard from since "
                f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC (it writes a heartbeat every "
                f"{_seconds(silence / 10)}; {_seconds(silence)} of silence means it stopped)")
    if aware(now) > run.lease_until:
        return (f"its lease ran out at {run.lease_until:%Y-%m-%d %H:%M} UTC without an outcome "
                f"(host {run.host}, pid {run.pid})")
    return None


def _seconds(span: dt.timedelta) -> str:
    seconds = round(span.total_seconds())
    return f"{seconds // 60} minutes" if seconds >= 120 and seconds % 60 == 0 else f"{seconds} s"
