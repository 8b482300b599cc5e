"""Incentive programmes, their awards and payments (SPEC section 8).

* an award is computed from the programme's rule (:mod:`energy_coop.calc.efficiency.incentives`), only for an
  approved, installed or verified measure, of a member whose type the programme admits, dated within the
  programme's open..close dates, once per measure and programme, and never beyond the budget left: the
  programme row is locked first (``SELECT ... FOR UPDATE``; SQLite takes its write lock at ``BEGIN
  IMMEDIATE``), so two awards at once queue and the second sees the first; the awards are re-summed before
  returning and a CHECK on the programme row refuses any overspend that got past both. Beyond the budget is a
  :class:`ConflictError`.
* payments are recorded against an award of an installed (or verified) measure, never more in total than the
  award.

Amounts are integer cents. Every change is recorded in the audit log; the caller owns the transaction, nothing
here commits. In the look-ups, ``member_id`` given means a member's own view: another member's award does not
exist (:class:`NotFoundError`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.calc.efficiency.incentives import compute_incentive
from energy_coop.errors import ConflictError, NotFoundError
from energy_coop.models import IncentiveAward, IncentivePayment, IncentiveProgramme, Measure
from energy_coop.services import audit
from energy_coop.services.efficiency.checks import Check
from energy_coop.services.efficiency.measures import AWARDABLE, PAYABLE, get_measure
from energy_coop.services.efficiency.serialisers import programme_dict
from energy_coop.units import format_cents
from energy_coop.vocabulary import INCENTIVE_RULES, MEMBER_TYPES


def _check_programme(check: Check, v: dict[str, Any]) -> None:
    check.text("code", v["code"], max_len=64)
    check.text("name", v["name"], max_len=200)
    check.integer("budget_cents", v["budget_cents"], minimum=1, maximum=10**13, unit="cents")
    check.choice("rule", v["rule"], INCENTIVE_RULES)
    if v["rule"] == "per_kwh":
        check.integer("rate_micros_per_kwh", v["rate_micros_per_kwh"], minimum=1, maximum=10**9)
        if v["percent_bp"] is not None:
            check.add("percent_bp", "a per-kWh programme has no percentage of cost")
    elif v["rule"] == "percent_of_cost":
        check.integer("percent_bp", v["percent_bp"], minimum=1, maximum=10_000, unit="basis points")
        if v["rate_micros_per_kwh"] is not None:
            check.add("rate_micros_per_kwh", "a percent-of-cost programme has no rate per kWh")
    check.integer("cap_cents", v["cap_cents"], minimum=1, maximum=10**13, required=False, unit="cents")
    check.integer("low_income_bonus_bp", v["low_income_bonus_bp"], minimum=0, maximum=10_000, unit="basis points")
    types = v["eligible_member_types"]
    if not isinstance(types, (list, tuple)) or not types:
        check.add("eligible_member_types", "name at least one member type")
    else:
        for t in types:
            if t not in MEMBER_TYPES:
                check.add("eligible_member_types", f"{t!r} is not one of: {', '.join(MEMBER_TYPES)}")
    check.date("opens_on", v["opens_on"])
    check.date("closes_on", v["closes_on"])
    if isinstance(v["opens_on"], dt.date) and isinstance(v["closes_on"], dt.date) and v["closes_on"] < v["opens_on"]:
        check.add("closes_on", f"the programme closes ({v['closes_on']}) before it opens ({v['opens_on']})")


def create_programme(session: Session, *, code: str, name: str, budget_cents: int, rule: str, opens_on: dt.date,
                     closes_on: dt.date, eligible_member_types: list[str], rate_micros_per_kwh: int | None = None,
                     percent_bp: int | None = None, cap_cents: int | None = None, low_income_bonus_bp: int = 0,
                     actor: str) -> IncentiveProgramme:
    """Create an incentive programme: budget [cents], rule ``per_kwh`` (rate [1e-6 currency/kWh]) or
    ``percent_of_cost`` ([bp]), optional cap per measure [cents], low-income bonus [bp], eligible member types,
    open and close dates (inclusive)."""
    values = dict(code=code.strip() if isinstance(code, str) else code, name=name, budget_cents=budget_cents,
                  rule=rule, rate_micros_per_kwh=rate_micros_per_kwh, percent_bp=percent_bp, cap_cents=cap_cents,
                  low_income_bonus_bp=low_income_bonus_bp, eligible_member_types=eligible_member_types,
                  opens_on=opens_on, closes_on=closes_on)
    check = Check()
    _check_programme(check, values)
    check.refuse("cannot create the programme")
    if session.scalar(select(IncentiveProgramme.id).where(IncentiveProgramme.code == values["code"])) is not None:
        raise ConflictError(f"a programme with code {values['code']!r} already exists")
    values["eligible_member_types"] = sorted(set(eligible_member_types), key=MEMBER_TYPES.index)
    values["name"] = name.strip()
    programme = IncentiveProgramme(awarded_cents=0, paid_cents=0, **values)
    session.add(programme)
    session.flush()
    audit.record(session, actor=actor, action="create", entity="incentive_programme", key=programme.code,
                 after=values)
    return programme


def update_programme(session: Session, code: str, *, actor: str, **changes: Any) -> IncentiveProgramme:
    """Change a programme's name, budget [cents], dates, eligibility, cap or bonus. The rule and rates of a
    programme with awards stay as they were (the awards were computed from them); the budget never drops below
    what is already awarded."""
    programme = _locked_programme(session, code)
    allowed = {"name", "budget_cents", "opens_on", "closes_on", "eligible_member_types", "cap_cents",
               "low_income_bonus_bp", "rule", "rate_micros_per_kwh", "percent_bp"}
    check = Check()
    for name in sorted(set(changes) - allowed):
        check.add(name, "cannot be changed (unknown field)")
    merged = {k: getattr(programme, k) for k in allowed | {"code"}}
    merged.update({k: v for k, v in changes.items() if k in allowed})
    _check_programme(check, merged)
    if programme.awarded_cents:
        for name in ("rule", "rate_micros_per_kwh", "percent_bp", "cap_cents", "low_income_bonus_bp"):
            if name in changes and changes[name] != getattr(programme, name):
                check.add(name, "cannot change: awards were already computed with it")
    check.refuse(f"cannot change programme {programme.code}")
    if isinstance(merged["budget_cents"], int) and merged["budget_cents"] < programme.awarded_cents:
        raise ConflictError(f"programme {programme.code} has already awarded {format_cents(programme.awarded_cents)}: "
                            f"the budget cannot be {format_cents(merged['budget_cents'])}")
    before, after = {}, {}
    for name in sorted(allowed):
        if name in changes and getattr(programme, name) != changes[name]:
            before[name], after[name] = getattr(programme, name), changes[name]
            setattr(programme, name, changes[name])
    if after:
        session.flush()
        audit.record(session, actor=actor, action="update", entity="incentive_programme", key=programme.code,
                     before=before, after=after)
    return programme


def _locked_programme(session: Session, code_or_id: str | int) -> IncentiveProgramme:
    """The programme row, locked for the rest of the transaction (``FOR UPDATE``; a no-op on SQLite, whose
    ``BEGIN IMMEDIATE`` already holds the database's write lock)."""
    stmt = select(IncentiveProgramme).with_for_update()
    if isinstance(code_or_id, int):
        stmt = stmt.where(IncentiveProgramme.id == code_or_id)
    else:
        stmt = stmt.where(IncentiveProgramme.code == str(code_or_id))
    programme = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if programme is None:
        raise NotFoundError(f"no incentive programme {code_or_id!r}")
    return programme


def _resum(session: Session, programme: IncentiveProgramme) -> None:
    """Re-add the awards and payments of ``programme`` and compare them with its running sums."""
    session.flush()
    awarded, paid = session.execute(
        select(func.coalesce(func.sum(IncentiveAward.amount_cents), 0),
               func.coalesce(func.sum(IncentiveAward.paid_cents), 0))
        .where(IncentiveAward.programme_id == programme.id)).one()
    payments = session.scalar(
        select(func.coalesce(func.sum(IncentivePayment.amount_cents), 0))
        .join(IncentiveAward, IncentivePayment.award_id == IncentiveAward.id)
        .where(IncentiveAward.programme_id == programme.id))
    if (int(awarded) != programme.awarded_cents or int(paid) != programme.paid_cents
            or int(payments) != programme.paid_cents or programme.awarded_cents > programme.budget_cents):
        raise ConflictError(
            f"programme {programme.code}: its records disagree (awards {awarded}, recorded {programme.awarded_cents}, "
            f"payments {payments}, recorded {programme.paid_cents}, budget {programme.budget_cents}); nothing saved")


# ----------------------------------------------------------------------------------------- awards, payments


def preview_incentive(session: Session, programme_code: str, measure_id: int) -> dict[str, Any]:
    """What ``programme_code`` would award for ``measure_id`` (no checks of dates, eligibility or budget)."""
    programme = get_programme(session, programme_code)
    measure = get_measure(session, measure_id)
    return _compute(programme, measure).as_dict()


def _compute(programme: IncentiveProgramme, measure: Measure):
    return compute_incentive(
        rule=programme.rule, cost_cents=measure.cost_cents, estimated_kwh_per_year=measure.estimated_kwh_per_year,
        low_income=bool(measure.premises.member.low_income), rate_micros_per_kwh=programme.rate_micros_per_kwh,
        percent_bp=programme.percent_bp, cap_cents=programme.cap_cents,
        low_income_bonus_bp=programme.low_income_bonus_bp)


def award_incentive(session: Session, *, programme_code: str, measure_id: int, awarded_on: dt.date,
                    actor: str) -> IncentiveAward:
    """Award ``programme_code``'s incentive for ``measure_id`` on ``awarded_on``, computed from the rule.

    Refused (:class:`RefusedError`) when the programme is not open that day, the member's type is not eligible,
    the measure is not approved/installed/verified or the rule gives nothing; :class:`ConflictError` when the
    measure already has an award from this programme or the budget left cannot cover it.
    """
    check = Check()
    check.date("awarded_on", awarded_on)
    check.refuse("cannot award the incentive")
    programme = _locked_programme(session, programme_code)
    measure = get_measure(session, measure_id)
    member = measure.premises.member
    if awarded_on < programme.opens_on:
        check.add("awarded_on", f"programme {programme.code} opens on {programme.opens_on}; {awarded_on} is before")
    if awarded_on > programme.closes_on:
        check.add("awarded_on", f"programme {programme.code} closed on {programme.closes_on}; {awarded_on} is after")
    if member.member_type not in programme.eligible_member_types:
        check.add("member", f"member {member.member_number} is a {member.member_type}; programme {programme.code} "
                            f"is for: {', '.join(programme.eligible_member_types)}")
    if measure.status not in AWARDABLE:
        check.add("measure", f"measure {measure.id} is {measure.status}; only an approved, installed or verified "
                             "measure can have an incentive")
    incentive = _compute(programme, measure)
    if incentive.total_cents <= 0:
        check.add("measure", f"the rule of programme {programme.code} gives nothing for measure {measure.id} "
                             "(no cost or no estimated savings)")
    check.refuse(f"cannot award programme {programme.code}'s incentive for measure {measure.id}")
    existing = session.scalar(select(IncentiveAward.id).where(IncentiveAward.programme_id == programme.id,
                                                              IncentiveAward.measure_id == measure.id))
    if existing is not None:
        raise ConflictError(f"measure {measure.id} already has award {existing} from programme {programme.code}")
    left = programme.budget_cents - programme.awarded_cents
    if incentive.total_cents > left:
        raise ConflictError(
            f"programme {programme.code} has {format_cents(left)} left of its budget of "
            f"{format_cents(programme.budget_cents)}; this award needs {format_cents(incentive.total_cents)}",
            subject=programme.code)
    detail = {**incentive.as_dict(), "rule": programme.rule, "rate_micros_per_kwh": programme.rate_micros_per_kwh,
              "percent_bp": programme.percent_bp, "cap_cents": programme.cap_cents,
              "low_income_bonus_bp": programme.low_income_bonus_bp, "low_income": bool(member.low_income),
              "cost_cents": measure.cost_cents, "estimated_kwh_per_year": measure.estimated_kwh_per_year}
    award = IncentiveAward(programme=programme, measure=measure, member_id=member.id,
                           amount_cents=incentive.total_cents, bonus_cents=incentive.bonus_cents, paid_cents=0,
                           awarded_on=awarded_on, awarded_by=actor, detail=detail)
    session.add(award)
    programme.awarded_cents = programme.awarded_cents + incentive.total_cents
    _resum(session, programme)
    audit.record(session, actor=actor, action="award", entity="incentive_award", key=str(award.id),
                 after={"programme": programme.code, "measure_id": measure.id, "member_number": member.member_number,
                        "amount_cents": award.amount_cents, "awarded_on": awarded_on, "detail": detail},
                 note=f"budget left {programme.budget_cents - programme.awarded_cents} cents")
    return award


def record_payment(session: Session, *, award_id: int, amount_cents: int, paid_on: dt.date,
                   reference: str | None = None, actor: str) -> IncentivePayment:
    """Record money paid [cents] against an award; the measure must be installed, the total paid never more than
    the award (:class:`ConflictError`)."""
    award = get_award(session, award_id)
    programme = _locked_programme(session, award.programme_id)
    session.refresh(award)
    check = Check()
    check.integer("amount_cents", amount_cents, minimum=1, maximum=10**13, unit="cents")
    check.date("paid_on", paid_on)
    check.text("reference", reference, max_len=200, required=False)
    if isinstance(paid_on, dt.date) and paid_on < award.awarded_on:
        check.add("paid_on", f"{paid_on} is before the award was made ({award.awarded_on})")
    if award.measure.status not in PAYABLE:
        check.add("award", f"measure {award.measure_id} is {award.measure.status}: pay once it is installed")
    check.refuse(f"cannot record a payment against award {award.id}")
    left = award.amount_cents - award.paid_cents
    if amount_cents > left:
        raise ConflictError(f"award {award.id} is {format_cents(award.amount_cents)} of which "
                            f"{format_cents(award.paid_cents)} is paid: at most {format_cents(left)} can be paid, "
                            f"not {format_cents(amount_cents)}")
    payment = IncentivePayment(award=award, amount_cents=amount_cents, paid_on=paid_on,
                               reference=(reference or "").strip() or None, paid_by=actor)
    session.add(payment)
    award.paid_cents = award.paid_cents + amount_cents
    programme.paid_cents = programme.paid_cents + amount_cents
    _resum(session, programme)
    audit.record(session, actor=actor, action="pay", entity="incentive_payment", key=str(payment.id),
                 after={"award_id": award.id, "amount_cents": amount_cents, "paid_on": paid_on,
                        "reference": payment.reference})
    return payment


# ----------------------------------------------------------------------------------------------- look-ups


def get_programme(session: Session, code_or_id: str | int) -> IncentiveProgramme:
    if isinstance(code_or_id, int):
        row = session.get(IncentiveProgramme, code_or_id)
    else:
        row = session.scalar(select(IncentiveProgramme).where(IncentiveProgramme.code == str(code_or_id)))
    if row is None:
        raise NotFoundError(f"no incentive programme {code_or_id!r}")
    return row


def get_award(session: Session, award_id: int, *, member_id: int | None = None) -> IncentiveAward:
    row = session.get(IncentiveAward, award_id) if isinstance(award_id, int) else None
    if row is None or (member_id is not None and row.member_id != member_id):
        raise NotFoundError(f"no incentive award {award_id}")
    return row


def list_programmes(session: Session) -> list[IncentiveProgramme]:
    return list(session.scalars(select(IncentiveProgramme).order_by(IncentiveProgramme.opens_on,
                                                                   IncentiveProgramme.code)))


def list_awards(session: Session, *, member_id: int | None = None,
                programme_code: str | None = None) -> list[IncentiveAward]:
    stmt = select(IncentiveAward).order_by(IncentiveAward.id)
    if member_id is not None:
        stmt = stmt.where(IncentiveAward.member_id == member_id)
    if programme_code is not None:
        stmt = stmt.where(IncentiveAward.programme_id == get_programme(session, programme_code).id)
    return list(session.scalars(stmt))


def list_payments(session: Session, *, member_id: int | None = None) -> list[IncentivePayment]:
    stmt = select(IncentivePayment).join(IncentiveAward).order_by(IncentivePayment.id)
    if member_id is not None:
        stmt = stmt.where(IncentiveAward.member_id == member_id)
    return list(session.scalars(stmt))


def budget_summary(session: Session, *, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Budget used vs left per programme [cents]; ``open`` tells whether it takes awards on ``on``."""
    counts = dict(session.execute(select(IncentiveAward.programme_id, func.count())
                                  .group_by(IncentiveAward.programme_id)).all())
    out = []
    for p in list_programmes(session):
        out.append({**programme_dict(p), "awards": int(counts.get(p.id, 0)),
                    "open": None if on is None else p.opens_on <= on <= p.closes_on})
    return out
