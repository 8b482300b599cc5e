"""Efficiency services on SQLite and PostgreSQL: premises, audits, measure status, programmes, awards,
payments, the audit log, queries, CSV exports and measured savings from stored readings."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from energy_coop.errors import ConflictError, NotFoundError, RefusedError
from energy_coop.models import AuditEntry, Member
from energy_coop.services.efficiency.exports import EXPORTS, export_csv, neutralise_cell
from energy_coop.services.efficiency.incentives import (
    award_incentive,
    budget_summary,
    create_programme,
    get_programme,
    record_payment,
    update_programme,
)
from energy_coop.services.efficiency.measures import (
    get_measure,
    list_measures,
    measures_by_status,
    propose_measure,
    set_measure_status,
    update_measure,
)
from energy_coop.services.efficiency.premises import (
    create_premises,
    get_premises,
    list_audits,
    list_premises,
    record_audit,
    update_premises,
)
from energy_coop.services.efficiency.savings import premises_savings, programme_savings, temperatures_for
from tests.efficiency import synthetic
from tests.efficiency.conftest import ADMIN, make_measure, make_programme
from tests.helpers import add_readings


def _reasons(exc_info) -> str:
    return str(exc_info.value)


# ------------------------------------------------------------------------------------------ premises, audits


def test_premises_take_the_members_meter_by_default(coop):
    with coop.begin() as s:
        p = create_premises(s, member_number="2001", address="1 Elm St", floor_area_m2=95,
                            heating_fuel="heat_pump", timezone="America/New_York", actor=ADMIN)
        assert p.meter.code == "CM-2001"
        q = create_premises(s, member_number="2003", address="Shop", floor_area_m2=300,
                            heating_fuel="natural_gas", timezone="UTC", actor=ADMIN)
        assert q.meter is None
    with coop.begin() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.entity == "premises")).all()
        assert [e.after["meter_code"] for e in entries] == ["CM-2001", None]


def test_premises_bad_input_names_every_problem(coop):
    with coop.begin() as s, pytest.raises(RefusedError) as info:
        create_premises(s, member_number="2001", address=" ", floor_area_m2=-3, heating_fuel="coal",
                        timezone="Mars/Olympus", year_built=1200, meter_code="CM-2002", actor=ADMIN)
    text = _reasons(info)
    for expected in ("address: is required", "floor_area_m2: must be at least 1 m², not -3",
                     "heating_fuel: 'coal' is not one of", "timezone: 'Mars/Olympus' is not a time zone",
                     "year_built: must be at least 1600", "meter_code: meter 'CM-2002' belongs to member 2002"):
        assert expected in text
    with coop.begin() as s, pytest.raises(NotFoundError, match="no member with number '9999'"):
        create_premises(s, member_number="9999", address="x", floor_area_m2=1, heating_fuel="oil",
                        timezone="UTC", actor=ADMIN)


def test_a_time_zone_name_too_long_for_the_file_system_is_refused_not_a_crash(coop):
    """A 100,000-character name made ZoneInfo fail with OSError (HTTP 500 on the premises edit page)."""
    with coop.begin() as s:
        p = create_premises(s, member_number="2001", address="1 Elm St", floor_area_m2=95,
                            heating_fuel="natural_gas", timezone="UTC", actor=ADMIN)
    for call in (lambda s: create_premises(s, member_number="2001", address="2 Elm St", floor_area_m2=95,
                                           heating_fuel="oil", timezone="x" * 100_000, actor=ADMIN),
                 lambda s: update_premises(s, p.id, timezone="x" * 100_000, actor=ADMIN)):
        with coop.begin() as s, pytest.raises(RefusedError) as info:
            call(s)
        text = _reasons(info)
        assert "timezone: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... is not a time zone name" in text
        assert len(text) < 500  # the name is shown, not copied
    with coop.begin() as s:
        assert s.get(type(p), p.id).timezone == "UTC"
        assert len(s.scalars(select(type(p))).all()) == 1


def test_update_premises_is_audited(coop):
    with coop.begin() as s:
        p = create_premises(s, member_number="2001", address="1 Elm St", floor_area_m2=95,
                            heating_fuel="natural_gas", timezone="UTC", actor=ADMIN)
        update_premises(s, p.id, heating_fuel="heat_pump", floor_area_m2=95, actor=ADMIN)
        with pytest.raises(RefusedError, match="unknown field"):
            update_premises(s, p.id, member_id=3, actor=ADMIN)
    with coop.begin() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
        assert entry.before == {"heating_fuel": "natural_gas"} and entry.after == {"heating_fuel": "heat_pump"}


def test_audit_level_and_fields_checked(coop):
    with coop.begin() as s:
        p = create_premises(s, member_number="2001", address="1 Elm St", floor_area_m2=95,
                            heating_fuel="oil", timezone="UTC", actor=ADMIN)
        with pytest.raises(RefusedError) as info:
            record_audit(s, premises_id=p.id, audit_date="2024-01-01", auditor_name="", ashrae_level=4,
                         actor=ADMIN)
        text = _reasons(info)
        assert "audit_date: must be a date" in text and "auditor_name: is required" in text
        assert "ashrae_level: must be at most 3" in text


# ---------------------------------------------------------------------------------------- measure status


def test_measure_walks_proposed_to_verified(coop):
    with coop.begin() as s:
        m = make_measure(s, status="verified", installed_on=dt.date(2024, 4, 2))
        assert (m.status, m.installed_on, m.verified_on) == ("verified", dt.date(2024, 4, 2), dt.date(2024, 4, 12))
    with coop.begin() as s:
        actions = [e.after.get("status") for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "measure"))]
        assert actions == ["proposed", "approved", "installed", "verified"]


@pytest.mark.parametrize("status", ["proposed", "approved"])
def test_a_measure_never_installed_cannot_be_verified(coop, status):
    with coop.begin() as s:
        m = make_measure(s, status=status)
        with pytest.raises(RefusedError, match=f"cannot be verified: it was never installed \\(it is {status}"):
            set_measure_status(s, m.id, "verified", on=dt.date(2024, 6, 1), actor=ADMIN)


def test_install_date_before_the_audit_refused(coop):
    with coop.begin() as s:
        m = make_measure(s, status="approved", audit_date=dt.date(2024, 3, 1))
        with pytest.raises(RefusedError, match="installation date 2024-02-28 is before the audit of 2024-03-01"):
            set_measure_status(s, m.id, "installed", on=dt.date(2024, 2, 28), actor=ADMIN)
        with pytest.raises(RefusedError, match="on: is required"):
            set_measure_status(s, m.id, "installed", actor=ADMIN)
        set_measure_status(s, m.id, "installed", on=dt.date(2024, 3, 1), actor=ADMIN)
        with pytest.raises(RefusedError, match="verification date 2024-02-01 is before the installation"):
            set_measure_status(s, m.id, "verified", on=dt.date(2024, 2, 1), actor=ADMIN)


def test_discard_needs_a_reason_and_is_final(coop):
    with coop.begin() as s:
        m = make_measure(s)
        with pytest.raises(RefusedError, match="reason: is required"):
            set_measure_status(s, m.id, "discarded", reason="  ", actor=ADMIN)
        set_measure_status(s, m.id, "discarded", reason="roof too shaded", actor=ADMIN)
        assert m.discard_reason == "roof too shaded"
        with pytest.raises(RefusedError, match="is discarded: it can become nothing"):
            set_measure_status(s, m.id, "approved", actor=ADMIN)
        with pytest.raises(RefusedError, match="its figures are final"):
            update_measure(s, m.id, cost_cents=1, actor=ADMIN)


def test_skipping_approval_refused(coop):
    with coop.begin() as s:
        m = make_measure(s)
        with pytest.raises(RefusedError, match="is proposed: it can become approved, discarded, not installed"):
            set_measure_status(s, m.id, "installed", on=dt.date(2024, 5, 1), actor=ADMIN)


def test_negative_cost_or_savings_refused(coop):
    with coop.begin() as s:
        m = make_measure(s)
        with pytest.raises(RefusedError) as info:
            propose_measure(s, audit_id=m.audit_id, category="windows", description="", cost_cents=-100,
                            estimated_kwh_per_year=-5, useful_life_years=0, actor=ADMIN)
        text = _reasons(info)
        for expected in ("category: 'windows' is not one of", "description: is required",
                         "cost_cents: must not be negative (-100)", "estimated_kwh_per_year: must not be negative (-5)",
                         "useful_life_years: must be at least 1 years, not 0"):
            assert expected in text
        with pytest.raises(RefusedError, match="cost_cents: must be a whole number of cents, not 12.5"):
            update_measure(s, m.id, cost_cents=12.5, actor=ADMIN)


# -------------------------------------------------------------------------------------- programmes, awards


def test_programme_rules_checked(coop):
    with coop.begin() as s, pytest.raises(RefusedError) as info:
        create_programme(s, code="X", name="X", budget_cents=0, rule="per_kwh", percent_bp=10,
                         eligible_member_types=["household", "alien"], opens_on=dt.date(2024, 5, 1),
                         closes_on=dt.date(2024, 4, 1), low_income_bonus_bp=-1, actor=ADMIN)
    text = _reasons(info)
    for expected in ("budget_cents: must be at least 1", "rate_micros_per_kwh: is required",
                     "percent_bp: a per-kWh programme has no percentage", "'alien' is not one of",
                     "closes_on: the programme closes (2024-04-01) before it opens (2024-05-01)",
                     "low_income_bonus_bp: must not be negative"):
        assert expected in text
    with coop.begin() as s:
        make_programme(s)
        with pytest.raises(ConflictError, match="already exists"):
            make_programme(s)


def test_award_caps_and_low_income_bonus(coop):
    with coop.begin() as s:
        make_programme(s)  # 30 % of cost, cap 3000.00, low-income bonus 20 %
        ada = make_measure(s, "2001", cost_cents=800_000, status="approved")  # 2400.00
        bo = make_measure(s, "2002", cost_cents=2_000_000, status="installed")  # 6000.00 -> cap 3000 + 600 bonus
        a1 = award_incentive(s, programme_code="HEAT-24", measure_id=ada.id, awarded_on=dt.date(2024, 5, 1),
                             actor=ADMIN)
        a2 = award_incentive(s, programme_code="HEAT-24", measure_id=bo.id, awarded_on=dt.date(2024, 5, 1),
                             actor=ADMIN)
        assert (a1.amount_cents, a1.bonus_cents) == (240_000, 0)
        assert (a2.amount_cents, a2.bonus_cents) == (360_000, 60_000)
        assert a2.detail["base_cents"] == 600_000 and a2.detail["capped_cents"] == 300_000
        summary = {p["code"]: p for p in budget_summary(s, on=dt.date(2024, 5, 1))}["HEAT-24"]
        assert (summary["awarded_cents"], summary["left_cents"], summary["awards"], summary["open"]) == (
            600_000, 400_000, 2, True)
        with pytest.raises(ConflictError, match="already has award"):
            award_incentive(s, programme_code="HEAT-24", measure_id=ada.id, awarded_on=dt.date(2024, 5, 2),
                            actor=ADMIN)


def test_per_kwh_programme(coop):
    with coop.begin() as s:
        make_programme(s, code="KWH", rule="per_kwh", percent_bp=None, rate_micros_per_kwh=250_000,
                       cap_cents=None, low_income_bonus_bp=0)
        m = make_measure(s, kwh=3_210, status="approved")
        award = award_incentive(s, programme_code="KWH", measure_id=m.id, awarded_on=dt.date(2024, 6, 1),
                                actor=ADMIN)
        assert award.amount_cents == 80_250  # 0.25 × 3210 kWh = 802.50


def test_award_refusals_ineligible_closed_not_yet_open_proposed(coop):
    with coop.begin() as s:
        make_programme(s)
        shop = make_measure(s, "2003", status="approved")  # a business: not eligible
        ada = make_measure(s, "2001", status="proposed")
        with pytest.raises(RefusedError) as info:
            award_incentive(s, programme_code="HEAT-24", measure_id=shop.id, awarded_on=dt.date(2025, 1, 1),
                            actor=ADMIN)
        text = _reasons(info)
        assert "member 2003 is a business; programme HEAT-24 is for: household, clt_household" in text
        assert "programme HEAT-24 closed on 2024-12-31; 2025-01-01 is after" in text
        with pytest.raises(RefusedError, match="opens on 2024-01-01; 2023-12-31 is before"):
            award_incentive(s, programme_code="HEAT-24", measure_id=ada.id, awarded_on=dt.date(2023, 12, 31),
                            actor=ADMIN)
        with pytest.raises(RefusedError, match="measure .* is proposed; only an approved"):
            award_incentive(s, programme_code="HEAT-24", measure_id=ada.id, awarded_on=dt.date(2024, 6, 1),
                            actor=ADMIN)
        with pytest.raises(NotFoundError):
            award_incentive(s, programme_code="NOPE", measure_id=ada.id, awarded_on=dt.date(2024, 6, 1),
                            actor=ADMIN)


def test_award_beyond_the_budget_is_a_conflict(coop):
    with coop.begin() as s:
        make_programme(s, budget_cents=500_000)
        ada = make_measure(s, "2001", cost_cents=800_000, status="approved")  # 2400.00
        bo = make_measure(s, "2002", cost_cents=1_000_000, status="approved")  # 3000.00 + 600.00
        award_incentive(s, programme_code="HEAT-24", measure_id=ada.id, awarded_on=dt.date(2024, 5, 1),
                        actor=ADMIN)
        with pytest.raises(ConflictError, match="has 2600.00 left of its budget of 5000.00; this award needs 3600.00"):
            award_incentive(s, programme_code="HEAT-24", measure_id=bo.id, awarded_on=dt.date(2024, 5, 1),
                            actor=ADMIN)
        # The budget can grow but never drop below what is awarded.
        with pytest.raises(ConflictError, match="already awarded 2400.00"):
            update_programme(s, "HEAT-24", budget_cents=100_000, actor=ADMIN)
        update_programme(s, "HEAT-24", budget_cents=600_000, actor=ADMIN)
        assert award_incentive(s, programme_code="HEAT-24", measure_id=bo.id, awarded_on=dt.date(2024, 5, 1),
                               actor=ADMIN).amount_cents == 360_000
        with pytest.raises(RefusedError, match="awards were already computed with it"):
            update_programme(s, "HEAT-24", percent_bp=5_000, actor=ADMIN)


def test_the_database_refuses_an_overspend_even_past_the_service(coop):
    from sqlalchemy.exc import IntegrityError

    with coop.begin() as s:
        make_programme(s, budget_cents=1_000)
    with pytest.raises(IntegrityError):
        with coop.begin() as s:
            p = get_programme(s, "HEAT-24")
            p.awarded_cents = 1_001
            s.flush()


def test_payments_never_beyond_the_award(coop):
    with coop.begin() as s:
        make_programme(s)
        approved = make_measure(s, "2001", status="approved")
        award = award_incentive(s, programme_code="HEAT-24", measure_id=approved.id,
                                awarded_on=dt.date(2024, 4, 1), actor=ADMIN)
        with pytest.raises(RefusedError, match="pay once it is installed"):
            record_payment(s, award_id=award.id, amount_cents=1, paid_on=dt.date(2024, 5, 1), actor=ADMIN)
        set_measure_status(s, approved.id, "installed", on=dt.date(2024, 4, 15), actor=ADMIN)
        with pytest.raises(RefusedError) as info:
            record_payment(s, award_id=award.id, amount_cents=0, paid_on=dt.date(2024, 3, 1), actor=ADMIN)
        assert "amount_cents: must be at least 1" in _reasons(info) and "before the award was made" in _reasons(info)
        record_payment(s, award_id=award.id, amount_cents=200_000, paid_on=dt.date(2024, 5, 1),
                       reference="=HYPERLINK(\"x\")", actor=ADMIN)
        with pytest.raises(ConflictError, match="at most 400.00 can be paid, not 400.01"):
            record_payment(s, award_id=award.id, amount_cents=40_001, paid_on=dt.date(2024, 5, 2), actor=ADMIN)
        record_payment(s, award_id=award.id, amount_cents=40_000, paid_on=dt.date(2024, 5, 2), actor=ADMIN)
        assert award.paid_cents == 240_000 and get_programme(s, "HEAT-24").paid_cents == 240_000
        with pytest.raises(ConflictError, match="award .* has an incentive award|cannot be discarded"):
            m2 = make_measure(s, "2002", status="approved")
            award_incentive(s, programme_code="HEAT-24", measure_id=m2.id, awarded_on=dt.date(2024, 4, 1),
                            actor=ADMIN)
            set_measure_status(s, m2.id, "discarded", reason="changed mind", actor=ADMIN)


def test_every_change_is_in_the_audit_log(coop):
    with coop.begin() as s:
        make_programme(s)
        m = make_measure(s, status="installed")
        award = award_incentive(s, programme_code="HEAT-24", measure_id=m.id, awarded_on=dt.date(2024, 5, 1),
                                actor=ADMIN)
        record_payment(s, award_id=award.id, amount_cents=100, paid_on=dt.date(2024, 5, 1), actor=ADMIN)
    with coop.begin() as s:
        seen = {(e.entity, e.action) for e in s.scalars(select(AuditEntry))}
    assert {("premises", "create"), ("energy_audit", "create"), ("measure", "create"), ("measure", "status"),
            ("incentive_programme", "create"), ("incentive_award", "award"), ("incentive_payment", "pay")} <= seen


# ------------------------------------------------------------------------------------- members see their own


def test_member_scoped_lookups(coop):
    with coop.begin() as s:
        ada = make_measure(s, "2001", status="approved")
        bo = make_measure(s, "2002", status="approved")
        ada_id = s.scalar(select(Member.id).where(Member.member_number == "2001"))
        assert [m.id for m in list_measures(s, member_id=ada_id)] == [ada.id]
        assert [p.member.member_number for p in list_premises(s, member_id=ada_id)] == ["2001"]
        assert len(list_audits(s, member_id=ada_id)) == 1
        with pytest.raises(NotFoundError):
            get_measure(s, bo.id, member_id=ada_id)
        with pytest.raises(NotFoundError):
            get_premises(s, bo.premises_id, member_id=ada_id)
        counts = measures_by_status(s)
        assert counts["approved"]["count"] == 2 and counts["verified"]["count"] == 0


# --------------------------------------------------------------------------------------------------- exports


def test_csv_exports_neutralise_formulas(coop):
    with coop.begin() as s:
        make_programme(s, name="=cmd|' /C calc'!A0")
        p = create_premises(s, member_number="2001", address="@SUM(A1)", floor_area_m2=80,
                            heating_fuel="oil", timezone="UTC", actor=ADMIN)
        a = record_audit(s, premises_id=p.id, audit_date=dt.date(2024, 1, 1), auditor_name="+Rae",
                         ashrae_level=1, findings="-2+3", actor=ADMIN)
        propose_measure(s, audit_id=a.id, category="other", description="-12.5", cost_cents=100,
                        estimated_kwh_per_year=1, useful_life_years=1, actor=ADMIN)
        rows = {k: list(csv.DictReader(io.StringIO(export_csv(s, k)))) for k in EXPORTS}
    assert rows["programmes"][0]["name"] == "'=cmd|' /C calc'!A0"
    assert rows["premises"][0]["address"] == "'@SUM(A1)"
    assert rows["audits"][0]["auditor_name"] == "'+Rae" and rows["audits"][0]["findings"] == "'-2+3"
    assert rows["measures"][0]["description"] == "-12.5"  # a number stays a number
    assert rows["awards"] == [] and rows["payments"] == []
    assert neutralise_cell(-5) == -5 and neutralise_cell("\tx") == "'\tx"


# ------------------------------------------------------------------------------------------ measured savings

TZ = "America/New_York"


def _store_synthetic(s, meter_code, installed, *, first=dt.date(2023, 1, 1), last=dt.date(2025, 6, 30)):
    temps = synthetic.temperatures(first, last)
    readings, true = synthetic.daily_readings(temps, installed, tz=TZ)
    add_readings(s, meter_code, readings.itertuples(index=False, name=None), name=f"{meter_code}-{first}")
    return temps, true


def test_measured_savings_from_stored_readings(coop):
    with coop.begin() as s:
        m = make_measure(s, "2001", kwh=2_500, status="installed", audit_date=dt.date(2024, 4, 1),
                         installed_on=dt.date(2024, 5, 10))
        temps, true = _store_synthetic(s, "CM-2001", dt.date(2024, 5, 10))
        make_programme(s)
        award_incentive(s, programme_code="HEAT-24", measure_id=m.id, awarded_on=dt.date(2024, 5, 20),
                        actor=ADMIN)
    with coop.begin() as s:
        result = premises_savings(s, m.premises_id, until=dt.date(2025, 6, 1), temperatures=temps)
        assert result["status"] == "measured", result["message"]
        assert result["model"]["passes_guideline_14"] and "within ASHRAE Guideline 14" in result["message"]
        truth = synthetic.SAVING * true[[dt.date(2024, 6, 1) <= d < dt.date(2025, 6, 1) for d in true.index]].sum()
        assert result["avoided_kwh"] == pytest.approx(truth, rel=0.05)
        assert [r["month"] for r in result["months"]][:2] == ["2024-06", "2024-07"]
        assert result["estimated_kwh_per_year"] == 2_500
        summary = programme_savings(s, "HEAT-24", until=dt.date(2025, 6, 1), temperatures=temps)
        assert summary["estimated_kwh_per_year"] == 2_500
        assert summary["measured_kwh_per_year"] == pytest.approx(truth, rel=0.05)


def test_measured_savings_data_too_short_says_how_much_more(coop):
    with coop.begin() as s:
        m = make_measure(s, "2001", status="installed", audit_date=dt.date(2024, 4, 1),
                         installed_on=dt.date(2024, 5, 1))
        temps, _ = _store_synthetic(s, "CM-2001", dt.date(2024, 5, 1), first=dt.date(2023, 12, 1))
    with coop.begin() as s:
        result = premises_savings(s, m.premises_id, until=dt.date(2025, 1, 1), temperatures=temps)
    assert result["status"] == "insufficient_data"
    assert result["message"] == ("meter CM-2001: the baseline needs 9 months of readings before 2024-05-01; the meter "
                                 "has 5 complete months (from 2023-12-01): 4 more months are needed")


def test_measured_savings_without_meter_or_installation(coop):
    with coop.begin() as s:
        shop = make_measure(s, "2003", status="installed")
        ada = make_measure(s, "2001", status="approved")
        assert premises_savings(s, shop.premises_id, until=dt.date(2025, 1, 1))["status"] == "no_meter"
        assert premises_savings(s, ada.premises_id, until=dt.date(2025, 1, 1))["status"] == "not_installed"


def test_bad_temperature_file_is_refused_by_the_service(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("date,temp_mean_c\n2024-01-01,hot\n", encoding="utf-8")
    with pytest.raises(RefusedError, match="line 2, column temp_mean_c: 'hot' is not a number"):
        temperatures_for(dt.date(2024, 1, 1), dt.date(2024, 1, 2), str(path))
