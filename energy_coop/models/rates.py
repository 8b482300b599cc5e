"""Credit rates: a step function of time, per asset or for every asset (``asset_id`` NULL)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from energy_coop.models.assets import Asset
from energy_coop.models.base import Base, BigInt, UTCDateTime


class CreditRate(Base):
    """``rate_micros`` [1e-6 currency per kWh] holds from ``valid_from`` until the next row of the same scope.

    ``scope`` is the asset code, or ``*`` for every asset: a plain column so that the pair
    (valid_from, scope) can be unique on SQLite and PostgreSQL alike (NULLs are never equal in a UNIQUE).
    """

    __tablename__ = "credit_rates"
    __table_args__ = (
        UniqueConstraint("valid_from", "scope"),
        CheckConstraint("rate_micros >= 0", name="rate_not_negative"),
        CheckConstraint("(scope = '*') = (asset_id IS NULL)", name="scope_matches_asset"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(64), default="*")
    asset_id: Mapped[Optional[int]] = mapped_column(ForeignKey("assets.id"), index=True)
    rate_micros: Mapped[int] = mapped_column(BigInteger)

    asset: Mapped[Optional[Asset]] = relationship()
