"""A synthetic building whose true savings are known, for the baseline tests (no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from energy_coop.calc.efficiency.savings import degree_days

BASE_KWH_PER_DAY = 20.0  # [kWh/day]
KWH_PER_HDD = 1.5  # [kWh/(K·day)]
SAVING = 0.25  # fraction saved after installation
NOISE_SD = 3.0  # [kWh/day]


def temperatures(first: dt.date, last: dt.date, seed: int = 1) -> pd.Series:
    """A plausible Piedmont climate: mean 15 °C, ±10 °C over the year, ±3 °C day to day [°C]."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(first, last, freq="D")
    doy = days.day_of_year.to_numpy()
    t = 15.0 - 10.0 * np.cos(2 * np.pi * (doy - 15) / 365.25) + rng.normal(0, 3.0, len(days))
    return pd.Series(t, index=list(days.date), name="temp_mean_c")


def daily_readings(temps: pd.Series, installed: dt.date, tz: str = "UTC", seed: int = 2,
                   noise_sd: float = NOISE_SD) -> tuple[pd.DataFrame, pd.Series]:
    """Daily readings (start, end [UTC s], mwh) of ``20 kWh/day + 1.5 kWh/HDD + noise``, 25 % less from
    ``installed`` on; also the true noiseless consumption without the retrofit [kWh] by day."""
    from zoneinfo import ZoneInfo

    rng = np.random.default_rng(seed)
    hdd = degree_days(temps)["hdd"]
    true = BASE_KWH_PER_DAY + KWH_PER_HDD * hdd
    zone = ZoneInfo(tz)
    rows = []
    for day, kwh in true.items():
        factor = (1 - SAVING) if day >= installed else 1.0
        value = max(0.5, kwh * factor + rng.normal(0, noise_sd))
        start = int(dt.datetime.combine(day, dt.time(0), zone).timestamp())
        end = int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone).timestamp())
        rows.append((start, end, int(round(value * 1e6))))
    return pd.DataFrame(rows, columns=["start", "end", "mwh"]), true
