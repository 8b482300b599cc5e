"""Stored generation forecasts (SPEC section 7): expected AC energy per interval per solar asset."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, BigInt, UTCDateTime, utcnow


class Forecast(Base):
    """Expected energy of one interval of one asset [Wh], with a low/high band when no weather was given.

    A refresh replaces the rows it covers (unique asset + start), so the table holds the latest expectation for
    every interval: what members see for the coming days and what the performance ratio compares against.
    """

    __tablename__ = "forecasts"
    __table_args__ = (
        UniqueConstraint("asset_id", "start"),
        CheckConstraint('"end" > start', name="end_after_start"),
        CheckConstraint("source IN ('weather','typical')", name="source"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    start: Mapped[int] = mapped_column(BigInteger)  # [UTC epoch s]
    end: Mapped[int] = mapped_column(BigInteger)  # [UTC epoch s]
    wh: Mapped[int] = mapped_column(BigInteger)  # [Wh] expected
    wh_low: Mapped[Optional[int]] = mapped_column(BigInteger)  # [Wh] typical-year low band
    wh_high: Mapped[Optional[int]] = mapped_column(BigInteger)  # [Wh] typical-year high band
    source: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
