"""A small co-op for the efficiency tests: members of several types, two with consumption meters."""

from __future__ import annotations

import datetime as dt

import pytest

from energy_coop.services.efficiency.incentives import create_programme
from energy_coop.services.efficiency.measures import get_measure, propose_measure, set_measure_status
from energy_coop.services.efficiency.premises import create_premises, record_audit
from tests.helpers import load_registers

MEMBERS = """member_number,name,member_type,low_income,meter_code
2001,Ada Lovelace,household,false,CM-2001
2002,Bo Riverside,clt_household,true,CM-2002
2003,Corner Hardware,business,false,
2004,Worker Bees Co-op,worker_coop,false,
"""

ADMIN = "admin@example.org"


@pytest.fixture
def coop(sessions, tmp_path):
    """Members 2001-2004; returns the sessionmaker."""
    with sessions.begin() as s:
        load_registers(s, tmp_path / "registers", members=MEMBERS)
    return sessions


def make_measure(s, member_number="2001", *, audit_date=dt.date(2024, 3, 1), cost_cents=800_000,
                 kwh=3_000, category="heat_pump", status="proposed", installed_on=None):
    """Premises + audit + measure for a member, moved on to ``status``; returns the measure."""
    p = create_premises(s, member_number=member_number, address=f"{member_number} Elm St, Greensboro",
                        floor_area_m2=120, heating_fuel="natural_gas", timezone="America/New_York",
                        year_built=1962, actor=ADMIN)
    a = record_audit(s, premises_id=p.id, audit_date=audit_date, auditor_name="Rae Auditor",
                     auditor_credential="BPI BA", ashrae_level=2, findings="leaky attic", actor=ADMIN)
    m = propose_measure(s, audit_id=a.id, category=category, description="Cold-climate heat pump",
                        cost_cents=cost_cents, estimated_kwh_per_year=kwh, useful_life_years=15, actor=ADMIN)
    path = ["approved", "installed", "verified"]
    for step in path[: path.index(status) + 1] if status in path else []:
        on = None
        if step == "installed":
            on = installed_on or audit_date + dt.timedelta(days=30)
        elif step == "verified":
            on = (installed_on or audit_date + dt.timedelta(days=30)) + dt.timedelta(days=10)
        set_measure_status(s, m.id, step, on=on, actor=ADMIN)
    return m


def make_programme(s, code="HEAT-24", **kw):
    values = dict(code=code, name="Heat pump rebate 2024", budget_cents=1_000_000, rule="percent_of_cost",
                  percent_bp=3_000, cap_cents=300_000, low_income_bonus_bp=2_000,
                  eligible_member_types=["household", "clt_household"], opens_on=dt.date(2024, 1, 1),
                  closes_on=dt.date(2024, 12, 31))
    values.update(kw)
    return create_programme(s, actor=ADMIN, **values)


def stored_corrections(sessions, measure_id):
    """(premises, measure) figures as stored, and the audit log's update entries, read in a new transaction:
    what a correction (PATCH or edit form) must change, or leave alone when refused."""
    from sqlalchemy import select

    from energy_coop.models import AuditEntry

    with sessions.begin() as s:
        m = get_measure(s, measure_id)
        p = m.premises
        premises = (p.address, p.floor_area_m2, p.year_built, p.heating_fuel, p.timezone,
                    p.meter.code if p.meter else None)
        measure = (m.category, m.description, m.status, m.cost_cents, m.estimated_kwh_per_year,
                   m.useful_life_years)
        updates = [(e.actor, e.entity, e.entity_key, e.before, e.after) for e in
                   s.scalars(select(AuditEntry).where(AuditEntry.action == "update").order_by(AuditEntry.id))]
        return premises, measure, updates
