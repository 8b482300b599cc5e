"""Generation forecasts (SPEC section 7): compute with pvlib, store, compare with the meters.

The physics lives in :mod:`energy_coop.calc.forecasting.forecast` (pure pvlib over values); this module turns assets into
:class:`~energy_coop.calc.forecasting.forecast.SolarArray`, stores expected energy per interval as integer Wh (floats stop
here), and answers the questions people ask: what will my array make this week, how did it do last month
against expectation, what might next month bring me.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.allocation import month_days
from energy_coop.period import parse_period
from energy_coop.calc.forecasting.forecast import DEFAULT_PR_THRESHOLD, SolarArray, forecast_asset, monthly_performance
from energy_coop.calc.forecasting.typical import typical_year_factors
from energy_coop.calc.credits.holdings import holdings_on
from energy_coop.calc.credits.rates import NoRateError, rates_for_asset
from energy_coop.errors import NotFoundError, RefusedError, RowError
from energy_coop.importers import weather as weather_files
from energy_coop.models import Asset, CreditRate, Forecast, Member, Reading, utcnow
from energy_coop.units import round_half_even, wh_to_kwh_decimal
from energy_coop.weather_rules import WeatherError
from energy_coop.services import audit, memo
from energy_coop.services.registers.loading import share_register

MAX_DAYS = 366


@functools.lru_cache(maxsize=4)
def _typical_factors(tmy_path: str) -> pd.DataFrame:
    """The monthly typical-year factors of a TMY3 file, computed once per process per file."""
    return typical_year_factors(*weather_files.typical_year(tmy_path))


def solar_array(asset: Asset) -> SolarArray:
    """The pvlib parameters of a solar asset (refused for storage assets)."""
    if asset.kind != "solar":
        raise RefusedError(f"{asset.asset_code} is a {asset.kind} asset; forecasts are for solar arrays")
    try:
        return SolarArray(
            latitude=asset.latitude, longitude=asset.longitude, timezone=asset.timezone,
            capacity_kw_dc=asset.capacity_kw_dc, capacity_kw_ac=asset.capacity_kw_ac, tilt_deg=asset.tilt_deg,
            azimuth_deg=asset.azimuth_deg, losses_pct=asset.losses_pct if asset.losses_pct is not None else 14.0,
            array_type=asset.array_type or "fixed_open_rack", altitude_m=asset.altitude_m, code=asset.asset_code,
        )
    except ValueError as exc:
        raise RefusedError(str(exc)) from None


@functools.lru_cache(maxsize=256)
def _typical_month_cached(array: SolarArray, period: str, tmy_path: str) -> pd.DataFrame:
    days, _, _ = month_days(period, array.timezone)
    begin = pd.Timestamp(dt.datetime.combine(days[0], dt.time(0)), tz=array.timezone)
    return forecast_asset(array, begin, len(days), factors=_typical_factors(tmy_path))


def typical_month(asset: Asset, period: str) -> pd.DataFrame:
    """The typical-year expectation of a solar asset for a local month, hourly (``forecast_asset`` columns).

    Cached per process by the asset's parameters and the month: it depends on nothing else, and members' pages
    ask for it on every visit.
    """
    tmy_path = weather_files.typical_year_file(asset.latitude, asset.longitude)
    return _typical_month_cached(solar_array(asset), period, tmy_path).copy()


def _asset(session: Session, asset_code: str) -> Asset:
    asset = session.scalar(select(Asset).where(Asset.asset_code == asset_code))
    if asset is None:
        raise NotFoundError(f"no asset with code {asset_code!r}")
    return asset


def _to_wh(kwh: np.ndarray) -> list[int]:
    """kWh floats from pvlib -> integer Wh (nearest; the model is nowhere near 1 Wh accurate anyway)."""
    return [int(v) for v in np.rint(np.nan_to_num(np.asarray(kwh, dtype=float)) * 1000.0)]


def _store(session: Session, asset: Asset, frame: pd.DataFrame, interval_s: int, source: str, actor: str) -> int:
    """Replace the stored forecast of ``asset`` over the frame's intervals; the audit log records the refresh
    (which also tells :mod:`.memo` that the stored data changed)."""
    starts = [int(t.timestamp()) for t in frame["start"]]
    if not starts:
        return 0
    session.execute(delete(Forecast).where(Forecast.asset_id == asset.id, Forecast.start >= min(starts),
                                           Forecast.start <= max(starts)))
    wh = _to_wh(frame["kwh"].to_numpy())
    low = _to_wh(frame["kwh_low"].to_numpy()) if "kwh_low" in frame else [None] * len(wh)
    high = _to_wh(frame["kwh_high"].to_numpy()) if "kwh_high" in frame else [None] * len(wh)
    now = utcnow()
    session.execute(Forecast.__table__.insert(), [
        {"asset_id": asset.id, "start": s, "end": s + interval_s, "wh": w, "wh_low": lo, "wh_high": hi,
         "source": source, "computed_at": now}
        for s, w, lo, hi in zip(starts, wh, low, high)])
    zone = ZoneInfo(asset.timezone)
    audit.record(session, actor=actor, action="forecast", entity="forecasts", key=asset.asset_code,
                 after={"source": source, "intervals": len(starts), "total_wh": sum(wh),
                        "from": dt.datetime.fromtimestamp(min(starts), zone).isoformat(),
                        "to": dt.datetime.fromtimestamp(max(starts) + interval_s, zone).isoformat()})
    return len(starts)


def forecast(
    session: Session,
    asset_code: str,
    *,
    start: dt.date | None = None,
    days: int = 7,
    weather_path: str | Path | None = None,
    today: dt.date | None = None,
    store: bool = True,
    actor: str = "energy-coop",
) -> dict[str, Any]:
    """Expected AC energy per hour for one solar asset; the ``forecast --json`` document of SPEC 7.

    Without weather: ``days`` local days from ``start`` (default: today), clear sky scaled by the typical-year
    factor, with a low/high band. With ``weather_path`` (SPEC 7 weather CSV) the forecast covers the file's
    times. Stored (replacing earlier forecasts of the same intervals) unless ``store`` is false.
    """
    asset = _asset(session, asset_code)
    array = solar_array(asset)
    if isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise RefusedError(f"the number of days must be between 1 and {MAX_DAYS}")
    if weather_path is not None:
        try:
            weather, notes = weather_files.read_weather_csv(weather_path)
        except WeatherError as exc:
            problems = getattr(exc, "problems", None) or [str(exc)]
            raise RefusedError(f"{Path(weather_path).name}: the weather file is refused",
                               [RowError("", "", p) for p in problems]) from None
        except OSError as exc:
            raise RefusedError(f"cannot read the weather file {weather_path}: {exc.strerror}") from None
        frame = forecast_asset(array, weather=weather)
        interval_s = int(pd.Timedelta(weather.index[1] - weather.index[0]).total_seconds()) if len(weather) > 1 \
            else 3600
        source = "weather"
    else:
        notes = []
        first = start or today or dt.date.today()
        begin = pd.Timestamp(dt.datetime.combine(first, dt.time(0)), tz=asset.timezone)
        factors = _typical_factors(weather_files.typical_year_file(asset.latitude, asset.longitude))
        frame = forecast_asset(array, begin, days, factors=factors)
        interval_s = 3600
        source = "typical"
    if store:
        _store(session, asset, frame, interval_s, source, actor)
    wh = _to_wh(frame["kwh"].to_numpy())
    points = []
    for i, t in enumerate(frame["start"]):
        point: dict[str, Any] = {"start": t.isoformat(), "kwh": str(wh_to_kwh_decimal(int(wh[i])))}
        if "kwh_low" in frame:
            point["kwh_low"] = f"{round(float(frame['kwh_low'].iloc[i]), 3):.3f}"
            point["kwh_high"] = f"{round(float(frame['kwh_high'].iloc[i]), 3):.3f}"
        points.append(point)
    return {"asset_code": asset.asset_code, "source": source, "points": points,
            "total_kwh": str(wh_to_kwh_decimal(int(sum(wh)))), "notes": notes}


def refresh_forecasts(session: Session, *, today: dt.date, days: int = 7, actor: str = "scheduler") -> dict[str, Any]:
    """The daily refresh: store the next ``days`` local days' expectation for every solar asset."""
    refreshed = {}
    for asset in session.scalars(select(Asset).where(Asset.kind == "solar").order_by(Asset.asset_code)):
        doc = forecast(session, asset.asset_code, start=today, days=days, actor=actor)
        refreshed[asset.asset_code] = doc["total_kwh"]
    return {"assets": len(refreshed), "days": days, "total_kwh": refreshed}


