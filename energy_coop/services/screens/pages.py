"""Read-only queries behind the web pages (SPEC section 10): members, admins and auditors.

Each function takes a Session and plain values and returns plain dataclasses and dicts, so that views hold
no queries and no business logic and templates never touch an ORM object after its transaction ended.
Nothing here writes. Amounts stay integers (Wh, cents); formatting is the templates' business.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from energy_coop.period import parse_period
from energy_coop.calc.credits.holdings import holdings_timelines
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import (
    AllocationRun,
    Asset,
    AuditEntry,
    CreditRate,
    ImportBatch,
    LedgerEntry,
    Member,
    Meter,
    Premises,
    Reading,
    ShareTransaction,
    User,
)
from energy_coop.services.metering import coverage as coverage_service
from energy_coop.services.efficiency.measures import list_measures
from energy_coop.services.efficiency.premises import list_audits
from energy_coop.services.forecasting import forecasts
from energy_coop.services import memo
from energy_coop.services.credits import statements
from energy_coop.services.registers.loading import share_register

MAX_PER_PAGE = 200


@dataclass
class Page:
    """One page of a list: ``items`` (dicts), the 1-based ``page``, ``pages`` in all and ``total`` items."""

    items: list[dict[str, Any]]
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _paged(session: Session, stmt, count_stmt, page: int, per_page: int) -> tuple[list[Any], int, int, int]:
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    total = int(session.scalar(count_stmt) or 0)
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(int(page), pages))
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, page, pages, total


def check_period(period: str) -> str:
    """``period`` as 'YYYY-MM', or :class:`RefusedError` saying how to write one."""
    try:
        parse_period(period or "")
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    return period.strip()


def previous_month(today: dt.date) -> str:
    return (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


# ------------------------------------------------------------------------------------------------ members


def _member(session: Session, member_number: str) -> Member:
    member = session.scalar(select(Member).where(Member.member_number == member_number))
    if member is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    return member


def member_info(session: Session, member_number: str) -> dict[str, Any]:
    """A member's register details."""
    return _info(_member(session, member_number))


def _info(m: Member) -> dict[str, Any]:
    return {"member_number": m.member_number, "name": m.name, "email": m.email, "member_type": m.member_type,
            "joined_on": m.joined_on, "low_income": m.low_income,
            "meter_code": m.meter.code if m.meter is not None else None}


@dataclass
class ProductionDay:
    day: dt.date
    metered_wh: int | None  # [Wh] None: no readings that day
    forecast_wh: int | None  # [Wh] None: no stored forecast that day


@dataclass
class HeldAsset:
    asset_code: str
    name: str
    kind: str
    shares: int
    total_shares: int
    days: list[ProductionDay] = field(default_factory=list)

    @property
    def has_forecast(self) -> bool:
        return any(d.forecast_wh is not None for d in self.days)


@dataclass
class MemberDashboard:
    """What a member's own page shows: balance, credits by month, holdings and their assets' production."""

    member: dict[str, Any]
    balance_wh: int
    balance_cents: int
    months: list[dict[str, Any]]  # statements.member_credits months, oldest first (the last 13)
    holdings: list[HeldAsset]
    periods: list[str]  # months with ledger entries, newest first (statements)
    efficiency: dict[str, Any] | None
    outlook: dict[str, Any] | None = None  # forecasts.member_outlook: next month's expected credits
    performance: list[dict[str, Any]] = field(default_factory=list)  # last month, held solar assets


