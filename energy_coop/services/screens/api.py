"""The JSON API's screens (SPEC section 10) that no other service answers: one read function per endpoint.

Every function takes a Session and plain values and returns plain dicts and lists (JSON-ready: integers for
energy [Wh] and money [cents], ISO 8601 text for times). Nothing here writes or commits. A name that does not
exist raises :class:`NotFoundError`; a request that makes no sense raises :class:`RefusedError`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from energy_coop.period import local_midnight_utc
from energy_coop.calc.credits.chain import format_time
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import Asset, Member, Meter, Reading, ShareTransaction
from energy_coop.services.credits.ledger import chain_query

RESOLUTIONS = ("hour", "day", "month")
# The most buckets one production request may ask for: a leap year of hours, 100 years of days or months.
MAX_BUCKETS = {"hour": 366 * 24, "day": 366 * 100, "month": 12 * 100}


# ------------------------------------------------------------------------------------------------ members


def member_dict(member: Member, meter_code: str | None) -> dict[str, Any]:
    """The public details of one member (``annual_usage_wh`` [Wh/year])."""
    return {
        "member_number": member.member_number,
        "name": member.name,
        "email": member.email,
        "member_type": member.member_type,
        "joined_on": member.joined_on.isoformat() if member.joined_on else None,
        "low_income": bool(member.low_income),
        "annual_usage_wh": member.annual_usage_wh,
        "meter_code": meter_code,
    }


def list_members(session: Session, *, after: str | None = None, limit: int = 100,
                 only: str | None = None) -> dict[str, Any]:
    """Members ordered by ``member_number``, ``limit`` at a time after the cursor ``after`` (keyset paging).

    ``only`` restricts the list to that one member number (a member reading the list sees only themself).
    Returns ``{"members": [...], "next_after": member_number | None}``; ``next_after`` is the cursor for the
    next page, None on the last one.
    """
    stmt = (select(Member, Meter.code).outerjoin(Meter, Member.meter_id == Meter.id)
            .order_by(Member.member_number).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(Member.member_number > after)
    if only is not None:
        stmt = stmt.where(Member.member_number == only)
    rows = session.execute(stmt).all()
    page = [member_dict(m, code) for m, code in rows[:limit]]
    return {"members": page, "next_after": page[-1]["member_number"] if len(rows) > limit else None}


def member_details(session: Session, member_number: str, *, on: dt.date) -> dict[str, Any]:
    """One member's details and the shares they hold in each asset at the start of day ``on``."""
    row = session.execute(
        select(Member, Meter.code).outerjoin(Meter, Member.meter_id == Meter.id)
        .where(Member.member_number == member_number)).first()
    if row is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    member, code = row
    doc = member_dict(member, code)
    doc["shares"] = member_holdings(session, member.id, on=on)
    return doc


def member_holdings(session: Session, member_id: int, *, on: dt.date) -> list[dict[str, Any]]:
    """Shares held in each asset at the start of ``on`` (transactions dated on or before ``on``), non-zero only.

    A transaction dated D is effective from 00:00 of D in the asset's time zone (SPEC 3), so it counts on D.
    """
    incoming = case((ShareTransaction.kind == "redeem", -ShareTransaction.shares), else_=ShareTransaction.shares)
    received = (select(ShareTransaction.asset_id, func.sum(incoming).label("n"))
                .where(ShareTransaction.member_id == member_id, ShareTransaction.date <= on)
                .group_by(ShareTransaction.asset_id))
    given = (select(ShareTransaction.asset_id, func.sum(ShareTransaction.shares).label("n"))
             .where(ShareTransaction.from_member_id == member_id, ShareTransaction.date <= on)
             .group_by(ShareTransaction.asset_id))
    totals: dict[int, int] = defaultdict(int)
    for asset_id, n in session.execute(received):
        totals[asset_id] += int(n)
    for asset_id, n in session.execute(given):
        totals[asset_id] -= int(n)
    if not totals:
        return []
    codes = dict(session.execute(select(Asset.id, Asset.asset_code).where(Asset.id.in_(list(totals)))).all())
    return sorted(({"asset_code": codes[a], "shares": n} for a, n in totals.items() if n),
                  key=lambda d: d["asset_code"])


