"""Who may do what, and the protections every response carries.

* :class:`WebUser` - the signed-in principal; its Flask-Login id carries the user's ``session_version`` and
  the browser session's token, so a cookie from before its sign-out, or from before a password change, no
  longer loads a user (see ``web.auth.load_user``).
* :func:`roles_required` / :func:`member_access` - access control as small decorators and one check, applied
  to every view (CTFd's ``admins_only`` style). Members asking for another member's data get 404, never 403.
* :class:`LoginLimiter` - failed sign-ins counted per (account, address) and per address in the database (so
  every server process counts them all): growing delays for one account from one address, a cap per address;
  wrong passwords sent from elsewhere never lock the real user out.
* :func:`security_headers` - CSP without inline code, no framing, no sniffing, no referrer to other sites; HSTS
  when cookies are secure (``ENERGY_COOP_COOKIE_SECURE``); ``Cache-Control: no-store`` on signed-in pages and on
  every API answer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, request
from flask_login import UserMixin, current_user

from energy_coop.services.accounts import sign_in_limits
from energy_coop.services.accounts.sessions import Principal

from web.helpers import run

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class WebUser(UserMixin):
    """The principal of a browser session. ``get_id`` is ``"<user id>:<session version>:<session token>"``."""

    def __init__(self, principal: Principal, session_token: str):
        self.principal = principal
        self.session_token = session_token
        self.user_id = principal.user_id
        self.email = principal.email
        self.role = principal.role
        self.member_number = principal.member_number
        self.session_version = principal.session_version

    def get_id(self) -> str:
        return f"{self.user_id}:{self.session_version}:{self.session_token}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_auditor(self) -> bool:
        return self.role == "auditor"

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "auditor")


def parse_session_id(value: str) -> tuple[int, int, str] | None:
    """``"12:3:token"`` -> ``(12, 3, "token")``; anything else (tampered, an older format) -> None."""
    try:
        uid, version, token = value.split(":")
        if not 20 <= len(token) <= 100:
            return None
        return int(uid), int(version), token
    except (ValueError, AttributeError):
        return None


def roles_required(*roles: str) -> Callable:
    """Let only signed-in users with one of ``roles`` through: anonymous -> sign in, other roles -> 403."""

    def deco(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # the app's LoginManager (web.extensions)
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


def input_problems() -> list[tuple[str, str, str]]:
    """What in this request no view can take, as ``(where, field, reason)``: a NUL character (``\\0``) in the
    path, a query or form field or a JSON string (PostgreSQL cannot even store one), and JSON nested so deeply
    that reading it would exhaust Python's stack. Uploaded files are not looked at: the importer judges them."""
    problems = []
    if "\0" in request.path:
        problems.append(("path", "", NUL))
    for where, multidict in (("query", request.args), ("form", request.form)):
        for name, value in multidict.items(multi=True):
            if "\0" in name or "\0" in value:
                problems.append((where, name.replace("\0", "")[:40], NUL))
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            return problems + [("json", "", "is nested too deeply to read")]
        stack: list[tuple[Any, str]] = [(body, "")]
        while stack:  # iterative: a body nested a few hundred deep must not exhaust the stack here either
            value, path = stack.pop()
            if isinstance(value, str):
                if "\0" in value:
                    problems.append(("json", path, NUL))
            elif isinstance(value, dict):
                for key, item in value.items():
                    where = f"{path}.{key}" if path else str(key)
                    if "\0" in key:
                        problems.append(("json", where.replace("\0", "")[:80], "has a NUL character in its name"))
                    stack.append((item, where))
            elif isinstance(value, list):
                stack.extend((item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(value))
    return problems


NUL = "holds a NUL character (\\0), which no field may contain"


def security_headers(response):
    """Add the protections every response carries (``after_request``)."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS: browsers must keep to it for a year
        h.setdefault("Strict-Transport-Security", HSTS)
    if request.path == "/api/v1" or request.path.startswith("/api/v1/"):
        h["Cache-Control"] = "no-store"  # every answer, errors and CSV included: tokens read members' data
    elif current_user and getattr(current_user, "is_authenticated", False):
        h.setdefault("Cache-Control", "no-store")
    return response


HSTS = "max-age=31536000; includeSubDomains"


class LoginLimiter:
    """The Flask extension for the sign-in limits (``services.accounts.sign_in_limits``): each app keeps its limits (from
    its config: ``LOGIN_FREE_FAILURES``, ``LOGIN_FIRST_DELAY_S``, ``LOGIN_MAX_DELAY_S``, ``LOGIN_MEMORY_S``,
    ``LOGIN_LIMIT_PER_ADDRESS``, ``LOGIN_LIMIT_WINDOW_S``) in ``app.extensions["login_limiter"]``; the failures
    themselves are in the database, shared by every server process."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # [s since the Unix epoch]

    def init_app(self, app) -> None:
        c = app.config
        app.extensions["login_limiter"] = sign_in_limits.Limits(
            free_failures=int(c.get("LOGIN_FREE_FAILURES", 3)), first_delay_s=float(c.get("LOGIN_FIRST_DELAY_S", 1)),
            max_delay_s=float(c.get("LOGIN_MAX_DELAY_S", 900)), memory_s=float(c.get("LOGIN_MEMORY_S", 86400)),
            per_address=int(c.get("LOGIN_LIMIT_PER_ADDRESS", 20)), window_s=float(c.get("LOGIN_LIMIT_WINDOW_S", 900)))

    @staticmethod
    def _limits() -> sign_in_limits.Limits:
        return current_app.extensions["login_limiter"]

    def retry_after(self, account: str, address: str) -> int:
        """Seconds until a sign-in may be tried again for this account from this address (0 = now)."""
        return run(sign_in_limits.retry_after, account, address, now=self.clock(), limits=self._limits())

    def failed(self, account: str, address: str) -> None:
        run(sign_in_limits.record_failure, account, address, now=self.clock(), limits=self._limits())

    def succeeded(self, account: str, address: str) -> None:
        run(sign_in_limits.forget_pair, account, address)


def client_address() -> str:
    """The client's address as the WSGI server saw it (no proxy headers are trusted)."""
    return request.remote_addr or "unknown"
