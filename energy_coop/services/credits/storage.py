"""A battery on a member's pages and statement: energy charged and discharged, and the value of shifting it
(issue 15; SPEC 5, 6).

A storage asset's ledger entries carry its *net* energy (negative: a battery takes in more than it gives back)
and its value (positive: it is paid the time-of-use difference). This module turns a posted month of a
storage asset into the member's share of the energy it **charged** and **discharged** [Wh], exactly and
consistently with the ledger (:mod:`energy_coop.calc.credits.storage`):

* the readings of the month are those the allocation reads (:func:`.allocation.compute`'s inputs, so the same
  local days, holdings and readings), their positive part is the energy discharged;
* each holder's net energy is what was posted: members' from their ledger entries (allocations and reversals
  for that month and asset), the co-op's own part from the current run's posted document;
* so for every holder ``discharged_wh - charged_wh == net_wh`` (the ledger's figure), and the holders' parts
  sum to the asset's month totals. ``cents`` is the member's ledger value for the asset and month: the value of
  shifting the energy.

The month-level split is the same for every member, so it is remembered per process (:mod:`..memo`). Nothing
here writes. Only posted months have figures; a month with no run gives none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop.calc.credits.allocation import COOP
from energy_coop.calc.credits.storage import StorageSplit, discharged_by_day, split_storage
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import Asset, LedgerEntry, Member
from energy_coop.period import Period
from energy_coop.services import memo
from energy_coop.services.credits import allocation
from energy_coop.services.registers.queries import get_member
from energy_coop.vocabulary import CREDIT_ENTRY_KINDS

__all__ = ["StorageMonth", "StorageShare", "storage_document", "storage_history", "storage_month", "storage_shares"]


@dataclass(frozen=True)
class StorageShare:
    """A member's share of one storage asset in one production month: ``charged_wh``, ``discharged_wh`` and
    ``net_wh`` [Wh] (``discharged_wh - charged_wh == net_wh``, the ledger's net energy) and ``cents`` [cents],
    the ledger's value of the month's credits for the asset (the value of shifting the energy)."""

    asset_code: str
    asset_name: str
    period: str
    charged_wh: int
    discharged_wh: int
    net_wh: int
    cents: int


@dataclass(frozen=True)
class StorageMonth:
    """One storage asset's posted month: the split over all holders (``COOP`` included) and the members'
    ledger values ``cents`` {member_number: cents}."""

    asset_code: str
    asset_name: str
    period: str
    split: StorageSplit
    cents: dict[str, int]


def _posted_coop_wh(document: dict[str, Any], asset_code: str) -> int:
    for a in document.get("assets", []):
        if a.get("asset_code") == asset_code:
            for h in a.get("holders", []):
                if h.get("holder") == COOP:
                    return int(h["wh"])
    return 0


def _storage_month(session: Session, period: str) -> dict[str, StorageMonth]:
    run = allocation.current_run(session, period)
    if run is None:
        return {}
    storage = {a.asset_code: a for a in session.scalars(select(Asset).where(Asset.kind == "storage"))}
    if not storage:
        return {}
    try:
        outcome = allocation.compute(session, period, only=storage)
    except RefusedError:  # e.g. a rate removed since the month was posted: no split rather than a wrong one
        return {}
    out: dict[str, StorageMonth] = {}
    for inputs in outcome.inputs:
        asset = inputs.asset
        if asset.asset_code not in storage:
            continue
        posted = session.execute(
            select(Member.member_number, func.sum(LedgerEntry.wh), func.sum(LedgerEntry.cents))
            .join(Member, LedgerEntry.member_id == Member.id)
            .where(LedgerEntry.period == period, LedgerEntry.asset_id == asset.id,
                   LedgerEntry.kind.in_(CREDIT_ENTRY_KINDS))
            .group_by(Member.member_number)).all()
        net = {number: int(wh) for number, wh, _ in posted}
        net[COOP] = _posted_coop_wh(run.document, asset.asset_code)
        out_by_day = discharged_by_day(inputs.starts, inputs.mwh, asset.timezone, inputs.days)
        split = split_storage(asset.asset_code, asset.total_shares, inputs.days, out_by_day, inputs.holdings, net)
        out[asset.asset_code] = StorageMonth(asset.asset_code, asset.name, period, split,
                                             {number: int(cents) for number, _, cents in posted})
    return out


def storage_month(session: Session, period: str | Period, *, version: tuple | None = None
                  ) -> dict[str, StorageMonth]:
    """Every storage asset's posted ``period`` (production month) split into charged and discharged energy per
    holder, by asset code; ``{}`` for a month not posted. The same for every member, so remembered until the
    stored data changes (``version``: the :func:`memo.data_version` the caller already read)."""
    month = str(Period.parse(period))
    return memo.remember(session, ("storage month", month), lambda: _storage_month(session, month), version=version)


def _share(month: StorageMonth, member_number: str) -> StorageShare | None:
    part = month.split.holder(member_number)
    cents = month.cents.get(member_number, 0)
    if part is None and not cents:
        return None
    charged, discharged, net = (part.charged_wh, part.discharged_wh, part.net_wh) if part else (0, 0, 0)
    return StorageShare(month.asset_code, month.asset_name, month.period, charged, discharged, net, cents)


def storage_shares(session: Session, member_number: str, period: str | Period, *,
                   version: tuple | None = None) -> list[StorageShare]:
    """The member's share of each storage asset in production month ``period``, by asset code.

    Only assets the member had a part in (shares that month, or ledger entries for it); ``[]`` when the month
    is not posted or the co-op has no storage asset. :class:`NotFoundError` for an unknown member number,
    :class:`RefusedError` for a month that does not parse."""
    try:
        month = Period.parse(period)
    except (TypeError, ValueError) as exc:
        raise RefusedError(str(exc)) from None
    get_member(session, member_number)
    shares = []
    for code, m in sorted(storage_month(session, month, version=version).items()):
        share = _share(m, member_number)
        if share is not None:
            shares.append(share)
    return shares


def storage_history(session: Session, member_number: str, periods: list[str], *,
                    version: tuple | None = None) -> list[StorageShare]:
    """:func:`storage_shares` for several production months (the member is looked up by the caller), in the
    order of ``periods`` and then by asset code."""
    out = []
    for period in periods:
        for code, m in sorted(storage_month(session, period, version=version).items()):
            share = _share(m, member_number)
            if share is not None:
                out.append(share)
    return out


def storage_document(session: Session, period: str | Period, *, member_number: str | None = None
                     ) -> dict[str, Any]:
    """The ``energy-coop battery PERIOD --json`` document: every storage asset's posted month with its totals
    and holders (``COOP`` included; only ``member_number`` when given), integer Wh and cents:
    ``{"period", "assets": [{"asset_code", "asset_name", "charged_wh", "discharged_wh", "net_wh",
    "holders": [{"holder", "charged_wh", "discharged_wh", "net_wh", "cents"}]}]}`` (the co-op's ``cents``
    is ``null``: it has no ledger account). :class:`RefusedError` for a bad month, :class:`NotFoundError` for
    an unknown member or a month that is not posted."""
    try:
        month = str(Period.parse(period))
    except (TypeError, ValueError) as exc:
        raise RefusedError(str(exc)) from None
    if member_number is not None:
        get_member(session, member_number)
    if allocation.current_run(session, month) is None:
        raise NotFoundError(f"{month} is not posted; a battery's month has figures only once it is")
    assets = []
    for code, m in sorted(storage_month(session, month).items()):
        s = m.split
        holders = [{"holder": h.holder, "charged_wh": h.charged_wh, "discharged_wh": h.discharged_wh,
                    "net_wh": h.net_wh, "cents": None if h.holder == COOP else m.cents.get(h.holder, 0)}
                   for h in s.holders if member_number is None or h.holder == member_number]
        assets.append({"asset_code": code, "asset_name": m.asset_name, "charged_wh": s.charged_wh,
                       "discharged_wh": s.discharged_wh, "net_wh": s.net_wh, "holders": holders})
    return {"period": month, "assets": assets}
