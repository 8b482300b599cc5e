"""Reads of the meter data that the screens share: import batches, a month's coverage, daily production.

Each takes a Session and plain values and returns dicts or dataclasses with integer energies [Wh]; nothing
here writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.models import Asset, Forecast, ImportBatch, Reading
from energy_coop.period import Period
from energy_coop.services import memo
from energy_coop.services.metering import coverage as coverage_service


def import_batches(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest import batches (file, hash, who, when, counts)."""
    rows = session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit))
    return [{"id": b.id, "file_name": b.file_name, "sha256": b.sha256, "format": b.format,
             "imported_by": b.imported_by, "imported_at": b.imported_at, "status": b.status,
             "meters": list(b.meters or []), "accepted": b.accepted, "unchanged": b.unchanged, "revised": b.revised,
             "rejected": b.rejected} for b in rows]


def month_coverage(session: Session, period: Period) -> list[dict[str, Any]]:
    """Coverage of every asset meter over the local month ``period``: intervals present and expected, gaps,
    ``fraction`` (0..1) and ``complete``."""
    out = []
    for asset in session.scalars(select(Asset).order_by(Asset.asset_code)):
        cov = coverage_service.meter_month_coverage(session, asset.meter.code, str(period), asset.timezone)
        doc = cov.as_dict()
        doc.update(asset_code=asset.asset_code, name=asset.name, complete=cov.complete, fraction=cov.fraction)
        out.append(doc)
    return out


def wrong_sign_todos(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    """The admin's to-do lines for readings of the wrong sign: meter, month, count and the words, at most
    ``limit`` (the newest months first)."""
    rows = coverage_service.wrong_sign_months(session)
    rows.sort(key=lambda r: (r["period"], r["meter_code"]), reverse=True)
    return rows[:limit]


@dataclass
class ProductionDay:
    day: dt.date
    metered_wh: int | None  # [Wh] None: no readings that day
    forecast_wh: int | None  # [Wh] None: no stored forecast that day


def asset_daily_production(session: Session, asset: Asset, first: dt.date, last: dt.date, *,
                           version: tuple | None = None) -> list[ProductionDay]:
    """Metered production and stored forecast of ``asset`` per local day from ``first`` to ``last`` [Wh].

    The same for every member holding the asset, so remembered until the stored data changes (:mod:`.memo`;
    ``version``: the data version the caller already read); callers must not change the returned days."""
    return memo.remember(session, ("daily production", asset.id, asset.meter_id, asset.timezone, first, last),
                         lambda: _asset_daily_production(session, asset, first, last), version=version)


def _daily_sums(rows, zone: ZoneInfo) -> dict[dt.date, int]:
    sums: dict[dt.date, int] = defaultdict(int)
    for start, amount in rows:
        sums[dt.datetime.fromtimestamp(start, zone).date()] += amount
    return dict(sums)


def _asset_daily_production(session: Session, asset: Asset, first: dt.date, last: dt.date) -> list[ProductionDay]:
    zone = ZoneInfo(asset.timezone)
    start = int(dt.datetime.combine(first, dt.time(0), tzinfo=zone).timestamp())
    end = int(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone).timestamp())
    metered = _daily_sums(session.execute(
        select(Reading.start, Reading.mwh).where(Reading.meter_id == asset.meter_id, Reading.start >= start,
                                                 Reading.start < end)).all(), zone)
    metered = {d: v // 1000 for d, v in metered.items()}  # mWh -> Wh
    forecast = _daily_sums(session.execute(
        select(Forecast.start, Forecast.wh).where(Forecast.asset_id == asset.id, Forecast.start >= start,
                                                  Forecast.start < end)).all(), zone)
    days = []
    day = first
    while day <= last:
        days.append(ProductionDay(day, metered.get(day), forecast.get(day)))
        day += dt.timedelta(days=1)
    return days
