"""The append-only audit log of every change an administrator makes (who, when, what, before/after), in a hash
chain of its own (``energy_coop.calc.audit.chain``) whose end is the single ``audit_head`` row."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from energy_coop.models.base import Base, BigInt, UTCDateTime, utcnow


class AuditEntry(Base):
    """One change. UPDATE and DELETE on this table are refused by the database, and on SQLite so is an INSERT OR
    REPLACE of an existing row (see ``migrations/helpers.py``). ``seq`` is its place in the chain (1, 2, ...),
    ``hash`` the SHA-256 over ``prev_hash`` and its content; ``services.audit.record`` assigns both."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_key: Mapped[Optional[str]] = mapped_column(String(200))
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[Optional[str]] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row at the end of the audit log's chain; recording an entry locks it, so entries are chained
    one after another on every database. Triggers let it move only onto the log's last entry (migration 0015)."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
