"""Allocation runs and the credit ledger (SPEC sections 5 and 6).

The ledger is append-only: the database refuses UPDATE and DELETE of ``ledger_entries`` (migration triggers).
A correction is a new entry; a posted allocation is undone by one reversal entry per entry, and
``reverses_seq`` is UNIQUE so nothing can be reversed twice. Each entry carries the SHA-256 of the previous
entry's hash and its own content (see ``energy_coop.calc.credits.chain``), so an export can be verified offline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from energy_coop.models.assets import Asset
from energy_coop.models.base import Base, BigInt, UTCDateTime, one_of, utcnow
from energy_coop.models.members import Member
from energy_coop.vocabulary import ENTRY_KINDS

GENESIS_HASH = "0" * 64


class AllocationRun(Base):
    """One posting of one month. ``generation`` counts reposts; (period, generation) is unique, so of two
    processes posting the same month at once exactly one can commit."""

    __tablename__ = "allocation_runs"
    __table_args__ = (UniqueConstraint("period", "generation"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    generation: Mapped[int] = mapped_column(Integer)
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted_by: Mapped[str] = mapped_column(String(320))
    allow_gaps: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    total_wh: Mapped[int] = mapped_column(BigInteger)  # [Wh], members and COOP
    total_cents: Mapped[int] = mapped_column(BigInteger)  # [cents], members and COOP
    member_wh: Mapped[int] = mapped_column(BigInteger)  # [Wh] posted to members' accounts
    member_cents: Mapped[int] = mapped_column(BigInteger)  # [cents] posted to members' accounts
    entries: Mapped[int] = mapped_column(Integer)
    # the allocate --json document as posted, stored without its own run_id (see posted_document)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    replaces_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("allocation_runs.id"), unique=True)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    stale_since: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    stale_reason: Mapped[Optional[str]] = mapped_column(Text)

    @property
    def posted_document(self) -> dict[str, Any]:
        """The ``allocate --json`` document of this run, ``run_id`` filled in."""
        return {**self.document, "status": "posted", "run_id": self.id}


MANUAL_WHERE = "kind IN ('adjustment', 'payout', 'bill_application')"  # the entries an admin makes by hand


class LedgerEntry(Base):
    """One credit or debit on a member's account: energy [Wh] and money [cents]."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(one_of("kind", ENTRY_KINDS), name="kind"),
        CheckConstraint("(kind = 'reversal') = (reverses_seq IS NOT NULL)", name="reversal_links_entry"),
        # A member's credits and statements (by booked month) read only this index: their entries side by side
        # in one place instead of one table page per month (migrations 0007, 0013).
        Index("ix_ledger_entries_member_credits", "member_id", "booked", "period", "asset_id", "kind", "wh",
              "cents"),
        # The admins' list of manual entries, newest first, without reading the allocation entries (migration
        # 0009); partial, so posting a month's allocation pays nothing for it.
        Index("ix_ledger_entries_manual", "seq", sqlite_where=text(MANUAL_WHERE),
              postgresql_where=text(MANUAL_WHERE)),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    period: Mapped[Optional[str]] = mapped_column(String(7), index=True)  # the month it is for (YYYY-MM)
    # the month whose statement shows it (YYYY-MM, SPEC 13; calc.credits.booking): its period while that
    # month's statements are not issued, otherwise the month after the latest issued month
    booked: Mapped[str] = mapped_column(String(7), index=True)
    asset_id: Mapped[Optional[int]] = mapped_column(ForeignKey("assets.id"))
    wh: Mapped[int] = mapped_column(BigInteger, default=0)
    cents: Mapped[int] = mapped_column(BigInteger, default=0)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    reverses_seq: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_entries.seq"), unique=True)
    memo: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    member: Mapped[Member] = relationship()
    asset: Mapped[Optional[Asset]] = relationship()


class LedgerHead(Base):
    """The single row at the end of the chain; appending locks it, so appends are serial on every database."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    total_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger, default=0)