# ------------------------------------------------------------------------------------------------ assets


def asset_dict(asset: Asset, meter_code: str) -> dict[str, Any]:
    """The register fields of one asset (SPEC 3); columns that do not apply to its kind are None."""
    return {
        "asset_code": asset.asset_code,
        "name": asset.name,
        "kind": asset.kind,
        "meter_code": meter_code,
        "timezone": asset.timezone,
        "latitude": asset.latitude,
        "longitude": asset.longitude,
        "altitude_m": asset.altitude_m,
        "total_shares": asset.total_shares,
        "commissioned_on": asset.commissioned_on.isoformat() if asset.commissioned_on else None,
        "capacity_kw_dc": asset.capacity_kw_dc,
        "capacity_kw_ac": asset.capacity_kw_ac,
        "tilt_deg": asset.tilt_deg,
        "azimuth_deg": asset.azimuth_deg,
        "losses_pct": asset.losses_pct,
        "array_type": asset.array_type,
        "storage_kwh": asset.storage_kwh,
        "storage_kw": asset.storage_kw,
        "roundtrip_efficiency": asset.roundtrip_efficiency,
    }


def list_assets(session: Session) -> list[dict[str, Any]]:
    """Every asset, ordered by ``asset_code``."""
    rows = session.execute(select(Asset, Meter.code).join(Meter, Asset.meter_id == Meter.id)
                           .order_by(Asset.asset_code)).all()
    return [asset_dict(a, code) for a, code in rows]


def get_asset(session: Session, asset_code: str) -> Asset:
    asset = session.scalar(select(Asset).where(Asset.asset_code == asset_code))
    if asset is None:
        raise NotFoundError(f"no asset with code {asset_code!r}")
    return asset


def local_day_bounds(asset: Asset, first: dt.date, last: dt.date) -> tuple[int, int]:
    """``[start, end)`` [UTC epoch s] from local 00:00 of ``first`` to local 00:00 after ``last``."""
    if last < first:
        raise RefusedError(f"the range ends ({last}) before it starts ({first})")
    if last >= dt.date.max:
        raise RefusedError(f"{last} is too far in the future")
    return local_midnight_utc(first, asset.timezone), local_midnight_utc(last + dt.timedelta(days=1), asset.timezone)


def _round_mwh_to_wh(mwh: np.ndarray) -> np.ndarray:
    """Integer mWh -> integer Wh, rounding half to even (exact integer arithmetic)."""
    q, r = np.divmod(mwh, 1000)
    up = (r > 500) | ((r == 500) & (q % 2 == 1))
    return q + up.astype(np.int64)