def stored_forecast(session: Session, asset_code: str, start_utc: int, end_utc: int) -> list[dict[str, Any]]:
    """Stored forecast rows of an asset with start in ``[start_utc, end_utc)`` [UTC epoch s]."""
    asset = _asset(session, asset_code)
    zone = ZoneInfo(asset.timezone)
    rows = session.execute(
        select(Forecast.start, Forecast.end, Forecast.wh, Forecast.wh_low, Forecast.wh_high, Forecast.source)
        .where(Forecast.asset_id == asset.id, Forecast.start >= start_utc, Forecast.start < end_utc)
        .order_by(Forecast.start)).all()
    return [{"start": dt.datetime.fromtimestamp(s, zone).isoformat(), "end": dt.datetime.fromtimestamp(e, zone).isoformat(),
             "wh": wh, "wh_low": lo, "wh_high": hi, "source": src} for s, e, wh, lo, hi, src in rows]


def _hourly_metered(session: Session, asset: Asset, start: int, end: int) -> pd.Series:
    rows = session.execute(select(Reading.start, Reading.mwh).where(
        Reading.meter_id == asset.meter_id, Reading.start >= start, Reading.start < end)).all()
    if not rows:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    frame = pd.DataFrame(rows, columns=["start", "mwh"])
    frame["hour"] = frame["start"] // 3600 * 3600
    sums = frame.groupby("hour")["mwh"].sum()
    index = pd.to_datetime(sums.index.to_numpy(), unit="s", utc=True)
    return pd.Series(sums.to_numpy() / 1e6, index=index)


