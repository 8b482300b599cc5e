"""Bearer-token sign-in and the role rules of SPEC sections 1 and 10, as small decorators.

Every API request carries ``Authorization: Bearer <token>`` (a token from ``energy-coop users token``). The
token is looked up once per request (:func:`energy_coop.services.accounts.tokens.grant_for_token`) and the
signed-in user and the token's scopes kept in ``g.principal`` as plain values. Rules:

- no header, a malformed header, an unknown, expired or revoked token, a deactivated user: 401;
- a request the token's scopes do not cover: 403. ``read`` admits GET and HEAD; ``write`` every other method;
  ``meter:CODE`` (a data logger's token) only writes to an endpoint whose ``meter_code`` is ``CODE``;
- a role the endpoint does not admit: 403 (checked before the input is validated, so a role without the right
  learns nothing about the input rules);
- a member asking for another member's data: 404, exactly as for a member that does not exist, so member
  numbers cannot be probed.

There are no cookies here, so CSRF does not apply to the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request

from energy_coop.db import get_sessionmaker
from energy_coop.errors import NotFoundError
from energy_coop.services.accounts.tokens import grant_for_token

from web.api.db import read_sessionmaker
from web.api.errors import error_response

ROLES = ("admin", "auditor", "member")
BEARER = [{"bearerAuth": []}]  # the OpenAPI security requirement of every operation


@dataclass(frozen=True)
class Principal:
    """Who is asking: plain values copied out of the sign-in transaction."""

    email: str
    role: str
    member_number: str | None
    scopes: frozenset[str] = frozenset({"read", "write"})
    token_id: int | None = None
    token_name: str = ""

    @property
    def meters(self) -> frozenset[str]:
        """The meter codes the token may write readings for (its ``meter:CODE`` scopes)."""
        return frozenset(s[6:] for s in self.scopes if s.startswith("meter:"))


def sessions():
    """The process-wide sessionmaker of the app's database: writes open ``sessions().begin()``."""
    return get_sessionmaker(current_app.config["ENERGY_COOP"].database_url)


def reads():
    """The sessionmaker for read-only requests (SQLite: deferred BEGIN, see ``web.api.db``)."""
    return read_sessionmaker(current_app.config["ENERGY_COOP"].database_url)


def unauthorized(message: str | None = None):
    return error_response(401, message, headers={"WWW-Authenticate": 'Bearer realm="energy-coop"'})


def authenticate():
    """``before_request`` of every API blueprint: sets ``g.principal`` or answers 401."""
    if request.method == "OPTIONS":
        return None
    header = request.headers.get("Authorization", "")
    if not header:
        return unauthorized()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(header) > 300:
        return unauthorized("the Authorization header must be 'Bearer <token>'")
    with reads().begin() as s:
        grant = grant_for_token(s, token)
        if grant is None:
            return unauthorized("that token is not valid: it is unknown, expired or revoked, or its user is "
                                "deactivated")
        user = grant.user
        g.principal = Principal(user.email, user.role, user.member.member_number if user.member else None,
                                grant.scopes, grant.token_id, grant.name)
    return check_scopes(g.principal)


def _scope_words(principal: Principal) -> str:
    return " ".join(sorted(principal.scopes)) or "none"


def check_scopes(principal: Principal):
    """403 when the token's scopes do not cover this request (see the module's rules); else None."""
    if request.method in ("GET", "HEAD"):
        if "read" in principal.scopes:
            return None
        return error_response(403, f"this token may not read (its scopes: {_scope_words(principal)}); "
                                   "make a token with the read scope")
    if "write" in principal.scopes:
        return None
    meter = (request.view_args or {}).get("meter_code")
    if meter is not None and meter in principal.meters:
        return None
    if meter is not None and principal.meters:
        mine = ", ".join(repr(m) for m in sorted(principal.meters))
        shown = meter if len(meter) <= 64 else meter[:64] + "..."
        return error_response(403, f"this token may write readings for meter{'s' if len(principal.meters) > 1 else ''} {mine} only, not for meter "
                                   f"{shown!r}; nothing was stored (its scopes: {_scope_words(principal)})")
    return error_response(403, f"this token may not write here (its scopes: {_scope_words(principal)}); "
                               "make a token with the write scope")


def roles(*allowed: str) -> Callable:
    """Admit only the ``allowed`` roles to a view (403 for the others)."""
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal: Principal | None = g.get("principal")
            if principal is None:
                return unauthorized()
            if principal.role not in allowed:
                article = "an" if principal.role[0] in "aeiou" else "a"
                return error_response(403, f"{article} {principal.role} may not do this; it needs the role "
                                           f"{' or '.join(allowed)}")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def check_member_access(member_number: str) -> None:
    """Admins and auditors read every member; a member only themself. Anything else is 'not found'."""
    principal: Principal = g.principal
    if principal.role in ("admin", "auditor"):
        return
    if principal.member_number is None or principal.member_number != member_number:
        raise NotFoundError(f"no member with number {member_number!r}")
