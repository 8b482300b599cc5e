"""Reads of the registers (members, assets, shares, rates) that the screens share.

Each takes a Session and plain values and returns dicts, :class:`~energy_coop.services.paging.Page` of dicts or
(detached, read-only) ORM assets; nothing here writes. Amounts stay integers (rates in micro-units per kWh,
prices in cents); capacities are the register's numbers [kW, kWh].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, case, cast, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from energy_coop.calc.credits.holdings import holdings_timelines
from energy_coop.errors import NotFoundError, RefusedError, RowError
from energy_coop.models import Asset, CreditRate, LedgerEntry, Member, Meter, ShareTransaction
from energy_coop.units import shown
from energy_coop.vocabulary import MEMBER_TYPES
from energy_coop.services import memo
from energy_coop.services.paging import Page, paged
from energy_coop.services.registers.loading import share_register

# ------------------------------------------------------------------------------------------------ members


def get_member(session: Session, member_number: str) -> Member:
    """The member with ``member_number``; :class:`NotFoundError` if there is none."""
    member = session.scalar(select(Member).where(Member.member_number == member_number))
    if member is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    return member


def member_info(m: Member) -> dict[str, Any]:
    """A member's register details, for a page."""
    return {"member_number": m.member_number, "name": m.name, "email": m.email, "member_type": m.member_type,
            "joined_on": m.joined_on, "low_income": m.low_income,
            "meter_code": m.meter.code if m.meter is not None else None}


@dataclass(frozen=True)
class MemberFilter:
    """What the members list shows: ``q`` (a text in the number, name or email), a ``member_type``, low income
    only (True), not (False) or either (None), holders of ``asset_code`` (today), a balance above
    ``balance_above_cents`` [cents]; sorted by ``sort`` (:data:`MEMBER_SORTS`), ``descending`` or not."""

    q: str = ""
    member_type: str | None = None
    low_income: bool | None = None
    asset_code: str | None = None
    balance_above_cents: int | None = None
    sort: str = "number"
    descending: bool = False


#: The columns the members list sorts by.
MEMBER_SORTS = ("number", "name", "type", "joined", "shares", "balance")
MEMBER_LIST_KEYS = ("member_number", "name", "member_type", "email", "joined_on", "low_income", "shares",
                    "balance_cents")


def _holdings(today: dt.date):
    """(member_id, asset_id, shares) change rows of every share transaction up to ``today``, as a subquery."""
    received = select(ShareTransaction.member_id.label("member_id"), ShareTransaction.asset_id.label("asset_id"),
                      case((ShareTransaction.kind == "redeem", -ShareTransaction.shares),
                           else_=ShareTransaction.shares).label("delta")).where(ShareTransaction.date <= today)
    given = select(ShareTransaction.from_member_id, ShareTransaction.asset_id, -ShareTransaction.shares).where(
        ShareTransaction.kind == "transfer", ShareTransaction.date <= today)
    return union_all(received, given).subquery("holding_changes")


def _member_list(f: MemberFilter, today: dt.date):
    changes = _holdings(today)
    shares = (select(changes.c.member_id, func.sum(changes.c.delta).label("shares"))
              .group_by(changes.c.member_id).subquery("member_shares"))
    balances = (select(LedgerEntry.member_id, func.sum(LedgerEntry.cents).label("cents"))
                .group_by(LedgerEntry.member_id).subquery("member_balances"))
    held = cast(func.coalesce(shares.c.shares, 0), BigInteger)  # PostgreSQL's SUM is NUMERIC: back to integers
    balance = cast(func.coalesce(balances.c.cents, 0), BigInteger)
    stmt = (select(Member.member_number, Member.name, Member.member_type, Member.email, Member.joined_on,
                   Member.low_income, held.label("shares"), balance.label("balance_cents"))
            .outerjoin(shares, shares.c.member_id == Member.id)
            .outerjoin(balances, balances.c.member_id == Member.id))
    conds = []
    q = (f.q or "").strip()[:100]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(or_(Member.member_number.ilike(like, escape="\\"), Member.name.ilike(like, escape="\\"),
                         Member.email.ilike(like, escape="\\")))
    if f.member_type:
        conds.append(Member.member_type == f.member_type)
    if f.low_income is not None:
        conds.append(Member.low_income.is_(f.low_income))
    if f.asset_code:
        holders = (select(changes.c.member_id).join(Asset, Asset.id == changes.c.asset_id)
                   .where(Asset.asset_code == f.asset_code).group_by(changes.c.member_id)
                   .having(func.sum(changes.c.delta) > 0))
        conds.append(Member.id.in_(holders))
    if f.balance_above_cents is not None:
        conds.append(balance > f.balance_above_cents)
    if conds:
        stmt = stmt.where(*conds)
    column = {"number": Member.member_number, "name": Member.name, "type": Member.member_type,
              "joined": Member.joined_on, "shares": held, "balance": balance}[f.sort]
    order = [column.desc() if f.descending else column.asc()]
    if f.sort != "number":
        order.append(Member.member_number.asc())
    return stmt.order_by(*order), conds


