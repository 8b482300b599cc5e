"""Benchmark: the credits API for a co-op of 100,000 members with a year of posted credits (SPEC section 12).

    python benchmarks/web_api.py                          # SQLite in a temporary folder
    python benchmarks/web_api.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_api
    python benchmarks/web_api.py --members 20000 --seconds 10     # smaller, quicker

Not a test. What it does:

1. builds the co-op with bulk inserts, *not* through the services (posting twelve months of 100,000 members
   x 50 assets through ``services.credits.allocation`` would take far longer than the measurement itself): members,
   50 solar assets with a share register (each member issued shares in 1 to ``--max-assets`` assets, 2 on
   average), a year of 15-minute production readings of every asset up to today (about 1.9 million), stored
   hourly forecasts around today, a credit rate, the 12 allocation runs of the last twelve months and for
   each month one ledger entry per member and asset held, hash-chained exactly as ``services.ledger.append``
   would chain them; plus one auditor with an API token. ``--keep DIR`` builds it once and reuses it;
2. starts ``energy-coop serve`` on 127.0.0.1 in a subprocess (gunicorn: ``--workers`` processes x
   ``--threads`` threads);
3. fires ``--clients`` concurrent clients (threads, keep-alive ``http.client`` connections) at the trivial
   endpoint ``GET /api/v1/me`` and at ``GET /api/v1/members/{n}/credits`` for random members, one after the
   other, each for ``--seconds`` after a short warm-up; then signs the auditor in through the sign-in form and
   requests the member dashboard page ``/members/{n}`` of random members the same way; every request is
   checked for status 200;
4. prints one JSON document: p50/p95 latency [ms] and throughput [requests/s] of the three, the ratio of the
   credits throughput to the trivial one (target >= 1/3) and whether each p95 < 100 ms, with the machine.

Both endpoints pay the same bearer-token sign-in, so the ratio isolates the credits query and its JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zoneinfo import ZoneInfo

import numpy as np

from energy_coop.calc.credits.chain import GENESIS, entry_content, entry_hash
from energy_coop.db import dispose_all, get_engine, get_sessionmaker
from energy_coop.migrate import upgrade
from web.server import default_workers

ASSETS = 50
INTERVAL = 900  # [s] 15-minute readings


def last_twelve_months(today: dt.date) -> list[str]:
    """The twelve whole months before ``today``'s month, oldest first (YYYY-MM)."""
    out = []
    year, month = today.year, today.month
    for _ in range(12):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        out.append(f"{year}-{month:02d}")
    return out[::-1]


PERIODS = last_twelve_months(dt.date.today())
AUDITOR = "bench-auditor@example.org"


# ------------------------------------------------------------------------------------------------ the co-op


def _store_time(value: dt.datetime, dialect: str):
    """A UTC timestamp as the models store it (naive text on SQLite, aware on PostgreSQL)."""
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if dialect == "sqlite" else value


