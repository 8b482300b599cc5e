"""Writing a time-of-use tariff from a template (SPEC section 3: "a time-of-use tariff is simply many rows").

An administrator gives daily bands (local start time and rate) and a range of days; the step rows come from
:func:`energy_coop.calc.credits.tariffs.time_of_use_rows` and are stored through the rates register
(:func:`energy_coop.services.registers.loading.apply_records`), so they get the same checks and audit-log entries as
a ``rates.csv`` file. Problems name the form field they belong to. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.tariffs import TouBand, time_of_use_rows
from energy_coop.errors import RefusedError, RowError
from energy_coop.models import Asset
from energy_coop.units import UnitError, parse_rate, rate_to_decimal
from energy_coop.services.registers.loading import LoadResult, apply_records

MAX_DAYS = 800  # about two years of daily bands per template; longer ranges are split by the administrator


def _day(text: str, field: str, errors: list[RowError]) -> dt.date | None:
    text = (text or "").strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        errors.append(RowError("", field, f"{text[:20]!r} is not a date; write YYYY-MM-DD, e.g. 2025-01-01"))
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(RowError("", field, f"{text!r} is not a real date"))
        return None


def apply_time_of_use(session: Session, *, asset_code: str | None, timezone: str, first_day: str, last_day: str,
                      bands: list[tuple[str, str]], actor: str) -> LoadResult:
    """Store the rate rows that make ``bands`` [(``"HH:MM"``, rate per kWh text)] hold on every local day
    from ``first_day`` to ``last_day`` (inclusive) for ``asset_code`` (None or "" = every asset).

    Band ``i`` (1-based) errors name the fields ``band{i}_start`` / ``band{i}_rate``; blank bands are ignored.
    """
    errors: list[RowError] = []
    tz = (timezone or "").strip()
    try:
        if len(tz) > 64:  # IANA names are short; a long one makes ZoneInfo fail with OSError
            raise ValueError(tz)
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        errors.append(RowError("", "timezone", f"{tz[:40]!r} is not a known time zone; use an IANA name such "
                                               "as America/New_York"))
    first = _day(first_day, "first_day", errors)
    last = _day(last_day, "last_day", errors)
    if first and last:
        if last < first:
            errors.append(RowError("", "last_day", "is before the first day"))
        elif (last - first).days + 1 > MAX_DAYS:
            errors.append(RowError("", "last_day", f"the range is {(last - first).days + 1} days; at most {MAX_DAYS} "
                                                   "days fit in one template"))
    code = (asset_code or "").strip()
    if code and session.scalar(select(Asset.id).where(Asset.asset_code == code)) is None:
        errors.append(RowError("", "asset_code", f"no asset with code {code[:64]!r} is registered"))
    parsed: list[TouBand] = []
    for i, (start, rate) in enumerate(bands, start=1):
        start, rate = (start or "").strip(), (rate or "").strip()
        if not start and not rate:
            continue
        when = None
        if not re.fullmatch(r"[0-9]{1,2}:[0-9]{2}", start):
            errors.append(RowError("", f"band{i}_start", f"{start[:8]!r} is not a time of day; write HH:MM, e.g. 07:00"))
        else:
            h, m = map(int, start.split(":"))
            if h > 23 or m > 59:
                errors.append(RowError("", f"band{i}_start", f"{start[:8]!r} is not a time of day"))
            else:
                when = dt.time(h, m)
        micros = None
        try:
            micros = parse_rate(rate)
            if micros < 0:
                errors.append(RowError("", f"band{i}_rate", "a rate may not be negative"))
                micros = None
            elif micros > 1_000_000_000:
                errors.append(RowError("", f"band{i}_rate", f"{rate} per kWh is not a believable rate"))
                micros = None
        except UnitError as exc:
            errors.append(RowError("", f"band{i}_rate", str(exc)))
        if when is not None and micros is not None:
            parsed.append(TouBand(when, micros))
    if not parsed and not any(e.field.startswith("band") for e in errors):
        errors.append(RowError("", "band1_start", "give at least one band"))
    if parsed and not errors:
        starts = [b.starts for b in parsed]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            errors.append(RowError("", "band1_start", "band start times must be different and in order through the day"))
    if errors:
        raise RefusedError("the time-of-use tariff was not saved", errors)
    rows = time_of_use_rows(first, last, tz, parsed)
    records = [{"valid_from": valid_from.isoformat(), "rate_per_kwh": str(rate_to_decimal(micros)),
                "asset_code": code} for valid_from, micros in rows]
    return apply_records(session, "rates", records, source="time-of-use form", actor=actor)
