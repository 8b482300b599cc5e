"""What a job function hands back to :func:`jobs.runner.run_job`.

In a module of its own so that the job functions (:mod:`jobs.inbox`, :mod:`jobs.forecasts`,
:mod:`jobs.allocation`) and the runner that calls them both import it, and neither imports the other's module
to get it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class WorkResult:
    """What a job function reports: the outcome, counts (JSON-ready) and one human sentence or two."""

    outcome: str
    counts: dict[str, Any] = field(default_factory=dict)
    message: str = ""
