"""The demo co-op (SPEC section 2): a believable co-operative in Greensboro, North Carolina.

Greensboro because pvlib ships a typical meteorological year for it (``723170TYA.CSV``), so the demo's
production readings come from real weather without downloading anything. The register files are written
as CSV under ``instance/demo/`` and loaded through the same loaders an administrator uses.

The steps here take a session and never commit: :func:`energy_coop.demo.seed_demo` opens each transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.tariffs import TouBand, time_of_use_rows
from energy_coop.calc.forecasting.forecast import SolarArray, expected_ac_power
from energy_coop.importers.weather import typical_year, typical_year_file
from energy_coop.models import LedgerEntry, Member, User
from energy_coop.period import Period
from energy_coop.services.accounts import users as users_service
from energy_coop.services.credits import allocation
from energy_coop.services.credits.ledger import MANUAL_KINDS, balance, record_manual_entry
from energy_coop.services.registers.loading import load_register
from energy_coop.units import mwh_to_kwh_decimal, rate_to_decimal
from energy_coop.vocabulary import MEMBER_TYPES

DEMO_TIMEZONE = "America/New_York"
#: The demo co-op's settings (``services.settings``): its name and contact (555 numbers are fictional), US
#: dollars, US English, the assets' zone, and the US grid's average CO2 per kWh with its public source:
#: 1,650 million t of CO2 from 4,230,672 million kWh of utility-scale generation in 2022 = 0.390 kg/kWh.
DEMO_SETTINGS = {
    "coop_name": "Glenwood Community Solar Co-op",
    "address": "300 S Elm St\nGreensboro, NC 27401",
    "contact_email": "hello@demo.energy-coop.org",
    "contact_phone": "+1 336 555 0100",
    "currency": "USD",
    "locale": "en_US",
    "timezone": DEMO_TIMEZONE,
    "emission_factor_source": "US EIA, 2022 US utility-scale generation: 1,650 million t CO2 over 4,231 TWh "
                              "(eia.gov FAQ 74)",
    "emission_factor_kg_per_kwh": "0.390",
}

FIRST = ["Ada", "Bo", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena", "Mo", "Nia", "Omar",
         "Pia", "Quin", "Rosa", "Sam", "Tao", "Uma", "Vic", "Wren", "Xia", "Yusuf", "Zoe"]
LAST = ["Okafor", "Nguyen", "Smith", "Garcia", "Haddad", "Kowalski", "Moreno", "Park", "Reyes", "Shah", "Tanaka",
        "Walker", "Yilmaz", "Baker", "Chen", "Diallo", "Evans", "Fischer"]
ORGS = {
    "worker_coop": ["Gate City Bakers Co-op", "Piedmont Cycle Workers", "Elm Street Printers Co-op"],
    "anchor_institution": ["Greensboro Community Hospital", "Glenwood Elementary School", "Gate City Library"],
    "business": ["Corner Hardware", "Spring Garden Cafe", "Lindley Park Florist"],
    "nonprofit": ["Food Shelf of Guilford", "Tenants Together", "River Clean-up Trust"],
    "public_body": ["City Parks Department", "County Housing Authority"],
}

# Real places in Greensboro, NC (approximate coordinates of the buildings' roofs and lots).
ASSETS = [dict(a, timezone=DEMO_TIMEZONE) for a in [
    dict(asset_code="SUN-SCHOOL", name="Glenwood Elementary roof array", kind="solar", meter_code="PM-SCHOOL",
         latitude="36.0537", longitude="-79.8226", altitude_m="250", total_shares="2000", commissioned_on="2022-05-01",
         capacity_kw_dc="120", capacity_kw_ac="100", tilt_deg="15", azimuth_deg="180", losses_pct="14",
         array_type="fixed_roof_mount"),
    dict(asset_code="SUN-DEPOT", name="Depot canopy array", kind="solar", meter_code="PM-DEPOT",
         latitude="36.0694", longitude="-79.7877", altitude_m="245", total_shares="1500", commissioned_on="2022-09-01",
         capacity_kw_dc="80", capacity_kw_ac="66", tilt_deg="10", azimuth_deg="200", losses_pct="12",
         array_type="fixed_open_rack"),
    dict(asset_code="SUN-FARM", name="Lake Brandt community field", kind="solar", meter_code="PM-FARM",
         latitude="36.1531", longitude="-79.8397", altitude_m="240", total_shares="4000", commissioned_on="2023-03-01",
         capacity_kw_dc="400", capacity_kw_ac="330", tilt_deg="0", azimuth_deg="180", losses_pct="14",
         array_type="single_axis"),
    dict(asset_code="BAT-HUB", name="Community hub battery", kind="storage", meter_code="PM-HUB",
         latitude="36.0726", longitude="-79.7920", altitude_m="245", total_shares="1000", commissioned_on="2023-06-01",
         storage_kwh="400", storage_kw="100", roundtrip_efficiency="0.9"),
]]


@dataclass
class DemoLogins:
    admin: tuple[str, str]
    auditor: tuple[str, str]
    member: tuple[str, str, str]


def _write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def write_register_files(folder: Path, *, tou_from: dt.date, tou_until: dt.date, members: int = 210,
                         seed: int = 7) -> dict[str, Path]:
    """Write the demo's members, assets, shares and rates CSV files into ``folder``; return their paths.

    Shares are issued before ``tou_from`` (the first month with readings); then, on the 15th of several
    months, some members transfer shares to others, a few new shares are issued and one member redeems, so
    the monthly split really follows holdings day by day.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    member_rows = []
    types = list(MEMBER_TYPES)
    for i in range(members):
        number = f"{1001 + i}"
        mtype = types[i % len(types)] if i < 70 else ("household" if i % 3 else "clt_household")
        if mtype in ORGS:
            name = ORGS[mtype][i % len(ORGS[mtype])] + ("" if i < len(types) * 3 else f" {i}")
        else:
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        member_rows.append({
            "member_number": number, "name": name, "email": f"member{number}@demo.energy-coop.org",
            "member_type": mtype, "joined_on": f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "low_income": "true" if mtype == "clt_household" or i % 11 == 0 else "false",
            "annual_usage_kwh": str(rng.randint(2500, 11000)) if mtype in ("household", "clt_household") else "",
            "meter_code": f"CM-{number}" if i < 12 else "",
        })
    share_rows: list[dict[str, str]] = []
    ref = 0
    for asset in ASSETS:
        total = int(asset["total_shares"])
        issued = 0
        holders = rng.sample(range(members), k=min(members, 90 if asset["kind"] == "solar" else 40))
        for idx in holders:
            n = rng.randint(5, max(6, total // 120))
            if issued + n > total * 0.92:
                break
            ref += 1
            issued += n
            share_rows.append({"ref": f"D-{ref:05d}", "date": "2023-06-01", "asset_code": asset["asset_code"],
                               "kind": "issue", "member_number": member_rows[idx]["member_number"],
                               "shares": str(n), "price_per_share": "50.00"})
    held: dict[tuple[str, str], int] = {}
    for row in share_rows:
        held[(row["asset_code"], row["member_number"])] = int(row["shares"])
    month = tou_from.replace(day=15)
    k = 0
    while month <= tou_until and k < 10:
        for _ in range(3):  # three transfers on the 15th of each of the first ten months
            (asset_code, giver), shares = rng.choice(sorted(held.items()))
            receiver = member_rows[rng.randrange(members)]["member_number"]
            if receiver == giver or shares < 2:
                continue
            n = rng.randint(1, shares // 2)
            ref += 1
            share_rows.append({"ref": f"D-{ref:05d}", "date": month.isoformat(), "asset_code": asset_code,
                               "kind": "transfer", "member_number": receiver, "from_member_number": giver,
                               "shares": str(n), "price_per_share": "52.00"})
            held[(asset_code, giver)] = shares - n
            held[(asset_code, receiver)] = held.get((asset_code, receiver), 0) + n
        if k == 2:  # a share offer: new shares in the community field
            for idx in rng.sample(range(members), 5):
                ref += 1
                number = member_rows[idx]["member_number"]
                share_rows.append({"ref": f"D-{ref:05d}", "date": month.isoformat(), "asset_code": "SUN-FARM",
                                   "kind": "issue", "member_number": number, "shares": "20",
                                   "price_per_share": "55.00"})
                held[("SUN-FARM", number)] = held.get(("SUN-FARM", number), 0) + 20
        if k == 4:  # a member moves away and redeems their school shares
            (asset_code, member), shares = next((key, v) for key, v in sorted(held.items())
                                                if key[0] == "SUN-SCHOOL" and v > 0)
            ref += 1
            share_rows.append({"ref": f"D-{ref:05d}", "date": month.isoformat(), "asset_code": asset_code,
                               "kind": "redeem", "member_number": member, "shares": str(shares)})
            held[(asset_code, member)] = 0
        month = (month.replace(day=1) + dt.timedelta(days=32)).replace(day=15)
        k += 1
    return {
        "members": _write_csv(folder / "members.csv", member_rows, list(member_rows[0])),
        "assets": _write_csv(folder / "assets.csv", ASSETS, [
            "asset_code", "name", "kind", "meter_code", "timezone", "latitude", "longitude", "altitude_m",
            "total_shares", "commissioned_on", "capacity_kw_dc", "capacity_kw_ac", "tilt_deg", "azimuth_deg",
            "losses_pct", "array_type", "storage_kwh", "storage_kw", "roundtrip_efficiency"],
        ),
        "shares": _write_csv(folder / "shares.csv", share_rows, [
            "ref", "date", "asset_code", "kind", "member_number", "from_member_number", "shares", "price_per_share"]),
        "rates": _write_csv(folder / "rates.csv", _tou_rates(tou_from, tou_until), ["valid_from", "rate_per_kwh", "asset_code"]),
    }


def _tou_rates(first: dt.date, last: dt.date) -> list[dict[str, str]]:
    """A flat rate until ``first``, then time of use (peak 16:00-21:00 local) for every asset, and a steeper
    time-of-use tariff of the battery's own (it is paid for moving energy into the evening peak)."""
    rows = [{"valid_from": "2022-01-01T00:00:00-05:00", "rate_per_kwh": "0.110000", "asset_code": ""}]
    bands = [TouBand(dt.time(0), 90_000), TouBand(dt.time(16), 160_000), TouBand(dt.time(21), 90_000)]
    for valid_from, micros in time_of_use_rows(first, last, DEMO_TIMEZONE, bands):
        rows.append({"valid_from": valid_from.isoformat(), "rate_per_kwh": str(rate_to_decimal(micros)),
                     "asset_code": ""})
    battery = [TouBand(dt.time(0), 60_000), TouBand(dt.time(16), 300_000), TouBand(dt.time(21), 60_000)]
    for valid_from, micros in time_of_use_rows(first, last, DEMO_TIMEZONE, battery):
        rows.append({"valid_from": valid_from.isoformat(), "rate_per_kwh": str(rate_to_decimal(micros)),
                     "asset_code": "BAT-HUB"})
    return rows


def demo_weather(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Hourly weather for real dates ``[start, end)`` from the typical year of the demo's site (pvlib's Greensboro
    file, as :func:`energy_coop.importers.weather.typical_year_file` chooses for it).

    Each real hour gets the typical-year row of the same month, day and local-standard-time hour (29 February
    takes the 28th's). The file's rows are hour-ending in local standard time (UTC-5), so a row stamped 13:00
    describes the hour that starts at 12:00. Columns ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air`` [°C],
    ``wind_speed`` [m/s], indexed by UTC interval starts.
    """
    tmy, _ = typical_year(typical_year_file(float(ASSETS[0]["latitude"]), float(ASSETS[0]["longitude"])))
    starts = tmy.index - pd.Timedelta(hours=1)
    key = (starts.month * 10000 + starts.day * 100 + starts.hour).to_numpy()
    table = pd.DataFrame(tmy[["ghi", "dni", "dhi", "temp_air", "wind_speed"]].to_numpy(dtype=float),
                         index=key, columns=["ghi", "dni", "dhi", "temp_air", "wind_speed"])
    table = table[~table.index.duplicated()]
    times = pd.date_range(start, end, freq="1h", inclusive="left", tz="UTC")
    lst = times.tz_convert("Etc/GMT+5")  # local standard time, no DST, as the file is
    day = np.where((lst.month == 2) & (lst.day == 29), 28, lst.day)
    wanted = lst.month.to_numpy() * 10000 + day * 100 + lst.hour.to_numpy()
    out = table.reindex(wanted)
    out.index = times
    return out.ffill().fillna(0.0)


def production_readings(start: pd.Timestamp, end: pd.Timestamp, seed: int = 11) -> dict[str, list[tuple[int, int]]]:
    """15-minute readings ``(start [UTC epoch s], mWh)`` per demo meter for ``[start, end)``.

    Solar arrays: pvlib's expected AC power (calc.forecast) under the typical-year weather, with a small
    quarter-hour wobble. The battery charges from midday solar 10:00-14:00 local and discharges into the
    evening peak 17:00-21:00 at 90 % round-trip efficiency (so its charging intervals are negative).
    """
    rng = np.random.default_rng(seed)
    weather = demo_weather(start, end)
    times = weather.index
    out: dict[str, list[tuple[int, int]]] = {}
    quarter = np.arange(4) * 900
    for a in ASSETS:
        if a["kind"] != "solar":
            continue
        array = SolarArray(latitude=float(a["latitude"]), longitude=float(a["longitude"]), timezone=a["timezone"],
                           capacity_kw_dc=float(a["capacity_kw_dc"]), capacity_kw_ac=float(a["capacity_kw_ac"]),
                           tilt_deg=float(a["tilt_deg"]), azimuth_deg=float(a["azimuth_deg"]),
                           losses_pct=float(a["losses_pct"]), array_type=a["array_type"],
                           altitude_m=float(a["altitude_m"]), code=a["asset_code"])
        power = expected_ac_power([array], times, weather).iloc[:, 0].to_numpy(dtype=float)  # [W]
        wobble = rng.uniform(0.97, 1.03, size=(len(times), 4))
        mwh = np.rint(power[:, None] * wobble * 250.0).astype(np.int64)  # W x 0.25 h = Wh/4 ... x1000 -> mWh
        epoch = times.as_unit("s").asi8[:, None] + quarter[None, :]
        out[a["meter_code"]] = list(zip(epoch.ravel().tolist(), mwh.ravel().tolist()))
    local = pd.date_range(start, end, freq="15min", inclusive="left", tz="UTC").tz_convert(DEMO_TIMEZONE)
    hours = local.hour.to_numpy()
    battery = np.where((hours >= 10) & (hours < 14), -12_500_000,
                       np.where((hours >= 17) & (hours < 21), 11_250_000, 0)).astype(np.int64)
    out["PM-HUB"] = list(zip(local.as_unit("s").asi8.tolist(), battery.tolist()))
    return out


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    m = first.replace(day=1)
    while m <= last:
        months.append(m)
        m = (m + dt.timedelta(days=32)).replace(day=1)
    return months


#: The demo meter whose first month arrives as its utility's "download my data" export (SPEC 20), read through
#: the built-in ``utility-blocks`` profile: detected, the meter named by the file's metadata.
UTILITY_EXPORT_METER = "PM-DEPOT"


def write_utility_export(path: Path, meter: str, rows: list[tuple[int, int]], zone: ZoneInfo) -> Path:
    """``rows`` ([UTC epoch s], mWh) as a utility's net-metering export: metadata lines, then per local day an
    'Energy Received' block with its header and 'START to END' periods in naive local time, as such exports are
    (non-breaking spaces around the 'to')."""
    lines = ["Energy Usage Information", "Name,Depot canopy array", "Account Number,7700120045",
             f"Meter Number,{meter}", ""]
    day = None
    for t, mwh in rows:
        start = dt.datetime.fromtimestamp(t, zone).replace(tzinfo=None)
        end = dt.datetime.fromtimestamp(t + 900, zone).replace(tzinfo=None)
        if start.date() != day:
            day = start.date()
            lines += ["", "Energy Received", "Interval,Usage (kWh)"]
        lines.append(f"{start:%Y-%m-%d %H:%M:%S}\u00a0to\u00a0{end:%Y-%m-%d %H:%M:%S},{mwh_to_kwh_decimal(mwh)}")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8", newline="")
    return path


def write_reading_files(folder: Path, first: dt.date, until: dt.date) -> list[Path]:
    """One long-format CSV of every meter's readings per month, from ``first`` to the start of ``until``; the
    first month's readings of :data:`UTILITY_EXPORT_METER` come as its utility's export instead."""
    folder.mkdir(parents=True, exist_ok=True)
    zone = ZoneInfo(DEMO_TIMEZONE)
    paths = []
    for month in _month_starts(first, until - dt.timedelta(days=1)):
        nxt = min((month + dt.timedelta(days=32)).replace(day=1), until)
        start = pd.Timestamp(dt.datetime.combine(month, dt.time(0), zone)).tz_convert("UTC")
        end = pd.Timestamp(dt.datetime.combine(nxt, dt.time(0), zone)).tz_convert("UTC")
        path = folder / f"readings_{month:%Y-%m}{'_partial' if nxt == until else ''}.csv"
        readings = production_readings(start, end)
        if month == first.replace(day=1):
            paths.append(write_utility_export(folder / f"depot_utility_export_{month:%Y-%m}.csv",
                                              UTILITY_EXPORT_METER, readings.pop(UTILITY_EXPORT_METER), zone))
        with path.open("w", encoding="utf-8") as fh:
            fh.write("meter_code,start,interval_minutes,kwh,quality\n")
            for meter, rows in readings.items():
                for t, mwh in rows:
                    stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                    fh.write(f"{meter},{stamp},15,{mwh_to_kwh_decimal(mwh)},actual\n")
        paths.append(path)
    return paths


def demo_months(today: dt.date) -> list[Period]:
    """The demo's complete months before ``today``'s: the 13 whose readings are imported whole and posted."""
    last = Period.of(today).previous()
    return [last.add(n) for n in range(-12, 1)]


def seed_registers(session: Session, folder: Path, *, today: dt.date, actor: str) -> DemoLogins:
    """Write the register files into ``folder``, load them as an administrator would, and add the logins."""
    first = demo_months(today)[0].first_day
    paths = write_register_files(folder, tou_from=first, tou_until=today + dt.timedelta(days=400))
    for kind in ("members", "assets", "shares", "rates"):
        load_register(session, kind, paths[kind], actor=actor)
    return _logins(session, actor)


def demo_now(today: dt.date) -> dt.datetime:
    """The demo's "now" [aware, UTC]: the start of ``today`` in the demo's time zone, where its readings end
    (so none is in the future and every month before ``today``'s has ended for every asset)."""
    return dt.datetime.combine(today, dt.time(0), ZoneInfo(DEMO_TIMEZONE)).astimezone(dt.timezone.utc)


def post_month(session: Session, period: Period, *, actor: str, now: dt.datetime) -> bool:
    """Post ``period``'s allocation (as of the instant ``now``) unless it is posted already; whether it was
    posted now."""
    if allocation.current_run(session, str(period)) is not None:
        return False
    allocation.post(session, str(period), actor=actor, now=now)
    return True


def seed_manual_entries(session: Session, period: str, *, actor: str, today: dt.date) -> None:
    """A few payouts, a bill application and an adjustment in ``period``, as an admin would record them (once:
    nothing when the ledger already holds entries made by hand)."""
    if session.scalar(select(exists().where(LedgerEntry.kind.in_(MANUAL_KINDS)))):
        return
    record_manual_entry(session, kind="adjustment", member_number="1001", cents=250, memo="goodwill credit "
                        "after the inverter fault", period=period, actor=actor, today=today)
    for number, kind, memo in (("1002", "payout", "cheque 1041"), ("1003", "payout", "bank transfer 88-2231"),
                               ("1004", "bill_application", "set against the utility bill")):
        member_id = session.scalar(select(Member.id).where(Member.member_number == number))
        cents = balance(session, member_id)[1] // 200 * 100  # half the balance, in whole currency units
        if cents > 0:
            record_manual_entry(session, kind=kind, member_number=number, cents=-cents, memo=memo,
                                period=period, actor=actor, today=today)


def _logins(session: Session, actor: str) -> DemoLogins:
    logins = DemoLogins(
        admin=("admin@demo.energy-coop.org", "demo-admin-password"),
        auditor=("auditor@demo.energy-coop.org", "demo-auditor-password"),
        member=("member1001@demo.energy-coop.org", "demo-member-password", "1001"),
    )
    wanted = [
        (logins.admin[0], "admin", logins.admin[1], None),
        (logins.auditor[0], "auditor", logins.auditor[1], None),
        (logins.member[0], "member", logins.member[1], logins.member[2]),
    ]
    for email, role, password, number in wanted:
        if session.scalar(select(User.id).where(User.email == email)) is None:
            users_service.add_user(session, email, role, password, member_number=number, actor=actor)
    return logins
