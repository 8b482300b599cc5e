"""Import profiles (SPEC 20): ``profiles list``, ``profiles show NAME``, ``profiles add FILE``, ``profiles remove``."""

from __future__ import annotations

import click

from energy_coop.cli.context import AppContext, db_option, emit_json, json_option, pass_app, refusals


@click.group("profiles")
def profiles_group() -> None:
    """Import profiles: the layouts of utility and inverter exports that ``import`` can read."""


@profiles_group.command("list")
@db_option
@json_option
@pass_app
@refusals()
def list_command(app: AppContext, as_json: bool) -> None:
    """The built-in profiles and the ones administrators added (the order detection tries them in)."""
    from energy_coop.services.metering.profiles import profile_documents

    with app.snapshot() as session:
        docs = profile_documents(session)
    if as_json:
        emit_json({"profiles": docs})
        return
    for d in docs:
        origin = "built-in" if d["built_in"] else f"added by {d['added_by']}"
        click.echo(f"{d['name']:<20} {d['layout']:<7} {origin:<28} {d['description']}")


@profiles_group.command("show")
@click.argument("name")
@db_option
@json_option
@pass_app
@refusals()
def show_command(app: AppContext, name: str, as_json: bool) -> None:
    """A profile's file (TOML): what it reads, and an example to start a new one from."""
    from energy_coop.services.metering.profiles import find_profile

    with app.snapshot() as session:
        profile = find_profile(session, name)
    if as_json:
        emit_json(profile.describe() | {"source": profile.source})
        return
    click.echo(profile.source.rstrip("\n"))


@profiles_group.command("add")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Replace a stored profile of the same name.")
@db_option
@json_option
@pass_app
@refusals()
def add_command(app: AppContext, path: str, replace: bool, as_json: bool) -> None:
    """Check a profile file and store it, so uploads and the inbox can use it by name (audited).

    Every problem of the file is named by line and key; nothing is stored unless it is all right.
    """
    import os

    from energy_coop.services.metering.profiles import add_profile, read_profile_file

    read_profile_file(path)  # refused here with every problem before the database is touched
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with app.transaction() as session:
        profile = add_profile(session, text, source=os.path.basename(path), actor=app.actor, replace=replace)
    if as_json:
        emit_json({"added": profile.describe()})
        return
    click.echo(f"profile {profile.name!r} stored; import files with --profile {profile.name}")


@profiles_group.command("remove")
@click.argument("name")
@db_option
@json_option
@pass_app
@refusals()
def remove_command(app: AppContext, name: str, as_json: bool) -> None:
    """Remove a stored profile (audited); readings imported through it stay."""
    from energy_coop.services.metering.profiles import remove_profile

    with app.transaction() as session:
        remove_profile(session, name, actor=app.actor)
    if as_json:
        emit_json({"removed": name})
        return
    click.echo(f"profile {name!r} removed")