def performance(session: Session, period: str, *, threshold: float = DEFAULT_PR_THRESHOLD,
                asset_code: str | None = None, version: tuple | None = None) -> list[dict[str, Any]]:
    """Monthly performance ratio per solar asset (see :func:`performance_uncached`), remembered per process until
    the stored data changes (:mod:`.memo`; ``version``: the data version the caller already read)."""
    rows = memo.remember(session, ("performance", period, threshold, asset_code),
                         lambda: performance_uncached(session, period, threshold=threshold, asset_code=asset_code),
                         version=version)
    return [dict(row) for row in rows]


def performance_uncached(session: Session, period: str, *, threshold: float = DEFAULT_PR_THRESHOLD,
                         asset_code: str | None = None) -> list[dict[str, Any]]:
    """Monthly performance ratio per solar asset: metered / expected over the hours that have readings.

    Expected comes from stored forecasts where they cover the month (weather-based when a weather file was
    given), else from the typical-year expectation computed now. Flagged when below ``threshold``.
    """
    try:
        parse_period(period)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    stmt = select(Asset).where(Asset.kind == "solar").order_by(Asset.asset_code)
    if asset_code:
        asset = session.scalar(select(Asset).where(Asset.asset_code == asset_code))
        if asset is None:
            raise NotFoundError(f"no asset with code {asset_code!r}")
        if asset.kind != "solar":
            raise NotFoundError(f"{asset_code} is a {asset.kind} asset: performance is measured for solar assets only")
        stmt = stmt.where(Asset.asset_code == asset_code)
    out = []
    for asset in session.scalars(stmt):
        days, start, end = month_days(period, asset.timezone)
        metered = _hourly_metered(session, asset, start, end)
        stored = session.execute(select(Forecast.start, Forecast.wh, Forecast.source).where(
            Forecast.asset_id == asset.id, Forecast.start >= start, Forecast.start < end)).all()
        if stored and len(stored) >= (end - start) // 3600:
            expected = pd.Series([w / 1000 for _, w, _ in stored],
                                 index=pd.to_datetime([s for s, _, _ in stored], unit="s", utc=True))
            basis = "weather" if any(src == "weather" for _, _, src in stored) else "typical"
        else:
            frame = typical_month(asset, period)
            expected = pd.Series(frame["kwh"].to_numpy(), index=pd.DatetimeIndex(frame["start"]).tz_convert("UTC"))
            basis = "typical"
        table = monthly_performance(metered, expected, asset.timezone, threshold)
        row = table[table["month"] == period]
        ratio = None if row.empty else row["performance_ratio"].iloc[0]
        out.append({
            "asset_code": asset.asset_code, "period": period, "basis": basis,
            "metered_kwh": f"{metered.sum():.3f}",
            "expected_kwh": f"{0.0 if row.empty else float(row['expected_kwh'].iloc[0]):.3f}",
            "performance_ratio": None if ratio is None or pd.isna(ratio) else round(float(ratio), 3),
            "flagged": bool(False if row.empty else row["flagged"].iloc[0]),
            "threshold": threshold,
        })
    return out


