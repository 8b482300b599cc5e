"""Readings sent by data loggers through the API (SPEC section 20): each idempotency key and its answer.

A logger sends ``POST /api/v1/meters/{meter_code}/readings`` with an ``Idempotency-Key`` header. The first request
with a key stores its readings (an import batch, like a file's) and its answer here; the same key with the same
body (same SHA-256 of the canonical body) gets that answer again without storing anything twice, and the same key
with another body is refused. The unique constraint on (owner, key) is what makes two requests racing with one key
store once. Rows are kept for ``services.metering.logger.KEEP_DAYS`` days and pruned as new keys come in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, BigInt, UTCDateTime, utcnow


class ReadingSubmission(Base):
    """One idempotency key of one sender: ``owner`` is ``token ID`` (the API token that sent it) or ``user EMAIL``;
    ``request_sha256`` the SHA-256 of the canonical body (meter code and readings); ``status_code`` and ``answer``
    the HTTP status and JSON document given the first time; ``batch_id`` the import batch it stored, if any."""

    __tablename__ = "reading_submissions"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    owner: Mapped[str] = mapped_column(String(400))
    key: Mapped[str] = mapped_column(String(255))
    meter_code: Mapped[str] = mapped_column(String(64))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
