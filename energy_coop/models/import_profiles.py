"""Import profiles an administrator added (SPEC 20): the layout of a utility's export, kept as its TOML text.

The built-in profiles live in code (``energy_coop.importers.metering.profiles.builtin``); these rows are the
co-op's own, checked when added (``energy_coop.services.metering.profiles.add_profile``) and audited.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, BigInt, UTCDateTime, utcnow


class ImportProfile(Base):
    """One stored profile: its ``name`` (unique, not a built-in's), the TOML ``source``, who added it and when."""

    __tablename__ = "import_profiles"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(320))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
