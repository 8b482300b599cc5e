"""The co-op's own settings (SPEC 13): one row per key that an administrator has set.

A key that has no row has its default (``energy_coop.services.settings.DEFAULTS``); the service is the only
writer, validates every value and records each change in the audit log with its before and after.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, UTCDateTime, utcnow


class CoopSetting(Base):
    """One setting as text: ``key`` (``coop_name``, ``currency``, ...), its ``value``, who set it and when.
    Exact decimals (the emission factor [kg CO2/kWh]) are stored as their decimal text."""

    __tablename__ = "coop_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320))
