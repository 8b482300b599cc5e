"""Members of the co-op, the people who sign in (users) and their API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from energy_coop.models.base import Base, BigInt, UTCDateTime, one_of, utcnow
from energy_coop.vocabulary import MEMBER_TYPES, ROLES



class Member(Base):
    """A shareholder. ``member_number`` is the co-op's own key (text, unique)."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(one_of("member_type", MEMBER_TYPES), name="member_type"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    member_number: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(320))
    member_type: Mapped[str] = mapped_column(String(32), default="household")
    joined_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    low_income: Mapped[bool] = mapped_column(Boolean, default=False)
    annual_usage_wh: Mapped[Optional[int]] = mapped_column(BigInteger)  # [Wh/year]
    meter_id: Mapped[Optional[int]] = mapped_column(ForeignKey("meters.id"), unique=True)

    meter: Mapped[Optional["Meter"]] = relationship(foreign_keys=[meter_id])  # noqa: F821


class User(Base):
    """Someone who signs in: an admin, an auditor, or a member (linked to their ``Member``)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint("role <> 'member' OR member_id IS NOT NULL", name="member_has_member"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[Optional[str]] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("members.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout-everywhere and password change: a session cookie carrying an older value is refused.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Optional[Member]] = relationship()


class ApiToken(Base):
    """A bearer token for the JSON API. Only the SHA-256 of the token is stored.

    A token signs in until ``expires_at`` or until it is revoked (``revoked_at``: by its user or an admin, or
    because its user's password, role or active flag changed). ``scopes`` is a space-separated list of
    ``read`` (GET requests), ``write`` (every other method) and ``meter:CODE`` (a data logger writing one
    meter's readings only); the role rules apply on top of them.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class WebSession(Base):
    """One browser's sign-in. The cookie holds a random token; only its SHA-256 is kept here. Signing out deletes
    this row (that browser only); ``User.session_version`` still ends every session at once (sign out
    everywhere, a password change, a role change, a deactivation). A row past ``expires_at`` no longer signs in
    and is deleted at the next sign-in of anyone."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    user_agent: Mapped[Optional[str]] = mapped_column(String(200))  # as the browser named itself, shortened


class SignInFailure(Base):
    """A failed sign-in: the account (email) tried, from which client address, when. Counted per (account,
    address) and per address by ``services.accounts.sign_in_limits``; in the database so that every server
    process counts them all. Rows nothing counts any more are deleted as new failures come in."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_pair", "account", "address", "at_ms"),
        Index("ix_sign_in_failures_address", "address", "at_ms"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    account: Mapped[str] = mapped_column(String(320))  # the email tried, lower case
    address: Mapped[str] = mapped_column(String(100))  # the client address as the server saw it
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)  # [ms since the Unix epoch]
