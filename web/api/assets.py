"""Assets, their metered production and their stored forecasts (SPEC sections 4, 7 and 10); any signed-in user."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from energy_coop.services.forecasting.forecasts import stored_forecast
from energy_coop.services.screens import api as api_queries
from energy_coop.vocabulary import ROLES

from web.api.auth import reads, roles
from web.api.common import api_blueprint, documented
from web.api.schemas import AssetListSchema, DateRangeQuery, ForecastSchema, ProductionQuery, ProductionSchema

blp = api_blueprint("assets", "The co-op's solar arrays and batteries, their production and forecasts")
EVERYONE = ROLES
DEFAULT_SPAN_DAYS = {"hour": 7, "day": 30}  # the range asked for when 'from' is left out [days]
FORECAST_DAYS = 7  # the forecast range when 'to' is left out [days]


@blp.route("/assets")
@documented(blp)
@roles(*EVERYONE)
@blp.response(200, AssetListSchema)
def list_assets():
    """Every asset with its register fields; fields that do not apply to its kind are null."""
    with reads().begin() as s:
        return {"assets": api_queries.list_assets(s)}


def _local_today(timezone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(timezone)).date()


@blp.route("/assets/<asset_code>/production")
@documented(blp, 404, 422)
@roles(*EVERYONE)
@blp.arguments(ProductionQuery, location="query", as_kwargs=True)
@blp.response(200, ProductionSchema)
def production(asset_code: str, resolution: str, from_: dt.date | None = None, to: dt.date | None = None):
    """Metered production [Wh] per local hour, day or month in the asset's time zone.

    ``from`` and ``to`` are local days, both included. Defaults: ``to`` is today; ``from`` is 7 days back for
    hours, 30 days for days, the first of the month 11 months back for months. At most a year of hours, 100
    years of days or months. Buckets with no readings are left out.
    """
    with reads().begin() as s:
        asset = api_queries.get_asset(s, asset_code)
        last = to or _local_today(asset.timezone)
        if from_ is None:
            if resolution == "month":
                months = last.year * 12 + last.month - 1 - 11
                from_ = dt.date(months // 12, months % 12 + 1, 1)
            else:
                from_ = last - dt.timedelta(days=DEFAULT_SPAN_DAYS[resolution] - 1)
        return api_queries.production(s, asset_code, from_, last, resolution)


@blp.route("/assets/<asset_code>/forecast")
@documented(blp, 404, 422)
@roles(*EVERYONE)
@blp.arguments(DateRangeQuery, location="query", as_kwargs=True)
@blp.response(200, ForecastSchema)
def forecast(asset_code: str, from_: dt.date | None = None, to: dt.date | None = None):
    """The stored forecast (expected AC energy [Wh] per interval) from local day ``from`` to ``to``.

    Defaults: from today for 7 days. Forecasts are stored by ``energy-coop forecast`` and the daily
    ``refresh-forecasts`` job; an asset with none stored (or a battery) answers an empty list.
    """
    with reads().begin() as s:
        asset = api_queries.get_asset(s, asset_code)
        first = from_ or _local_today(asset.timezone)
        last = to or first + dt.timedelta(days=FORECAST_DAYS - 1)
        if from_ is None and to is not None and to < first:
            first = last - dt.timedelta(days=FORECAST_DAYS - 1)
        start, end = api_queries.local_day_bounds(asset, first, last)
        points = stored_forecast(s, asset_code, start, end)
    return {"asset_code": asset_code, "from": first.isoformat(), "to": last.isoformat(), "points": points,
            "total_wh": sum(p["wh"] for p in points)}
