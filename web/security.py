"""Who may do what, and the protections every response carries.

* :class:`WebUser` - the signed-in principal; its Flask-Login id carries the user's ``session_version``, so a
  cookie issued before a logout or a password change no longer loads a user (see ``web.auth.load_user``).
* :func:`roles_required` / :func:`member_access` - access control as small decorators and one check, applied
  to every view (CTFd's ``admins_only`` style). Members asking for another member's data get 404, never 403.
* :class:`LoginLimiter` - failed sign-ins counted per account and per address in memory (no database, no
  third-party store); over the limit, sign-in is refused for the rest of the window even with the right password.
* :func:`security_headers` - CSP without inline code, no framing, no sniffing, no referrer to other sites.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from flask import abort, request
from flask_login import UserMixin, current_user

from energy_coop.services.accounts import Principal

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class WebUser(UserMixin):
    """The principal of a browser session. ``get_id`` is ``"<user id>:<session version>"``."""

    def __init__(self, principal: Principal):
        self.principal = principal
        self.user_id = principal.user_id
        self.email = principal.email
        self.role = principal.role
        self.member_number = principal.member_number
        self.session_version = principal.session_version

    def get_id(self) -> str:
        return f"{self.user_id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_auditor(self) -> bool:
        return self.role == "auditor"

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "auditor")


def parse_session_id(value: str) -> tuple[int, int] | None:
    """``"12:3"`` -> ``(12, 3)``; anything else (tampered, old format) -> None."""
    try:
        uid, version = value.split(":")
        return int(uid), int(version)
    except (ValueError, AttributeError):
        return None


def roles_required(*roles: str) -> Callable:
    """Let only signed-in users with one of ``roles`` through: anonymous -> sign in, other roles -> 403."""

    def deco(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from .extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access-matrix test
        return wrapped

    return deco


def member_access(member_number: str) -> None:
    """Members may see only their own data: another member's number answers 404 (never 403)."""
    if current_user.role == "member" and current_user.member_number != member_number:
        abort(404)


def security_headers(response):
    """Add the protections every response carries (``after_request``)."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_user and getattr(current_user, "is_authenticated", False):
        h.setdefault("Cache-Control", "no-store")
    return response


class FailureCounter:
    """Failed sign-ins per account and per client address in a sliding window, in memory.

    ``per_account`` failures for one email, or ``per_address`` failures from one address, within
    ``window_s`` seconds block further attempts for that account/address until the oldest failure leaves the
    window. Per process: with several server processes each counts its own (waitress runs one process).
    At most ``max_keys`` keys are kept; the least recently used are forgotten first, bounding memory.
    """

    def __init__(self, per_account: int = 5, per_address: int = 20, window_s: float = 900.0,
                 max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, account: str, address: str) -> int:
        """Seconds until a sign-in may be tried again for this account and address (0 = now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key, limit in ((("account", account), self.per_account), (("address", address), self.per_address)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self.window_s - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (("account", account), ("address", address)):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                self._failures.move_to_end(key)
                while len(times) > max(self.per_account, self.per_address):
                    times.popleft()
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account), None)


class LoginLimiter:
    """The Flask extension: each app gets its own :class:`FailureCounter` (limits from its config), kept in
    ``app.extensions["login_limiter"]``, so apps (and tests) never share counts."""

    def init_app(self, app) -> None:
        app.extensions["login_limiter"] = FailureCounter(
            int(app.config.get("LOGIN_LIMIT_PER_ACCOUNT", 5)), int(app.config.get("LOGIN_LIMIT_PER_ADDRESS", 20)),
            float(app.config.get("LOGIN_LIMIT_WINDOW_S", 900)))

    @property
    def counter(self) -> FailureCounter:
        from flask import current_app

        return current_app.extensions["login_limiter"]


def client_address() -> str:
    """The client's address as the WSGI server saw it (no proxy headers are trusted)."""
    return request.remote_addr or "unknown"
