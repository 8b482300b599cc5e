"""Admin console views for people and records: users (add, role, (de)activate, reset password, unlock sign-in), the audit log
and the scheduler's job runs. Each parses the request, calls one service in one transaction and renders.

GET pages are open to admins and auditors; every POST here answers 403 for auditors.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for

from energy_coop.errors import ConflictError, RefusedError
from energy_coop.services.accounts import sessions as accounts, sign_in_limits, users
from energy_coop.services.paging import Page
from energy_coop.services.screens import admin as screens
from energy_coop.services.screens.audit_log import AuditFilter
from energy_coop.timetable import JOB_LABELS
from energy_coop.vocabulary import STAFF_ROLES

from web.helpers import actor, attach_errors, page_arg, run
from web.security import roles_required
from web.admin import bp
from web.admin.forms import ActiveForm, ResetPasswordForm, RoleForm, UnlockForm, UserAddForm

STAFF = STAFF_ROLES


# ------------------------------------------------------------------------------------------------ users


def _users_page(add: UserAddForm | None = None, failed: dict | None = None, status: int = 200):
    """``failed`` = {"user_id": id, "form": the refused per-user form} to show its errors in its row."""
    rows = run(screens.users_screen)
    add = add or UserAddForm(prefix="add", formdata=None)
    for row in rows:
        row["role_form"] = RoleForm(prefix=f"role{row['id']}", formdata=None, role=row["role"],
                                    member_number=row["member_number"] or "")
        row["active_form"] = ActiveForm(prefix=f"active{row['id']}", formdata=None,
                                        active="0" if row["active"] else "1")
        row["password_form"] = ResetPasswordForm(prefix=f"password{row['id']}", formdata=None)
        row["unlock_form"] = UnlockForm(prefix=f"unlock{row['id']}", formdata=None)
        if failed and failed["user_id"] == row["id"]:
            row[failed["slot"]] = failed["form"]
    return render_template("admin/users.html", users=rows, add_form=add), status


@bp.get("/users")
@roles_required(*STAFF)
def users_view():
    return _users_page()


@bp.post("/users")
@roles_required("admin")
def user_add():
    form = UserAddForm(prefix="add")
    if not form.validate_on_submit():
        return _users_page(form, status=400)
    try:
        run(users.add_user, form.email.data, form.role.data, form.password.data,
            member_number=(form.member_number.data or "").strip() or None, actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc, rename={"member": "member_number"})
        return _users_page(form, status=409 if isinstance(exc, ConflictError) else 400)
    flash(f"User {form.email.data.strip().lower()} added.", "success")
    return redirect(url_for("admin.users_view"))


@bp.post("/users/<id:user_id>/role")
@roles_required("admin")
def user_role(user_id: int):
    form = RoleForm(prefix=f"role{user_id}")
    try:
        if not form.validate_on_submit():
            raise RefusedError("the role was not changed")
        run(accounts.change_role, user_id, form.role.data, form.member_number.data, actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc)
        return _users_page(failed={"user_id": user_id, "slot": "role_form", "form": form}, status=400)
    flash("Role changed; the user's sessions were ended.", "success")
    return redirect(url_for("admin.users_view"))


@bp.post("/users/<id:user_id>/active")
@roles_required("admin")
def user_active(user_id: int):
    form = ActiveForm(prefix=f"active{user_id}")
    try:
        if not form.validate_on_submit() or form.active.data not in ("0", "1"):
            raise RefusedError("nothing was changed: the form was incomplete")
        run(accounts.set_active, user_id, form.active.data == "1", actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc)
        return _users_page(failed={"user_id": user_id, "slot": "active_form", "form": form}, status=400)
    flash("User reactivated." if form.active.data == "1" else "User deactivated; their sessions and API tokens "
          "no longer work.", "success")
    return redirect(url_for("admin.users_view"))


@bp.post("/users/<id:user_id>/password")
@roles_required("admin")
def user_password(user_id: int):
    form = ResetPasswordForm(prefix=f"password{user_id}")
    try:
        if not form.validate_on_submit():
            raise RefusedError("the password was not reset")
        run(accounts.reset_password, user_id, form.password.data, actor=actor())
    except RefusedError as exc:
        attach_errors(form, exc)
        return _users_page(failed={"user_id": user_id, "slot": "password_form", "form": form}, status=400)
    flash("Password reset; the user's sessions were ended.", "success")
    return redirect(url_for("admin.users_view"))


@bp.post("/users/<id:user_id>/unlock")
@roles_required("admin")
def user_unlock(user_id: int):
    """Forget the user's failed sign-ins from every address, so they may sign in at once (audited)."""
    form = UnlockForm(prefix=f"unlock{user_id}")
    if not form.validate_on_submit():  # pragma: no cover - CSRFProtect answers first
        return redirect(url_for("admin.users_view"))
    done = run(sign_in_limits.unlock_user, user_id, actor=actor())
    flash(f"Sign-in unlocked for {done['email']}: {done['failures_cleared']} failed attempts forgotten.", "success")
    return redirect(url_for("admin.users_view"))


# ------------------------------------------------------------------------------------------------ audit log, jobs


@bp.get("/audit-log")
@roles_required(*STAFF)
def audit_log():
    args = {k: request.args.get(k, "")[:320].strip() for k in ("actor", "entity", "action", "since", "until")}
    problems, days = [], {}
    for key, words in (("since", "From"), ("until", "To")):
        days[key] = None
        if args[key]:
            try:
                days[key] = dt.date.fromisoformat(args[key])
            except ValueError:
                problems.append(f"{words}: {args[key]!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31")
    if days["since"] and days["until"] and days["since"] > days["until"]:
        problems.append("From: the first day is after the last day")
    f = AuditFilter(actor=args["actor"] or None, entity=args["entity"] or None, action=args["action"] or None,
                    since=days["since"], until=days["until"])
    data = run(screens.audit_log_screen, page=page_arg(), filter=f)
    if problems:
        data["page"] = Page([], 1, 1, 0, 50)
    return render_template("admin/audit_log.html", page=data["page"], choices=data["choices"],
                           args={k: v for k, v in args.items() if v}, problems=problems), (400 if problems else 200)


@bp.get("/jobs")
@roles_required(*STAFF)
def jobs():
    config = current_app.config["ENERGY_COOP"]
    state = run(screens.scheduler_state, now=dt.datetime.now(dt.UTC), schedule=config.schedule)
    return render_template("admin/jobs.html", runs=run(screens.jobs_screen), state=state, job_label=_job_label)


def _job_label(job: str) -> str:
    return JOB_LABELS.get(job, job)
