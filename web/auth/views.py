"""Sign in (rate-limited per account and address), sign out (ends every session of the user), change password.

A session cookie names the user and their ``session_version``; ``load_user`` refuses it once the version in
the database moved on (after a sign-out, a password change, a role change or a deactivation).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from energy_coop.errors import RefusedError
from energy_coop.services import accounts

from ..extensions import login_limiter, login_manager
from ..helpers import attach_errors, run
from ..security import WebUser, client_address, parse_session_id
from . import bp
from .forms import LoginForm, LogoutForm, PasswordChangeForm


@login_manager.user_loader
def load_user(session_id: str) -> WebUser | None:
    parsed = parse_session_id(session_id)
    if parsed is None:
        return None
    user_id, version = parsed
    principal = run(accounts.principal, user_id)
    if principal is None or principal.session_version != version:
        return None
    return WebUser(principal)


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
            minutes = max(1, round(wait / 60))
            plural = "s" if minutes != 1 else ""
            form.form_errors = [f"Too many sign-in attempts. Try again in about {minutes} minute{plural}."]
            return render_template("auth/login.html", form=form), 429
        principal = run(accounts.sign_in, email, form.password.data)
        if principal is None:
            limiter.failed(email, address)
            form.form_errors = ["That email and password do not match an active account."]
            status = 401
        else:
            limiter.succeeded(email)
            session.clear()  # no fixation: a fresh session for the signed-in user
            session.permanent = True
            user = WebUser(principal)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():  # pragma: no cover - CSRFProtect answers first
        return redirect(url_for("auth.index"))
    run(accounts.sign_out, current_user.user_id)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            principal = run(accounts.change_own_password, current_user.user_id, form.current.data, form.new.data)
        except RefusedError as exc:
            attach_errors(form, exc)
            status = 400
        else:
            session.clear()
            session.permanent = True
            login_user(WebUser(principal))  # this browser stays signed in; every other session ends
            flash("Your password was changed. Other devices have been signed out.", "success")
            return redirect(url_for("auth.index"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status
