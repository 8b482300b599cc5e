"""Users who sign in (roles member/admin/auditor) and their argon2id password hashes.

API bearer tokens live in :mod:`energy_coop.services.accounts.tokens`; their main calls are named here too
(``new_token``, ``user_for_token``, ``revoke_tokens``) for the callers that knew them here."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from energy_coop.errors import ConflictError, NotFoundError, RefusedError, RowError
from energy_coop.models import ROLES, Member, User, WebSession
from energy_coop.services import audit
from energy_coop.services.accounts import tokens
from energy_coop.services.accounts.tokens import TOKEN_PREFIX, token_digest, user_for_token  # noqa: F401
from energy_coop.services.registers.fields import EMAIL_RE

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """True when ``password`` matches; a hash with outdated parameters is upgraded in place."""
    if not user.password_hash:
        _hasher.hash(password)  # spend the same time as a real check
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RefusedError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise RefusedError("the password is too long: use at most 1024 characters")


def add_user(
    session: Session, email: str, role: str, password: str, *, member_number: str | None = None, actor: str
) -> User:
    """Create a user; a member user is linked to the member with ``member_number``."""
    email = email.strip().lower()
    problems = []
    if not EMAIL_RE.match(email) or len(email) > 320:
        problems.append(RowError("", "email", f"{email!r} is not an email address"))
    if role not in ROLES:
        problems.append(RowError("", "role", f"{role!r} is not one of: {', '.join(ROLES)}"))
    if role == "member" and not member_number:
        problems.append(RowError("", "member", "a member user needs a member number"))
    if role != "member" and member_number:
        problems.append(RowError("", "member", f"only member users are linked to a member, not {role}s"))
    if problems:
        raise RefusedError("cannot add the user", problems)
    validate_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"a user with email {email} already exists")
    member = None
    if member_number:
        member = session.scalar(select(Member).where(Member.member_number == member_number))
        if member is None:
            raise NotFoundError(f"no member with number {member_number!r} is registered")
    user = User(email=email, role=role, member=member, password_hash=hash_password(password), active=True,
                session_version=1)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="user", key=email,
                 after={"email": email, "role": role, "member_number": member_number})
    return user


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFoundError(f"no user with email {email.strip().lower()!r}")
    return user


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """Change the password and end every existing session and API token of the user (their cookies and
    tokens stop working: whoever learnt the old password may have made one)."""
    validate_password(password)
    user.password_hash = hash_password(password)
    end_sessions(session, user)
    audit.record(session, actor=actor, action="change_password", entity="user", key=user.email)
    tokens.revoke_all(session, user, actor=actor, reason="password changed")


def end_sessions(session: Session, user: User) -> None:
    """End every browser session of ``user`` (sign out everywhere): their rows go, and cookies issued so far
    carry an older ``session_version``."""
    user.session_version += 1
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def new_token(session: Session, email: str, *, actor: str, **options) -> str:
    """A new API bearer token for the user, shown once (see :func:`tokens.issue` for ``name``, ``days`` and
    ``scopes``)."""
    return tokens.issue(session, email, actor=actor, **options).token


def revoke_tokens(session: Session, user: User, *, actor: str, reason: str | None = None) -> int:
    """End every API token of ``user``; the number ended."""
    return tokens.revoke_all(session, user, actor=actor, reason=reason)
