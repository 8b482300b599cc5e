"""Loading the register files of SPEC section 3: members, assets, shares, rates.

``load_register`` is an upsert keyed by each file's key column; loading the same file twice changes nothing.
A file with any invalid row is refused whole with every problem named (:class:`RefusedError`) and nothing
written. Every created or changed row is recorded in the audit log with its before/after values.
The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session, aliased

from energy_coop.calc.forecasting.forecast import validate_array
from energy_coop.calc.credits.holdings import ShareTransaction as ShareTxn
from energy_coop.calc.credits.holdings import validate_register
from energy_coop.errors import RefusedError, RowError
from energy_coop.importers.registers.tables import TableRow, read_table
from energy_coop.models import (
    ARRAY_TYPES,
    ASSET_KINDS,
    MEMBER_TYPES,
    SHARE_KINDS,
    Asset,
    CreditRate,
    Member,
    Meter,
    ShareTransaction,
)
from energy_coop.units import kwh_to_mwh, parse_cents, parse_rate
from energy_coop.services import audit
from energy_coop.services.registers.fields import MISSING, RowFields, duplicate_keys

KINDS = ("members", "assets", "shares", "rates")


@dataclass
class LoadResult:
    """What a load did; ``as_dict`` is the ``load --json`` document of SPEC section 3."""

    file: str
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


COLUMNS: dict[str, tuple[set[str], set[str]]] = {}  # kind -> (required, optional), filled below


def _loaders() -> dict[str, Callable[..., LoadResult]]:
    return {"members": _load_members, "assets": _load_assets, "shares": _load_shares, "rates": _load_rates}


def load_register(session: Session, kind: str, path: str | Path, *, actor: str) -> LoadResult:
    """Load register file ``path`` of ``kind`` (members|assets|shares|rates) into the session's transaction.

    Raises :class:`RefusedError` naming every bad row; the caller must then roll back (nothing is flushed
    before all rows are known to be valid).
    """
    if kind not in KINDS:
        raise RefusedError(f"unknown register {kind!r}; choose one of: {', '.join(KINDS)}")
    required, optional = COLUMNS[kind]
    path = Path(path)
    _, rows = read_table(path, required=required, optional=optional)
    return _loaders()[kind](session, rows, path.name, actor)


def apply_records(session: Session, kind: str, records: list[dict[str, str]], *, source: str,
                  actor: str) -> LoadResult:
    """The same upsert and checks as :func:`load_register`, for rows that come from a form instead of a file.

    ``records`` are text values by column name (blank = empty); errors name "line N" = the N-th record.
    """
    if kind not in KINDS:
        raise RefusedError(f"unknown register {kind!r}; choose one of: {', '.join(KINDS)}")
    required, optional = COLUMNS[kind]
    errors = []
    for col in sorted({c for r in records for c in r} - required - optional):
        errors.append(RowError("", col, "unknown field"))
    for col in sorted(required - {c for r in records for c in r}):
        errors.append(RowError("", col, "is required"))
    if errors or not records:
        raise RefusedError(f"{source}: refused, nothing was saved", errors)
    rows = [TableRow(i + 1, {k: (v or "").strip() for k, v in r.items()}) for i, r in enumerate(records)]
    return _loaders()[kind](session, rows, source, actor)


def _refuse_if(errors: list[RowError], name: str) -> None:
    if errors:
        errors.sort(key=lambda e: (int(e.where[5:]) if e.where[5:].isdigit() else 0, e.field))
        raise RefusedError(
            f"{name}: refused, nothing was loaded ({len(errors)} problem{'s' if len(errors) != 1 else ''})",
            errors,
        )


def _apply(
    session: Session,
    result: LoadResult,
    obj: Any,
    values: dict[str, Any],
    *,
    actor: str,
    entity: str,
    key: str,
) -> None:
    """Update ``obj`` with the non-MISSING ``values``; count and audit the change (creation: ``_create``)."""
    values = {k: v for k, v in values.items() if v is not MISSING}
    before = {k: getattr(obj, k) for k in values}
    changed = {k: v for k, v in values.items() if before[k] != v}
    if not changed:
        result.unchanged += 1
        return
    for k, v in changed.items():
        setattr(obj, k, v)
    result.updated += 1
    audit.record(
        session,
        actor=actor,
        action="update",
        entity=entity,
        key=key,
        before={k: before[k] for k in changed},
        after=changed,
    )


def _create(session: Session, result: LoadResult, obj: Any, values: dict[str, Any], *, actor: str,
            entity: str, key: str) -> None:
    session.add(obj)
    result.created += 1
    shown = {k: v for k, v in values.items() if v is not MISSING}
    audit.record(session, actor=actor, action="create", entity=entity, key=key, after=shown)


def _meter_for(
    session: Session,
    code: str,
    kind: str,
    errors: list[RowError],
    row: TableRow,
    pending: dict[str, Meter],
) -> Meter | None:
    meter = pending.get(code) or session.scalar(select(Meter).where(Meter.code == code))
    if meter is None:
        meter = Meter(code=code, kind=kind)
        pending[code] = meter
        return meter
    if meter.kind != kind:
        errors.append(
            RowError(row.where, "meter_code", f"meter {code!r} is already registered as a {meter.kind} meter")
        )
        return None
    pending[code] = meter
    return meter


# ---------------------------------------------------------------------------------------------------- members

MEMBER_REQUIRED = {"member_number", "name"}
MEMBER_OPTIONAL = {"email", "member_type", "joined_on", "low_income", "annual_usage_kwh", "meter_code"}


COLUMNS["members"] = (MEMBER_REQUIRED, MEMBER_OPTIONAL)


def _load_members(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
    errors = duplicate_keys(rows, lambda r: r.values["member_number"], "member_number")
    parsed: list[tuple[TableRow, dict[str, Any], Any]] = []
    for row in rows:
        f = RowFields(row, errors)
        usage = f.exact("annual_usage_kwh", kwh_to_mwh, minimum=0)
        values = {
            "member_number": f.code("member_number", required=True),
            "name": f.text("name", required=True),
            "email": f.email("email"),
            "member_type": f.choice("member_type", MEMBER_TYPES, default="household"),
            "joined_on": f.date("joined_on"),
            "low_income": f.boolean("low_income", default=False),
            "annual_usage_wh": usage if usage in (None, MISSING) else usage // 1000,
        }
        meter_code = f.code("meter_code")
        if f.ok:
            parsed.append((row, values, meter_code))
    existing = {
        m.member_number: m
        for m in session.scalars(select(Member).where(Member.member_number.in_([v["member_number"] for _, v, _ in parsed])))
    } if parsed else {}
    pending_meters: dict[str, Meter] = {}
    meter_owner: dict[str, str] = {}
    resolved: list[tuple[dict[str, Any], Any]] = []
    for row, values, meter_code in parsed:
        meter = MISSING
        if meter_code is None:
            meter = None
        elif meter_code is not MISSING:
            if meter_code in meter_owner:
                errors.append(RowError(row.where, "meter_code",
                                       f"meter {meter_code!r} is also given to member {meter_owner[meter_code]}"))
                continue
            meter_owner[meter_code] = values["member_number"]
            meter = _meter_for(session, meter_code, "consumption", errors, row, pending_meters)
            if meter is None:
                continue
            if meter.id is not None:
                holder = session.scalar(select(Member.member_number).where(Member.meter_id == meter.id))
                if holder is not None and holder != values["member_number"]:
                    errors.append(RowError(row.where, "meter_code",
                                           f"meter {meter_code!r} belongs to member {holder}"))
                    continue
        resolved.append((values, meter))
    _refuse_if(errors, name)
    result = LoadResult(name, "members")
    for values, meter in resolved:
        member = existing.get(values["member_number"])
        shown = dict(values)
        if meter is not MISSING:
            shown["meter_code"] = meter.code if meter is not None else None
        if member is None:
            create = {k: v for k, v in values.items() if v is not MISSING}
            create.setdefault("member_type", "household")
            create.setdefault("low_income", False)
            member = Member(**create)
            if meter is not MISSING:
                member.meter = meter
            _create(session, result, member, shown, actor=actor, entity="member", key=values["member_number"])
        else:
            old_meter = member.meter.code if member.meter is not None else None
            new_meter = MISSING if meter is MISSING else (meter.code if meter is not None else None)
            before_count = result.updated
            _apply(session, result, member, values, actor=actor, entity="member", key=values["member_number"])
            if new_meter is not MISSING and new_meter != old_meter:
                member.meter = meter
                if result.updated == before_count:
                    result.unchanged -= 1
                    result.updated += 1
                audit.record(session, actor=actor, action="update", entity="member", key=values["member_number"],
                             before={"meter_code": old_meter}, after={"meter_code": new_meter})
    session.flush()
    return result


# ---------------------------------------------------------------------------------------------------- assets

ASSET_REQUIRED = {"asset_code", "name", "kind", "meter_code", "timezone", "latitude", "longitude", "total_shares"}
SOLAR_COLUMNS = ("capacity_kw_dc", "capacity_kw_ac", "tilt_deg", "azimuth_deg", "losses_pct", "array_type")
STORAGE_COLUMNS = ("storage_kwh", "storage_kw", "roundtrip_efficiency")
ASSET_OPTIONAL = {"altitude_m", "commissioned_on", *SOLAR_COLUMNS, *STORAGE_COLUMNS}


COLUMNS["assets"] = (ASSET_REQUIRED, ASSET_OPTIONAL)


def _load_assets(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
    errors = duplicate_keys(rows, lambda r: r.values["asset_code"], "asset_code")
    errors += duplicate_keys(rows, lambda r: r.values["meter_code"], "meter_code")
    parsed: list[tuple[TableRow, dict[str, Any], str]] = []
    for row in rows:
        f = RowFields(row, errors)
        kind = f.choice("kind", ASSET_KINDS, required=True)
        values: dict[str, Any] = {
            "asset_code": f.code("asset_code", required=True),
            "name": f.text("name", required=True),
            "kind": kind,
            "timezone": f.timezone("timezone", required=True),
            "latitude": f.number("latitude", required=True, minimum=-90, maximum=90),
            "longitude": f.number("longitude", required=True, minimum=-180, maximum=180),
            "altitude_m": f.number("altitude_m", minimum=-500, maximum=9000),
            "total_shares": f.integer("total_shares", required=True, minimum=1, maximum=2_000_000_000),
            "commissioned_on": f.date("commissioned_on"),
        }
        meter_code = f.code("meter_code", required=True)
        own, other = (SOLAR_COLUMNS, STORAGE_COLUMNS) if kind == "solar" else (STORAGE_COLUMNS, SOLAR_COLUMNS)
        if kind is not None:
            for col in other:
                if f.raw(col) not in (MISSING, ""):
                    f.error(col, f"applies only to {'storage' if kind == 'solar' else 'solar'} assets; "
                                 f"leave it empty for a {kind} asset")
            for col in other:
                values[col] = None
        if kind == "solar":
            dc = f.number("capacity_kw_dc", required=True, above=0, maximum=1_000_000)
            ac = f.number("capacity_kw_ac", required=True, above=0, maximum=1_000_000)
            values.update(
                capacity_kw_dc=dc,
                capacity_kw_ac=ac,
                tilt_deg=f.number("tilt_deg", required=True, minimum=0, maximum=90),
                azimuth_deg=f.number("azimuth_deg", required=True, minimum=0, maximum=360),
                losses_pct=f.number("losses_pct", minimum=0, maximum=99, default=14.0),
                array_type=f.choice("array_type", ARRAY_TYPES, default="fixed_open_rack"),
            )
            if values["losses_pct"] is MISSING:
                values["losses_pct"] = 14.0
            if values["array_type"] is MISSING:
                values["array_type"] = "fixed_open_rack"
            if dc and ac:
                # the same DC/AC plausibility rule as the forecast model (calc.forecast.validate_array)
                problems = validate_array(latitude=0, longitude=0, capacity_kw_dc=dc, capacity_kw_ac=ac, tilt_deg=0,
                                          azimuth_deg=180)
                for problem in problems:
                    f.error("capacity_kw_ac", problem)
        elif kind == "storage":
            values.update(
                storage_kwh=f.number("storage_kwh", required=True, above=0, maximum=10_000_000),
                storage_kw=f.number("storage_kw", required=True, above=0, maximum=10_000_000),
                roundtrip_efficiency=f.number("roundtrip_efficiency", above=0, maximum=1),
            )
        if f.ok:
            parsed.append((row, values, meter_code))
    codes = [v["asset_code"] for _, v, _ in parsed]
    existing = {a.asset_code: a for a in session.scalars(select(Asset).where(Asset.asset_code.in_(codes)))}
    pending_meters: dict[str, Meter] = {}
    resolved: list[tuple[dict[str, Any], Meter]] = []
    for row, values, meter_code in parsed:
        meter = _meter_for(session, meter_code, "production", errors, row, pending_meters)
        if meter is None:
            continue
        if meter.id is not None:
            owner = session.scalar(select(Asset.asset_code).where(Asset.meter_id == meter.id))
            if owner is not None and owner != values["asset_code"]:
                errors.append(RowError(row.where, "meter_code", f"meter {meter_code!r} belongs to asset {owner}"))
                continue
        asset = existing.get(values["asset_code"])
        if asset is not None and asset.kind != values["kind"]:
            errors.append(RowError(row.where, "kind",
                                   f"asset {asset.asset_code} is registered as {asset.kind}; its kind cannot change"))
            continue
        if asset is not None and values["total_shares"] < asset.total_shares:
            problem = _shares_over_total(session, asset, values["total_shares"])
            if problem:
                errors.append(RowError(row.where, "total_shares", problem))
                continue
        resolved.append((values, meter))
    _refuse_if(errors, name)
    result = LoadResult(name, "assets")
    for values, meter in resolved:
        asset = existing.get(values["asset_code"])
        shown = {**{k: v for k, v in values.items() if v is not MISSING}, "meter_code": meter.code}
        if asset is None:
            asset = Asset(**{k: v for k, v in values.items() if v is not MISSING})
            asset.meter = meter
            _create(session, result, asset, shown, actor=actor, entity="asset", key=values["asset_code"])
        else:
            old_meter = asset.meter.code
            before_count = result.updated
            _apply(session, result, asset, values, actor=actor, entity="asset", key=values["asset_code"])
            if meter.code != old_meter:
                asset.meter = meter
                if result.updated == before_count:
                    result.unchanged -= 1
                    result.updated += 1
                audit.record(session, actor=actor, action="update", entity="asset", key=values["asset_code"],
                             before={"meter_code": old_meter}, after={"meter_code": meter.code})
    session.flush()
    return result


def _shares_over_total(session: Session, asset: Asset, new_total: int) -> str | None:
    txns = share_register(session, asset.id)
    problems = validate_register(txns, {asset.asset_code: new_total})
    if problems:
        return (f"cannot lower total_shares of {asset.asset_code} to {new_total}: " + problems[0].reason)
    return None


# ---------------------------------------------------------------------------------------------------- shares

SHARE_REQUIRED = {"ref", "date", "asset_code", "kind", "member_number", "shares"}
SHARE_OPTIONAL = {"from_member_number", "price_per_share"}


COLUMNS["shares"] = (SHARE_REQUIRED, SHARE_OPTIONAL)


_FROM_MEMBER = aliased(Member)  # the giving member of a transfer; made once (an alias is costly to build)


def share_register(session: Session, asset_id: int | None = None, *,
                   member_number: str | None = None) -> list[ShareTxn]:
    """The stored share register as plain values (optionally for one asset, or only the transactions that move
    one member's shares: enough to know that member's holdings on any day)."""
    frm = _FROM_MEMBER
    stmt = (
        select(
            ShareTransaction.ref,
            ShareTransaction.date,
            Asset.asset_code,
            ShareTransaction.kind,
            Member.member_number,
            frm.member_number,
            ShareTransaction.shares,
        )
        .join(Asset, ShareTransaction.asset_id == Asset.id)
        .join(Member, ShareTransaction.member_id == Member.id)
        .outerjoin(frm, ShareTransaction.from_member_id == frm.id)
    )
    if asset_id is not None:
        stmt = stmt.where(ShareTransaction.asset_id == asset_id)
    if member_number is not None:
        # the member's transaction ids through the two indexed columns, then those rows: written as an IN over a
        # UNION because with a plain OR SQLite's planner walks the whole register asset by asset
        member_id = select(Member.id).where(Member.member_number == member_number).scalar_subquery()
        ids = union_all(select(ShareTransaction.id).where(ShareTransaction.member_id == member_id),
                        select(ShareTransaction.id).where(ShareTransaction.from_member_id == member_id))
        stmt = stmt.where(ShareTransaction.id.in_(ids))
    return [ShareTxn(*row) for row in session.execute(stmt)]


def _load_shares(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
    errors = duplicate_keys(rows, lambda r: r.values["ref"], "ref")
    parsed: list[tuple[TableRow, dict[str, Any]]] = []
    for row in rows:
        f = RowFields(row, errors)
        kind = f.choice("kind", SHARE_KINDS, required=True)
        values = {
            "ref": f.text("ref", required=True, max_len=64),
            "date": f.date("date", required=True),
            "asset_code": f.text("asset_code", required=True, max_len=64),
            "kind": kind,
            "member_number": f.text("member_number", required=True, max_len=64),
            "from_member_number": f.text("from_member_number", max_len=64),
            "shares": f.integer("shares", required=True, minimum=1, maximum=2_000_000_000),
            "price_per_share_cents": f.exact("price_per_share", parse_cents, minimum=0),
        }
        if values["from_member_number"] is MISSING:
            values["from_member_number"] = None
        if kind == "transfer" and not values["from_member_number"]:
            f.error("from_member_number", "a transfer needs the member the shares come from")
        if kind in ("issue", "redeem") and values["from_member_number"]:
            f.error("from_member_number", f"applies only to transfers; leave it empty for an {kind}")
        if kind == "transfer" and values["from_member_number"] == values["member_number"]:
            f.error("from_member_number", "a member cannot transfer shares to themself")
        if f.ok:
            parsed.append((row, values))
    assets = {a.asset_code: a for a in session.scalars(select(Asset))} if parsed else {}
    numbers = {v["member_number"] for _, v in parsed} | {v["from_member_number"] for _, v in parsed
                                                        if v["from_member_number"]}
    members = {m.member_number: m for m in session.scalars(select(Member).where(Member.member_number.in_(numbers)))}
    refs = [v["ref"] for _, v in parsed]
    existing = {t.ref: t for t in session.scalars(select(ShareTransaction).where(ShareTransaction.ref.in_(refs)))}
    line_of: dict[str, TableRow] = {}
    for row, values in parsed:
        line_of[values["ref"]] = row
        if values["asset_code"] not in assets:
            errors.append(RowError(row.where, "asset_code", f"no asset with code {values['asset_code']!r} is registered"))
        for col in ("member_number", "from_member_number"):
            number = values[col]
            if number and number not in members:
                errors.append(RowError(row.where, col, f"no member with number {number!r} is registered"))
    _refuse_if(errors, name)
    # The whole register as it would be after this file: stored transactions overridden by the file's.
    register = {t.ref: t for t in share_register(session)}
    for _, values in parsed:
        register[values["ref"]] = ShareTxn(values["ref"], values["date"], values["asset_code"], values["kind"],
                                           values["member_number"], values["from_member_number"], values["shares"])
    totals = {code: a.total_shares for code, a in assets.items()}
    for problem in validate_register(list(register.values()), totals):
        row = line_of.get(problem.ref)
        if row is not None:
            errors.append(RowError(row.where, "shares", problem.reason))
        else:
            errors.append(RowError(f"stored transaction {problem.ref}", "shares", problem.reason))
    _refuse_if(errors, name)
    result = LoadResult(name, "shares")
    for _, values in parsed:
        stored = {
            "date": values["date"],
            "asset_id": assets[values["asset_code"]].id,
            "kind": values["kind"],
            "member_id": members[values["member_number"]].id,
            "from_member_id": members[values["from_member_number"]].id if values["from_member_number"] else None,
            "shares": values["shares"],
            "price_per_share_cents": values["price_per_share_cents"],
        }
        shown = {k: v for k, v in values.items() if v is not MISSING}
        txn = existing.get(values["ref"])
        if txn is None:
            txn = ShareTransaction(ref=values["ref"], **{k: v for k, v in stored.items() if v is not MISSING})
            _create(session, result, txn, shown, actor=actor, entity="share_transaction", key=values["ref"])
        else:
            _apply(session, result, txn, stored, actor=actor, entity="share_transaction", key=values["ref"])
    session.flush()
    return result


# ---------------------------------------------------------------------------------------------------- rates

RATE_REQUIRED = {"valid_from", "rate_per_kwh"}
RATE_OPTIONAL = {"asset_code"}


COLUMNS["rates"] = (RATE_REQUIRED, RATE_OPTIONAL)


def _load_rates(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
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
    _refuse_if(errors, name)
    existing = {(r.valid_from, r.scope): r for r in session.scalars(select(CreditRate))}
    result = LoadResult(name, "rates")
    for _, valid_from, micros, scope in parsed:
        key = f"{scope}@{valid_from.isoformat()}"
        rate = existing.get((valid_from, scope))
        if rate is None:
            rate = CreditRate(valid_from=valid_from, scope=scope, rate_micros=micros,
                              asset_id=assets[scope].id if scope != "*" else None)
            _create(session, result, rate, {"valid_from": valid_from, "asset_code": scope, "rate_micros": micros},
                    actor=actor, entity="credit_rate", key=key)
        else:
            _apply(session, result, rate, {"rate_micros": micros}, actor=actor, entity="credit_rate", key=key)
    session.flush()
    return result
