"""The credit rates register (SPEC section 3): a rate per kWh valid from an instant, for every asset or one,
keyed by (``valid_from``, asset). The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.errors import RowError
from energy_coop.importers.registers.tables import TableRow
from energy_coop.models import Asset, CreditRate
from energy_coop.services.registers.fields import MISSING, RowFields
from energy_coop.services.registers.upsert import LoadResult, apply_changes, create_row, refuse_if
from energy_coop.units import parse_rate

REQUIRED = {"valid_from", "rate_per_kwh"}
OPTIONAL = {"asset_code"}


def load_rates(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
    """Upsert the rate rows of file ``name`` by (``valid_from``, asset; blank = every asset); refused whole on any
    problem."""
    errors: list[RowError] = []
    parsed: list[tuple[TableRow, dt.datetime, int, str]] = []
    for row in rows:
        f = RowFields(row, errors)
        valid_from = f.timestamp("valid_from", required=True)
        micros = f.exact("rate_per_kwh", parse_rate, required=True, minimum=0)
        scope = f.text("asset_code", max_len=64)
        scope = scope if scope not in (None, MISSING, "") else "*"
        if f.ok:
            parsed.append((row, valid_from, micros, scope))
    first: dict[tuple[dt.datetime, str], int] = {}
    for row, valid_from, _, scope in parsed:
        key = (valid_from, scope)
        if key in first:
            errors.append(RowError(row.where, "valid_from",
                                   f"a rate for {'every asset' if scope == '*' else scope} from "
                                   f"{valid_from.isoformat()} already appears on line {first[key]}"))
        else:
            first[key] = row.line
    assets = {a.asset_code: a for a in session.scalars(select(Asset))}
    for row, _, _, scope in parsed:
        if scope != "*" and scope not in assets:
            errors.append(RowError(row.where, "asset_code", f"no asset with code {scope!r} is registered"))
    refuse_if(errors, name)
    existing = {(r.valid_from, r.scope): r for r in session.scalars(select(CreditRate))}
    result = LoadResult(name, "rates")
    for _, valid_from, micros, scope in parsed:
        key = f"{scope}@{valid_from.isoformat()}"
        rate = existing.get((valid_from, scope))
        if rate is None:
            rate = CreditRate(valid_from=valid_from, scope=scope, rate_micros=micros,
                              asset_id=assets[scope].id if scope != "*" else None)
            create_row(session, result, rate, {"valid_from": valid_from, "asset_code": scope, "rate_micros": micros},
                    actor=actor, entity="credit_rate", key=key)
        else:
            apply_changes(session, result, rate, {"rate_micros": micros}, actor=actor, entity="credit_rate", key=key)
    session.flush()
    return result
