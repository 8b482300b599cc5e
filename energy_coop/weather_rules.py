"""The rules every piece of weather input obeys, and the refusals that name what breaks them.

Bottom layer, because two sides that must not import each other apply the same rules:
:mod:`energy_coop.importers.weather` to the files it reads (problems named by file line) and
:mod:`energy_coop.calc.forecasting.weather` to weather frames built in code (problems named by time). The rules
themselves (which columns, which ranges, what is clipped and what is refused) are tabled in
:mod:`energy_coop.importers.weather`'s docstring.

:class:`SavingsDataError` lives here for the same reason: a daily-temperature file (read by the importer) and
consumption that cannot give a baseline (found by :mod:`energy_coop.calc.efficiency`) are refused with one type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

IRRADIANCE_COLUMNS = ("ghi", "dni", "dhi")
OPTIONAL_COLUMNS = ("temp_air", "wind_speed", "cloud_cover")
KNOWN_COLUMNS = ("time",) + IRRADIANCE_COLUMNS + OPTIONAL_COLUMNS

#: Negative irradiance down to this value [W/m²] is a sensor offset: clipped to 0 and noted.
NEGATIVE_IRRADIANCE_TOLERANCE = -10.0
#: Upper bounds [W/m²] above which irradiance is refused.
IRRADIANCE_MAX = {"ghi": 1500.0, "dni": 1450.0, "dhi": 1000.0}
TEMP_AIR_RANGE = (-60.0, 60.0)  # [°C]
WIND_SPEED_RANGE = (0.0, 75.0)  # [m/s]
CLOUD_COVER_RANGE = (0.0, 100.0)  # [%]
MAX_LISTED_PROBLEMS = 20
#: A daily mean outdoor temperature outside this is a unit or sensor error [°C].
TEMP_RANGE_C = (-60.0, 60.0)


class WeatherError(ValueError):
    """A weather file or frame that cannot be used; ``problems`` lists every reason, ``str()`` summarises."""

    def __init__(self, problems: list[str], source: str = "weather file"):
        self.problems = list(problems)
        shown = self.problems[:MAX_LISTED_PROBLEMS]
        more = len(self.problems) - len(shown)
        text = f"{source} refused: " + "; ".join(shown)
        if more > 0:
            text += f"; and {more} more problem(s)"
        super().__init__(text)


class SavingsDataError(ValueError):
    """Input that cannot give a measured savings figure; ``str()`` says what is missing and how much more."""

    def __init__(self, message: str, problems: Iterable[str] = ()):
        self.problems = list(problems)
        shown = self.problems[:MAX_LISTED_PROBLEMS]
        text = message + ("".join(f"; {p}" for p in shown))
        if len(self.problems) > len(shown):
            text += f"; and {len(self.problems) - len(shown)} more problem(s)"
        super().__init__(text)
        self.message = message


def columns_problem(found: list[str]) -> str | None:
    """Why columns ``found`` (lower-case names, ``time`` included) cannot make weather, or None if they can."""
    present = [c for c in IRRADIANCE_COLUMNS if c in found]
    if "time" in found and (len(present) >= 2 or "cloud_cover" in found):
        return None
    return (
        "missing columns: required are 'time' and any two of 'ghi', 'dni', 'dhi' "
        "(or 'cloud_cover' instead of irradiance); found columns: "
        + (", ".join(repr(c) for c in found) if found else "none")
    )


def check_ranges(frame: pd.DataFrame, where: Callable[[int], str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Apply the value rules; ``where(i)`` names row ``i``. Returns (copy with offsets clipped, problems, notes)."""
    problems: list[str] = []
    notes: list[str] = []
    frame = frame.copy()

    def refuse(column: str, mask: np.ndarray, reason: str):
        for i in np.flatnonzero(mask):
            problems.append(f"{where(i)}, column {column!r}: {frame[column].iloc[i]:g} {reason}")

    for c in IRRADIANCE_COLUMNS:
        if c not in frame:
            continue
        v = frame[c].to_numpy()
        refuse(c, v < NEGATIVE_IRRADIANCE_TOLERANCE,
               f"W/m² is negative beyond the {NEGATIVE_IRRADIANCE_TOLERANCE:g} W/m² sensor-offset tolerance")
        refuse(c, v > IRRADIANCE_MAX[c], f"W/m² is above the physical limit of {IRRADIANCE_MAX[c]:g} W/m²")
        small = (v < 0) & (v >= NEGATIVE_IRRADIANCE_TOLERANCE)
        if small.any():
            first = np.flatnonzero(small)[0]
            notes.append(
                f"column {c!r}: {int(small.sum())} slightly negative value(s) (from {where(first)}, "
                f"down to {v[small].min():g} W/m²) clipped to 0"
            )
            frame[c] = np.where(small, 0.0, v)
    bounds = {"temp_air": (TEMP_AIR_RANGE, "°C"), "wind_speed": (WIND_SPEED_RANGE, "m/s"),
              "cloud_cover": (CLOUD_COVER_RANGE, "%")}
    for c, ((lo, hi), unit) in bounds.items():
        if c not in frame:
            continue
        v = frame[c].to_numpy()
        refuse(c, (v < lo) | (v > hi), f"{unit} is outside the possible range {lo:g}..{hi:g} {unit}")
    return frame, problems, notes
