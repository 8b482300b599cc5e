"""API bearer tokens (SPEC section 10): named, expiring, scoped, revocable; only their SHA-256 is stored.

A token is ``ecp_`` followed by 43 random URL-safe characters, shown once when it is made. It signs in for
``days`` days (1 to :data:`MAX_DAYS`, :data:`DEFAULT_DAYS` unless told) with the rights of its *scopes*:

- ``read``: GET requests;
- ``write``: every other method (POST, PATCH, PUT, DELETE);
- ``meter:CODE``: a data logger (SPEC section 20) writing readings for the meter ``CODE`` only.

The role rules of the user still apply on top (a member's ``write`` token writes nothing an admin's would).
A token ends when it expires, when it is revoked (by its user on the Account page, by an administrator with
``users revoke``), and every token of a user ends when their password is changed or reset, their role changes
or they are deactivated (:func:`revoke_all`, called from :mod:`energy_coop.services.accounts.sessions`).
Creations and revocations are written to the audit log. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError, RefusedError, RowError
from energy_coop.models import ApiToken, Meter, User, utcnow
from energy_coop.services import audit

TOKEN_PREFIX = "ecp_"
DEFAULT_DAYS = 90  # [days] a token lasts unless told otherwise
MAX_DAYS = 365  # [days] the longest a token may last: a forgotten token ends within a year
DEFAULT_NAME = "token"
MAX_NAME_LENGTH = 100  # characters
MAX_SCOPES = 20
READ, WRITE, METER = "read", "write", "meter:"
DEFAULT_SCOPES = (READ, WRITE)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) kept in place of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Grant:
    """What a presented token admits: its user (an ORM object of the caller's transaction) and its scopes."""

    user: User
    token_id: int
    scopes: frozenset[str]
    name: str = ""

    @property
    def may_read(self) -> bool:
        return READ in self.scopes

    @property
    def may_write(self) -> bool:
        return WRITE in self.scopes

    @property
    def meters(self) -> frozenset[str]:
        """The meter codes this token may write readings for (its ``meter:CODE`` scopes)."""
        return frozenset(s[len(METER):] for s in self.scopes if s.startswith(METER))


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: ``token`` is shown to its user once and never stored."""

    id: int
    email: str
    token: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    expires_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "token": self.token, "name": self.name,
                "scopes": list(self.scopes), "created_at": self.created_at.isoformat(),
                "expires_at": self.expires_at.isoformat()}


def status(row: ApiToken, now: dt.datetime) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if row.revoked_at is not None:
        return "revoked"
    return "active" if row.expires_at > now else "expired"


def describe(row: ApiToken, now: dt.datetime | None = None) -> dict[str, Any]:
    """A token as its user or an administrator may see it (never the token: it is not kept)."""
    now = now or utcnow()
    return {"id": row.id, "name": row.name, "scopes": row.scopes.split(), "created_at": row.created_at,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at, "status": status(row, now)}


def _find_user(session: Session, email: str) -> User:
    email = (email or "").strip().lower()
    user = session.scalar(select(User).where(User.email == email)) if len(email) <= 320 else None
    if user is None:
        raise NotFoundError(f"no user with email {email!r}")
    return user


def _check_name(name: str | None) -> tuple[str, list[RowError]]:
    name = DEFAULT_NAME if name is None else name.strip()
    if not name:
        return name, [RowError("", "name", "give the token a name, such as the program that will use it")]
    if len(name) > MAX_NAME_LENGTH:
        return name, [RowError("", "name", f"is {len(name)} characters long; use at most {MAX_NAME_LENGTH}")]
    if not name.isprintable():
        return name, [RowError("", "name", "may not hold control characters (tabs, line breaks, NUL)")]
    return name, []


def _check_days(days: int | str | None) -> tuple[int, list[RowError]]:
    """``days`` as a number, or as text of ASCII digits only (a form's or a command's field)."""
    if days is None or (isinstance(days, str) and not days.strip()):
        return DEFAULT_DAYS, []
    if isinstance(days, str):
        text = days.strip()
        value = int(text) if len(text) <= 6 and text.isascii() and text.isdigit() else None
    else:
        value = days if isinstance(days, int) and not isinstance(days, bool) else None
    if value is None or not 1 <= value <= MAX_DAYS:
        shown = days if not isinstance(days, str) or len(days) <= 20 else days[:20] + "..."
        return DEFAULT_DAYS, [RowError("", "days", f"{shown!r} is not a whole number of days from 1 to {MAX_DAYS}")]
    return value, []


def parse_scopes(session: Session, scopes: Iterable[str] | None) -> tuple[tuple[str, ...], list[RowError]]:
    """The scopes asked for (words separated by spaces or commas; none given: ``read write``), in a stable
    order, and the problems with them. A ``meter:CODE`` must name a registered meter."""
    words = [w for raw in (scopes or ()) for w in str(raw).replace(",", " ").split()]
    if not words:
        return DEFAULT_SCOPES, []
    problems: list[RowError] = []
    found: list[str] = []
    if len(words) > MAX_SCOPES:
        return (), [RowError("", "scope", f"{len(words)} scopes were given; a token takes at most {MAX_SCOPES}")]
    for word in words:
        if word in (READ, WRITE):
            scope = word
        elif word.startswith(METER) and word[len(METER):].isprintable() and len(word) <= len(METER) + 64:
            code = word[len(METER):]
            if not code:
                problems.append(RowError("", "scope", "'meter:' needs the meter's code, as in meter:PM-SUN1"))
                continue
            if session.scalar(select(Meter.id).where(Meter.code == code)) is None:
                problems.append(RowError("", "scope", f"{word!r}: no meter with code {code!r} is registered"))
                continue
            scope = word
        else:
            shown = word if len(word) <= 80 else word[:80] + "..."
            problems.append(RowError("", "scope", f"{shown!r} is not a scope; use read, write or meter:CODE"))
            continue
        if scope not in found:
            found.append(scope)
    order = {READ: 0, WRITE: 1}
    return tuple(sorted(found, key=lambda s: (order.get(s, 2), s))), problems


def issue(session: Session, email: str, *, actor: str, name: str | None = None, days: int | str | None = None,
          scopes: Iterable[str] | None = None, now: dt.datetime | None = None) -> IssuedToken:
    """Make a token for the active user ``email``: ``name`` (default "token"), lasting ``days`` [days]
    (default 90, at most 365), with ``scopes`` (default read and write). Refused whole, naming every problem."""
    user = _find_user(session, email)
    return _issue(session, user, actor=actor, name=name, days=days, scopes=scopes, now=now)


def issue_own(session: Session, user_id: int, *, name: str | None, days: int | str | None,
              scopes: Iterable[str] | None, now: dt.datetime | None = None) -> IssuedToken:
    """A signed-in user makes a token for themself (the Account page)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return _issue(session, user, actor=user.email, name=name, days=days, scopes=scopes, now=now)


def _issue(session: Session, user: User, *, actor: str, name: str | None, days: int | str | None,
           scopes: Iterable[str] | None, now: dt.datetime | None) -> IssuedToken:
    if not user.active:
        raise RefusedError(f"user {user.email} is deactivated")
    name, problems = _check_name(name)
    days, day_problems = _check_days(days)
    granted, scope_problems = parse_scopes(session, scopes)
    problems += day_problems + scope_problems
    if problems:
        raise RefusedError("the token was not made", problems)
    now = (now or utcnow()).replace(microsecond=0)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_sha256=token_digest(token), name=name, scopes=" ".join(granted),
                   created_at=now, expires_at=now + dt.timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="create_token", entity="user", key=user.email,
                 after={"id": row.id, "name": name, "scopes": list(granted), "expires_at": row.expires_at})
    return IssuedToken(row.id, user.email, token, name, granted, row.created_at, row.expires_at)


