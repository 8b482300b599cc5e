"""The demo co-op (SPEC section 2): a believable co-operative in Greensboro, North Carolina.

Greensboro because pvlib ships a typical meteorological year for it (``723170TYA.CSV``), so the demo's
production readings come from real weather without downloading anything. The register files are written
as CSV under ``instance/demo/`` and loaded through the same loaders an administrator uses.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from zoneinfo import ZoneInfo

from ..calc.tariffs import TouBand, time_of_use_rows
from ..models import MEMBER_TYPES, User
from ..units import rate_to_decimal
from . import users as users_service
from .registers import load_register

DEMO_TIMEZONE = "America/New_York"

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
    """Write the demo's members, assets, shares and rates CSV files into ``folder``; return their paths."""
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
    """A flat rate until ``first``, then time of use (peak 16:00-21:00 local); the battery earns peak all day."""
    rows = [{"valid_from": "2022-01-01T00:00:00-05:00", "rate_per_kwh": "0.110000", "asset_code": ""}]
    bands = [TouBand(dt.time(0), 90_000), TouBand(dt.time(16), 160_000), TouBand(dt.time(21), 90_000)]
    for valid_from, micros in time_of_use_rows(first, last, DEMO_TIMEZONE, bands):
        rows.append({"valid_from": valid_from.isoformat(), "rate_per_kwh": str(rate_to_decimal(micros)),
                     "asset_code": ""})
    rows.append({"valid_from": dt.datetime.combine(first, dt.time(0), ZoneInfo(DEMO_TIMEZONE)).isoformat(),
                 "rate_per_kwh": "0.160000", "asset_code": "BAT-HUB"})
    return rows


def seed(session: Session, folder: Path, *, today: dt.date, actor: str = "demo") -> DemoLogins:
    """Load the demo registers and create the demo logins (idempotent for the same ``today``)."""
    first = dt.date(today.year - 1, today.month, 1) - dt.timedelta(days=1)
    paths = write_register_files(folder, tou_from=first.replace(day=1), tou_until=today + dt.timedelta(days=400))
    for kind in ("members", "assets", "shares", "rates"):
        load_register(session, kind, paths[kind], actor=actor)
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
