"""The demo's efficiency programme (SPEC sections 2 and 8): premises, audits, measures, two incentive
programmes with awards and payments, and daily consumption readings before and after installation so that the
measured-savings pages have something to show.

The members with consumption meters (CM-1001 .. CM-1012) get premises in Greensboro, NC. Their daily
consumption is made from the typical weather year that ships inside pvlib (the same Greensboro file the
production readings use): ``base load + heating slope × HDD + cooling slope × CDD + noise`` [kWh/day], reduced
after installation by what the measures really save (between 60 % and 115 % of the auditor's estimate, so
estimated and measured differ the way they do in life). Every change goes through the services, so the demo's
audit log shows them like an administrator's: the readings are written as a CSV file (``consumption-daily.csv``)
and imported by the same importer an administrator uses.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.calc.efficiency.savings import degree_days, tmy_daily_temperatures
from energy_coop.errors import RefusedError
from energy_coop.importers import weather as weather_files
from energy_coop.models import IncentiveProgramme, Member
from energy_coop.period import Period
from energy_coop.services.efficiency.incentives import award_incentive, create_programme, record_payment
from energy_coop.services.efficiency.measures import propose_measure, set_measure_status
from energy_coop.services.efficiency.premises import create_premises, record_audit
from energy_coop.services.metering.imports import import_file
from energy_coop.units import mwh_to_kwh_decimal

DEMO_TIMEZONE = "America/New_York"
STREETS = ["Elm St", "Spring Garden St", "Walker Ave", "Lindley Park Dr", "Summit Ave", "Battleground Ave",
           "Mendenhall St", "Friendly Ave", "Aycock St", "Market St", "Tate St", "Cedar St"]


@dataclass(frozen=True)
class _Plan:
    """What one demo member's building gets. ``installed_months_ago`` None = not installed; ``history_months``
    = months of readings before the installation month."""

    number: str
    fuel: str
    area: int
    built: int
    measures: tuple[tuple[str, str, int, int, int], ...]  # (category, description, cost [cents], kWh/yr, life)
    status: str  # what the measures become: proposed | approved | installed | verified | discarded
    installed_months_ago: int | None = None
    history_months: int = 14
    programme: str | None = None
    paid_fraction: float = 0.0


PLANS = [
    _Plan("1001", "electric_resistance", 110, 1958, (("heat_pump", "Ducted cold-climate heat pump", 1_150_000, 3_800, 15),
                                                    ("envelope", "Attic insulation to R-49", 240_000, 900, 30)),
          "verified", 13, 14, "HOME-HP", 1.0),
    _Plan("1002", "natural_gas", 420, 1971, (("lighting", "LED retrofit of the workshop", 680_000, 9_500, 12),),
          "installed", 11, 14, "KWH-SAVE", 0.5),
    _Plan("1003", "electric_resistance", 85, 1990, (("envelope", "Air sealing and duct sealing", 180_000, 1_400, 20),),
          "installed", 4, 14, "HOME-HP", 0.0),
    _Plan("1004", "district", 5200, 1965, (("controls", "Building automation retune", 2_400_000, 85_000, 10),),
          "approved", None, 14, "KWH-SAVE"),
    _Plan("1005", "natural_gas", 260, 1949, (("lighting", "LED shop lighting", 310_000, 4_200, 12),), "proposed"),
    _Plan("1006", "heat_pump", 640, 1984, (("envelope", "Window film and weather stripping", 420_000, 5_100, 15),),
          "installed", 7, 4),
    _Plan("1007", "oil", 1800, 1962, (("heat_pump", "Replace oil boiler with air-to-water heat pump",
                                       6_500_000, 38_000, 20),), "discarded"),
    _Plan("1008", "natural_gas", 140, 1936, (("envelope", "Wall insulation (dense pack)", 520_000, 1_100, 40),
                                             ("controls", "Smart thermostat", 25_000, 450, 10)),
          "verified", 12, 14, "HOME-HP", 1.0),
    _Plan("1009", "natural_gas", 300, 2002, (("solar_ready", "Roof conduit and panel upgrade", 380_000, 0, 30),),
          "proposed"),
    _Plan("1010", "electric_resistance", 95, 1975, (("heat_pump", "Ductless mini-split heat pumps", 690_000, 3_100, 15),),
          "installed", 10, 14, "HOME-HP", 0.3),
    _Plan("1011", "natural_gas", 3100, 1998, (("lighting", "Gym and corridor LED", 1_800_000, 42_000, 12),),
          "approved"),
    _Plan("1012", "propane", 220, 1980, (("other", "Heat-pump water heater", 190_000, 1_900, 12),), "approved"),
]


def _add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``day``'s."""
    return Period.of(day).add(n).first_day