def production(session: Session, asset_code: str, first: dt.date, last: dt.date,
               resolution: str) -> dict[str, Any]:
    """Metered production of an asset from local day ``first`` to local day ``last`` (inclusive).

    Buckets are local hours, days or months in the asset's time zone; each point is
    ``{"start": ISO 8601 local, "wh": int [Wh], "readings": int}`` for buckets that hold readings, in time
    order. A reading belongs to the bucket its interval starts in. ``wh`` is the bucket's integer mWh sum
    rounded half to even to Wh; ``total_wh`` is rounded once from the exact total, so it may differ from the
    sum of the points by the rounding. A battery's negative (charging) readings count with their sign.
    """
    if resolution not in RESOLUTIONS:
        raise RefusedError(f"resolution {resolution!r} is not one of: {', '.join(RESOLUTIONS)}")
    asset = get_asset(session, asset_code)
    start, end = local_day_bounds(asset, first, last)
    buckets = {"hour": (end - start) // 3600, "day": (last - first).days + 1,
               "month": (last.year - first.year) * 12 + last.month - first.month + 1}[resolution]
    if buckets > MAX_BUCKETS[resolution]:
        raise RefusedError(f"that range has {buckets} {resolution}s; ask for at most {MAX_BUCKETS[resolution]} "
                           f"at {resolution} resolution (or choose a coarser one)")
    rows = session.execute(
        select(Reading.start, Reading.mwh).where(
            Reading.meter_id == asset.meter_id, Reading.start >= start, Reading.start < end)
        .order_by(Reading.start)).all()
    zone = ZoneInfo(asset.timezone)
    doc: dict[str, Any] = {"asset_code": asset.asset_code, "timezone": asset.timezone, "resolution": resolution,
                           "from": first.isoformat(), "to": last.isoformat(), "points": [], "total_wh": 0}
    if not rows:
        return doc
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    mwh = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    utc = pd.DatetimeIndex(pd.to_datetime(starts, unit="s", utc=True))
    local = utc.tz_convert(zone)
    offsets = ((local.tz_localize(None) - utc.tz_localize(None)) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    local_s = starts + offsets  # local wall-clock time as if it were UTC [s]
    if resolution == "hour":
        # one bucket per (offset, local hour): the repeated hour when clocks go back stays two buckets
        keys = starts - (local_s % 3600)
    else:
        local_days = local_s // 86400
        if resolution == "day":
            keys = local_days
        else:
            dates = local_days.astype("datetime64[D]")
            keys = dates.astype("datetime64[M]").astype(np.int64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros(len(uniq), dtype=np.int64)
    np.add.at(sums, inverse, mwh)
    counts = np.bincount(inverse, minlength=len(uniq))
    wh = _round_mwh_to_wh(sums)
    points = []
    for key, w, n in zip(uniq.tolist(), wh.tolist(), counts.tolist()):
        if resolution == "hour":
            bucket_start = key
        elif resolution == "day":
            bucket_start = local_midnight_utc(dt.date(1970, 1, 1) + dt.timedelta(days=key), zone)
        else:
            bucket_start = local_midnight_utc(dt.date(1970 + key // 12, key % 12 + 1, 1), zone)
        points.append({"start": dt.datetime.fromtimestamp(bucket_start, zone).isoformat(), "wh": int(w),
                       "readings": int(n)})
    doc["points"] = points
    doc["total_wh"] = int(_round_mwh_to_wh(np.array([int(mwh.sum())], dtype=np.int64))[0])
    return doc


# ------------------------------------------------------------------------------------------------ ledger


def ledger_page(session: Session, *, period: str | None = None, after_seq: int = 0,
                limit: int = 1000) -> dict[str, Any]:
    """Ledger entries with their hashes, in ``seq`` order, ``limit`` at a time after ``after_seq``.

    Fields are those the hash covers (see :mod:`energy_coop.calc.credits.chain`) plus ``prev_hash`` and ``hash``, so a
    client can re-verify the chain. With ``period`` only that month's entries are listed (their
    ``prev_hash`` then links to entries outside the page). Returns ``{"entries": [...], "next_after_seq"}``.
    """
    stmt = chain_query(period=period, after_seq=after_seq).limit(limit + 1)
    rows = session.execute(stmt).all()
    entries = [
        {"seq": r.seq, "kind": r.kind, "member_number": r.member_number, "period": r.period, "booked": r.booked,
         "asset_code": r.asset_code, "wh": int(r.wh), "cents": int(r.cents), "run_id": r.run_id,
         "reverses_seq": r.reverses_seq, "memo": r.memo, "created_at": format_time(r.created_at),
         "prev_hash": r.prev_hash, "hash": r.hash}
        for r in rows[:limit]
    ]
    return {"period": period, "entries": entries,
            "next_after_seq": entries[-1]["seq"] if len(rows) > limit else None}
