"""The demo's data logger (SPEC 20): the school roof's logger sends yesterday's quarter hours over the API's path.

The request is the very body a logger would POST to ``/api/v1/meters/PM-SCHOOL/readings``: JSON readings with
their kWh as decimal text, under a key named after the day. Its values are those of the demo's reading file for
the same day (the logger re-sends what the meter read), so the batch it leaves, ``API: logger school roof logger
(demo)``, holds them as unchanged; seeding again replays the stored answer and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pandas as pd

from energy_coop.demo.seed import DEMO_TIMEZONE, production_readings
from energy_coop.units import mwh_to_kwh_decimal

LOGGER_METER = "PM-SCHOOL"
LOGGER_NAME = "school roof logger (demo)"


def logger_request(today: dt.date) -> tuple[str, bytes, str]:
    """(meter code, JSON body, idempotency key) of the logger's request for the day before ``today``."""
    zone = ZoneInfo(DEMO_TIMEZONE)
    day = today - dt.timedelta(days=1)
    month = day.replace(day=1)
    nxt = min((month + dt.timedelta(days=32)).replace(day=1), today)  # the window of the day's reading file
    start = pd.Timestamp(dt.datetime.combine(month, dt.time(0), zone)).tz_convert("UTC")
    end = pd.Timestamp(dt.datetime.combine(nxt, dt.time(0), zone)).tz_convert("UTC")
    first = int(dt.datetime.combine(day, dt.time(0), zone).timestamp())
    rows = [(t, mwh) for t, mwh in production_readings(start, end)[LOGGER_METER] if t >= first]
    body = {"readings": [
        {"start": dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "interval_minutes": 15, "kwh": str(mwh_to_kwh_decimal(mwh))} for t, mwh in rows]}
    return LOGGER_METER, json.dumps(body).encode(), f"demo-{LOGGER_METER}-{day.isoformat()}"
