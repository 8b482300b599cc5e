"""The share register: transactions only. Holdings on any day are derived from them (``calc.holdings``)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from energy_coop.models.assets import Asset
from energy_coop.models.base import Base, BigInt, one_of
from energy_coop.models.members import Member
from energy_coop.vocabulary import SHARE_KINDS



class ShareTransaction(Base):
    """An issue, transfer or redemption of shares in one asset, effective from 00:00 local of ``date``."""

    __tablename__ = "share_transactions"
    __table_args__ = (
        CheckConstraint(one_of("kind", SHARE_KINDS), name="kind"),
        CheckConstraint("shares > 0", name="shares_positive"),
        CheckConstraint(
            "(kind = 'transfer') = (from_member_id IS NOT NULL)", name="from_member_only_on_transfer"
        ),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("members.id"), index=True)
    shares: Mapped[int] = mapped_column(Integer)
    price_per_share_cents: Mapped[Optional[int]] = mapped_column(BigInteger)  # [cents]

    asset: Mapped[Asset] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    from_member: Mapped[Optional[Member]] = relationship(foreign_keys=[from_member_id])