def grant_for_token(session: Session, token: str, *, now: dt.datetime | None = None) -> Grant | None:
    """What a bearer token admits, or None: malformed, unknown, revoked or expired, or its user deactivated."""
    if not token or len(token) > 200 or not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_sha256 == token_digest(token), ApiToken.revoked_at.is_(None),
                               ApiToken.expires_at > (now or utcnow()))
    )
    if row is None or not row.user.active:
        return None
    return Grant(row.user, row.id, frozenset(row.scopes.split()), row.name)


def user_for_token(session: Session, token: str, *, now: dt.datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, or None (see :func:`grant_for_token`)."""
    grant = grant_for_token(session, token, now=now)
    return grant.user if grant is not None else None


def list_tokens(session: Session, email: str, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every token of the user ``email``, oldest first, with its status (see :func:`describe`)."""
    user = _find_user(session, email)
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return [describe(row, now) for row in rows]


def own_tokens(session: Session, user_id: int, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The signed-in user's tokens that still sign in, newest first."""
    now = now or utcnow()
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
                                                  ApiToken.expires_at > now).order_by(ApiToken.id.desc()))
    return [describe(row, now) for row in rows]


def revoke(session: Session, email: str, token_id: int, *, actor: str) -> dict[str, Any]:
    """An administrator ends one token of the user ``email``."""
    return _revoke(session, _find_user(session, email), token_id, actor=actor)


def revoke_own(session: Session, user_id: int, token_id: int) -> dict[str, Any]:
    """A signed-in user ends one of their own tokens; another user's token is 'not found', like a missing one."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return _revoke(session, user, token_id, actor=user.email)


def _revoke(session: Session, user: User, token_id: int, *, actor: str) -> dict[str, Any]:
    row = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if row is None:
        raise NotFoundError(f"user {user.email} has no token with id {token_id}")
    if row.revoked_at is not None:
        raise RefusedError(f"token {token_id} ({row.name}) of {user.email} was already revoked on "
                           f"{row.revoked_at:%Y-%m-%d %H:%M} UTC")
    row.revoked_at = utcnow().replace(microsecond=0)
    audit.record(session, actor=actor, action="revoke_token", entity="user", key=user.email,
                 after={"id": row.id, "name": row.name})
    return describe(row)


def revoke_all(session: Session, user: User, *, actor: str, reason: str | None = None) -> int:
    """End every token of ``user`` that is not revoked yet; the number ended. Recorded in the audit log (with
    ``reason``, e.g. "password changed") when there were any."""
    count = 0
    now = utcnow().replace(microsecond=0)
    for row in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        row.revoked_at = now
        count += 1
    if count:
        after: dict[str, Any] = {"revoked": count}
        if reason:
            after["reason"] = reason
        audit.record(session, actor=actor, action="revoke_tokens", entity="user", key=user.email, after=after)
    return count
