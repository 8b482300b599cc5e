"""Whether the process holding a ``running`` job run is still there (SPEC section 9, recovery).

A ``running`` row is abandoned when its process is gone: on this host with a pid that no longer exists (or
our own pid when this process is not running it, e.g. a restarted container that got the same pid), or,
from anywhere, when its lease (:attr:`jobs.specs.JobSpec.lease`) has run out.
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
    if aware(now) > run.lease_until:
        return (f"its lease ran out at {run.lease_until:%Y-%m-%d %H:%M} UTC without an outcome "
                f"(host {run.host}, pid {run.pid})")
    return None
