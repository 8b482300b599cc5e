"""The job-run table: the record of what the scheduler (and ``jobs run``) ran, one row per (job, period).

Exactly-once comes from here, not from APScheduler (STYLE, APScheduler): a run is *claimed* by inserting its
row in a short committed transaction, and the UNIQUE (job, period) key lets only one process hold a period. A
failed row is re-claimed in place (``attempt`` + 1, compare-and-set), so a period never has two rows and the
table stays the one answer to "did this month's allocation run, and how did it end?". See
:mod:`jobs.runs` for the claim, retry and recovery rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, BigInt, UTCDateTime

JOB_OUTCOMES = ("running", "succeeded", "failed", "skipped")


class JobRun(Base):
    """One run of one job for one period.

    ``period`` is the job's key: the 15-minute slot for ``import-inbox`` (``2024-03-05T10:15Z``), the day for
    ``refresh-forecasts`` (``2024-03-05``), the month allocated for ``monthly-allocation`` (``2024-02``).
    ``attempt`` counts claims of the row (1 for the first; a retry of a failed run increments it).
    ``lease_until`` is when a still-``running`` row may be presumed abandoned by another host.
    ``heartbeat_at`` is when its process last said it was alive (every few seconds while it works, from its
    claim on); ten beats of silence and any scheduler takes the row over (None: written before 0018).
    ``counts`` is what the run did (files imported, Wh and cents drafted, ...), as JSON.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "period"),
        CheckConstraint("outcome IN ('running','succeeded','failed','skipped')", name="outcome"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | catch-up | manual
    started_by: Mapped[str] = mapped_column(String(320))  # "scheduler" or the user of `jobs run`
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")

    def as_dict(self) -> dict[str, Any]:
        """The run as plain JSON-ready values (``jobs list --json``, the admin page)."""
        iso = lambda t: t.isoformat() if t is not None else None
        return {
            "id": self.id, "job": self.job, "period": self.period, "outcome": self.outcome,
            "attempt": self.attempt, "trigger": self.trigger, "started_by": self.started_by,
            "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
            "heartbeat_at": iso(self.heartbeat_at), "host": self.host,
            "pid": self.pid, "counts": self.counts or {}, "message": self.message or "",
        }
