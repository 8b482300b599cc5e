"""Assets the co-op owns (solar arrays, batteries) and the meters that measure them and members' premises."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from energy_coop.models.base import Base, BigInt, one_of
from energy_coop.vocabulary import ARRAY_TYPES, ASSET_KINDS, METER_KINDS



class Meter(Base):
    """A meter: ``production`` for an asset (5/15/30/60-minute intervals), ``consumption`` for a member's premises."""

    __tablename__ = "meters"
    __table_args__ = (CheckConstraint(one_of("kind", METER_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))


class Asset(Base):
    """A solar array or battery. Physical parameters are floats (they feed pvlib, never the ledger)."""

    __tablename__ = "assets"
    __table_args__ = (
        CheckConstraint(one_of("kind", ASSET_KINDS), name="kind"),
        CheckConstraint("total_shares > 0", name="total_shares_positive"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    asset_code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float] = mapped_column(Float)  # [degrees north]
    longitude: Mapped[float] = mapped_column(Float)  # [degrees east]
    altitude_m: Mapped[Optional[float]] = mapped_column(Float)  # [m]
    total_shares: Mapped[int] = mapped_column(Integer)
    commissioned_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    # solar
    capacity_kw_dc: Mapped[Optional[float]] = mapped_column(Float)  # [kW]
    capacity_kw_ac: Mapped[Optional[float]] = mapped_column(Float)  # [kW]
    tilt_deg: Mapped[Optional[float]] = mapped_column(Float)  # [degrees from horizontal]
    azimuth_deg: Mapped[Optional[float]] = mapped_column(Float)  # [degrees, 180 = south]
    losses_pct: Mapped[Optional[float]] = mapped_column(Float)  # [%]
    array_type: Mapped[Optional[str]] = mapped_column(String(32))
    # storage
    storage_kwh: Mapped[Optional[float]] = mapped_column(Float)  # [kWh]
    storage_kw: Mapped[Optional[float]] = mapped_column(Float)  # [kW]
    roundtrip_efficiency: Mapped[Optional[float]] = mapped_column(Float)  # [0..1]

    meter: Mapped[Meter] = relationship()
