"""Issued statements (SPEC 13): the months whose statements are frozen, and each statement's stored files.

Both tables are append-only (migration triggers refuse UPDATE and DELETE): an issued statement never changes.
A later posting or a repost of an issued month is booked in the open month (``ledger_entries.booked``) and
shows on that month's statement instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, BigInt, UTCDateTime


class IssuedMonth(Base):
    """One month whose statements are issued: when, by whom, how many, and the ledger as it stood."""

    __tablename__ = "issued_months"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(320))
    statements: Mapped[int] = mapped_column(Integer)  # how many statements were issued
    ledger_seq: Mapped[int] = mapped_column(BigInteger)  # the last ledger entry when they were issued
    allocation_run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"))  # the month's run then


class IssuedStatement(Base):
    """One member's statement of one issued month: its number, and its files with their SHA-256.

    ``document`` is ``Statement.as_dict()`` as the files were rendered from it (the JSON statement);
    ``pdf`` and ``csv`` are the exact bytes every download and export returns.
    """

    __tablename__ = "issued_statements"
    __table_args__ = (UniqueConstraint("period", "member_id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    period: Mapped[str] = mapped_column(ForeignKey("issued_months.period"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)  # "2026-11-1001": period and member number
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    csv: Mapped[bytes] = mapped_column(LargeBinary)
    csv_sha256: Mapped[str] = mapped_column(String(64))
