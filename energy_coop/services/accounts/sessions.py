"""Signing in and managing the people who sign in (the web pages' user administration).

:mod:`energy_coop.services.accounts.users` creates users, hashes passwords and issues tokens; this module adds what an
administrator does to an existing account from the web pages (change role, deactivate, reset a password) and
the browser sessions: a sign-in opens one (a row of ``web_sessions`` holding the SHA-256 of the token its
cookie carries), a sign-out ends that one. Every administrator change is written to the audit log with its
before and after values; every change that takes rights away or changes a password also ends every session
(``users.end_sessions``) and every API token (``tokens.revoke_all``) of the user: a token made under the old
password or the old role must not outlive it. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError, RefusedError, RowError
from energy_coop.models import ROLES, Member, User, WebSession, utcnow
from energy_coop.services import audit
from energy_coop.services.accounts import tokens
from energy_coop.services.accounts import users as users_service


@dataclass(frozen=True)
class Principal:
    """Who a request acts for, as plain values (no ORM object outlives its transaction)."""

    user_id: int
    email: str
    role: str
    member_number: str | None
    session_version: int


def _principal(user: User) -> Principal:
    return Principal(user.id, user.email, user.role, user.member.member_number if user.member else None,
                     user.session_version)


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: who, and the token its cookie carries (shown to nobody else, stored hashed)."""

    principal: Principal
    token: str


def _digest(token: str) -> str:
    return users_service.token_digest(token)


def _open(session: Session, user: User, *, lifetime: dt.timedelta, user_agent: str | None,
          now: dt.datetime | None = None) -> SignedIn:
    """Open a session for ``user`` lasting ``lifetime`` from now; delete every session that ran out (anyone's:
    a user who never comes back leaves none behind for long)."""
    now = now or utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    agent = "".join(ch for ch in (user_agent or "") if ch.isprintable()).strip()[:200] or None
    session.add(WebSession(user_id=user.id, token_sha256=_digest(token), created_at=now, expires_at=now + lifetime,
                           user_agent=agent))
    return SignedIn(_principal(user), token)


def session_principal(session: Session, user_id: int, version: int, token: str,
                      *, now: dt.datetime | None = None) -> Principal | None:
    """Who the session cookie ``(user_id, version, token)`` signs in, or None: an unknown, ended or expired
    session, a deactivated user, or a ``session_version`` that moved on."""
    row = session.execute(
        select(User).join(WebSession, WebSession.user_id == User.id)
        .where(User.id == user_id, WebSession.token_sha256 == _digest(token),
               WebSession.expires_at > (now or utcnow()))
    ).scalar_one_or_none()
    if row is None or not row.active or row.session_version != version:
        return None
    return _principal(row)


def sign_in(session: Session, email: str, password: str, *, lifetime: dt.timedelta,
            user_agent: str | None = None) -> SignedIn | None:
    """Check an email and password (argon2id); when they match an active user, open a browser session.

    An unknown email spends the same time hashing as a wrong password, so sign-in does not reveal which
    addresses have accounts. A hash with outdated parameters is upgraded in place (a write).
    """
    email = (email or "").strip().lower()
    user = session.scalar(select(User).where(User.email == email)) if email and len(email) <= 320 else None
    if user is None:
        users_service.hash_password(password or "x")
        return None
    if not users_service.check_password(user, password or "") or not user.active:
        return None
    return _open(session, user, lifetime=lifetime, user_agent=user_agent)


