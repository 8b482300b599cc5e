"""A small co-op with a battery that charges and discharges (signed readings) and a time-of-use rate of its
own, one month posted: the fixture of the battery tests (services.credits.storage, the member dashboard)."""

from __future__ import annotations

import datetime as dt

from energy_coop.services.credits import allocation
from tests.helpers import ASSETS, MEMBERS, RATES, add_readings, hourly, load_registers, utc

# BAT1 (4 shares): 1001 holds 1 all month, 1002 gets 2 on 15 February, the co-op the rest.
SHARES = """ref,date,asset_code,kind,member_number,from_member_number,shares
S-1,2024-01-01,SUN1,issue,1001,,3
S-2,2024-01-01,SUN1,issue,1002,,2
B-1,2024-01-01,BAT1,issue,1001,,1
B-2,2024-02-15,BAT1,issue,1002,,2
"""
# The battery's own time-of-use rate: 0.06 a kWh, 0.30 from 16:00 to 21:00 UTC: it is paid for moving energy there.
BATTERY_RATES = RATES + "".join(
    f"2024-02-{d:02d}T00:00:00Z,0.060000,BAT1\n2024-02-{d:02d}T16:00:00Z,0.300000,BAT1\n"
    f"2024-02-{d:02d}T21:00:00Z,0.060000,BAT1\n" for d in range(1, 30))
FEB = (utc(2024, 2, 1), utc(2024, 3, 1))


def battery_hours(start: int, end: int) -> list[tuple[int, int, int]]:
    """Charges 10:00-14:00 UTC (-1.250001 kWh an hour), discharges 17:00-21:00 (+1.125003 kWh), else idle."""
    rows = []
    for t in range(start, end, 3600):
        hour = dt.datetime.fromtimestamp(t, dt.timezone.utc).hour
        mwh = -1_250_001 if 10 <= hour < 14 else 1_125_003 if 17 <= hour < 21 else 0
        rows.append((t, t + 3600, mwh))
    return rows


def seed_battery_coop(sessions, folder, rates: str = BATTERY_RATES) -> None:
    """Registers, a month of hourly readings on SUN1 and BAT1, February 2024 posted."""
    with sessions.begin() as s:
        load_registers(s, folder, members=MEMBERS, assets=ASSETS, shares=SHARES, rates=rates)
        add_readings(s, "PM-SUN1", hourly(*FEB))
        add_readings(s, "PM-BAT1", battery_hours(*FEB), name="bat")
    with sessions.begin() as s:
        allocation.post(s, "2024-02", actor="test", today=dt.date(2024, 3, 5))
