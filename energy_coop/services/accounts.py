"""Signing in and managing the people who sign in (the web pages' user administration).

:mod:`energy_coop.services.users` creates users, hashes passwords and issues tokens; this module adds what an
administrator does to an existing account from the web pages (change role, deactivate, reset a password) and
what a sign-in and a sign-out do to the account. Every administrator change is written to the audit log with
its before and after values; every change that takes rights away or changes a password also bumps the user's
``session_version`` so that session cookies issued before it stop working at once. Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFoundError, RefusedError, RowError
from ..models import ROLES, Member, User
from . import audit
from . import users as users_service


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


def principal(session: Session, user_id: int) -> Principal | None:
    """The active user with ``user_id`` as a :class:`Principal`, or None (unknown or deactivated)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return _principal(user)


def sign_in(session: Session, email: str, password: str) -> Principal | None:
    """Check an email and password (argon2id); the principal when they match an active user, else None.

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
    return _principal(user)


def sign_out(session: Session, user_id: int) -> None:
    """End every session of the user: cookies issued so far carry an older ``session_version``."""
    user = session.get(User, user_id)
    if user is not None:
        users_service.end_sessions(session, user)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def change_own_password(session: Session, user_id: int, current: str, new: str) -> Principal:
    """A user changes their own password; the current one must be given. Returns the new principal."""
    user = _user(session, user_id)
    if not users_service.check_password(user, current or ""):
        raise RefusedError("the password was not changed", [RowError("", "current", "is not your current password")])
    try:
        users_service.validate_password(new or "")
    except RefusedError as exc:
        raise RefusedError("the password was not changed", [RowError("", "new", exc.message)]) from None
    users_service.set_password(session, user, new, actor=user.email)
    return _principal(user)


def reset_password(session: Session, user_id: int, new: str, *, actor: str) -> None:
    """An administrator sets a new password for a user; the user's sessions end."""
    user = _user(session, user_id)
    try:
        users_service.validate_password(new or "")
    except RefusedError as exc:
        raise RefusedError("the password was not reset", [RowError("", "password", exc.message)]) from None
    users_service.set_password(session, user, new, actor=actor)


def change_role(session: Session, user_id: int, role: str, member_number: str | None, *, actor: str) -> None:
    """Give a user another role (a member user is linked to a member); their sessions end."""
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
    user.session_version += 1
    audit.record(session, actor=actor, action="change_role", entity="user", key=user.email, before=before,
                 after=after)


def set_active(session: Session, user_id: int, active: bool, *, actor: str) -> None:
    """Deactivate (or reactivate) a user. A deactivated user's sessions and API tokens stop working."""
    user = _user(session, user_id)
    if user.email == actor and not active:
        raise RefusedError("you cannot deactivate your own account; ask another administrator")
    if user.active == active:
        return
    user.active = active
    user.session_version += 1
    audit.record(session, actor=actor, action="activate" if active else "deactivate", entity="user",
                 key=user.email, before={"active": not active}, after={"active": active})
    if not active:
        users_service.revoke_tokens(session, user, actor=actor)