def _daily_sums(rows, zone: ZoneInfo, scale: int) -> dict[dt.date, int]:
    sums: dict[dt.date, int] = defaultdict(int)
    for start, amount in rows:
        sums[dt.datetime.fromtimestamp(start, zone).date()] += amount
    return {d: v // scale if scale > 1 else v for d, v in sums.items()}


def asset_daily_production(session: Session, asset: Asset, first: dt.date, last: dt.date, *,
                           version: tuple | None = None) -> list[ProductionDay]:
    """Metered production and stored forecast of ``asset`` per local day from ``first`` to ``last`` [Wh].

    The same for every member holding the asset, so remembered until the stored data changes (:mod:`.memo`;
    ``version``: the data version the caller already read); callers must not change the returned days."""
    return memo.remember(session, ("daily production", asset.id, asset.meter_id, asset.timezone, first, last),
                         lambda: _asset_daily_production(session, asset, first, last), version=version)


def _asset_daily_production(session: Session, asset: Asset, first: dt.date, last: dt.date) -> list[ProductionDay]:
    zone = ZoneInfo(asset.timezone)
    start = int(dt.datetime.combine(first, dt.time(0), tzinfo=zone).timestamp())
    end = int(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone).timestamp())
    metered = _daily_sums(session.execute(
        select(Reading.start, Reading.mwh).where(Reading.meter_id == asset.meter_id, Reading.start >= start,
                                                 Reading.start < end)).all(), zone, 1)
    metered = {d: v // 1000 for d, v in metered.items()}  # mWh -> Wh
    forecast: dict[dt.date, int] = {}
    try:
        from energy_coop.models import Forecast  # the forecasts table (migration 0003)
    except ImportError:  # pragma: no cover - older schema
        Forecast = None
    if Forecast is not None:
        forecast = _daily_sums(session.execute(
            select(Forecast.start, Forecast.wh).where(Forecast.asset_id == asset.id, Forecast.start >= start,
                                                      Forecast.start < end)).all(), zone, 1)
    days = []
    day = first
    while day <= last:
        days.append(ProductionDay(day, metered.get(day), forecast.get(day)))
        day += dt.timedelta(days=1)
    return days


def member_holdings(session: Session, member_number: str, day: dt.date) -> list[tuple[Asset, int]]:
    """The assets ``member_number`` holds shares in on ``day`` and how many, by asset code."""
    register = share_register(session, member_number=member_number)
    return _held(register, _register_assets(session, register), member_number, day)


def _register_assets(session: Session, register: list, version: tuple | None = None) -> list[Asset]:
    """The assets a (member's) share register names, by asset code: from :func:`assets_by_code` when the caller
    has read the data ``version``, else from the database."""
    codes = sorted({t.asset_code for t in register})
    if version is None:
        return list(session.scalars(select(Asset).where(Asset.asset_code.in_(codes)).order_by(Asset.asset_code)))
    assets = assets_by_code(session, version)
    return [assets[code] for code in codes if code in assets]


def assets_by_code(session: Session, version: tuple) -> dict[str, Asset]:
    """Every asset, remembered at data ``version`` (:mod:`.memo`). The objects are detached from the session
    that read them, so that no later rollback there can expire them; callers only read them."""
    def load() -> dict[str, Asset]:
        assets = list(session.scalars(select(Asset)))
        for asset in assets:
            session.expunge(asset)
        return {asset.asset_code: asset for asset in assets}

    return memo.remember(session, ("assets",), load, version=version)


def _held(register: list, assets: list[Asset], member_number: str, day: dt.date) -> list[tuple[Asset, int]]:
    timelines = holdings_timelines(register)
    out = []
    for asset in assets:
        held = 0
        for since, shares in timelines.get(asset.asset_code, {}).get(member_number, []):
            if since <= day:
                held = shares
        if held:
            out.append((asset, held))
    return out


def member_dashboard(session: Session, member_number: str, *, today: dt.date, days: int = 14,
                     threshold: float = 0.8) -> MemberDashboard:
    """Everything on a member's dashboard; :class:`NotFoundError` for an unknown member number.

    Besides credits and holdings: next month's expected credits (typical year, with a low/high band) and last
    month's performance ratio of each held solar array, flagged below ``threshold``.

    Each thing is read once (the member, their ledger sums, their share transactions and the assets these
    name); what is the same for every member (an asset's daily production, its performance ratio, its typical
    month) is remembered per process until the data changes (:mod:`.memo`).
    """
    # the member, whether they have a building in the efficiency programme, and the data version, in one query
    # and so one snapshot: remembered figures read later are then never staler than their key
    found = session.execute(
        select(Member, exists().where(Premises.member_id == Member.id), *memo.version_columns())
        .where(Member.member_number == member_number)).first()
    if found is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    member, has_premises, newest_id, newest_at = found
    version = memo.version_of(session, newest_id, newest_at)
    sums = statements.ledger_sums(session, member.id)
    credits = statements.credits_from_sums(member_number, sums)
    register = share_register(session, member_number=member_number)
    assets = _register_assets(session, register, version)
    holdings = []
    for asset, shares in _held(register, assets, member_number, today):
        held = HeldAsset(asset.asset_code, asset.name, asset.kind, shares, asset.total_shares)
        held.days = asset_daily_production(session, asset, today - dt.timedelta(days=days - 1), today,
                                           version=version)
        holdings.append(held)
    try:
        outlook = forecasts.outlook_from_register(session, member_number, register, assets, today=today,
                                                  version=version)
    except RefusedError:  # e.g. an asset whose parameters the forecast model refuses
        outlook = None
    return MemberDashboard(
        member=_info(member), balance_wh=credits["balance_wh"], balance_cents=credits["balance_cents"],
        months=credits["months"][-13:], holdings=holdings,
        periods=statements.periods_from_sums(sums),
        efficiency=_efficiency(session, member.id) if has_premises else {"audits": [], "measures": []},
        outlook=outlook if outlook and outlook["assets"] else None,
        performance=[row for h in holdings if h.kind == "solar"
                     for row in forecasts.performance(session, previous_month(today), asset_code=h.asset_code,
                                                      threshold=threshold, version=version)],
    )


def member_efficiency(session: Session, member_number: str) -> dict[str, Any]:
    """A member's energy audits and measures."""
    return _efficiency(session, _member(session, member_number).id)


def _efficiency(session: Session, member_id: int) -> dict[str, Any]:
    audits = [{"date": a.audit_date, "auditor": a.auditor_name, "level": a.ashrae_level, "findings": a.findings}
              for a in list_audits(session, member_id=member_id)]
    measures = [{"category": m.category, "description": m.description, "status": m.status,
                 "estimated_kwh_per_year": m.estimated_kwh_per_year, "cost_cents": m.cost_cents}
                for m in list_measures(session, member_id=member_id)]
    return {"audits": audits, "measures": measures}


def members_page(session: Session, *, q: str = "", page: int = 1, per_page: int = 50) -> Page:
    """Members by number, optionally filtered by a text in their number, name or email."""
    stmt = select(Member.member_number, Member.name, Member.member_type, Member.email, Member.joined_on)
    count = select(func.count()).select_from(Member)
    q = (q or "").strip()[:100]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cond = or_(Member.member_number.ilike(like, escape="\\"), Member.name.ilike(like, escape="\\"),
                   Member.email.ilike(like, escape="\\"))
        stmt = stmt.where(cond)
        count = count.where(cond)
    rows, page, pages, total = _paged(session, stmt.order_by(Member.member_number), count, page, per_page)
    items = [dict(zip(("member_number", "name", "member_type", "email", "joined_on"), r)) for r in rows]
    return Page(items, page, pages, total, per_page)


# ------------------------------------------------------------------------------------------------ assets, shares, rates


def assets_overview(session: Session, *, today: dt.date) -> list[dict[str, Any]]:
    """Every asset with its meter and the shares members hold in it today."""
    timelines = holdings_timelines(share_register(session))
    out = []
    for a in session.scalars(select(Asset).order_by(Asset.asset_code)):
        held = 0
        for points in timelines.get(a.asset_code, {}).values():
            current = 0
            for since, shares in points:
                if since <= today:
                    current = shares
            held += current
        out.append({"asset_code": a.asset_code, "name": a.name, "kind": a.kind, "meter_code": a.meter.code,
                    "timezone": a.timezone, "total_shares": a.total_shares, "held_shares": held,
                    "capacity": (f"{a.capacity_kw_ac:g} kW AC" if a.kind == "solar" and a.capacity_kw_ac
                                 else f"{a.storage_kwh:g} kWh" if a.storage_kwh else ""),
                    "commissioned_on": a.commissioned_on})
    return out


def asset_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Asset.asset_code).order_by(Asset.asset_code)))


