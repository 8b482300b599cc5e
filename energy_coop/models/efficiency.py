"""The efficiency programme (SPEC section 8): premises, energy audits, retrofit measures, incentive programmes,
their awards and payments.

Units: money in integer **cents**; estimated savings in integer **kWh per year**; per-kWh incentive rates in
integer **micro-units of the currency per kWh** (like credit rates); percentages in integer **basis points**
(1 bp = 0.01 %). Floor areas are integer **m²**.

The budget of a programme is enforced where the data lives: ``awarded_cents`` (the running sum of its awards)
can never exceed ``budget_cents`` (a CHECK), an award's ``paid_cents`` never exceeds its amount (a CHECK), and
the service that changes those sums locks the programme row first (``SELECT ... FOR UPDATE``; SQLite serialises
writers at ``BEGIN IMMEDIATE``), then re-sums the awards before it returns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from energy_coop.models.base import Base, BigInt, UTCDateTime, one_of, utcnow
from energy_coop.models.members import Member
from energy_coop.vocabulary import HEATING_FUELS, INCENTIVE_RULES, MEASURE_CATEGORIES, MEASURE_STATUSES



class Premises(Base):
    """A member's building: where audits happen and measures are installed.

    ``meter_id`` links the consumption meter whose readings measure the savings (whole building, IPMVP
    option C); ``timezone`` decides which local day a reading belongs to.
    """

    __tablename__ = "premises"
    __table_args__ = (
        CheckConstraint("floor_area_m2 > 0", name="floor_area_positive"),
        CheckConstraint(one_of("heating_fuel", HEATING_FUELS), name="heating_fuel"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    address: Mapped[str] = mapped_column(String(300))
    floor_area_m2: Mapped[int] = mapped_column(Integer)  # [m²]
    year_built: Mapped[Optional[int]] = mapped_column(Integer)
    heating_fuel: Mapped[str] = mapped_column(String(32))
    meter_id: Mapped[Optional[int]] = mapped_column(ForeignKey("meters.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship()
    meter: Mapped[Optional["Meter"]] = relationship()  # noqa: F821


class EnergyAudit(Base):
    """An energy audit of a premises by a named auditor, at ASHRAE level 1 (walk-through), 2 (survey and
    analysis) or 3 (detailed analysis of capital-intensive measures)."""

    __tablename__ = "energy_audits"
    __table_args__ = (CheckConstraint("ashrae_level BETWEEN 1 AND 3", name="ashrae_level"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    audit_date: Mapped[dt.date] = mapped_column(Date)
    auditor_name: Mapped[str] = mapped_column(String(200))
    auditor_credential: Mapped[Optional[str]] = mapped_column(String(200))
    ashrae_level: Mapped[int] = mapped_column(Integer)
    findings: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    premises: Mapped[Premises] = relationship()


class Measure(Base):
    """A retrofit measure an audit recommends: proposed → approved → installed → verified, or discarded.

    ``installed_on`` is required once installed (and never before the audit); ``discard_reason`` is required
    when discarded. Amounts: ``cost_cents`` [cents], ``estimated_kwh_per_year`` [kWh/year],
    ``useful_life_years`` [years].
    """

    __tablename__ = "measures"
    __table_args__ = (
        CheckConstraint(one_of("category", MEASURE_CATEGORIES), name="category"),
        CheckConstraint(one_of("status", MEASURE_STATUSES), name="status"),
        CheckConstraint("cost_cents >= 0", name="cost_not_negative"),
        CheckConstraint("estimated_kwh_per_year >= 0", name="estimate_not_negative"),
        CheckConstraint("useful_life_years > 0", name="useful_life_positive"),
        CheckConstraint("status <> 'discarded' OR discard_reason IS NOT NULL", name="discard_has_reason"),
        CheckConstraint("status NOT IN ('installed','verified') OR installed_on IS NOT NULL",
                        name="installed_has_date"),
        CheckConstraint("status <> 'verified' OR verified_on IS NOT NULL", name="verified_has_date"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("energy_audits.id"), index=True)
    premises_id: Mapped[int] = mapped_column(ForeignKey("premises.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    cost_cents: Mapped[int] = mapped_column(BigInteger)  # [cents]
    estimated_kwh_per_year: Mapped[int] = mapped_column(BigInteger)  # [kWh/year]
    useful_life_years: Mapped[int] = mapped_column(Integer)  # [years]
    installed_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    verified_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    discard_reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    audit: Mapped[EnergyAudit] = relationship()
    premises: Mapped[Premises] = relationship()


class IncentiveProgramme(Base):
    """An incentive programme with a budget [cents] and one rule.

    * ``per_kwh``: ``rate_micros_per_kwh`` [1e-6 currency/kWh] × the measure's estimated annual savings [kWh];
    * ``percent_of_cost``: ``percent_bp`` [basis points] of the measure's cost;

    either capped per measure at ``cap_cents`` (optional), plus ``low_income_bonus_bp`` of the capped amount
    for low-income members. Members of the ``eligible_member_types`` only; awards dated ``opens_on`` ..
    ``closes_on`` inclusive. ``awarded_cents``/``paid_cents`` are running sums kept by the service under a
    row lock; the CHECKs make overspending impossible even for raw SQL.
    """

    __tablename__ = "incentive_programmes"
    __table_args__ = (
        CheckConstraint(one_of("rule", INCENTIVE_RULES), name="rule"),
        CheckConstraint("budget_cents > 0", name="budget_positive"),
        CheckConstraint("awarded_cents >= 0 AND awarded_cents <= budget_cents", name="awarded_within_budget"),
        CheckConstraint("paid_cents >= 0 AND paid_cents <= awarded_cents", name="paid_within_awarded"),
        CheckConstraint("rule <> 'per_kwh' OR (rate_micros_per_kwh IS NOT NULL AND rate_micros_per_kwh > 0)",
                        name="per_kwh_has_rate"),
        CheckConstraint("rule <> 'percent_of_cost' OR (percent_bp IS NOT NULL AND percent_bp > 0)",
                        name="percent_has_bp"),
        CheckConstraint("cap_cents IS NULL OR cap_cents > 0", name="cap_positive"),
        CheckConstraint("low_income_bonus_bp >= 0", name="bonus_not_negative"),
        CheckConstraint("closes_on >= opens_on", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    budget_cents: Mapped[int] = mapped_column(BigInteger)  # [cents]
    rule: Mapped[str] = mapped_column(String(20))
    rate_micros_per_kwh: Mapped[Optional[int]] = mapped_column(BigInteger)  # [1e-6 currency / kWh]
    percent_bp: Mapped[Optional[int]] = mapped_column(Integer)  # [bp]
    cap_cents: Mapped[Optional[int]] = mapped_column(BigInteger)  # [cents per measure]
    low_income_bonus_bp: Mapped[int] = mapped_column(Integer, default=0)  # [bp]
    eligible_member_types: Mapped[list[str]] = mapped_column(JSON)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    awarded_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # [cents]
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # [cents]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncentiveAward(Base):
    """An incentive granted for one measure from one programme; ``detail`` keeps how it was computed."""

    __tablename__ = "incentive_awards"
    __table_args__ = (
        UniqueConstraint("programme_id", "measure_id"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("paid_cents >= 0 AND paid_cents <= amount_cents", name="paid_within_amount"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("incentive_programmes.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # [cents]
    bonus_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # [cents], included in amount_cents
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # [cents]
    awarded_on: Mapped[dt.date] = mapped_column(Date)
    awarded_by: Mapped[str] = mapped_column(String(320))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    programme: Mapped[IncentiveProgramme] = relationship()
    measure: Mapped[Measure] = relationship()
    member: Mapped[Member] = relationship()


class IncentivePayment(Base):
    """Money paid out against an award (never more, in total, than the award)."""

    __tablename__ = "incentive_payments"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("incentive_awards.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # [cents]
    paid_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[Optional[str]] = mapped_column(String(200))
    paid_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    award: Mapped[IncentiveAward] = relationship()