def asset_holders(session: Session, asset_code: str, today: dt.date) -> list[dict[str, Any]]:
    """Who holds shares in ``asset_code`` on ``today``: member number, name and shares, most shares first."""
    changes = _holdings(today)
    held = cast(func.sum(changes.c.delta), BigInteger)
    rows = session.execute(
        select(Member.member_number, Member.name, held.label("shares"))
        .join(Member, Member.id == changes.c.member_id).join(Asset, Asset.id == changes.c.asset_id)
        .where(Asset.asset_code == asset_code).group_by(Member.member_number, Member.name)
        .having(func.sum(changes.c.delta) > 0).order_by(held.desc(), Member.member_number)).all()
    return [{"member_number": n, "name": name, "shares": int(shares)} for n, name, shares in rows]


def check_member_filter(session: Session, f: MemberFilter) -> list[RowError]:
    """What is wrong with a members-list filter, in words (an unknown type, asset or sort)."""
    problems = []
    if f.member_type and f.member_type not in MEMBER_TYPES:
        problems.append(RowError("", "member type", f"{shown(f.member_type)} is not a member type; the types are "
                                 + ", ".join(MEMBER_TYPES)))
    if f.asset_code and session.scalar(select(Asset.id).where(Asset.asset_code == f.asset_code)) is None:
        problems.append(RowError("", "asset", f"no asset with code {shown(f.asset_code)}"))
    if f.sort not in MEMBER_SORTS:
        problems.append(RowError("", "sort", f"{shown(f.sort)} is not a column to sort by; use "
                                 + ", ".join(MEMBER_SORTS)))
    return problems


def members_page(session: Session, *, q: str = "", page: int = 1, per_page: int = 50,
                 filter: MemberFilter | None = None, today: dt.date | None = None) -> Page:
    """Members with their shares held ``today`` [shares, all assets] and balance [cents], filtered and sorted by
    ``filter`` (or by ``q`` alone); a bad filter is refused naming each problem."""
    f = filter or MemberFilter(q=q)
    problems = check_member_filter(session, f)
    if problems:
        raise RefusedError("the members list cannot show that", problems)
    stmt, conds = _member_list(f, today or dt.date.today())
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    return paged(session, stmt, count, page, per_page, MEMBER_LIST_KEYS)


def members_list_export(session: Session, f: MemberFilter, today: dt.date) -> list[list[Any]]:
    """Every row the members list shows for ``f`` (no pages), for its CSV: the columns of
    :data:`MEMBER_LIST_KEYS` (``low_income`` as true/false, money in cents)."""
    problems = check_member_filter(session, f)
    if problems:
        raise RefusedError("the members list cannot show that", problems)
    stmt, _ = _member_list(f, today)
    return [[n, name, mtype, email or "", joined.isoformat() if joined else "", "true" if low else "false",
             int(held), int(cents)] for n, name, mtype, email, joined, low, held, cents in session.execute(stmt)]


def _text(value: Any) -> str:
    """A register value as its CSV cell: blank for None, ISO dates, floats without a trailing ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)[:-2] if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def member_record(session: Session, member_number: str) -> dict[str, str]:
    """A member's register row as text by column, as a members CSV (or the edit form) holds it."""
    m = get_member(session, member_number)
    usage = None if m.annual_usage_wh is None else Decimal(m.annual_usage_wh) / 1000
    return {"member_number": m.member_number, "name": m.name, "email": _text(m.email),
            "member_type": m.member_type, "joined_on": _text(m.joined_on), "low_income": _text(bool(m.low_income)),
            "annual_usage_kwh": "" if usage is None else format(usage.normalize(), "f"),
            "meter_code": m.meter.code if m.meter is not None else ""}


def asset_record(session: Session, asset_code: str) -> dict[str, str]:
    """An asset's register row as text by column, as an assets CSV (or the edit form) holds it."""
    a = session.scalar(select(Asset).where(Asset.asset_code == asset_code))
    if a is None:
        raise NotFoundError(f"no asset with code {asset_code!r}")
    columns = ("asset_code", "name", "kind", "timezone", "latitude", "longitude", "altitude_m", "total_shares",
               "commissioned_on", "capacity_kw_dc", "capacity_kw_ac", "tilt_deg", "azimuth_deg", "losses_pct",
               "array_type", "storage_kwh", "storage_kw", "roundtrip_efficiency")
    return {"meter_code": a.meter.code, **{c: _text(getattr(a, c)) for c in columns}}


