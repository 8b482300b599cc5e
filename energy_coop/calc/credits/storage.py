"""A storage asset's month as energy charged and discharged per holder, exactly (SPEC 5 and 6, issue 15).

A battery's meter is signed: a reading is negative while the battery charges and positive while it discharges
(``importers.metering``; the demo's ``BAT-HUB``). The allocation (:mod:`.allocation`) splits the month's *net*
energy, which for a battery is negative (it gives back less than it takes in) while its value is positive (it
takes energy in at cheap hours and gives it back in dear ones). A member reads "-3.000 kWh worth +6.30" badly;
this module says the same thing as two non-negative figures per holder:

* the month's discharged total ``D = round_half_even(Σ positive mWh, 1000)`` [Wh] (rounded once, as SPEC 5
  step 5) is split over the holders by the allocation's own rule (:func:`.allocation.allocate_asset`: energy
  weighted by each day's shares, largest remainder, ties to the key that sorts first, ``COOP`` last);
* a holder's charged energy is ``charged_m = discharged_m - net_m``, where ``net_m`` [Wh] is the net energy
  posted to that holder (the ledger's figure), so ``discharged_m - charged_m == net_m`` for every holder and the
  charged parts sum to ``D - Σ net_m``.

Both are exact integers [Wh]. Charging is never negative where that is possible at all: a holder whose exact
charge is below 1 Wh may come out at -1 from the two roundings; one Wh of discharge then moves to them from a
holder with room to give it (largest charge first, ties to the key that sorts first), which keeps both sums and
every identity. Only when the rounded net parts themselves exceed what was discharged (fractions of a Wh spread
over holders) can no split be both exact and non-negative; the sums and identities still hold then.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from energy_coop.calc.credits.allocation import COOP, allocate_asset, daily_totals

__all__ = ["StorageHolder", "StorageSplit", "discharged_by_day", "split_storage", "storage_parts"]


class StorageHolder(NamedTuple):
    """One holder's part of a storage asset's month [Wh]: ``discharged_wh - charged_wh == net_wh``."""

    holder: str
    charged_wh: int
    discharged_wh: int
    net_wh: int


@dataclass(frozen=True, slots=True)
class StorageSplit:
    """A storage asset's month [Wh]: totals and ``holders`` (members by member number, then ``COOP``); each
    column of ``holders`` sums exactly to the total of the same name."""

    asset_code: str
    charged_wh: int
    discharged_wh: int
    net_wh: int
    holders: tuple[StorageHolder, ...]

    def holder(self, key: str) -> StorageHolder | None:
        """The part of member number ``key`` (or ``COOP``); ``None`` when they had no part this month."""
        for part in self.holders:
            if part.holder == key:
                return part
        return None


def _sort_key(holder: str) -> tuple[int, str]:
    return (1, "") if holder == COOP else (0, holder)


def discharged_by_day(starts_utc: np.ndarray, mwh: np.ndarray, timezone: str | ZoneInfo,
                      days: Sequence[date]) -> list[int]:
    """Energy given out per local day of ``days`` [mWh]: the sum of the positive readings (charging, negative,
    counts 0). ``starts_utc`` [UTC epoch s] and ``mwh`` [mWh] one element per reading, as
    :func:`.allocation.daily_totals`, whose day rule (the local date of the start) is used."""
    out = np.maximum(np.asarray(mwh, dtype=np.int64), 0)
    energy, _ = daily_totals(starts_utc, out, np.zeros(len(out), dtype=np.int64), timezone, days)
    return energy


def storage_parts(asset_code: str, discharged: Mapping[str, int], net: Mapping[str, int]) -> StorageSplit:
    """Charged and discharged parts [Wh] from each holder's ``discharged`` part (summing to the month's
    discharged total) and ``net`` part (the posted net energy): ``charged = discharged - net`` per holder, then
    the repair of the module docstring so no holder is shown charging a negative amount where avoidable.

    A holder missing from one mapping counts 0 there. Totals: ``discharged_wh = Σ discharged``,
    ``net_wh = Σ net``, ``charged_wh = discharged_wh - net_wh``.
    """
    for name, parts in (("discharged", discharged), ("net", net)):
        for key, value in parts.items():
            if not isinstance(key, str):
                raise TypeError(f"holder keys must be text, got {key!r}")
            if type(value) is not int:  # noqa: E721 - bool and float are refused on purpose
                raise TypeError(f"{name} energy of {key} must be whole Wh, got {value!r}")
    if any(v < 0 for v in discharged.values()):
        raise ValueError(f"asset {asset_code}: a discharged part is negative")
    keys = sorted(set(discharged) | set(net), key=_sort_key)
    dis = {k: discharged.get(k, 0) for k in keys}
    nets = {k: net.get(k, 0) for k in keys}

    def floor_of(k: str) -> int:  # the least discharge that keeps both figures of k non-negative
        return max(0, nets[k])

    short = [k for k in keys if dis[k] < floor_of(k)]
    if short:
        givers = [(nets[k] - dis[k], _sort_key(k), k) for k in keys if dis[k] > floor_of(k)]
        heapq.heapify(givers)  # largest charge first, ties to the key that sorts first
        for taker in short:
            while dis[taker] < floor_of(taker) and givers:
                _, order, giver = heapq.heappop(givers)
                dis[giver] -= 1
                dis[taker] += 1
                if dis[giver] > floor_of(giver):
                    heapq.heappush(givers, (nets[giver] - dis[giver], order, giver))
    holders = tuple(StorageHolder(k, dis[k] - nets[k], dis[k], nets[k]) for k in keys)
    d_total, n_total = sum(dis.values()), sum(nets.values())
    return StorageSplit(asset_code, d_total - n_total, d_total, n_total, holders)


def split_storage(asset_code: str, total_shares: int, days: Sequence[date], discharged_mwh_by_day: Sequence[int],
                  holdings: Mapping[str, Sequence[tuple[date, int]]], net: Mapping[str, int]) -> StorageSplit:
    """A storage asset's month split into charged and discharged energy per holder [Wh].

    ``discharged_mwh_by_day`` [mWh] aligned with ``days`` (:func:`discharged_by_day`); ``total_shares``,
    ``days`` and ``holdings`` as :func:`.allocation.allocate_asset`, which splits the discharged total
    (``round_half_even(Σ, 1000)`` [Wh]) by the allocation's rule; ``net`` {holder: posted net energy [Wh]},
    members and ``COOP``. See :func:`storage_parts` for the rest.
    """
    zeros = [0] * len(days)
    split = allocate_asset(asset_code, total_shares, days, discharged_mwh_by_day, zeros, holdings)
    return storage_parts(asset_code, {p.holder: p.wh for p in split.holders}, net)
