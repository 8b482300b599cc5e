"""Meter readings, the import batches that brought them, and the history of revised values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, BigInt, UTCDateTime, one_of, utcnow
from energy_coop.vocabulary import READING_QUALITIES


class ImportBatch(Base):
    """One imported file: name, SHA-256, who and when, and what it did. Refused files leave no batch."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(16))  # csv | greenbutton | profile (a utility export, SPEC 20)
    imported_by: Mapped[str] = mapped_column(String(320))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16))  # imported | partial (some rows rejected)
    meters: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    revised: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Reading(Base):
    """The current value of one interval of one meter.

    Times are UTC epoch seconds [s] (exact, cheap to compare and to bulk-insert); ``mwh`` is the energy [mWh]:
    positive = exported by an asset (or used by premises), negative = a battery charging.
    """

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("meter_id", "start"),
        CheckConstraint('"end" > start', name="end_after_start"),
        CheckConstraint(one_of("quality", READING_QUALITIES), name="quality"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    mwh: Mapped[int] = mapped_column(BigInteger)
    quality: Mapped[str] = mapped_column(String(16), default="actual")
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)


class ReadingRevision(Base):
    """A value a reading used to have, with the batch that brought it and the batch that replaced it."""

    __tablename__ = "reading_revisions"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    reading_id: Mapped[int] = mapped_column(ForeignKey("readings.id"), index=True)
    mwh: Mapped[int] = mapped_column(BigInteger)
    quality: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"))
    replaced_by_batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
