"""Small builders for integration tests: a co-op in a few lines, readings without a file."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from energy_coop.models import ImportBatch, Meter, Reading
from energy_coop.services.registers.loading import load_register

REPO_ROOT = Path(__file__).resolve().parents[1]

MEMBERS = """member_number,name,member_type
1001,Ada Lovelace,household
1002,Worker Bees Co-op,worker_coop
1003,Bo Riverside,clt_household
"""

ASSETS = """asset_code,name,kind,meter_code,timezone,latitude,longitude,total_shares,capacity_kw_dc,capacity_kw_ac,tilt_deg,azimuth_deg,storage_kwh,storage_kw
SUN1,School roof,solar,PM-SUN1,UTC,39.73,-105.18,10,250,200,20,180,,
BAT1,Depot battery,storage,PM-BAT1,UTC,39.74,-105.0,4,,,,,400,100
"""

SHARES = """ref,date,asset_code,kind,member_number,from_member_number,shares
S-1,2024-01-01,SUN1,issue,1001,,3
S-2,2024-01-01,SUN1,issue,1002,,2
S-3,2024-02-15,SUN1,transfer,1003,1002,1
S-4,2024-01-01,BAT1,issue,1003,,4
"""

RATES = """valid_from,rate_per_kwh,asset_code
2024-01-01T00:00:00Z,0.100000,
"""


def load_registers(session: Session, folder: Path, **files: str) -> None:
    """Load register CSV texts (members=..., assets=..., shares=..., rates=...) in that order."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("members", "assets", "shares", "rates"):
        content = files.get(kind)
        if content is None:
            continue
        path = folder / f"{kind}.csv"
        path.write_text(content, encoding="utf-8")
        load_register(session, kind, path, actor="test")


def small_coop(session: Session, folder: Path) -> None:
    load_registers(session, folder, members=MEMBERS, assets=ASSETS, shares=SHARES, rates=RATES)


def utc(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp())


def add_readings(session: Session, meter_code: str, rows: Iterable[tuple[int, int, int]], name: str = "t") -> int:
    """Insert readings ``(start [UTC s], end [UTC s], mwh)`` for a meter under a fresh batch; return its id."""
    meter = session.scalar(select(Meter).where(Meter.code == meter_code))
    rows = list(rows)
    batch = ImportBatch(file_name=name, sha256=hashlib.sha256(repr((meter_code, rows, name)).encode()).hexdigest(),
                        format="csv", imported_by="test", status="imported", meters=[meter_code],
                        accepted=len(rows), unchanged=0, revised=0, rejected=0, notes=[])
    session.add(batch)
    session.flush()
    session.add_all(Reading(meter_id=meter.id, start=s, end=e, mwh=m, quality="actual", batch_id=batch.id)
                    for s, e, m in rows)
    session.flush()
    return batch.id


def hourly(start: int, end: int, mwh: int = 1_000_000) -> list[tuple[int, int, int]]:
    return [(t, t + 3600, mwh) for t in range(start, end, 3600)]


@contextlib.contextmanager
def database_at(backend: str, folder: Path, revision: str) -> Iterator[str]:
    """The URL of an empty database migrated to ``revision`` only: its own SQLite file in ``folder``, or its own
    PostgreSQL schema (dropped afterwards). For the tests of a migration's backfill."""
    from energy_coop.db import dispose_all
    from energy_coop.migrate import upgrade

    if backend == "sqlite":
        url = f"sqlite:///{folder / f'at_{revision}.db'}"
        upgrade(url, revision)
        yield url
        dispose_all()
        return
    from tests.conftest import PG_URL

    schema = f"ec_at_{revision}_{os.getpid()}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url, revision)
    try:
        yield url
    finally:
        dispose_all()
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


#: February to April 2024 (UTC): the months of :func:`three_metered_months`.
FEB_TO_APR = ((utc(2024, 2, 1), utc(2024, 3, 1)), (utc(2024, 3, 1), utc(2024, 4, 1)),
              (utc(2024, 4, 1), utc(2024, 5, 1)))


def three_metered_months(sessions, folder: Path) -> None:
    """The small co-op with complete hourly readings on both assets for February to April 2024; nothing posted."""
    with sessions.begin() as s:
        small_coop(s, folder)
        for name, (start, end) in zip(("feb", "mar", "apr"), FEB_TO_APR):
            add_readings(s, "PM-SUN1", hourly(start, end, 1_000_000), name=f"sun {name}")
            add_readings(s, "PM-BAT1", hourly(start, end, 250_000), name=f"bat {name}")