def share_transactions_page(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """The share register, newest first."""
    from sqlalchemy.orm import aliased

    giver = aliased(Member)
    stmt = (select(ShareTransaction.ref, ShareTransaction.date, Asset.asset_code, ShareTransaction.kind,
                   Member.member_number, giver.member_number, ShareTransaction.shares,
                   ShareTransaction.price_per_share_cents)
            .join(Asset, ShareTransaction.asset_id == Asset.id)
            .join(Member, ShareTransaction.member_id == Member.id)
            .outerjoin(giver, ShareTransaction.from_member_id == giver.id)
            .order_by(ShareTransaction.date.desc(), ShareTransaction.id.desc()))
    rows, page, pages, total = _paged(session, stmt, select(func.count()).select_from(ShareTransaction), page,
                                      per_page)
    keys = ("ref", "date", "asset_code", "kind", "member_number", "from_member_number", "shares",
            "price_per_share_cents")
    return Page([dict(zip(keys, r)) for r in rows], page, pages, total, per_page)


def rates_page(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """Credit rate rows, latest first."""
    stmt = select(CreditRate.valid_from, CreditRate.scope, CreditRate.rate_micros).order_by(
        CreditRate.valid_from.desc(), CreditRate.scope)
    rows, page, pages, total = _paged(session, stmt, select(func.count()).select_from(CreditRate), page, per_page)
    return Page([{"valid_from": v, "scope": s, "rate_micros": r} for v, s, r in rows], page, pages, total, per_page)


# ------------------------------------------------------------------------------------------------ meter data


def import_batches(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest import batches (file, hash, who, when, counts)."""
    rows = session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit))
    return [{"id": b.id, "file_name": b.file_name, "sha256": b.sha256, "format": b.format,
             "imported_by": b.imported_by, "imported_at": b.imported_at, "status": b.status,
             "meters": list(b.meters or []), "accepted": b.accepted, "unchanged": b.unchanged, "revised": b.revised,
             "rejected": b.rejected} for b in rows]


def month_coverage(session: Session, period: str) -> list[dict[str, Any]]:
    """Coverage of every asset meter over the local month ``period`` (present, expected, gaps)."""
    period = check_period(period)
    out = []
    for asset in session.scalars(select(Asset).order_by(Asset.asset_code)):
        cov = coverage_service.meter_month_coverage(session, asset.meter.code, period, asset.timezone)
        doc = cov.as_dict()
        doc.update(asset_code=asset.asset_code, name=asset.name, complete=cov.complete,
                   percent=float(cov.fraction) * 100)
        out.append(doc)
    return out


# ------------------------------------------------------------------------------------------------ allocation, ledger


def _run_dict(r: AllocationRun) -> dict[str, Any]:
    return {"id": r.id, "period": r.period, "generation": r.generation, "posted_at": r.posted_at,
            "posted_by": r.posted_by, "allow_gaps": r.allow_gaps, "inputs_sha256": r.inputs_sha256,
            "total_wh": r.total_wh, "total_cents": r.total_cents, "member_wh": r.member_wh,
            "member_cents": r.member_cents, "entries": r.entries, "replaces_run_id": r.replaces_run_id,
            "superseded": r.superseded, "stale_since": r.stale_since, "stale_reason": r.stale_reason}


def allocation_runs(session: Session, *, period: str | None = None) -> list[dict[str, Any]]:
    """Every allocation run (or one month's), newest first."""
    stmt = select(AllocationRun).order_by(AllocationRun.period.desc(), AllocationRun.generation.desc())
    if period:
        stmt = stmt.where(AllocationRun.period == period)
    return [_run_dict(r) for r in session.scalars(stmt)]


def allocation_run(session: Session, run_id: int) -> dict[str, Any]:
    """One run with its posted document (the allocation's inputs and results)."""
    run = session.get(AllocationRun, run_id)
    if run is None:
        raise NotFoundError(f"no allocation run {run_id}")
    out = _run_dict(run)
    out["document"] = run.posted_document
    return out


def ledger_page(session: Session, *, page: int = 1, per_page: int = 100, period: str | None = None) -> Page:
    """Ledger entries with their hashes, newest first."""
    stmt = (select(LedgerEntry.seq, LedgerEntry.kind, Member.member_number, LedgerEntry.period, Asset.asset_code,
                   LedgerEntry.wh, LedgerEntry.cents, LedgerEntry.run_id, LedgerEntry.reverses_seq, LedgerEntry.memo,
                   LedgerEntry.created_at, LedgerEntry.prev_hash, LedgerEntry.hash)
            .join(Member, LedgerEntry.member_id == Member.id)
            .outerjoin(Asset, LedgerEntry.asset_id == Asset.id)
            .order_by(LedgerEntry.seq.desc()))
    count = select(func.count()).select_from(LedgerEntry)
    if period:
        period = check_period(period)
        stmt = stmt.where(LedgerEntry.period == period)
        count = count.where(LedgerEntry.period == period)
    rows, page, pages, total = _paged(session, stmt, count, page, per_page)
    keys = ("seq", "kind", "member_number", "period", "asset_code", "wh", "cents", "run_id", "reverses_seq", "memo",
            "created_at", "prev_hash", "hash")
    return Page([dict(zip(keys, r)) for r in rows], page, pages, total, per_page)


def manual_entries_page(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """Adjustments, payouts and bill applications (the entries admins make by hand), newest first."""
    from energy_coop.services.credits.ledger import MANUAL_KINDS

    manual = LedgerEntry.kind.in_(MANUAL_KINDS)
    stmt = (select(LedgerEntry.seq, LedgerEntry.kind, Member.member_number, Member.name, LedgerEntry.period,
                   LedgerEntry.wh, LedgerEntry.cents, LedgerEntry.memo, LedgerEntry.created_at)
            .join(Member, LedgerEntry.member_id == Member.id)
            .where(manual)
            .order_by(LedgerEntry.seq.desc()))
    rows, page, pages, total = _paged(session, stmt, select(func.count()).select_from(LedgerEntry).where(manual),
                                      page, per_page)
    keys = ("seq", "kind", "member_number", "member_name", "period", "wh", "cents", "memo", "created_at")
    return Page([dict(zip(keys, r)) for r in rows], page, pages, total, per_page)


def posted_periods(session: Session) -> list[str]:
    """Months that have a posted allocation, newest first."""
    return list(session.scalars(select(AllocationRun.period).group_by(AllocationRun.period)
                                .order_by(AllocationRun.period.desc())))


# ------------------------------------------------------------------------------------------------ users, audit log, jobs


def users_list(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(User.id, User.email, User.role, Member.member_number, User.active,
                                  User.created_at).outerjoin(Member, User.member_id == Member.id)
                           .order_by(User.role, User.email)).all()
    return [dict(zip(("id", "email", "role", "member_number", "active", "created_at"), r)) for r in rows]


def audit_log_page(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """The audit log, newest first (who, when, what, before/after)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    rows, page, pages, total = _paged(session, stmt, select(func.count()).select_from(AuditEntry), page, per_page)
    items = [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity,
              "key": e.entity_key, "before": e.before, "after": e.after, "note": e.note} for (e,) in rows]
    return Page(items, page, pages, total, per_page)


def job_runs(session: Session, *, limit: int = 100) -> list[dict[str, Any]] | None:
    """The scheduler's recorded job runs, newest first; None while no job-run table exists."""
    from energy_coop import models

    JobRun = getattr(models, "JobRun", None)
    if JobRun is None:
        return None
    return [{"job": r.job, "period": r.period, "outcome": r.outcome, "started_at": r.started_at,
             "finished_at": r.finished_at, "message": r.message}
            for r in session.scalars(select(JobRun).order_by(JobRun.started_at.desc()).limit(limit))]


def overview(session: Session, *, today: dt.date | None = None, threshold: float = 0.8) -> dict[str, Any]:
    """Counts for the admin home page, and last month's performance ratio of every solar array."""
    def count(model) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return {"members": count(Member), "assets": count(Asset), "meters": count(Meter), "users": count(User),
            "batches": count(ImportBatch), "runs": count(AllocationRun), "ledger_entries": count(LedgerEntry),
            "posted_periods": posted_periods(session)[:3],
            "performance": forecasts.performance(session, previous_month(today or dt.date.today()),
                                                 threshold=threshold)}


# ------------------------------------------------------------------------------------------------ composite pages


def allocation_page(session: Session, period: str, *, today: dt.date) -> dict[str, Any]:
    """The admin allocation page: the draft of ``period`` (or why it cannot be computed), the month's runs,
    coverage and every stale month. Computing the draft changes nothing."""
    from energy_coop.services.credits import allocation

    period = check_period(period)
    out: dict[str, Any] = {"period": period, "draft": None, "refusal": None, "incomplete": []}
    try:
        outcome = allocation.compute(session, period, today=today)
    except RefusedError as exc:
        out["refusal"] = exc.message
    else:
        out["draft"] = outcome.document
        out["incomplete"] = outcome.incomplete
        out["inputs_sha256"] = outcome.inputs_sha256
    out["runs"] = allocation_runs(session, period=period)
    current = out["runs"][0] if out["runs"] else None
    out["current"] = current
    out["unchanged"] = bool(current and out["draft"] is not None and current["inputs_sha256"] == out.get("inputs_sha256"))
    out["stale"] = [_run_dict(r) for r in allocation.stale_periods(session)]
    return out


def ledger_view(session: Session, *, page: int = 1, per_page: int = 100, period: str | None = None) -> dict[str, Any]:
    """The auditor's ledger page: chain verification (whole ledger) and one page of entries."""
    from energy_coop.services.credits import ledger

    report = ledger.verify(session)
    return {"verify": report.as_dict(), "entries": ledger_page(session, page=page, per_page=per_page, period=period)}


def verify_status(session: Session) -> dict[str, Any]:
    """The ledger's verification report and the posted months (the auditor's home page)."""
    from energy_coop.services.credits import allocation, ledger

    return {"verify": ledger.verify(session).as_dict(), "periods": posted_periods(session),
            "stale": [_run_dict(r) for r in allocation.stale_periods(session)]}


def members_export(session: Session) -> list[list[Any]]:
    """Every member's register row, for the admins' CSV download (the caller neutralises formulas)."""
    rows = session.execute(
        select(Member.member_number, Member.name, Member.email, Member.member_type, Member.joined_on,
               Member.low_income, Meter.code)
        .outerjoin(Meter, Member.meter_id == Meter.id).order_by(Member.member_number)).all()
    return [[n, name, email or "", mtype, joined.isoformat() if joined else "", "true" if low else "false",
             meter or ""] for n, name, email, mtype, joined, low, meter in rows]
