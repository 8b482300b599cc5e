"""``energy-coop settings show|set``: the co-op's name, contact, currency, locale, time zone and emission factor
(SPEC 13). ``--json`` prints machine values (the emission factor as exact decimal text, ``null`` when not set)."""

from __future__ import annotations

import click

from energy_coop.cli.context import AppContext, db_option, emit_json, json_option, pass_app, refusals


@click.group("settings")
def settings_group() -> None:
    """The co-op's settings: name, address, contact, currency, locale, time zone, emission factor."""


def _print(values: dict[str, str | None]) -> None:
    width = max(len(k) for k in values)
    for key, value in values.items():
        lines = (value or "").split("\n")
        click.echo(f"{key.ljust(width)}  {lines[0]}".rstrip())
        for line in lines[1:]:
            click.echo(f"{'':{width}}  {line}")


@settings_group.command("show")
@db_option
@json_option
@pass_app
@refusals()
def settings_show(app: AppContext, as_json: bool) -> None:
    """Print every setting (its default when never set)."""
    from energy_coop.services.settings import get_settings  # lazy: the models; keeps --help fast

    with app.snapshot() as session:
        values = get_settings(session).as_dict()
    if as_json:
        emit_json({"settings": values})
    else:
        _print(values)


@settings_group.command("set")
@click.argument("key", metavar="KEY")
@click.argument("value", metavar="VALUE")
@db_option
@json_option
@pass_app
@refusals()
def settings_set(app: AppContext, key: str, value: str, as_json: bool) -> None:
    """Set KEY to VALUE (audited); an empty VALUE ("") clears a key that may be empty. Put -- before a VALUE
    that starts with "-" (settings set -- KEY -0.1), or it is read as an option.

    \b
    KEY is one of:
      coop_name, address, contact_email, contact_phone,
      currency (ISO 4217, e.g. USD, EUR), locale (e.g. en_US, de_DE, es_ES),
      timezone (IANA, e.g. America/New_York),
      emission_factor_kg_per_kwh (kg CO2 per kWh, e.g. 0.367; needs emission_factor_source first)
    """
    from energy_coop.services.settings import set_setting  # lazy: the models; keeps --help fast

    with app.transaction() as session:
        values = set_setting(session, key, value, actor=app.actor).as_dict()
    if as_json:
        emit_json({"key": key, "value": values[key], "settings": values})
    else:
        click.echo(f"{key} is now {values[key]!r}" if values[key] else f"{key} is now empty")