def sign_out(session: Session, user_id: int, token: str) -> None:
    """End this browser's session only; the user's other sessions go on."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id, WebSession.token_sha256 == _digest(token)))


def sign_out_everywhere(session: Session, user_id: int) -> None:
    """End every session of the user, on every device."""
    user = session.get(User, user_id)
    if user is not None:
        users_service.end_sessions(session, user)


def open_sessions(session: Session, user_id: int, current_token: str,
                  *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The user's sessions still open, newest first: ``created_at``, ``expires_at``, ``user_agent``, and
    ``current`` (the one asking)."""
    now = now or utcnow()
    mine = _digest(current_token)
    rows = session.execute(
        select(WebSession.created_at, WebSession.expires_at, WebSession.user_agent, WebSession.token_sha256)
        .where(WebSession.user_id == user_id, WebSession.expires_at > now)
        .order_by(WebSession.created_at.desc(), WebSession.id.desc())
    ).all()
    return [{"created_at": c, "expires_at": e, "user_agent": a, "current": h == mine} for c, e, a, h in rows]


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def change_own_password(session: Session, user_id: int, current: str, new: str, *, lifetime: dt.timedelta,
                        user_agent: str | None = None) -> SignedIn:
    """A user changes their own password; the current one must be given. Every session and API token of the
    user ends, and a new session opens for the browser that changed it."""
    user = _user(session, user_id)
    if not users_service.check_password(user, current or ""):
        raise RefusedError("the password was not changed", [RowError("", "current", "is not your current password")])
    try:
        users_service.validate_password(new or "")
    except RefusedError as exc:
        raise RefusedError("the password was not changed", [RowError("", "new", exc.message)]) from None
    users_service.set_password(session, user, new, actor=user.email)
    return _open(session, user, lifetime=lifetime, user_agent=user_agent)


def reset_password(session: Session, user_id: int, new: str, *, actor: str) -> None:
    """An administrator sets a new password for a user; the user's sessions and API tokens end."""
    user = _user(session, user_id)
    try:
        users_service.validate_password(new or "")
    except RefusedError as exc:
        raise RefusedError("the password was not reset", [RowError("", "password", exc.message)]) from None
    users_service.set_password(session, user, new, actor=actor)


def change_role(session: Session, user_id: int, role: str, member_number: str | None, *, actor: str) -> None:
    """Give a user another role (a member user is linked to a member); their sessions and API tokens end."""
    user = _user(session, user_id)
    member_number = (member_number or "").strip() or None
    problems = []
    if role not in ROLES:
        problems.append(RowError("", "role", f"{role!r} is not one of: {', '.join(ROLES)}"))
    if role == "member" and not member_number:
        problems.append(RowError("", "member_number", "a member user needs the member number they are"))
    if role != "member" and member_number:
        problems.append(RowError("", "member_number", f"only member users are linked to a member, not {role}s"))
    member = None
    if member_number and not problems:
        member = session.scalar(select(Member).where(Member.member_number == member_number))
        if member is None:
            problems.append(RowError("", "member_number", f"no member with number {member_number!r} is registered"))
    if user.email == actor and role != user.role:
        problems.append(RowError("", "role", "you cannot change your own role; ask another administrator"))
    if problems:
        raise RefusedError("the role was not changed", problems)
    before = {"role": user.role, "member_number": user.member.member_number if user.member else None}
    after = {"role": role, "member_number": member_number}
    if before == after:
        return
    user.role = role
    user.member = member
    users_service.end_sessions(session, user)
    audit.record(session, actor=actor, action="change_role", entity="user", key=user.email, before=before,
                 after=after)
    tokens.revoke_all(session, user, actor=actor, reason="role changed")


def set_active(session: Session, user_id: int, active: bool, *, actor: str) -> None:
    """Deactivate (or reactivate) a user. A deactivated user's sessions and API tokens stop working."""
    user = _user(session, user_id)
    if user.email == actor and not active:
        raise RefusedError("you cannot deactivate your own account; ask another administrator")
    if user.active == active:
        return
    user.active = active
    users_service.end_sessions(session, user)
    audit.record(session, actor=actor, action="activate" if active else "deactivate", entity="user",
                 key=user.email, before={"active": not active}, after={"active": active})
    if not active:
        tokens.revoke_all(session, user, actor=actor, reason="deactivated")
