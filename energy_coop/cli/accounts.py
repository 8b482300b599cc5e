"""``energy-coop users add|token|unlock``: the people who sign in."""

from __future__ import annotations

import sys

import click

from energy_coop.cli.context import AppContext, db_option, emit_json, json_option, pass_app, refusals
from energy_coop.vocabulary import ROLES


@click.group("users")
def users() -> None:
    """People who sign in."""


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
@db_option
@json_option
@pass_app
@refusals()
def users_token(app: AppContext, email: str, as_json: bool) -> None:
    """Print a new API bearer token for EMAIL (shown once; only its hash is stored)."""
    from energy_coop.services.accounts.users import new_token  # lazy: the models; keeps --help fast

    with app.transaction() as session:
        token = new_token(session, email, actor=app.actor)
    if as_json:
        emit_json({"email": email.strip().lower(), "token": token})
    else:
        click.echo(token)


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
