"""The assets register (SPEC section 3): solar arrays and batteries, keyed by ``asset_code``, each with its own
production meter. The caller owns the transaction; nothing here commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.holdings import validate_register
from energy_coop.calc.forecasting.forecast import validate_array
from energy_coop.errors import RowError
from energy_coop.importers.registers.tables import TableRow
from energy_coop.models import Asset, Meter
from energy_coop.services import audit
from energy_coop.services.registers.fields import MISSING, RowFields, duplicate_keys
from energy_coop.services.registers.shares import share_register
from energy_coop.services.registers.upsert import LoadResult, apply_changes, create_row, meter_for, refuse_if
from energy_coop.vocabulary import ARRAY_TYPES, ASSET_KINDS

REQUIRED = {"asset_code", "name", "kind", "meter_code", "timezone", "latitude", "longitude", "total_shares"}
SOLAR_COLUMNS = ("capacity_kw_dc", "capacity_kw_ac", "tilt_deg", "azimuth_deg", "losses_pct", "array_type")
STORAGE_COLUMNS = ("storage_kwh", "storage_kw", "roundtrip_efficiency")
OPTIONAL = {"altitude_m", "commissioned_on", *SOLAR_COLUMNS, *STORAGE_COLUMNS}


def load_assets(session: Session, rows: list[TableRow], name: str, actor: str) -> LoadResult:
    """Upsert the asset rows of file ``name`` by ``asset_code`` (see :mod:`.loading`); refused whole on any problem.

    An asset's kind never changes, and its ``total_shares`` cannot drop below the shares held on any day.
    """
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
        meter = meter_for(session, meter_code, "production", errors, row, pending_meters)
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
    refuse_if(errors, name)
    result = LoadResult(name, "assets")
    for values, meter in resolved:
        asset = existing.get(values["asset_code"])
        shown = {**{k: v for k, v in values.items() if v is not MISSING}, "meter_code": meter.code}
        if asset is None:
            asset = Asset(**{k: v for k, v in values.items() if v is not MISSING})
            asset.meter = meter
            create_row(session, result, asset, shown, actor=actor, entity="asset", key=values["asset_code"])
        else:
            old_meter = asset.meter.code
            before_count = result.updated
            apply_changes(session, result, asset, values, actor=actor, entity="asset", key=values["asset_code"])
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
