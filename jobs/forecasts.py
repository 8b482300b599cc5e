"""The ``refresh-forecasts`` job: once a day, store the coming days' expected production of every solar asset."""

from __future__ import annotations

import datetime as dt

from energy_coop.config import Config
from energy_coop.db import get_sessionmaker
from jobs.result import WorkResult

FORECAST_DAYS = 7
SERVICE = "energy_coop.services.forecasting.forecasts"


def refresh_forecasts(config: Config, period: str, *, now: dt.datetime, run_id: int, actor: str) -> WorkResult:
    """Refresh the forecasts from day ``period`` (YYYY-MM-DD) for :data:`FORECAST_DAYS` days, in one transaction.

    The service is imported here, not at the top, so that a version of the software without it still runs
    the other jobs: this one is then recorded as failed with a message saying what is missing.
    """
    try:
        from energy_coop.services.forecasting.forecasts import refresh_forecasts as refresh
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name != SERVICE:
            raise
        return WorkResult("failed", {}, f"the forecast refresh service ({SERVICE}.refresh_forecasts) is not part "
                                        f"of this installation; no forecasts were refreshed ({exc})")
    with get_sessionmaker(config.database_url).begin() as session:
        counts = refresh(session, today=dt.date.fromisoformat(period), days=FORECAST_DAYS, actor=actor)
    counts = dict(counts or {})
    assets = counts.get("assets")
    what = f"{assets} solar asset(s)" if assets is not None else "every solar asset"
    return WorkResult("succeeded", counts, f"forecasts of {what} refreshed for {FORECAST_DAYS} days from {period}")