def seed_efficiency(session: Session, *, today: dt.date, folder: Path, actor: str = "demo") -> dict[str, int]:
    """Create the demo's efficiency programme around ``today`` (nothing if it is already there); return counts.

    Needs the demo members 1001 .. 1012 (with meters CM-1001 .. CM-1012) to be loaded first. The daily
    consumption readings are written to ``folder/consumption-daily.csv`` and imported in this transaction.
    """
    if session.scalar(select(IncentiveProgramme.id).where(IncentiveProgramme.code == "HOME-HP")) is not None:
        return {"premises": 0, "measures": 0, "awards": 0, "readings": 0}
    rng = random.Random(8)
    this_month = today.replace(day=1)
    create_programme(
        session, code="HOME-HP", name="Home heat pumps and insulation", budget_cents=6_000_000,
        rule="percent_of_cost", percent_bp=4_000, cap_cents=400_000, low_income_bonus_bp=2_500,
        eligible_member_types=["household", "clt_household"], opens_on=_add_months(this_month, -24),
        closes_on=_add_months(this_month, 12) - dt.timedelta(days=1), actor=actor)
    create_programme(
        session, code="KWH-SAVE", name="Saved kilowatt-hours for organisations", budget_cents=5_000_000,
        rule="per_kwh", rate_micros_per_kwh=200_000, cap_cents=1_000_000, low_income_bonus_bp=0,
        eligible_member_types=["worker_coop", "anchor_institution", "business", "nonprofit", "public_body"],
        opens_on=_add_months(this_month, -24), closes_on=_add_months(this_month, 6) - dt.timedelta(days=1),
        actor=actor)
    first_day = _add_months(this_month, -27)
    typical, _ = weather_files.typical_year(weather_files.typical_year_file())  # the premises' typical year
    temps = tmy_daily_temperatures(first_day, today, typical)
    dd = degree_days(temps)
    readings: list[tuple[str, str, str, str]] = []  # (meter_code, start, end, kWh) as the CSV format has them
    counts = {"premises": 0, "measures": 0, "awards": 0, "readings": 0}
    zone = ZoneInfo(DEMO_TIMEZONE)
    for i, plan in enumerate(PLANS):
        member = session.scalar(select(Member).where(Member.member_number == plan.number))
        if member is None or member.meter is None:
            raise RefusedError(f"the demo efficiency programme needs member {plan.number} with a consumption meter")
        premises = create_premises(
            session, member_number=plan.number, address=f"{100 + 17 * i} {STREETS[i]}, Greensboro, NC",
            floor_area_m2=plan.area, year_built=plan.built, heating_fuel=plan.fuel, timezone=DEMO_TIMEZONE,
            actor=actor)
        counts["premises"] += 1
        if plan.installed_months_ago is not None:
            installed_on = _add_months(this_month, -plan.installed_months_ago) + dt.timedelta(days=9)
        else:
            installed_on = None
        audit_date = (installed_on - dt.timedelta(days=45)) if installed_on else today - dt.timedelta(days=60 + 9 * i)
        audit = record_audit(
            session, premises_id=premises.id, audit_date=audit_date, auditor_name=rng.choice(
                ["Rae Okafor", "Lin Tanaka", "Sam Garcia"]), auditor_credential=rng.choice(
                ["BPI Building Analyst", "ASHRAE BEAP", "RESNET HERS Rater"]),
            ashrae_level=2 if plan.area < 1000 else 3,
            findings=f"Walk-through and utility analysis of {plan.area} m² built {plan.built}; "
                     + "; ".join(d for _, d, _, _, _ in plan.measures) + " recommended.",
            actor=actor)
        measures = []
        for category, description, cost, kwh, life in plan.measures:
            m = propose_measure(session, audit_id=audit.id, category=category, description=description,
                                cost_cents=cost, estimated_kwh_per_year=kwh, useful_life_years=life, actor=actor)
            counts["measures"] += 1
            measures.append(m)
            if plan.status == "discarded":
                set_measure_status(session, m.id, "discarded", actor=actor,
                                   reason="the building is to be sold; the board withdrew the project")
                continue
            steps = {"proposed": [], "approved": ["approved"], "installed": ["approved", "installed"],
                     "verified": ["approved", "installed", "verified"]}[plan.status]
            for step in steps:
                on = installed_on if step == "installed" else (
                    installed_on + dt.timedelta(days=21) if step == "verified" else None)
                set_measure_status(session, m.id, step, on=on, actor=actor)
        if plan.programme:
            for m in measures:
                award_day = max(audit_date + dt.timedelta(days=14), _add_months(this_month, -24))
                award = award_incentive(session, programme_code=plan.programme, measure_id=m.id,
                                        awarded_on=award_day, actor=actor)
                counts["awards"] += 1
                paid = int(award.amount_cents * plan.paid_fraction)
                if paid > 0 and installed_on is not None:
                    record_payment(session, award_id=award.id, amount_cents=paid,
                                   paid_on=installed_on + dt.timedelta(days=30), reference=f"DEMO-PAY-{award.id}",
                                   actor=actor)
        # Daily readings: from `history_months` before the installation month (or before today) until yesterday.
        anchor = (installed_on or today).replace(day=1)
        start_day = max(first_day, _add_months(anchor, -plan.history_months))
        base = plan.area * rng.uniform(0.05, 0.09)  # [kWh/day]
        heat = plan.area * (rng.uniform(0.02, 0.035) if plan.fuel in ("electric_resistance", "heat_pump")
                            else rng.uniform(0.004, 0.008))  # [kWh/(K·day)]
        cool = plan.area * rng.uniform(0.01, 0.02)  # [kWh/(K·day)]
        typical_year = base * 365 + heat * float(dd["hdd"].iloc[:365].sum()) + cool * float(dd["cdd"].iloc[:365].sum())
        realised = sum(m.estimated_kwh_per_year for m in measures if m.status in ("installed", "verified"))
        realised *= rng.uniform(0.6, 1.15)
        cut = min(0.6, realised / typical_year) if typical_year > 0 else 0.0
        day = start_day
        while day < today:
            hdd, cdd = float(dd.at[day, "hdd"]), float(dd.at[day, "cdd"])
            kwh = base + heat * hdd + cool * cdd
            if installed_on is not None and day >= installed_on and realised:
                kwh *= 1 - cut
            kwh = max(0.2, kwh * rng.gauss(1.0, 0.10))
            start = dt.datetime.combine(day, dt.time(0), zone).isoformat()
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone).isoformat()
            readings.append((member.meter.code, start, end, str(mwh_to_kwh_decimal(int(round(kwh * 1_000_000))))))
            day += dt.timedelta(days=1)
    counts["readings"] = _import_readings(session, folder / "consumption-daily.csv", readings, actor=actor,
                                          now=dt.datetime.combine(today, dt.time(0), dt.timezone.utc))
    return counts


def _import_readings(session: Session, path: Path, readings: list[tuple[str, str, str, str]], *, actor: str,
                     now: dt.datetime) -> int:
    """Write ``readings`` as a meter-reading CSV (SPEC section 4) and import it as of the instant ``now`` (the
    demo's clock: readings end before it); return how many were accepted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["meter_code", "start", "end", "kwh", "quality"])
        writer.writerows((*r, "actual") for r in readings)
    report = import_file(session, path, actor=actor, now=now)
    if report.status not in ("imported", "duplicate"):
        raise RefusedError(f"the demo's consumption readings were refused ({report.status})", report.errors)
    return report.accepted
