"""Reads of the registers (members, assets, shares, rates) that the screens share.

Each takes a Session and plain values and returns dicts, :class:`~energy_coop.services.paging.Page` of dicts or
(detached, read-only) ORM assets; nothing here writes. Amounts stay integers (rates in micro-units per kWh,
prices in cents); capacities are the register's numbers [kW, kWh].
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from energy_coop.calc.credits.holdings import holdings_timelines
from energy_coop.errors import NotFoundError
from energy_coop.models import Asset, CreditRate, Member, Meter, ShareTransaction
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
    return paged(session, stmt.order_by(Member.member_number), count, page, per_page,
                 ("member_number", "name", "member_type", "email", "joined_on"))


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