def build(url: str, members: int, max_assets: int, seed: int = 12) -> dict[str, object]:
    """Write the co-op with bulk inserts; return the counts, the build time [s] and the auditor's token."""
    t0 = time.perf_counter()
    upgrade(url)
    dispose_all()
    rng = random.Random(seed)
    engine = get_engine(url)
    dialect = engine.dialect.name
    ph = "?" if dialect == "sqlite" else "%s"

    def many(conn, sql: str, rows) -> None:
        conn.exec_driver_sql(sql.replace("?", ph), rows)

    def bulk(conn, table: str, columns: list[str], rows) -> None:
        """COPY on PostgreSQL, executemany on SQLite."""
        if dialect == "postgresql":
            with conn.connection.driver_connection.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            many(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)

    holdings = [sorted(rng.sample(range(1, ASSETS + 1), rng.randint(1, max_assets))) for _ in range(members)]
    entries = 0
    prev = GENESIS
    seq = 0
    total_wh = total_cents = 0
    zone = ZoneInfo("America/New_York")
    first_day = dt.date.fromisoformat(PERIODS[0] + "-01")
    today = dt.date.today()
    with engine.begin() as conn:
        many(conn, "INSERT INTO members (id, member_number, name, member_type, low_income) VALUES (?, ?, ?, ?, ?)",
             [(i, f"M{i:06d}", f"Member {i}", "household", False) for i in range(1, members + 1)])
        many(conn, "INSERT INTO meters (id, code, kind) VALUES (?, ?, ?)",
             [(a, f"PM-{a:02d}", "production") for a in range(1, ASSETS + 1)])
        many(conn, "INSERT INTO assets (id, asset_code, name, kind, meter_id, timezone, latitude, longitude, "
                   "total_shares, capacity_kw_dc, capacity_kw_ac, tilt_deg, azimuth_deg, losses_pct, array_type) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [(a, f"A{a:02d}", f"Array {a}", "solar", a, "America/New_York", 36.07, -79.79, 1_000_000,
               500.0, 420.0, 20.0, 180.0, 14.0, "fixed_open_rack") for a in range(1, ASSETS + 1)])
        many(conn, "INSERT INTO credit_rates (id, valid_from, scope, asset_id, rate_micros) VALUES (?, ?, ?, ?, ?)",
             [(1, _store_time(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dialect), "*", None, 100_000)])
        # the share register: each member was issued shares in each asset they hold before the first month
        issued = (first_day - dt.timedelta(days=1)).isoformat()
        many(conn, "INSERT INTO share_transactions (id, ref, date, asset_id, kind, member_id, from_member_id, "
                   "shares, price_per_share_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [(k, f"I{k}", issued, a, "issue", m, None, rng.randint(1, 40), 1000)
              for k, (m, a) in enumerate(((m, a) for m, assets in enumerate(holdings, start=1) for a in assets),
                                         start=1)])
        # a year of 15-minute production readings of every asset, from the first month to the end of today
        many(conn, "INSERT INTO import_batches (id, file_name, sha256, format, imported_by, imported_at, status, "
                   "meters, accepted, unchanged, revised, rejected, notes) "
                   "VALUES (1, 'benchmark.csv', ?, 'csv', 'benchmark', ?, 'imported', '[]', 0, 0, 0, 0, '[]')",
             [("0" * 64, _store_time(dt.datetime.now(dt.UTC), dialect))])
        start = int(dt.datetime.combine(first_day, dt.time(0), tzinfo=zone).timestamp())
        end = int(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=zone).timestamp())
        starts = np.arange(start, end, INTERVAL, dtype=np.int64)
        hours = ((starts - 5 * 3600) % 86400) / 3600 + INTERVAL / 7200  # [h] local (UTC-5) at the midpoint
        shape = np.clip(np.sin(np.pi * (hours - 6) / 12), 0, None)  # clear-sky-ish day, 0 at night
        peak_mwh = 420 * 1_000_000 * INTERVAL // 3600  # [mWh] 420 kW AC for one interval
        reading_id = 0
        for a in range(1, ASSETS + 1):
            weather = np.random.default_rng(a).uniform(0.3, 1.0, len(starts))
            mwh = (shape * weather * peak_mwh).astype(np.int64)
            rows = [(reading_id + i + 1, a, int(s_), int(s_) + INTERVAL, int(v), "actual", 1)
                    for i, (s_, v) in enumerate(zip(starts, mwh))]
            reading_id += len(rows)
            bulk(conn, "readings", ["id", "meter_id", "start", '"end"', "mwh", "quality", "batch_id"], rows)
        # stored hourly forecasts for the dashboard's fortnight and the week ahead
        f_start = int(dt.datetime.combine(today - dt.timedelta(days=20), dt.time(0), tzinfo=zone).timestamp())
        f_end = int(dt.datetime.combine(today + dt.timedelta(days=8), dt.time(0), tzinfo=zone).timestamp())
        f_starts = np.arange(f_start, f_end, 3600, dtype=np.int64)
        f_hours = ((f_starts - 5 * 3600) % 86400) / 3600 + 0.5
        f_wh = (np.clip(np.sin(np.pi * (f_hours - 6) / 12), 0, None) * 0.7 * 420_000).astype(np.int64)
        computed = _store_time(dt.datetime.now(dt.UTC), dialect)
        bulk(conn, "forecasts", ["id", "asset_id", "start", '"end"', "wh", "wh_low", "wh_high", "source",
                                 "computed_at"],
             [(k * len(f_starts) + i + 1, a, int(s_), int(s_) + 3600, int(w), int(w) // 2, int(w), "typical",
               computed) for k, a in enumerate(range(1, ASSETS + 1)) for i, (s_, w) in enumerate(zip(f_starts, f_wh))])
        for run_id, period in enumerate(PERIODS, start=1):
            created = dt.datetime.fromisoformat(period + "-01").replace(tzinfo=dt.UTC) + dt.timedelta(days=33)
            created = created.replace(day=3, hour=2)
            rows = []
            run_wh = run_cents = 0
            for member_id, assets in enumerate(holdings, start=1):
                number = f"M{member_id:06d}"
                for asset_id in assets:
                    seq += 1
                    wh = rng.randint(20_000, 400_000)  # [Wh]
                    cents = wh // 10  # [cents] at 0.10 per kWh
                    code = f"A{asset_id:02d}"
                    digest = entry_hash(prev, entry_content(seq, "allocation", number, period, code, wh, cents,
                                                            run_id, None, None, created))
                    rows.append((seq, "allocation", member_id, period, period, asset_id, wh, cents, run_id, None, None,
                                 _store_time(created, dialect), prev, digest))
                    prev = digest
                    run_wh += wh
                    run_cents += cents
            many(conn, "INSERT INTO allocation_runs (id, period, generation, posted_at, posted_by, allow_gaps, "
                       "inputs_sha256, total_wh, total_cents, member_wh, member_cents, entries, document, "
                       "superseded) VALUES (?, ?, 1, ?, 'benchmark', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 [(run_id, period, _store_time(created, dialect), False, "0" * 64, run_wh, run_cents, run_wh,
                   run_cents, len(rows), "{}", False)])
            many(conn, "INSERT INTO ledger_entries (seq, kind, member_id, period, booked, asset_id, wh, cents, "
                       "run_id, reverses_seq, memo, created_at, prev_hash, hash) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 rows)
            entries += len(rows)
            total_wh += run_wh
            total_cents += run_cents
        many(conn, "UPDATE ledger_head SET last_seq = ?, last_hash = ?, entries = ?, total_wh = ?, total_cents = ? "
                   "WHERE id = 1", [(seq, prev, entries, total_wh, total_cents)])
        if dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    if dialect == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:  # what autovacuum does soon after a bulk load: visibility map set, so index-only scans stay in the index
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    from energy_coop.services.accounts import users

    with get_sessionmaker(url).begin() as s:
        users.add_user(s, AUDITOR, "auditor", "benchmark-password", actor="benchmark")
        token = users.new_token(s, AUDITOR, actor="benchmark")
    dispose_all()
    return {"members": members, "assets": ASSETS, "months": len(PERIODS), "ledger_entries": entries,
            "build_s": round(time.perf_counter() - t0, 1), "token": token}


# ------------------------------------------------------------------------------------------------ the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int | None, threads: int, workdir: Path) -> tuple[subprocess.Popen, int]:
    """``energy-coop serve`` (as a user would start it) on a free port."""
    port = free_port()
    env = {**os.environ, "ENERGY_COOP_INSTANCE": str(workdir / "instance"), "PYTHONPATH": str(ROOT),
           "ENERGY_COOP_COOKIE_SECURE": "0"}  # plain http on loopback
    command = [sys.executable, "-c", "from energy_coop.cli import main; main()", "serve", "--db", url,
               "--port", str(port), "--threads", str(threads)]
    if workers:
        command += ["--workers", str(workers)]
    proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start within 60 s")


# ------------------------------------------------------------------------------------------------ the load


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def login_cookie(port: int) -> str:
    """Sign the auditor in through the sign-in form, as a browser would; return the session ``Cookie`` header."""
    import re
    from http.cookies import SimpleCookie
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    html = response.read().decode()
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = urlencode({"email": AUDITOR, "password": "benchmark-password", "csrf_token": token})
    conn.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v.value}" for k, v in jar.items())})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"sign-in failed: {response.status}")
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    conn.close()
    return "; ".join(f"{k}={v.value}" for k, v in jar.items())


