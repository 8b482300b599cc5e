"""Utility and inverter exports in the layouts real ones publish, written from code (all data invented).

The small files in ``tests/data/profiles/`` are what :func:`main` writes (``python -m tests.profile_exports``);
tests that need a month or a year call these functions with other dates. Energy values are exact decimals made
from integers, so each test can state its totals in Wh.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent / "data" / "profiles"
NBSP = "\u00a0"


def delivered_wh(day: int, hour: int) -> int:
    """Energy a premises took from the grid in one hour [Wh] (any whole number, written as kWh)."""
    return 100 + 7 * hour + 3 * day


def received_wh(day: int, hour: int) -> int:
    """Energy a rooftop array sent to the grid in one hour [Wh]: zero at night."""
    return 0 if not 7 <= hour <= 18 else (hour - 6) * (19 - hour) * 25 + day


def kwh(wh: int) -> str:
    return f"{wh // 1000}.{wh % 1000:03d}"


def utility_blocks(first: dt.date, days: int, *, account: str = "0012345678", meter: str = "SAMPLE-METER-7",
                   nbsp: bool = True) -> str:
    """The 'download my data' net-metering export: metadata, then per day an Energy Delivered block and an
    Energy Received block, each with its own header, hourly periods 'START to END' in naive local time."""
    sep = f"{NBSP}to{NBSP}" if nbsp else " to "
    out = ["Energy Usage Information",
           "Name,Jane Member",
           f"Account Number,{account}",
           f"Meter Number,{meter}",
           '"Service Address","12 Elm St, Springfield"',
           f"Report Period,{first} to {first + dt.timedelta(days=days - 1)}",
           ""]
    for d in range(days):
        day = first + dt.timedelta(days=d)
        for label, value in (("Energy Delivered", delivered_wh), ("Energy Received", received_wh)):
            out += [label, "Interval,Usage (kWh)"]
            for h in range(24):
                start = dt.datetime.combine(day, dt.time(h))
                end = start + dt.timedelta(hours=1)
                text = f"{start:%Y-%m-%d %H:%M:%S}{sep}{end:%Y-%m-%d %H:%M:%S}"
                if nbsp and h % 5 == 0:
                    text = text.replace(" ", NBSP)
                out.append(f"{text},{kwh(value(day.day, h))}")
            out.append("")
    return "\r\n".join(out) + "\r\n"


def start_end_kwh(first: dt.datetime, intervals: int, minutes: int = 15, *, zone: str | None = None) -> str:
    """One table with metadata before it: Start, End and kWh per interval, local times. With ``zone``, the
    local times follow the clock there (an autumn night lists its repeated hour twice, in time order)."""
    out = ["Customer,Jane Member", "Account,0012345678", "", "Start,End,Usage (kWh)"]
    step = dt.timedelta(minutes=minutes)
    for i in range(intervals):
        if zone is None:
            start, end = first + i * step, first + (i + 1) * step
        else:
            z = ZoneInfo(zone)
            utc0 = first.replace(tzinfo=z).astimezone(dt.UTC)
            start = (utc0 + i * step).astimezone(z).replace(tzinfo=None)
            end = (utc0 + (i + 1) * step).astimezone(z).replace(tzinfo=None)
        out.append(f"{start:%Y-%m-%d %H:%M},{end:%Y-%m-%d %H:%M},{kwh(50 + i % 40)}")
    return "\n".join(out) + "\n"


def inverter_register(first: dt.datetime, intervals: int, *, start_kwh: str = "10520.250",
                      reset_after: int | None = None) -> str:
    """An inverter monitoring export: end time of each 15-minute reading and the lifetime counter in kWh.
    ``reset_after``: the counter restarts from zero after that many intervals (a replaced inverter board)."""
    whole, frac = start_kwh.split(".")
    counter = int(whole) * 1000 + int(frac.ljust(3, "0"))
    out = ["Plant,Elm St Rooftop", "Inverter,INV-01 (serial 7781)", "",
           "Date/Time,Total Yield (kWh),Power (W)"]
    out.append(f"{first:%Y-%m-%d %H:%M:%S},{kwh(counter)},0")
    for i in range(1, intervals + 1):
        step = 20 * (i % 9)
        counter += step
        if reset_after is not None and i == reset_after + 1:
            counter = step
        out.append(f"{first + dt.timedelta(minutes=15 * i):%Y-%m-%d %H:%M:%S},{kwh(counter)},{step * 4}")
    return "\n".join(out) + "\n"


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "utility_blocks_2022-08.csv").write_text(utility_blocks(dt.date(2022, 8, 1), 2), newline="")
    (HERE / "start_end_kwh_2024-03.csv").write_text(start_end_kwh(dt.datetime(2024, 3, 4), 96))
    (HERE / "inverter_register_2024-06.csv").write_text(
        inverter_register(dt.datetime(2024, 6, 3, 6, 0), 48, reset_after=30))
    (HERE / "my-utility.toml").write_text(MY_UTILITY)
    (HERE / "my_utility_2024-01.csv").write_text(MY_UTILITY_FILE)


#: A user profile for a layout no built-in reads: decimal commas in quoted cells, a date column with from/to time
#: columns, Wh in the header, and the delivered and received channels as two columns.
MY_UTILITY = '''\
name = "my-utility"
description = "Stadtwerke-style export: a date, from and to times, both channels in Wh with decimal commas"
layout = "table"

[columns]
date = "datum"
start = "von"
end = "bis"
delivered = "bezug"
received = "einspeisung"

[time]
formats = ["%d.%m.%Y %H:%M"]
timezone = "Europe/Berlin"
ambiguous = "refuse"

[energy]
unit = "header"
decimal = ","
'''

MY_UTILITY_FILE = (
    "Zählpunkt,DE0001234567890000000000000012345\n"
    "Kundennummer,4711\n"
    "\n"
    "Datum,Von,Bis,Bezug (Wh),Einspeisung (Wh)\n"
    '15.01.2024,23:00,23:15,"120,5","0,0"\n'
    '15.01.2024,23:15,23:30,"118,0","0,0"\n'
    '15.01.2024,23:30,23:45,"121,25","0,0"\n'
    '15.01.2024,23:45,00:00,"119,0","3,5"\n'
)

if __name__ == "__main__":
    main()
