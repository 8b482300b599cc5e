"""Sign in (slowed down per account and address, capped per address), sign out (this browser, or everywhere),
change password, and one's own API tokens (list, make one, revoke one) on the Account page.

A session cookie names the user, their ``session_version`` and its own session token; ``load_user`` refuses it
once that session ended (signed out, expired) or the version in the database moved on (signed out everywhere,
a password change, a role change or a deactivation).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from energy_coop.errors import RefusedError
from energy_coop.services.accounts import sessions as accounts
from energy_coop.services.accounts import tokens as api_tokens

from web.extensions import login_limiter, login_manager
from web.helpers import attach_errors, run
from web.security import WebUser, client_address, parse_session_id
from web.auth import bp
from web.auth.forms import LoginForm, LogoutForm, PasswordChangeForm, TokenForm, TokenRevokeForm


@login_manager.user_loader
def load_user(session_id: str) -> WebUser | None:
    parsed = parse_session_id(session_id)
    if parsed is None:
        return None
    user_id, version, token = parsed
    principal = run(accounts.session_principal, user_id, version, token, read_only=True)
    return WebUser(principal, token) if principal is not None else None


def _lifetime():
    return current_app.permanent_session_lifetime


def _agent() -> str:
    return request.user_agent.string


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        from flask import jsonify

        return jsonify({"error": "unauthorized", "message": "sign in with a bearer token", "details": []}), 401
    flash("Please sign in to see this page.", "info")
    target = None
    if request.method == "GET":
        target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def home_for(user: WebUser) -> str:
    if user.role == "member":
        return url_for("member.dashboard", member_number=user.member_number)
    if user.role == "admin":
        return url_for("admin.index")
    return url_for("audit.index")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no '//' or backslash tricks) may be a redirect target."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_for(current_user))


def _wait_text(seconds: int) -> str:
    """``4`` -> "4 seconds", ``600`` -> "about 10 minutes"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"about {minutes} minutes"


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = client_address()
        limiter = login_limiter
        wait = limiter.retry_after(email, address)
        if wait:
            form.form_errors = [f"Too many sign-in attempts from here. Try again in {_wait_text(wait)}."]
            resp = current_app.make_response((render_template("auth/login.html", form=form), 429))
            resp.headers["Retry-After"] = str(wait)
            return resp
        signed_in = run(accounts.sign_in, email, form.password.data, lifetime=_lifetime(), user_agent=_agent())
        if signed_in is None:
            limiter.failed(email, address)
            form.form_errors = ["That email and password do not match an active account."]
            status = 401
        else:
            limiter.succeeded(email, address)
            session.clear()  # no fixation: a fresh session for the signed-in user
            session.permanent = True
            user = WebUser(signed_in.principal, signed_in.token)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign this browser out; the user's other sessions (their phone, say) go on."""
    form = LogoutForm()
    if not form.validate_on_submit():  # pragma: no cover - CSRFProtect answers first
        return redirect(url_for("auth.index"))
    run(accounts.sign_out, current_user.user_id, current_user.session_token)
    return _signed_out("You are signed out.")


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    """Sign the user out on every device (e.g. after losing a phone)."""
    form = LogoutForm()
    if not form.validate_on_submit():  # pragma: no cover - CSRFProtect answers first
        return redirect(url_for("auth.index"))
    run(accounts.sign_out_everywhere, current_user.user_id)
    return _signed_out("You are signed out on every device.")


def _signed_out(message: str):
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            signed_in = run(accounts.change_own_password, current_user.user_id, form.current.data, form.new.data,
                            lifetime=_lifetime(), user_agent=_agent())
        except RefusedError as exc:
            attach_errors(form, exc)
            status = 400
        else:
            session.clear()
            session.permanent = True
            login_user(WebUser(signed_in.principal, signed_in.token))  # this browser stays; the others end
            flash("Your password was changed. Other devices have been signed out.", "success")
            return redirect(url_for("auth.index"))
    elif request.method == "POST":
        status = 400
    return _account_page(form=form, status=status)


def _account_page(*, form: PasswordChangeForm | None = None, token_form: TokenForm | None = None,
                  issued: api_tokens.IssuedToken | None = None, status: int = 200):
    """The Account page: password, open sessions, API tokens (``issued``: the one just made, shown once)."""
    open_sessions = run(accounts.open_sessions, current_user.user_id, current_user.session_token, read_only=True)
    own = run(api_tokens.own_tokens, current_user.user_id, read_only=True)
    return render_template("auth/password.html", form=form or PasswordChangeForm(formdata=None),
                           token_form=token_form or TokenForm(prefix="token", formdata=None),
                           revoke_form=TokenRevokeForm(), open_sessions=open_sessions, api_tokens=own,
                           issued=issued), status


@bp.post("/account/tokens")
@login_required
def token_new():
    """Make an API token for oneself; it is shown on the answering page once and never again."""
    form = TokenForm(prefix="token")
    if not form.validate_on_submit():
        return _account_page(token_form=form, status=400)
    meter = (form.meter.data or "").strip()
    # A data logger's token (SPEC 20) writes one meter's readings and nothing else; only administrators store
    # readings, so only their page offers it (a member's meter:CODE token would be refused by the API anyway).
    scopes = [f"meter:{meter}"] if meter and current_user.is_admin else [form.scope.data]
    try:
        issued = run(api_tokens.issue_own, current_user.user_id, name=form.name.data, days=form.days.data,
                     scopes=scopes)
    except RefusedError as exc:
        attach_errors(form, exc)
        return _account_page(token_form=form, status=400)
    return _account_page(issued=issued, status=201)


@bp.post("/account/tokens/<id:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    """End one of one's own API tokens (another user's is 'not found', as a missing one)."""
    form = TokenRevokeForm()
    if not form.validate_on_submit():  # pragma: no cover - CSRFProtect answers first
        return redirect(url_for("auth.password"))
    try:
        row = run(api_tokens.revoke_own, current_user.user_id, token_id)
    except RefusedError as exc:
        flash(exc.message, "error")
    else:
        flash(f"The token \u201c{row['name']}\u201d was revoked: it signs in no more.", "success")
    return redirect(url_for("auth.password"))
