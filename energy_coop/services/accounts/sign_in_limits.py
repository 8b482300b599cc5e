"""Sign-in limits: failed sign-ins are counted per account (the email tried) and per client address over a
sliding window; past a limit, further attempts wait until the oldest counted failure leaves the window.

The counts live in the ``sign_in_failures`` table, so every server process (gunicorn runs several) sees the
same ones. Times are passed in (``now`` [s since the Unix epoch]) so that tests can move the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from energy_coop.models import SignInFailure


@dataclass(frozen=True)
class Limits:
    per_account: int = 5  # failures of one email within the window
    per_address: int = 20  # failures from one client address within the window
    window_s: float = 900.0  # [s]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def retry_after(session: Session, account: str, address: str, *, now: float, limits: Limits) -> int:
    """Whole seconds until a sign-in may be tried for ``account`` from ``address`` (0: now)."""
    since = _ms(now - limits.window_s)
    wait_ms = 0
    for scope, subject, limit in (("account", account, limits.per_account), ("address", address, limits.per_address)):
        recent = session.scalars(
            select(SignInFailure.at_ms)
            .where(SignInFailure.scope == scope, SignInFailure.subject == subject, SignInFailure.at_ms > since)
            .order_by(SignInFailure.at_ms.desc()).limit(limit)).all()
        if len(recent) >= limit:  # the limit-th most recent failure must leave the window first
            wait_ms = max(wait_ms, recent[-1] - since)
    return math.ceil(wait_ms / 1000) if wait_ms > 0 else 0


def record_failure(session: Session, account: str, address: str, *, now: float, limits: Limits) -> None:
    """Count one failed sign-in against ``account`` and ``address``; forget failures older than the window."""
    session.execute(delete(SignInFailure).where(SignInFailure.at_ms <= _ms(now - limits.window_s)))
    session.add_all([SignInFailure(scope="account", subject=account[:320], at_ms=_ms(now)),
                     SignInFailure(scope="address", subject=address[:320], at_ms=_ms(now))])


def forget_account(session: Session, account: str) -> None:
    """A successful sign-in clears the account's failures (not the address's)."""
    session.execute(delete(SignInFailure).where(SignInFailure.scope == "account",
                                                SignInFailure.subject == account[:320]))