def members_export(session: Session) -> list[list[Any]]:
    """Every member's register row, as the members CSV writes it (the caller neutralises formulas)."""
    rows = session.execute(
        select(Member.member_number, Member.name, Member.email, Member.member_type, Member.joined_on,
               Member.low_income, Meter.code)
        .outerjoin(Meter, Member.meter_id == Meter.id).order_by(Member.member_number)).all()
    return [[n, name, email or "", mtype, joined.isoformat() if joined else "", "true" if low else "false",
             meter or ""] for n, name, email, mtype, joined, low, meter in rows]


# ------------------------------------------------------------------------------------------------ assets, holdings


def asset_codes(session: Session) -> list[str]:
    """Every asset code, in order (a form's choices)."""
    return list(session.scalars(select(Asset.asset_code).order_by(Asset.asset_code)))


def assets_by_code(session: Session, version: tuple) -> dict[str, Asset]:
    """Every asset, remembered at data ``version`` (:mod:`energy_coop.services.memo`). The objects are detached
    from the session that read them, so that no later rollback there can expire them; callers only read them."""
    def load() -> dict[str, Asset]:
        assets = list(session.scalars(select(Asset)))
        for asset in assets:
            session.expunge(asset)
        return {asset.asset_code: asset for asset in assets}

    return memo.remember(session, ("assets",), load, version=version)


def register_assets(session: Session, register: list, version: tuple | None = None) -> list[Asset]:
    """The assets a (member's) share register names, by asset code: from :func:`assets_by_code` when the caller
    has read the data ``version``, else from the database."""
    codes = sorted({t.asset_code for t in register})
    if version is None:
        return list(session.scalars(select(Asset).where(Asset.asset_code.in_(codes)).order_by(Asset.asset_code)))
    assets = assets_by_code(session, version)
    return [assets[code] for code in codes if code in assets]


def held_on(register: list, assets: list[Asset], member_number: str, day: dt.date) -> list[tuple[Asset, int]]:
    """The ``assets`` in which ``member_number`` holds shares at the start of ``day``, and how many."""
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


def member_holdings(session: Session, member_number: str, day: dt.date) -> list[tuple[Asset, int]]:
    """The assets ``member_number`` holds shares in on ``day`` and how many, by asset code."""
    register = share_register(session, member_number=member_number)
    return held_on(register, register_assets(session, register), member_number, day)


def assets_overview(session: Session, *, today: dt.date) -> list[dict[str, Any]]:
    """Every asset with its meter, size (``capacity_kw_ac`` [kW] of a solar array, ``storage_kwh`` [kWh] of a
    battery) and the shares members hold in it today."""
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
                    "capacity_kw_ac": a.capacity_kw_ac if a.kind == "solar" else None,
                    "storage_kwh": a.storage_kwh, "commissioned_on": a.commissioned_on})
    return out


# ------------------------------------------------------------------------------------------------ shares, rates


def share_transactions_page(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """The share register, newest first (``price_per_share_cents`` [cents])."""
    giver = aliased(Member)
    stmt = (select(ShareTransaction.ref, ShareTransaction.date, Asset.asset_code, ShareTransaction.kind,
                   Member.member_number, giver.member_number, ShareTransaction.shares,
                   ShareTransaction.price_per_share_cents)
            .join(Asset, ShareTransaction.asset_id == Asset.id)
            .join(Member, ShareTransaction.member_id == Member.id)
            .outerjoin(giver, ShareTransaction.from_member_id == giver.id)
            .order_by(ShareTransaction.date.desc(), ShareTransaction.id.desc()))
    return paged(session, stmt, select(func.count()).select_from(ShareTransaction), page, per_page,
                 ("ref", "date", "asset_code", "kind", "member_number", "from_member_number", "shares",
                  "price_per_share_cents"))


def rates_page(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """Credit rate rows, latest first (``rate_micros`` [micro-units per kWh])."""
    stmt = select(CreditRate.valid_from, CreditRate.scope, CreditRate.rate_micros).order_by(
        CreditRate.valid_from.desc(), CreditRate.scope)
    return paged(session, stmt, select(func.count()).select_from(CreditRate), page, per_page,
                 ("valid_from", "scope", "rate_micros"))
