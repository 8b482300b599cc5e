"""Benchmark: the credits API for a co-op of 100,000 members with a year of posted credits (SPEC section 12).

    python benchmarks/web_api.py                          # SQLite in a temporary folder
    python benchmarks/web_api.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_api
    python benchmarks/web_api.py --members 20000 --seconds 10     # smaller, quicker

Not a test. What it does:

1. builds the co-op with bulk inserts, *not* through the allocation (posting twelve months of 100,000 members
   x 50 assets through ``services.allocation`` would take far longer than the measurement itself): members,
   50 solar assets, 12 allocation runs of 2024, and for each month one ledger entry per member and asset the
   member holds (1 to ``--max-assets`` assets each, 2 on average by default), hash-chained exactly as
   ``services.ledger.append`` would chain them; plus one auditor with an API token;
2. serves the app (``web.create_app``) with waitress on 127.0.0.1 in a subprocess (8 threads);
3. fires ``--clients`` concurrent clients (threads, keep-alive ``http.client`` connections) at the trivial
   endpoint ``GET /api/v1/me`` and at ``GET /api/v1/members/{n}/credits`` for random members, one after the
   other, each for ``--seconds`` after a short warm-up; every request is checked for status 200;
4. prints one JSON document: p50/p95 latency [ms] and throughput [requests/s] of both, the ratio of the
   credits throughput to the trivial one (target >= 1/3) and whether p95 < 100 ms, with the machine.

Both endpoints pay the same bearer-token sign-in, so the ratio isolates the credits query and its JSON.
"""

from __future__ import annotations

import argparse
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

from energy_coop.calc.chain import GENESIS, entry_content, entry_hash
from energy_coop.db import dispose_all, get_engine, get_sessionmaker
from energy_coop.migrate import upgrade

PERIODS = [f"2024-{m:02d}" for m in range(1, 13)]
ASSETS = 50
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

    holdings = [sorted(rng.sample(range(1, ASSETS + 1), rng.randint(1, max_assets))) for _ in range(members)]
    entries = 0
    prev = GENESIS
    seq = 0
    total_wh = total_cents = 0
    with engine.begin() as conn:
        many(conn, "INSERT INTO members (id, member_number, name, member_type, low_income) VALUES (?, ?, ?, ?, ?)",
             [(i, f"M{i:06d}", f"Member {i}", "household", False) for i in range(1, members + 1)])
        many(conn, "INSERT INTO meters (id, code, kind) VALUES (?, ?, ?)",
             [(a, f"PM-{a:02d}", "production") for a in range(1, ASSETS + 1)])
        many(conn, "INSERT INTO assets (id, asset_code, name, kind, meter_id, timezone, latitude, longitude, "
                   "total_shares) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [(a, f"A{a:02d}", f"Array {a}", "solar", a, "America/New_York", 36.07, -79.79, 1_000_000)
              for a in range(1, ASSETS + 1)])
        for run_id, period in enumerate(PERIODS, start=1):
            created = dt.datetime(2024, run_id, 1, tzinfo=dt.UTC) + dt.timedelta(days=33)
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
                    rows.append((seq, "allocation", member_id, period, asset_id, wh, cents, run_id, None, None,
                                 _store_time(created, dialect), prev, digest))
                    prev = digest
                    run_wh += wh
                    run_cents += cents
            many(conn, "INSERT INTO allocation_runs (id, period, generation, posted_at, posted_by, allow_gaps, "
                       "inputs_sha256, total_wh, total_cents, member_wh, member_cents, entries, document, "
                       "superseded) VALUES (?, ?, 1, ?, 'benchmark', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 [(run_id, period, _store_time(created, dialect), False, "0" * 64, run_wh, run_cents, run_wh,
                   run_cents, len(rows), "{}", False)])
            many(conn, "INSERT INTO ledger_entries (seq, kind, member_id, period, asset_id, wh, cents, run_id, "
                       "reverses_seq, memo, created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    from energy_coop.services import users

    with get_sessionmaker(url).begin() as s:
        users.add_user(s, AUDITOR, "auditor", "benchmark-password", actor="benchmark")
        token = users.new_token(s, AUDITOR, actor="benchmark")
    dispose_all()
    return {"members": members, "assets": ASSETS, "months": len(PERIODS), "ledger_entries": entries,
            "build_s": round(time.perf_counter() - t0, 1), "token": token}


# ------------------------------------------------------------------------------------------------ the server

SERVER = """
import logging
import sys
logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # 'Task queue depth' is the load we asked for
from waitress import serve
from energy_coop.config import load_config
from web import create_app
app = create_app(load_config(sys.argv[1]))
serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=int(sys.argv[3]), _quiet=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, threads: int, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "ENERGY_COOP_INSTANCE": str(workdir / "instance"), "PYTHONPATH": str(ROOT),
           "ENERGY_COOP_COOKIE_SECURE": "0"}  # plain http on loopback
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port), str(threads)], env=env, cwd=workdir)
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
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per endpoint [s]")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per endpoint")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="energy-coop-bench-") as folder:
        workdir = Path(folder)
        if args.pg:
            url = args.pg
            from sqlalchemy import create_engine, text

            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        else:
            url = f"sqlite:///{workdir / 'bench.db'}"
        built = build(url, args.members, args.max_assets)
        token = built.pop("token")
        proc, port = start_server(url, args.threads, workdir)
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

            fire(port, cookie, dashboard, args.clients, 8.0, 4_000)  # warm-up: each asset's typical month
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
        "clients": args.clients, "server_threads": args.threads, "co_op": built,
        "trivial_me": trivial, "credits": measured, "member_dashboard": page,
        "credits_vs_trivial_throughput": round(ratio, 3),
        "targets": {"credits_p95_under_100ms": measured["p95_ms"] < 100, "ratio_at_least_one_third": ratio >= 1 / 3,
                    "dashboard_p95_under_100ms": page["p95_ms"] < 100},
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
