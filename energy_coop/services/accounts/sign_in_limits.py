"""Sign-in limits (SPEC section 11; OWASP ASVS V2.2): failed sign-ins are counted per (account, client address)
and per client address, so that wrong passwords sent from one place never lock the real user out elsewhere.

* **Per (account, address)**: the first ``free_failures`` wrong passwords for one email from one address cost
  nothing; each one after that makes the next attempt from that address wait ``first_delay_s`` x 2^k (1 s, 2 s,
  4 s ...), at most ``max_delay_s`` [s], counted from the latest failure. Those failures are remembered for
  ``memory_s`` [s] after they happened, and are forgotten when the account signs in from that address or an
  admin unlocks the account.
* **Per address**: ``per_address`` failures from one address within ``window_s`` [s] (over all accounts) stop
  that address until the oldest counted one leaves the window.

The moment a pair or an address reaches its limit (its first delay, its cap) is written to the audit log as a
``lock`` of a ``sign_in`` entity, as is every admin ``unlock``. The counts live in the ``sign_in_failures`` table,
so every server process (gunicorn runs several) sees the same ones. Times are passed in (``now`` [s since the
Unix epoch]) so that tests can move the clock. Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError
from energy_coop.models import SignInFailure, User
from energy_coop.services import audit
from energy_coop.services.accounts.users import find_user

LIMITER = "sign-in limiter"  # how the audit log names the limiter as the actor of a lock


@dataclass(frozen=True)
class Limits:
    free_failures: int = 3  # wrong passwords for one account from one address before the delays start
    first_delay_s: float = 1.0  # [s] the first delay; each further failure doubles it
    max_delay_s: float = 900.0  # [s] the longest delay
    memory_s: float = 86400.0  # [s] how long a failure counts towards the delays of its (account, address)
    per_address: int = 20  # failures from one client address, over all accounts, within the window
    window_s: float = 900.0  # [s] the window of the per-address cap


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _account(account: str) -> str:
    return account[:320]


def _address(address: str) -> str:
    return address[:100]


def pair_delay_s(failures: int, limits: Limits) -> float:
    """[s] the wait after the ``failures``-th remembered failure of one (account, address): 0 while free."""
    if failures < limits.free_failures:
        return 0.0
    steps = failures - limits.free_failures
    if steps > 60:  # 2^60 s is long past any cap; no float overflow
        return limits.max_delay_s
    return min(limits.first_delay_s * 2 ** steps, limits.max_delay_s)


def _pair_state(session: Session, account: str, address: str, *, now: float, limits: Limits) -> tuple[int, int]:
    """(failures remembered, latest one [ms]) for one (account, address)."""
    count, latest = session.execute(
        select(func.count(), func.max(SignInFailure.at_ms))
        .where(SignInFailure.account == _account(account), SignInFailure.address == _address(address),
               SignInFailure.at_ms > _ms(now - limits.memory_s))).one()
    return int(count), int(latest or 0)


def _address_recent(session: Session, address: str, *, now: float, limits: Limits) -> list[int]:
    """The newest ``per_address`` failures [ms] from ``address`` within the window, newest first."""
    return list(session.scalars(
        select(SignInFailure.at_ms)
        .where(SignInFailure.address == _address(address), SignInFailure.at_ms > _ms(now - limits.window_s))
        .order_by(SignInFailure.at_ms.desc()).limit(limits.per_address)).all())


def retry_after(session: Session, account: str, address: str, *, now: float, limits: Limits) -> int:
    """Whole seconds until a sign-in may be tried for ``account`` from ``address`` (0: now)."""
    wait_ms = 0
    count, latest = _pair_state(session, account, address, now=now, limits=limits)
    delay = pair_delay_s(count, limits)
    if delay:
        wait_ms = max(wait_ms, latest + _ms(delay) - _ms(now))
    recent = _address_recent(session, address, now=now, limits=limits)
    if len(recent) >= limits.per_address:  # the per_address-th most recent failure must leave the window first
        wait_ms = max(wait_ms, recent[-1] - _ms(now - limits.window_s))
    return math.ceil(wait_ms / 1000) if wait_ms > 0 else 0


def record_failure(session: Session, account: str, address: str, *, now: float, limits: Limits) -> None:
    """Count one failed sign-in of ``account`` from ``address``; forget failures nothing counts any more; write
    a ``lock`` audit entry when this failure brings the pair to its first delay or the address to its cap."""
    session.execute(delete(SignInFailure).where(
        SignInFailure.at_ms <= _ms(now - max(limits.window_s, limits.memory_s))))
    session.add(SignInFailure(account=_account(account), address=_address(address), at_ms=_ms(now)))
    session.flush()
    count, _ = _pair_state(session, account, address, now=now, limits=limits)
    if count == limits.free_failures:
        audit.record(session, actor=LIMITER, action="lock", entity="sign_in", key=_account(account),
                     after={"account": _account(account), "address": _address(address), "failures": count,
                            "delay_s": pair_delay_s(count, limits)},
                     note=f"{count} wrong passwords for this account from {_address(address)}: "
                          "further attempts from that address are slowed down")
    if len(_address_recent(session, address, now=now, limits=limits)) == limits.per_address:
        audit.record(session, actor=LIMITER, action="lock", entity="sign_in", key=_address(address),
                     after={"address": _address(address), "failures": limits.per_address,
                            "window_s": limits.window_s},
                     note=f"{limits.per_address} failed sign-ins from {_address(address)} within "
                          f"{round(limits.window_s / 60)} minutes: that address must wait")


def forget_pair(session: Session, account: str, address: str) -> None:
    """A successful sign-in clears the failures of that account from that address (not the address's others)."""
    session.execute(delete(SignInFailure).where(SignInFailure.account == _account(account),
                                                SignInFailure.address == _address(address)))


def unlock_user(session: Session, user_id: int, *, actor: str) -> dict:
    """:func:`unlock` for the user with id ``user_id`` (the admin users page); an unknown id is not found."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return unlock(session, user.email, actor=actor)


def unlock(session: Session, email: str, *, actor: str) -> dict:
    """An admin lets ``email`` sign in again at once: its failures from every address are forgotten (and do
    not count towards those addresses' caps any more). Refuses an unknown email (``find_user``). Returns
    ``{"email", "failures_cleared"}`` and writes an ``unlock`` audit entry."""
    user = find_user(session, email)
    cleared = session.execute(delete(SignInFailure).where(SignInFailure.account == _account(user.email))).rowcount
    audit.record(session, actor=actor, action="unlock", entity="sign_in", key=user.email,
                 after={"failures_cleared": int(cleared or 0)})
    return {"email": user.email, "failures_cleared": int(cleared or 0)}
