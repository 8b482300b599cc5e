"""``energy-coop load``: bulk-load a register file (SPEC section 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from energy_coop.cli.context import AppContext, db_option, emit_json, json_option, pass_app, refusals
from energy_coop.errors import RefusedError

#: ``services.registers.loading.KINDS``, written out so that ``--help`` need not import the loaders (pandas).
REGISTER_KINDS = ("members", "assets", "shares", "rates")


def _load_refused_doc(exc: RefusedError, *, kind: str, path: str, as_json: bool) -> dict[str, Any]:
    errors = [e.as_dict() for e in exc.errors] or [{"where": "", "field": "", "reason": exc.message}]
    return {"file": Path(path).name, "kind": kind, "created": 0, "updated": 0, "unchanged": 0, "errors": errors}


@click.command("load")
@click.argument("kind", type=click.Choice(REGISTER_KINDS))
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@db_option
@json_option
@pass_app
@refusals(_load_refused_doc)
def load(app: AppContext, kind: str, path: str, as_json: bool) -> None:
    """Bulk-load a register file (SPEC section 3); loading the same file twice changes nothing."""
    from energy_coop.services.registers.loading import load_register  # lazy: pandas; keeps --help fast

    with app.transaction() as session:
        result = load_register(session, kind, path, actor=app.actor)
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"{result.file}: {result.created} created, {result.updated} updated, "
                   f"{result.unchanged} unchanged")
