"""Anchors of the ledger's head (issue 16): ``ledger anchor``, ``ledger anchor-key`` and ``ledger verify --against``.

The commands join the ``ledger`` group of :mod:`energy_coop.cli.credits`; ``ledger verify`` hands ``--against``
to :func:`verify_against_command` here.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from energy_coop.cli.context import EXIT_FAILED, AppContext, db_option, emit_json, json_option, pass_app, refusals
from energy_coop.errors import RefusedError


@click.command("anchor-key")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@refusals()
def anchor_key(path: Path, as_json: bool) -> None:
    """Create an Ed25519 key pair for signing ledger anchors: FILE (private, mode 0600, keep it outside the
    database and its backups) and FILE.pub (public: publish it, give it to the auditors). Prints the public key."""
    from energy_coop.services.credits import anchors  # lazy: keeps --help fast

    pair = anchors.create_key_pair(path)
    if as_json:
        emit_json(pair.as_dict())
        return
    click.echo(f"private key written to {pair.private_path} (mode 0600): keep it outside the database and its "
               "backups; sign with `energy-coop ledger anchor --key FILE` or ENERGY_COOP_ANCHOR_KEY")
    click.echo(f"public key written to {pair.public_path}, fingerprint {pair.fingerprint}:")
    click.echo(pair.public_pem.rstrip())


@click.command("anchor")
@click.option("--key", "key_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="The Ed25519 private key to sign with (default: ENERGY_COOP_ANCHOR_KEY).")
@click.option("--out", "out_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the anchor (default: ledger-anchor-SEQ.json here).")
@db_option
@json_option
@pass_app
@refusals()
def anchor(app: AppContext, key_file: Path | None, out_file: Path | None, as_json: bool) -> None:
    """Write a signed checkpoint of the ledger's head (last entry, its hash, entries, totals, the instant) and
    record it in the audit log. Give the file to someone outside the co-op: `ledger verify --against FILE`
    proves later that the ledger still extends it."""
    from energy_coop.services.credits import anchors  # lazy: the models; keeps --help fast

    key_file = key_file or app.config.anchor_key
    if key_file is None:
        raise RefusedError("no signing key: give --key FILE or set ENERGY_COOP_ANCHOR_KEY; create a key pair with "
                           "`energy-coop ledger anchor-key FILE`")
    key = anchors.load_private_key(key_file)
    with app.transaction() as session:
        made = anchors.make_anchor(session, key, actor=app.actor)
        path = out_file or Path(f"ledger-anchor-{made.anchor.head.seq}.json")
        write_atomically(path, json.dumps(made.document, indent=2, sort_keys=True) + "\n")
    head = made.anchor.head
    if as_json:
        emit_json({"file": str(path), **made.anchor.summary(), "entries": head.entries, "total_wh": head.total_wh,
                   "total_cents": head.total_cents, "anchor_sha256": made.anchor.sha256,
                   "audit_id": made.audit_id})
        return
    click.echo(f"ledger anchored at entry {head.seq}, hash {head.hash} ({head.entries} entries), signed "
               f"{made.anchor.signed_at} by {made.anchor.fingerprint}; written to {path}")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary name beside ``path`` and rename it; refused (nothing left) on failure."""
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise RefusedError(f"{path}: cannot write the anchor there ({exc.strerror or exc}); give a file in a "
                           "folder that exists and that you may write to; nothing was recorded") from None


def against_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--against FILE|HASH`` and ``--public-key FILE`` on a verify command (put it right above the function,
    under ``@refusals()``): with ``--against`` the command becomes :func:`verify_against_command`; without, it
    runs as before."""

    @click.option("--against", metavar="FILE|HASH", default=None,
                  help="Also prove the ledger still extends this anchor (a `ledger anchor` file, or a head hash "
                       "written down earlier).")
    @click.option("--public-key", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", default=None,
                  help="The co-op's public key: the anchor must be signed by it.")
    @functools.wraps(f)
    def wrapper(app: AppContext, *args: Any, against: str | None = None, public_key: Path | None = None,
                **kwargs: Any) -> Any:
        if against is None and public_key is None:
            return f(app, *args, **kwargs)
        if against is None:
            raise RefusedError("--public-key checks an anchor's signature: give the anchor with --against FILE")
        return verify_against_command(app, against, public_key, bool(kwargs.get("as_json")))

    return wrapper


def verify_against_command(app: AppContext, against: str, public_key: Path | None, as_json: bool) -> None:
    """``ledger verify --against FILE|HASH [--public-key FILE]``: the whole chain, then the anchor.

    Exit 1 when the ledger does not verify or no longer extends the anchor; a file that is not an anchor or
    whose signature does not hold is refused (exit 2) before the ledger is read."""
    from energy_coop.services.credits import anchors  # lazy: the models; keeps --help fast

    target = anchors.read_against(against, public_key)
    with app.snapshot() as session:
        report = anchors.verify_against(session, target, key_given=public_key is not None)
    if as_json:
        emit_json(report.as_dict())
    else:
        f = app.formatter()
        state = "intact" if report.ledger.ok else "BROKEN"
        click.echo(f"ledger {state}: {report.ledger.entries} entries, {report.ledger.members} members, "
                   f"{f.energy_kwh(report.ledger.total_wh)} kWh, {f.money(report.ledger.total_cents)} in balances")
        for problem in report.ledger.problems:
            click.echo(f"  - {problem}", err=True)
        what = f"entry {report.seq}, hash {report.hash}" if report.seq else f"hash {report.hash}"
        if report.anchor:
            what += f", signed {report.anchor['signed_at']}"
        if not report.problems:
            click.echo(f"extends the anchor ({what})")
        else:
            click.echo(f"does NOT extend the anchor ({what}):")
            for problem in report.problems:
                click.echo(f"  - {problem}", err=True)
        click.echo(f"signature: {report.signature}")
    if not report.ok:
        sys.exit(EXIT_FAILED)
