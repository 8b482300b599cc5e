"""Benchmark: import 2.88 million 15-minute readings from one CSV (SPEC section 12).

    python benchmarks/imports.py                        # SQLite
    python benchmarks/imports.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Writes a CSV of 1,000 meters x 30 days x 96 readings, then in the same run, each into a freshly migrated
database with the same 1,000 meters registered:

* baseline: the same rows (already parsed) inserted into the same ``readings`` table in one transaction with a
  plain DB-API ``executemany`` (SQLite) or ``COPY`` (PostgreSQL);
* ours: ``energy-coop import FILE`` as a separate process (parse, validate, dedupe, store, audit), so its
  peak resident memory is measured on its own (``/usr/bin/time``-style, from ``wait4``).

Prints a JSON document: times, rows/s, the ratio to the baseline (target <= 3) and peak RSS (bounded: the file
is streamed in chunks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from energy_coop.db import dispose_all, get_engine  # noqa: E402
from energy_coop.migrate import upgrade  # noqa: E402

START = int(dt.datetime(2024, 4, 1, tzinfo=dt.timezone.utc).timestamp())


def write_csv(path: Path, meters: int, days: int) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write("meter_code,start,end,kwh,quality\n")
        for m in range(meters):
            code = f"PM-{m:04d}"
            for k in range(days * 96):
                t = START + k * 900
                s = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                e = dt.datetime.fromtimestamp(t + 900, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                fh.write(f"{code},{s},{e},{(k * 37 + m) % 5000 / 1000:.3f},actual\n")
                n += 1
    return n


def fresh(url_base: str | None, tmp: str, name: str, meters: int) -> str:
    if url_base:
        engine = get_engine(url_base)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {name}"))
        url = url_base + ("&" if "?" in url_base else "?") + f"options=-csearch_path%3D{name}"
    else:
        url = f"sqlite:///{tmp}/{name}.db"
    upgrade(url)
    dispose_all()
    engine = get_engine(url)
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO meters (id, code, kind) VALUES ({mark}, {mark}, 'production')",
                             [(m + 1, f"PM-{m:04d}") for m in range(meters)])
    return url


def baseline(url: str, path: Path) -> float:
    """Parse the CSV up front (not timed), then time only the insert of the same rows in one transaction."""
    rows = []
    with path.open() as fh:
        next(fh)
        for line in fh:
            code, s, e, kwh, q = line.rstrip("\n").split(",")
            t = int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())
            rows.append((int(code[3:]) + 1, t, t + 900, int(round(float(kwh) * 1_000_000)), q, 1))
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO import_batches (id, file_name, sha256, format, imported_by, imported_at, "
                             "status, meters, accepted, unchanged, revised, rejected, notes) VALUES "
                             "(1, 'b', 'b', 'csv', 'b', CURRENT_TIMESTAMP, 'imported', '[]', 0, 0, 0, 0, '[]')")
    raw = engine.raw_connection()
    try:
        t0 = time.perf_counter()
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("BEGIN")
            cur.executemany('INSERT INTO readings (meter_id, start, "end", mwh, quality, batch_id) '
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
        else:
            with cur.copy('COPY readings (meter_id, start, "end", mwh, quality, batch_id) FROM STDIN') as copy:
                for r in rows:
                    copy.write_row(r)
        raw.commit()
        return time.perf_counter() - t0
    finally:
        raw.close()


def ours(url: str, path: Path) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "energy_coop.cli", "--db", url, "import", str(path), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parents[1]))
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    out = proc.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed: {proc.stderr.read()}")
    return elapsed, usage.ru_maxrss / 1024, json.loads(out)["files"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL (schemas bench_import_* are created and dropped there)")
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-import-")
    path = Path(tmp) / "readings.csv"
    rows = write_csv(path, args.meters, args.days)
    # Ours first: a child's peak RSS (wait4) counts what it inherited at fork, so the parent must still be small.
    our_url = fresh(args.pg, tmp, "bench_import_ours", args.meters)
    dispose_all()
    our_s, rss, report = ours(our_url, path)
    base_url = fresh(args.pg, tmp, "bench_import_base", args.meters)
    base_s = baseline(base_url, path)
    dispose_all()
    assert report["accepted"] == rows, report
    print(json.dumps({
        "database": "postgresql" if args.pg else "sqlite",
        "baseline": "COPY" if args.pg else "executemany",
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
        "rows": rows,
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "baseline_s": round(base_s, 2),
        "import_s": round(our_s, 2),
        "ratio": round(our_s / base_s, 2),
        "import_rows_per_s": int(rows / our_s),
        "baseline_rows_per_s": int(rows / base_s),
        "import_peak_rss_mib": round(rss, 1),
    }, indent=2))
    if args.pg:
        dispose_all()
        with get_engine(args.pg).begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_import_base CASCADE"))
            conn.execute(text("DROP SCHEMA IF EXISTS bench_import_ours CASCADE"))


if __name__ == "__main__":
    main()
