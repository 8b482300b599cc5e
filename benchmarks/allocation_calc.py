"""Micro-benchmark of the pure allocation calc (SPEC 12: allocate 100,000 members x 50 assets, draft < 10 s).

Synthetic co-op: 100,000 members each holding 1-3 of 50 assets (~200,000 holdings), 1 % of holdings changing
mid-month by transfer, 31 days x 96 quarter-hours of readings per asset, a time-of-use tariff (3 blank rows a
day) with 5 assets on their own rate. Times only the calc (no database): rates lookup, day sums, holdings
timelines, per-asset split, per-member sums and the JSON document. Register validation is timed apart (it runs
when shares.csv is loaded, not when allocating).

    python benchmarks/allocation_calc.py [--members 100000] [--assets 50] [--seed 1]
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from datetime import date, timedelta
from fractions import Fraction

import numpy as np

from energy_coop.calc.credits.allocation import (
    allocate_asset,
    allocate_period,
    daily_totals,
    expected_intervals,
    month_days,
)
from energy_coop.calc.credits.holdings import ShareTransaction, holdings_timelines, validate_register
from energy_coop.calc.credits.rates import rates_for_asset

PERIOD = "2024-03"
TZ = "Europe/London"


def build(n_members: int, n_assets: int, seed: int):
    rng = random.Random(seed)
    days, start, end = month_days(PERIOD, TZ)
    assets = [f"A{i:02d}" for i in range(n_assets)]
    members = [f"{100000 + i}" for i in range(n_members)]
    txs: list[ShareTransaction] = []
    held: dict[str, list[tuple[str, int]]] = {a: [] for a in assets}
    for m in members:
        for a in rng.sample(assets, rng.randint(1, 3)):
            shares = rng.randint(1, 20)
            txs.append(
                ShareTransaction(
                    f"i{len(txs)}",
                    date(2023, 1, 1) + timedelta(days=rng.randint(0, 420)),
                    a,
                    "issue",
                    m,
                    None,
                    shares,
                )
            )
            held[a].append((m, shares))
    n_holdings = len(txs)
    totals = {a: sum(s for _, s in held[a]) + 1000 for a in assets}  # the co-op keeps 1000 of each
    for a in assets:
        for m, shares in rng.sample(held[a], max(1, len(held[a]) // 100)):
            txs.append(
                ShareTransaction(
                    f"t{len(txs)}",
                    days[0] + timedelta(days=rng.randint(1, 30)),
                    a,
                    "transfer",
                    rng.choice([x for x in rng.sample(members, 2) if x != m]),
                    m,
                    rng.randint(1, shares),
                )
            )
    rng.shuffle(txs)
    starts = np.arange(start, end, 900, dtype=np.int64)
    nprng = np.random.default_rng(seed)
    readings = {
        a: (starts, nprng.integers(-50_000, 250_000_000, size=len(starts), dtype=np.int64)) for a in assets
    }
    rate_rows = []
    for d in days:
        midnight = int(np.datetime64(d.isoformat(), "s").astype(np.int64))
        rate_rows += [
            (midnight, 80_000, None),
            (midnight + 16 * 3600, 310_000, None),
            (midnight + 19 * 3600, 120_000, None),
        ]
    rate_rows = [(rate_rows[0][0] - 86400, 90_000, None)] + rate_rows
    rate_rows += [(start + k * 86400, 150_000 + k, a) for k, a in enumerate(assets[:5])]
    return days, start, end, assets, totals, txs, readings, rate_rows, n_holdings


def allocate(days, start, end, assets, totals, txs, readings, rate_rows):
    timelines = holdings_timelines(txs)
    allocations, coverage = [], {}
    for a in assets:
        starts, mwh = readings[a]
        rates = rates_for_asset(rate_rows, a).lookup(starts)
        energy, value = daily_totals(starts, mwh, rates, TZ, days)
        allocations.append(allocate_asset(a, totals[a], days, energy, value, timelines.get(a, {})))
        coverage[a] = Fraction(len(starts), expected_intervals(start, end, 900))
    period = allocate_period(PERIOD, allocations, coverage)
    return period.to_document()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--assets", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data = build(args.members, args.assets, args.seed)
    days, start, end, assets, totals, txs, readings, rate_rows, n_holdings = data
    t0 = time.perf_counter()
    doc = allocate(days, start, end, assets, totals, txs, readings, rate_rows)
    t1 = time.perf_counter()
    problems = validate_register(txs, totals)
    t2 = time.perf_counter()
    n_readings = sum(len(s) for s, _ in readings.values())
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
        f"{date.today().isoformat()}"
    )
    print(
        f"{args.members} members, {len(assets)} assets, {n_holdings} holdings, {len(txs)} transactions, "
        f"{n_readings} readings"
    )
    print(
        f"allocation calc (draft document): {t1 - t0:.2f} s; {len(doc['members'])} members credited, "
        f"total {doc['total_wh']} Wh, {doc['total_cents']} cents"
    )
    print(f"register validation: {t2 - t1:.2f} s ({len(problems)} problems)")


if __name__ == "__main__":
    main()