def _asset_month_expectation(session: Session, asset: Asset, period: str) -> dict[str, Any]:
    """Typical-year energy [Wh] of a solar asset over a local month, and its value [Wh x micro-currency/kWh]
    at the rates in force hour by hour (None where some hour has no rate), for the typical, low and high bands."""
    frame = typical_month(asset, period)
    starts = np.array([int(t.timestamp()) for t in frame["start"]], dtype=np.int64)
    rate_rows = [tuple(r) for r in session.execute(
        select(CreditRate.valid_from, CreditRate.rate_micros, CreditRate.scope)
        .where(CreditRate.scope.in_(("*", asset.asset_code))))]
    rate_rows = [(int(t.timestamp()), micros, None if scope == "*" else scope) for t, micros, scope in rate_rows]
    try:
        rates = rates_for_asset(rate_rows, asset.asset_code).lookup(starts).tolist()
    except NoRateError:
        rates = None
    out: dict[str, Any] = {}
    for key in ("kwh", "kwh_low", "kwh_high"):
        wh = _to_wh(frame[key].to_numpy())
        out[key] = sum(wh)
        out[key.replace("kwh", "cents")] = None if rates is None else sum(w * r for w, r in zip(wh, rates))
    return out


def member_outlook(session: Session, member_number: str, *, today: dt.date,
                   version: tuple | None = None) -> dict[str, Any]:
    """A member's expected credits for next month: energy and value per held asset, with a low/high band.

    Energies are integer ``wh``, ``wh_low``, ``wh_high`` [Wh] (the member's part of the asset's, rounded half
    to even); values are integer ``cents*``
    (None for an asset without rates). The totals carry the same keys.

    Shares are those held on the first day of next month according to the register today; energy is the
    typical-year expectation of each solar asset; value uses the credit rates in force at each hour.
    Indicative only: the ledger is what counts. ``version``: the :mod:`.memo` data version the caller already read.
    """
    if session.scalar(select(Member.id).where(Member.member_number == member_number)) is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    version = memo.data_version(session) if version is None else version
    register = share_register(session, member_number=member_number)
    codes = sorted({t.asset_code for t in register})  # the assets this member's transactions name
    assets = session.scalars(select(Asset).where(Asset.asset_code.in_(codes)).order_by(Asset.asset_code)).all()
    return outlook_from_register(session, member_number, register, assets, today=today, version=version)


def outlook_from_register(session: Session, member_number: str, register: list, assets: list[Asset], *,
                          today: dt.date, version: tuple) -> dict[str, Any]:
    """:func:`member_outlook` from what its caller has read already: the member's share transactions
    (``share_register(member_number=...)``) and the assets they name, in asset-code order."""
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    period = first.strftime("%Y-%m")
    items = []
    totals = {"wh": 0, "wh_low": 0, "wh_high": 0, "cents": 0, "cents_low": 0, "cents_high": 0}
    for asset in assets:
        if asset.kind != "solar":
            continue
        shares = holdings_on(register, asset.asset_code, first).get(member_number, 0)
        if not shares:
            continue
        month = memo.remember(session, ("outlook", solar_array(asset), period),
                              lambda asset=asset: _asset_month_expectation(session, asset, period), version=version)
        item: dict[str, Any] = {"asset_code": asset.asset_code, "shares": shares, "total_shares": asset.total_shares}
        for key in ("kwh", "kwh_low", "kwh_high"):
            wkey = key.replace("kwh", "wh")
            energy = round_half_even(month[key] * shares, asset.total_shares)  # [Wh] this member's part
            item[wkey] = energy
            totals[wkey] += energy
            ckey = key.replace("kwh", "cents")
            value = month[ckey]  # [Wh x micro-currency/kWh] of the whole asset, or None without rates
            if value is None:
                item[ckey] = None
            else:
                cents = round_half_even(value * shares, asset.total_shares * 10**7)
                item[ckey] = cents
                totals[ckey] += cents
        items.append(item)
    return {"member_number": member_number, "period": period, "assets": items, **totals}
