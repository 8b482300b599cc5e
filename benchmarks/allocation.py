"""Benchmark: draft and post one month for a co-op of 100,000 members x 50 assets (SPEC section 12).

    python benchmarks/allocation.py                     # SQLite in a temporary folder
    python benchmarks/allocation.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

The co-op is written with bulk inserts (members, 50 assets, each member holding 1 to 3 assets, 1 % of the
holdings changing on the 15th, a time-of-use tariff, 15-minute readings for the whole month), then:

* draft: ``services.allocation.compute`` for 2024-03 (target: under 10 s on one core);
* post: ``services.allocation.post`` (draft + run + hash-chained ledger entries, one transaction);
* baseline, in the same run: a plain DB-API ``executemany`` of the same ledger rows into an empty copy of the
  ``ledger_entries`` table (same columns, indexes and triggers), one transaction (target: post's writing,
  i.e. post minus draft, within 2x of it).

Prints a JSON document with the figures and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from energy_coop.calc.credits.allocation import month_days  # noqa: E402
from energy_coop.db import dispose_all, get_engine, get_sessionmaker  # noqa: E402
from energy_coop.migrate import upgrade  # noqa: E402
from energy_coop.services.credits import allocation  # noqa: E402

PERIOD = "2024-03"
TIMEZONE = "America/New_York"
_, START, END = month_days(PERIOD, TIMEZONE)  # the local month [UTC epoch s], 743 hours (DST starts)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(url: str, members: int, assets: int, seed: int = 1) -> dict[str, int]:
    rng = random.Random(seed)
    engine = get_engine(url)
    ph = "?" if engine.dialect.name == "sqlite" else "%s"

    def many(conn, sql: str, rows: list[tuple]) -> None:
        conn.exec_driver_sql(sql.replace("?", ph), rows)

    with engine.begin() as conn:
        many(conn, "INSERT INTO members (id, member_number, name, member_type, low_income) VALUES (?, ?, ?, ?, ?)",
             [(i + 1, f"M{i + 1:06d}", f"Member {i + 1}", "household", False) for i in range(members)])
        many(conn, "INSERT INTO meters (id, code, kind) VALUES (?, ?, ?)",
             [(a + 1, f"PM-{a + 1:02d}", "production") for a in range(assets)])
        total_shares = 1_000_000
        many(conn, "INSERT INTO assets (id, asset_code, name, kind, meter_id, timezone, latitude, longitude, "
                   "total_shares, capacity_kw_dc, capacity_kw_ac, tilt_deg, azimuth_deg, losses_pct, array_type) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [(a + 1, f"A{a + 1:02d}", f"Array {a + 1}", "solar", a + 1, TIMEZONE, 36.07, -79.79,
               total_shares, 500.0, 400.0, 20.0, 180.0, 14.0, "fixed_open_rack") for a in range(assets)])
        txns = []
        holdings = 0
        for m in range(members):
            for a in rng.sample(range(assets), rng.randint(1, 3)):
                holdings += 1
                txns.append((len(txns) + 1, f"I{len(txns) + 1}", "2024-01-01", a + 1, "issue", m + 1, None,
                             rng.randint(1, 8)))
        changed = rng.sample(range(len(txns)), len(txns) // 100)
        for idx in changed:  # 1 % of holdings give one share to another member on the 15th
            _, _, _, asset_id, _, member_id, _, shares = txns[idx]
            to = rng.randrange(members) + 1
            if to != member_id:
                txns.append((len(txns) + 1, f"T{len(txns) + 1}", "2024-03-15", asset_id, "transfer", to, member_id,
                             1))
        many(conn, "INSERT INTO share_transactions (id, ref, date, asset_id, kind, member_id, from_member_id, shares)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", txns)
        rates = [(1, dt.datetime(2024, 1, 1), "*", None, 100_000)]
        day = dt.date(2024, 3, 1)
        while day < dt.date(2024, 4, 1):
            base = dt.datetime.combine(day, dt.time(0))
            rates.append((len(rates) + 1, base + dt.timedelta(hours=20), "*", None, 160_000))
            rates.append((len(rates) + 1, base + dt.timedelta(hours=25), "*", None, 90_000))
            day += dt.timedelta(days=1)
        if engine.dialect.name != "sqlite":
            rates = [(i, t.replace(tzinfo=dt.timezone.utc), s, a, r) for i, t, s, a, r in rates]
        many(conn, "INSERT INTO credit_rates (id, valid_from, scope, asset_id, rate_micros) VALUES (?, ?, ?, ?, ?)",
             rates)
        many(conn, "INSERT INTO import_batches (id, file_name, sha256, format, imported_by, imported_at, status, "
                   "meters, accepted, unchanged, revised, rejected, notes) "
                   "VALUES (1, 'bench', 'x', 'csv', 'bench', ?, 'imported', '[]', 0, 0, 0, 0, '[]')",
             [(dt.datetime(2024, 4, 2) if engine.dialect.name == "sqlite"
               else dt.datetime(2024, 4, 2, tzinfo=dt.timezone.utc),)])
        readings = []
        for a in range(assets):
            for t in range(START, END, 900):
                hour = (t // 3600) % 24
                mwh = max(0, 6 - abs(hour - 17)) * rng.randint(90_000, 110_000)
                readings.append((a + 1, t, t + 900, mwh, "actual", 1))
        many(conn, 'INSERT INTO readings (meter_id, start, "end", mwh, quality, batch_id) VALUES (?, ?, ?, ?, ?, ?)',
             readings)
    return {"members": members, "assets": assets, "holdings": holdings, "share_transactions": len(txns),
            "readings": len(readings), "rate_rows": len(rates)}


def baseline_insert(url: str, rows: list[tuple]) -> float:
    engine = get_engine(url)
    ph = "?" if engine.dialect.name == "sqlite" else "%s"
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ledger_baseline (seq, kind, member_id, period, asset_id, wh, cents, run_id, reverses_seq, "
            "memo, created_at, prev_hash, hash) VALUES (" + ", ".join([ph] * 13) + ")", rows)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL (a schema bench_alloc is created and dropped there)")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--assets", type=int, default=50)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-alloc-")
    if args.pg:
        engine = get_engine(args.pg)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_alloc CASCADE"))
            conn.execute(text("CREATE SCHEMA bench_alloc"))
        url = args.pg + ("&" if "?" in args.pg else "?") + "options=-csearch_path%3Dbench_alloc"
    else:
        url = f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    dispose_all()
    t0 = time.perf_counter()
    sizes = build(url, args.members, args.assets)
    build_s = time.perf_counter() - t0

    factory = get_sessionmaker(url)
    t0 = time.perf_counter()
    with factory.begin() as s:
        draft = allocation.compute(s, PERIOD, today=dt.date(2024, 4, 5))
    draft_s = time.perf_counter() - t0
    holders = sum(len(a.holders) for a in draft.allocation.assets)

    t0 = time.perf_counter()
    with factory.begin() as s:
        posted = allocation.post(s, PERIOD, actor="bench", today=dt.date(2024, 4, 5))
    post_s = time.perf_counter() - t0

    engine = get_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ledger_entries'").scalar_one()
            conn.exec_driver_sql(ddl.replace("ledger_entries", "ledger_baseline", 1))
            conn.exec_driver_sql("CREATE UNIQUE INDEX ix_baseline_hash ON ledger_baseline (hash)")
            conn.exec_driver_sql("CREATE INDEX ix_baseline_member ON ledger_baseline (member_id)")
            conn.exec_driver_sql("CREATE INDEX ix_baseline_period ON ledger_baseline (period)")
            conn.exec_driver_sql("CREATE INDEX ix_baseline_run ON ledger_baseline (run_id)")
        else:
            conn.exec_driver_sql("CREATE TABLE ledger_baseline (LIKE ledger_entries INCLUDING ALL)")
        rows = [tuple(r) for r in conn.exec_driver_sql(
            "SELECT seq, kind, member_id, period, asset_id, wh, cents, run_id, reverses_seq, memo, created_at, "
            "prev_hash, hash FROM ledger_entries ORDER BY seq")]
    base_s = baseline_insert(url, rows)
    result = {
        "database": engine.dialect.name,
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python "
                   f"{platform.python_version()}",
        "date": dt.date.today().isoformat(),
        **sizes,
        "holders_in_document": holders,
        "ledger_entries": len(rows),
        "build_s": round(build_s, 2),
        "draft_s": round(draft_s, 2),
        "post_s": round(post_s, 2),
        "post_writing_s": round(post_s - draft_s, 2),
        "baseline_executemany_s": round(base_s, 2),
        "post_total_vs_baseline": round(post_s / base_s, 2),
        "post_writing_vs_baseline": round((post_s - draft_s) / base_s, 2),
        "total_cents": posted.allocation.total_cents,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    print(json.dumps(result, indent=2))
    if args.pg:
        dispose_all()
        with get_engine(args.pg).begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_alloc CASCADE"))


if __name__ == "__main__":
    main()