def fire(port: int, token: str | dict[str, str], paths, clients: int, seconds: float,
         max_requests: int) -> dict[str, float]:
    """``clients`` threads, each on one keep-alive connection, requesting ``paths()`` until ``seconds`` pass
    (or ``max_requests`` in all); returns latency percentiles [ms] and throughput [requests/s]."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds
    budget = threading.Semaphore(max_requests)
    headers = token if isinstance(token, dict) else {"Authorization": f"Bearer {token}"}

    def client(k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = latencies[k]
        try:
            while time.perf_counter() < stop_at and budget.acquire(blocking=False):
                path = paths(rng)
                t = time.perf_counter()
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                mine.append(time.perf_counter() - t)
                if response.status != 200:
                    errors.append(f"{path}: {response.status} {body[:200]!r}")
                    return
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError("requests failed: " + "; ".join(errors[:3]))
    values = sorted(v for per in latencies for v in per)
    return {"requests": len(values), "seconds": round(elapsed, 2),
            "p50_ms": round(1000 * percentile(values, 0.50), 2), "p95_ms": round(1000 * percentile(values, 0.95), 2),
            "throughput_rps": round(len(values) / elapsed, 1)}


def machine() -> dict[str, object]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "date": dt.date.today().isoformat()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", metavar="URL", help="benchmark on this (emptied) PostgreSQL database instead")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--max-assets", type=int, default=3, help="each member holds 1..N of the 50 assets")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes (default: energy-coop serve's, one per CPU core, at least 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per server process")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per endpoint [s]")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per endpoint")
    parser.add_argument("--warmup", type=float, default=40.0, help="dashboard warm-up before measuring [s]")
    parser.add_argument("--keep", metavar="DIR", help="build the co-op in DIR and reuse it on later runs with the "
                                                      "same sizes (default: a temporary folder, rebuilt each run)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.keep:
            workdir = Path(args.keep).resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="energy-coop-bench-")))
        url = args.pg or f"sqlite:///{workdir / 'bench.db'}"
        saved = workdir / ("built-pg.json" if args.pg else "built.json")
        wanted = {"members": args.members, "max_assets": args.max_assets, "periods": PERIODS}
        built = json.loads(saved.read_text()) if args.keep and saved.exists() else None
        if built is None or built.get("wanted") != wanted:
            if args.pg:
                from sqlalchemy import create_engine, text

                engine = create_engine(url)
                with engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
                engine.dispose()
            else:
                (workdir / "bench.db").unlink(missing_ok=True)
            built = build(url, args.members, args.max_assets)
            built["wanted"] = wanted
            saved.write_text(json.dumps(built))
        else:
            upgrade(url)  # a co-op kept from an earlier version of the software: migrate it as a user would
            dispose_all()
        built = dict(built)
        built.pop("wanted")
        token = built.pop("token")
        proc, port = start_server(url, args.workers, args.threads, workdir)
        try:
            def me(rng):
                return "/api/v1/me"

            def credits(rng):
                return f"/api/v1/members/M{rng.randint(1, args.members):06d}/credits"

            fire(port, token, me, args.clients, 2.0, 2_000)  # warm-up: connections, imports, caches
            fire(port, token, credits, args.clients, 2.0, 2_000)
            trivial = fire(port, token, me, args.clients, args.seconds, args.max_requests)
            measured = fire(port, token, credits, args.clients, args.seconds, args.max_requests)
            # the member dashboard page (server-rendered), read by a signed-in auditor for random members
            cookie = {"Cookie": login_cookie(port)}

            def dashboard(rng):
                return f"/members/M{rng.randint(1, args.members):06d}"

            # warm-up: every server process works out each asset's typical month once (pvlib), then remembers it
            fire(port, cookie, dashboard, args.clients, args.warmup, 100_000)
            page = fire(port, cookie, dashboard, args.clients, args.seconds, args.max_requests)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    ratio = measured["throughput_rps"] / trivial["throughput_rps"]
    print(json.dumps({
        "benchmark": "web_api credits", "database": "postgresql" if args.pg else "sqlite",
        "clients": args.clients, "server": {"workers": args.workers or default_workers(), "threads": args.threads},
        "co_op": built,
        "trivial_me": trivial, "credits": measured, "member_dashboard": page,
        "credits_vs_trivial_throughput": round(ratio, 3),
        "targets": {"credits_p95_under_100ms": measured["p95_ms"] < 100, "ratio_at_least_one_third": ratio >= 1 / 3,
                    "dashboard_p95_under_100ms": page["p95_ms"] < 100},
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
