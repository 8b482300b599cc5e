"""``energy-coop users list|add|token|tokens|revoke|unlock``: the people who sign in, their API tokens and sign-in
throttling."""

from __future__ import annotations

import sys

import click

from energy_coop.errors import RefusedError, RowError
from energy_coop.cli.context import AppContext, db_option, emit_json, json_option, pass_app, refusals
from energy_coop.vocabulary import ROLES


@click.group("users")
def users() -> None:
    """People who sign in."""


@users.command("list")
@click.option("--role", type=click.Choice(sorted(ROLES)), help="Only the users of this role.")
@db_option
@json_option
@pass_app
@refusals()
def users_list(app: AppContext, role: str | None, as_json: bool) -> None:
    """List the users: email, role, the member a member user is, and whether they may sign in."""
    from energy_coop.services.screens.admin import users_screen  # lazy: the models; keeps --help fast

    with app.snapshot() as session:
        rows = [r for r in users_screen(session) if role is None or r["role"] == role]
    if as_json:
        emit_json({"users": [{"email": r["email"], "role": r["role"], "member_number": r["member_number"],
                              "active": bool(r["active"]), "created_at": r["created_at"].isoformat()} for r in rows]})
        return
    if not rows:
        click.echo("no users" + (f" with the role {role}" if role else "") + "; add one with `energy-coop users add`")
        return
    width = max(len(r["email"]) for r in rows)
    for r in rows:
        member = f"member {r['member_number']}" if r["member_number"] else ""
        state = "" if r["active"] else "  (may not sign in)"
        click.echo(f"{r['email']:<{width}}  {r['role']:<8} {member}{state}".rstrip())


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
@click.option("--member", "member_number", metavar="NUMBER", help="The member a member user is.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@db_option
@json_option
@pass_app
@refusals()
def users_add(app: AppContext, email: str, role: str, member_number: str | None, password_stdin: bool,
              as_json: bool) -> None:
    """Add a user; the password comes from a prompt or --password-stdin."""
    from energy_coop.services.accounts.users import add_user  # lazy: the models; keeps --help fast

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with app.transaction() as session:
        user = add_user(session, email, role, password, member_number=member_number, actor=app.actor)
        doc = {"email": user.email, "role": user.role, "member_number": member_number}
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"added {doc['role']} {doc['email']}")


@users.command("token")
@click.argument("email")
@click.option("--name", metavar="NAME", help='What the token is for, e.g. "logger on the roof" (default: token).')
@click.option("--days", metavar="DAYS", help="How many days it signs in, 1 to 365 (default: 90).")
@click.option("--scope", "scopes", metavar="SCOPE", multiple=True,
              help="read, write or meter:CODE; repeat for several (default: read and write).")
@db_option
@json_option
@pass_app
@refusals()
def users_token(app: AppContext, email: str, name: str | None, days: str | None, scopes: tuple[str, ...],
                as_json: bool) -> None:
    """Print a new API bearer token for EMAIL (shown once; only its hash is stored)."""
    from energy_coop.services.accounts import tokens  # lazy: the models; keeps --help fast

    with app.transaction() as session:
        issued = tokens.issue(session, email, actor=app.actor, name=name, days=days, scopes=scopes)
    if as_json:
        emit_json(issued.as_dict())
    else:
        click.echo(issued.token)


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else ""


@users.command("tokens")
@click.argument("email")
@db_option
@json_option
@pass_app
@refusals()
def users_tokens(app: AppContext, email: str, as_json: bool) -> None:
    """List the API tokens of EMAIL (id, name, scopes, times in UTC, status); never the tokens themselves."""
    from energy_coop.services.accounts import tokens  # lazy: the models; keeps --help fast

    with app.snapshot() as session:
        rows = tokens.list_tokens(session, email)
    email = email.strip().lower()
    if as_json:
        emit_json({"email": email, "tokens": [
            {**row, **{k: row[k].isoformat() if row[k] else None for k in ("created_at", "expires_at", "revoked_at")}}
            for row in rows]})
        return
    if not rows:
        click.echo(f"{email} has no API tokens")
        return
    table = [("id", "name", "scopes", "created (UTC)", "expires (UTC)", "status")]
    table += [(str(r["id"]), r["name"], " ".join(r["scopes"]), _when(r["created_at"]), _when(r["expires_at"]),
               r["status"] if r["status"] != "revoked" else f"revoked {_when(r['revoked_at'])}") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@users.command("revoke")
@click.argument("email")
@click.argument("token_id", metavar="TOKEN_ID")
@db_option
@json_option
@pass_app
@refusals()
def users_revoke(app: AppContext, email: str, token_id: str, as_json: bool) -> None:
    """End the API token TOKEN_ID (from ``users tokens``) of EMAIL; it signs in no more."""
    from energy_coop.services.accounts import tokens  # lazy: the models; keeps --help fast

    if not (token_id.isascii() and token_id.isdigit() and len(token_id) <= 18):
        shown = token_id if len(token_id) <= 20 else token_id[:20] + "..."
        raise RefusedError("no token was revoked", [RowError("", "TOKEN_ID", f"{shown!r} is not a token id; "
                                                             "`energy-coop users tokens EMAIL` lists them")])
    with app.transaction() as session:
        row = tokens.revoke(session, email, int(token_id), actor=app.actor)
    email = email.strip().lower()
    if as_json:
        emit_json({"email": email, "revoked": {"id": row["id"], "name": row["name"], "scopes": row["scopes"],
                                               "revoked_at": row["revoked_at"].isoformat()}})
    else:
        click.echo(f"revoked token {row['id']} ({row['name']}) of {email}")


@users.command("unlock")
@click.argument("email")
@db_option
@json_option
@pass_app
@refusals()
def users_unlock(app: AppContext, email: str, as_json: bool) -> None:
    """Let EMAIL sign in again at once: forget its failed sign-ins from every address (audited)."""
    from energy_coop.services.accounts.sign_in_limits import unlock  # lazy: the models; keeps --help fast

    with app.transaction() as session:
        doc = unlock(session, email, actor=app.actor)
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"unlocked sign-in for {doc['email']}: {doc['failures_cleared']} failed attempts forgotten")
