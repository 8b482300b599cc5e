"""Importing meter-reading files (SPEC section 4): CSV and Green Button, all-or-nothing per file.

``import_file`` reads one file through the parsers in :mod:`energy_coop.importers` (which return rows and
errors), checks each reading against its meter (:mod:`energy_coop.calc.metering.reading_checks`), and stores it:

* a reading for a meter and interval (its start) not held yet is **accepted**;
* one already held with the same value, the same quality and the same end is **unchanged** (a no-op);
* one held with anything of those different is a **revision**: the new reading counts (value, quality and end),
  the old one is kept in ``reading_revisions`` with its value, quality and import batch, and a revision inside
  a posted month marks that month's allocation stale.

So a changed quality alone (an ``estimated`` reading confirmed by the same ``actual`` value, say) is a revision,
not a no-op: the stored quality must be what the latest file says, and the one it replaces stays in the
reading's history, as SPEC section 4's "nothing is lost" asks. Its posted month is marked stale like any other
revision (a repost then yields the same credits, recorded against the revised readings).

The file is refused whole (:class:`ImportRefused`, nothing kept: the caller rolls back) if any row is bad,
unless ``skip_invalid``: then the good rows are kept and the bad ones written, with reasons, to
``FILE.rejected.csv``, each with its columns as read (also for rows refused after parsing, such as an unknown
meter) and every cell neutralised against formula injection. A refused file reports no batch id (its batch
was rolled back, and the id will be handed out again). A file already imported (same SHA-256) does nothing and says so;
the same file imported by another process while this import ran (two processes importing it at once) is a
:class:`ConcurrentImport` (a :class:`ConflictError`, exit 3) on both databases: on PostgreSQL the loser's batch
meets the winner's on the unique SHA-256, on SQLite the loser waits for the lock and then finds a batch committed
after it started. Large CSV files are
streamed in chunks and written with one bulk statement per chunk (COPY on PostgreSQL), so memory stays bounded.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from energy_coop.calc.metering.reading_checks import (
    FileConsistency,
    MeterLimit,
    SignFlags,
    check_intervals,
    check_not_future,
    check_physical,
)
from energy_coop.errors import ConflictError, RefusedError, RowError
from energy_coop.importers.metering.common import ParseReport, detect_format, error_lines
from energy_coop.importers.metering.csv_readings import iter_csv_chunks
from energy_coop.importers.metering.greenbutton import parse_greenbutton
from energy_coop.importers.metering.profiles import Profile, describe, read_export, recognise, to_chunk
from energy_coop.importers.metering.profiles.spec import header_name
from energy_coop.models import Asset, AuditEntry, ImportBatch, Meter, Premises, Reading, ReadingRevision, utcnow
from energy_coop.services import audit, settings
from energy_coop.services.credits.allocation import mark_stale
from energy_coop.services.settings import get_settings
from energy_coop.services.metering.profiles import HOW_TO, all_profiles, find_profile

MAX_ERRORS_REPORTED = 1000


@dataclass
class FileReport:
    """What importing one file did; ``as_dict`` is one element of SPEC 4's ``import --json`` ``files``."""

    file: str
    sha256: str = ""
    status: str = "refused"  # imported | partial | duplicate | refused | conflict (imported meanwhile elsewhere)
    meters: list[str] = field(default_factory=list)
    accepted: int = 0
    unchanged: int = 0
    revised: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stale_periods: list[str] = field(default_factory=list)
    batch_id: int | None = None
    rejected_file: str | None = None
    more_like: list[tuple[RowError, int]] = field(default_factory=list)  # (last listed of a kind, how many more)
    flags: list[dict[str, Any]] = field(default_factory=list)  # stored but suspicious (SignFlags.flags)
    hints: list[str] = field(default_factory=list)  # options of the import that may help ("meter")
    profile: str | None = None  # the import profile the file was read with (SPEC 20), if not our own layout

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file": self.file, "sha256": self.sha256, "status": self.status, "meters": self.meters,
            "accepted": self.accepted, "unchanged": self.unchanged, "revised": self.revised,
            "rejected": self.rejected, "errors": [e.as_dict() for e in self.errors],
        }
        if self.error_count > len(self.errors):
            doc["errors_not_listed"] = self.error_count - len(self.errors)
        if self.more_like:
            doc["more_like_this"] = [e.as_dict() | {"more": n} for e, n in self.more_like]
        doc["flags"] = self.flags
        if self.hints:
            doc["hints"] = self.hints
        doc["skipped"] = self.skipped
        doc["notes"] = self.notes
        doc["stale_periods"] = self.stale_periods
        doc["batch_id"] = self.batch_id
        if self.profile:
            doc["profile"] = self.profile
        if self.rejected_file:
            doc["rejected_file"] = self.rejected_file
        return doc

    def lines(self) -> list[str]:
        """The listed errors as text, "... and 7,759 more like this" after the last of each collapsed kind."""
        return error_lines(self.errors, self.more_like)

    def summary(self) -> str:
        if self.status == "duplicate":
            return f"{self.file}: already imported; nothing to do"
        if self.status == "conflict":
            return f"{self.file}: imported by another process at the same time; nothing imported here"
        if self.status == "refused":
            more = f" (and {self.error_count - len(self.errors)} more)" if self.error_count > len(self.errors) else ""
            return f"{self.file}: refused, nothing imported: {self.error_count} problem(s){more}"
        text = (f"{self.file}: {self.accepted} accepted, {self.unchanged} unchanged, {self.revised} revised, "
                f"{self.rejected} rejected")
        if self.stale_periods:
            text += f"; posted month(s) now stale: {', '.join(self.stale_periods)} (repost them to use the revised readings)"
        return text


class ConcurrentImport(ConflictError):
    """The same file (same SHA-256) was imported by another process while this import ran: nothing was
    imported here. Exit status 3, HTTP 409."""

    def __init__(self, file: str, sha256: str, batch_id: int | None):
        where = f" as batch {batch_id}" if batch_id is not None else ""
        super().__init__(f"{file}: another import of this same file (SHA-256 {sha256[:12]}...) finished{where} "
                         "while this one was running, so nothing more was imported from it here",
                         subject=file)
        self.batch_id = batch_id


class ImportRefused(RefusedError):
    """A file refused whole; ``report`` names every problem (nothing of the file may be kept)."""

    def __init__(self, report: FileReport):
        super().__init__(report.summary(), report.errors)
        self.report = report


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: Our own CSV layout's column names (SPEC 4): a header with two of them is read as our layout, whose parser
#: then names any wrong column.
_OWN_COLUMNS = ("meter_code", "start", "end", "interval_minutes", "kwh", "quality")


def _own_layout(path: Path) -> bool:
    """True when the file's first line is our CSV's header (it names ``meter_code``, or two of our columns and
    is no profile's layout: see :func:`choose_profile`)."""
    with path.open("rb") as fh:
        first = fh.readline(65536).decode("utf-8", "replace").lstrip("\ufeff")
    names = {header_name(c)[0] for c in next(csv.reader([first.rstrip("\r\n")]), [])}
    return "meter_code" in names


def choose_profile(session: Session, path: Path) -> tuple[Profile | None, list[RowError]]:
    """Auto-detection: the first profile (built-ins first) whose layout the file's first lines fit, or None and
    the refusal's words (what the file looks like, what each profile expected, where to read how to write one)."""
    with path.open("rb") as fh:
        head_bytes = fh.read(65536)
    controls = sum(head_bytes.count(bytes([b])) for b in (*range(0, 9), *range(14, 32)))
    if not head_bytes.strip() or controls > len(head_bytes) // 100:
        return None, []  # empty or binary: our own parser says so in its words
    with path.open("rb") as fh:
        start = fh.read(1 << 20)  # the layout shows in the first lines: no need to read a large file whole
    if start.startswith(b"\xef\xbb\xbf"):
        start = start[3:]
    head = start.decode("utf-8", "replace").split("\n")[:10_000]
    head = [line.rstrip("\r") for line in head]
    expected = []
    for profile in all_profiles(session):
        missing = recognise(profile, head)
        if missing is None:
            return profile, []
        expected.append(f"profile {profile.name!r} expected {missing}")
    names = {header_name(c)[0] for line in head[:1] for c in next(csv.reader([line.lstrip("\ufeff")]), [])}
    if len(names & set(_OWN_COLUMNS)) >= 2:
        return None, []  # our own layout with a wrong column: its own parser says which
    return None, [RowError("file", "layout", f"the file is in no known layout: {describe(head)}. It is not our own "
                           "CSV (its header names meter_code, start, kwh and end or interval_minutes), and no import "
                           f"profile matches: {'; '.join(expected)}. If it comes from a utility or an inverter, "
                           f"describe its layout in a profile file ({HOW_TO}) and import it with that profile")]


def _zone_of_meter(session: Session, code: str) -> tuple[str, str]:
    """The zone a meter's local times are in when neither the import nor the profile names one: its asset's,
    else the co-op's setting. Returns (zone, where it comes from)."""
    zone = session.scalar(select(Asset.timezone).join(Meter, Asset.meter_id == Meter.id).where(Meter.code == code))
    if zone:
        return zone, "the time zone of the meter's asset"
    return get_settings(session).timezone, "the co-op's time zone setting"


def _profile_chunks(session: Session, path: Path, profile: Profile, *, meter: str | None, timezone: str | None,
                    kinds: dict[str, str], report: ParseReport) -> Iterator[pd.DataFrame]:
    """A profile's file as one meter's readings. The meter: the import's, else the one the file's metadata names.
    Local times: in the import's zone, else the profile's, else the meter's own (:func:`_zone_of_meter`)."""
    code, named_by = meter, ""
    if code is None:
        first = read_export(path, profile, timezone=timezone or profile.timezone or "UTC", report=ParseReport())
        code = first.meter_hint() if first is not None else None
        named_by = " (named by the file's metadata)"
        if code is None:
            ids = first.identifiers() if first is not None else []
            report.refuse(RowError("file", "meter", "this file does not name one of our meter codes"
                                   + (f" (its metadata: {'; '.join(ids)})" if ids else "")
                                   + "; name the meter its readings belong to when importing it"))
            return
    if code not in kinds:
        report.refuse(RowError("file", "meter", f"{code[:64]!r}{named_by} is not a meter in the register; name the "
                               "meter its readings belong to when importing it"))
        return
    zone = timezone or profile.timezone
    if zone is None:
        zone, source = _zone_of_meter(session, code)
        report.note(f"local times were read in {zone} ({source})")
    data = read_export(path, profile, timezone=zone, report=report)
    if data is None:
        return
    chunk = to_chunk(data, code, kinds[code], report)
    if len(chunk) and not report.fatal:
        yield chunk


def _chunks(path: Path, fmt: str, *, meter: str | None, timezone: str | None, report: ParseReport,
            profile: Profile | None = None, kinds: dict[str, str] | None = None, session: Session | None = None
            ) -> Iterator[pd.DataFrame]:
    if profile is not None:
        yield from _profile_chunks(session, path, profile, meter=meter, timezone=timezone, kinds=kinds or {}, report=report)
    elif fmt == "csv":
        if meter is not None:
            report.note("a meter code given for the import applies to Green Button files; a CSV names its meter on "
                        "every row")
        yield from iter_csv_chunks(path, timezone=timezone, report=report)
    else:
        chunk = parse_greenbutton(path, meter=meter, report=report)
        if len(chunk):
            yield chunk


class _Writer:
    """Stores accepted readings and revisions of one batch, one bulk statement per chunk."""

    def __init__(self, session: Session, batch_id: int, meter_ids: dict[str, int]):
        self.session = session
        self.batch_id = batch_id
        self.meter_ids = meter_ids
        self.conn = session.connection()
        self.dialect = self.conn.dialect.name
        self.revised_starts: dict[int, list[int]] = {}

    def store(self, chunk: pd.DataFrame) -> tuple[int, int, int]:
        """Write one checked chunk; return (accepted, unchanged, revised)."""
        ids = chunk["meter_code"].map(self.meter_ids).to_numpy(dtype=np.int64)
        starts = chunk["start"].to_numpy(dtype=np.int64)
        frame = pd.DataFrame({"meter_id": ids, "start": starts, "end": chunk["end"].to_numpy(dtype=np.int64),
                              "mwh": chunk["mwh"].to_numpy(dtype=np.int64),
                              "quality": chunk["quality"].to_numpy(dtype=object)})
        existing = self._existing(frame)
        if len(existing):
            merged = frame.merge(existing, on=["meter_id", "start"], how="left", suffixes=("", "_old"))
            held = merged["id"].notna().to_numpy()
        else:
            merged = frame
            held = np.zeros(len(frame), dtype=bool)
        new = frame[~held]
        accepted = self._insert(new)
        unchanged = revised = 0
        if held.any():
            old = merged[held]
            # unchanged = same value, same quality and same end; a changed quality alone is a revision
            same = ((old["mwh"].to_numpy() == old["mwh_old"].to_numpy())
                    & (old["quality"].to_numpy() == old["quality_old"].to_numpy())
                    & (old["end"].to_numpy() == old["end_old"].to_numpy()))
            unchanged = int(same.sum())
            changed = old[~same]
            revised = len(changed)
            if revised:
                self._revise(changed)
        return accepted, unchanged, revised

    def _existing(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The held readings a chunk may collide with: one query per chunk (meters in batches of 5,000), not one
        per meter; the merge on (meter_id, start) then picks the exact matches."""
        lo, hi = int(frame["start"].min()), int(frame["start"].max())
        ids = sorted(int(m) for m in frame["meter_id"].unique())
        rows = []
        for k in range(0, len(ids), 5000):
            rows += self.session.connection().execute(
                select(Reading.id, Reading.meter_id, Reading.start, Reading.end, Reading.mwh, Reading.quality,
                       Reading.batch_id)
                .where(Reading.meter_id.in_(ids[k:k + 5000]), Reading.start >= lo, Reading.start <= hi)).all()
        if not rows:
            return pd.DataFrame()
        out = pd.DataFrame(rows, columns=["id", "meter_id", "start", "end_old", "mwh_old", "quality_old",
                                          "batch_id_old"])
        out["meter_id"] = out["meter_id"].astype(np.int64)
        out["start"] = out["start"].astype(np.int64)
        return out

    def _insert(self, new: pd.DataFrame) -> int:
        n = len(new)
        if not n:
            return 0
        batch = self.batch_id
        if self.dialect == "postgresql":
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cur:
                with cur.copy('COPY readings (meter_id, start, "end", mwh, quality, batch_id) FROM STDIN') as copy:
                    for row in zip(new["meter_id"].tolist(), new["start"].tolist(), new["end"].tolist(),
                                   new["mwh"].tolist(), new["quality"].tolist()):
                        copy.write_row((*row, batch))
        else:
            rows = list(zip(new["meter_id"].tolist(), new["start"].tolist(), new["end"].tolist(),
                            new["mwh"].tolist(), new["quality"].tolist(), [batch] * n))
            self.conn.exec_driver_sql(
                'INSERT INTO readings (meter_id, start, "end", mwh, quality, batch_id) VALUES (?, ?, ?, ?, ?, ?)',
                rows)
        return n

    def _revise(self, changed: pd.DataFrame) -> None:
        now = utcnow()
        ids = changed["id"].astype(np.int64).tolist()
        self.session.execute(
            ReadingRevision.__table__.insert(),
            [{"reading_id": rid, "mwh": int(m), "quality": q, "batch_id": int(b), "replaced_by_batch_id": self.batch_id,
              "replaced_at": now}
             for rid, m, q, b in zip(ids, changed["mwh_old"].tolist(), changed["quality_old"].tolist(),
                                     changed["batch_id_old"].tolist())])
        table = Reading.__table__
        self.conn.execute(
            table.update().where(table.c.id == bindparam("rid")).values(
                mwh=bindparam("new_mwh"), quality=bindparam("new_quality"), end=bindparam("new_end"),
                batch_id=self.batch_id),
            [{"rid": rid, "new_mwh": int(m), "new_quality": q, "new_end": int(e)}
             for rid, m, q, e in zip(ids, changed["mwh"].tolist(), changed["quality"].tolist(),
                                     changed["end"].tolist())])
        for meter_id, group in changed.groupby("meter_id"):
            self.revised_starts.setdefault(int(meter_id), []).extend(group["start"].astype(int).tolist())


def meter_limits(session: Session) -> dict[str, MeterLimit]:
    """Meter code -> what the physical and sign checks need: the asset's kind and rating [W] (solar: AC
    capacity, else DC; storage: its power) and the meter's time zone (the asset's; a consumption meter's
    premises', else the co-op's)."""
    fallback = settings.get_settings(session).timezone
    out: dict[str, MeterLimit] = {}
    for code, zone in session.execute(select(Meter.code, Premises.timezone).join(Premises, Premises.meter_id == Meter.id)
                                      .order_by(Premises.id)).all():
        out.setdefault(code, MeterLimit(None, None, zone or fallback))
    for code in session.scalars(select(Meter.code)):
        out.setdefault(code, MeterLimit(None, None, fallback))
    for code, kind, ac, dc, power, zone in session.execute(
            select(Meter.code, Asset.kind, Asset.capacity_kw_ac, Asset.capacity_kw_dc, Asset.storage_kw,
                   Asset.timezone).join(Asset, Asset.meter_id == Meter.id)).all():
        rating = (ac or dc) if kind == "solar" else power
        out[code] = MeterLimit(kind, _watts(rating), zone or fallback)
    return out


def _watts(kw: float | None) -> int | None:
    """A register's rating [kW, float] as whole watts, or ``None`` when unknown (or not a positive number)."""
    if kw is None or not kw > 0 or kw == float("inf"):
        return None
    return min(round(kw * 1000), 10**15)


def _title_not_a_meter(errors: list[RowError], chunk: pd.DataFrame, kinds: dict[str, str], report: FileReport
                       ) -> list[RowError]:
    """A Green Button UsagePoint's title taken as a meter code that no meter has: the reason says so, names the
    closest registered codes (at most three) and that a meter code may be given for the import (``hints``)."""
    unknown = [e for e in errors if e.field == "meter_code" and e.where not in ("", "file")]
    if not unknown:
        return errors
    code_of = dict(zip(chunk["where"].tolist(), chunk["meter_code"].tolist()))
    reasons: dict[str, str] = {}
    out = []
    for e in errors:
        title = code_of.get(e.where) if e.field == "meter_code" else None
        if title is not None and title not in kinds:
            if title not in reasons:
                reasons[title] = _not_a_meter_reason(title, kinds)
            e = RowError(e.where, "title", reasons[title], raw=e.raw)
            if "meter" not in report.hints:
                report.hints.append("meter")
        out.append(e)
    return out


def _not_a_meter_reason(title: str, kinds: dict[str, str]) -> str:
    codes = sorted(kinds)
    near = difflib.get_close_matches(title, codes, n=3, cutoff=0.0) if codes else []
    if not codes:
        known = "no meters are registered yet"
    else:
        more = len(codes) - len(near)
        known = "registered meters include " + ", ".join(repr(c) for c in near) + (
            f" and {more:,} more" if more else "")
    return (f"the UsagePoint's title {title!r} is not the code of a registered meter ({known}); if the file is "
            "of one meter, give that meter's code when importing, or register the meter")


def _drop_rows(chunk: pd.DataFrame, errors: list[RowError]) -> pd.DataFrame:
    if not errors:
        return chunk
    bad = {e.where for e in errors}
    return chunk[~chunk["where"].isin(bad)].reset_index(drop=True)


def import_file(
    session: Session,
    path: str | Path,
    *,
    actor: str,
    display_name: str | None = None,
    meter: str | None = None,
    timezone: str | None = None,
    skip_invalid: bool = False,
    rejected_path: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    now: dt.datetime | None = None,
    profile: str | Profile | None = None,
) -> FileReport:
    """Import one meter-reading file in the caller's transaction (see the module docstring).

    ``now`` (an aware datetime; default the clock) is the instant of the import: a reading that starts after
    it is refused, naming its line (or element), field and time.

    ``profile`` reads a utility's export through an import profile (SPEC 20): a profile's name (built-in or
    stored) or a checked :class:`Profile` (a profile file the command line read). Without one, a CSV that is
    not in our own layout is tried against every profile (:func:`choose_profile`) and the report says which one
    read it; a file no profile fits is refused, saying what was recognised.

    ``display_name`` is the name shown and kept (an upload's original name); ``rejected_path`` is where
    ``--skip-invalid`` writes the rejected rows (default ``FILE.rejected.csv`` beside the file); ``progress``
    is called with the number of rows handled so far in each chunk.
    Raises :class:`ImportRefused` when the file is refused; the caller must roll back.
    """
    path = Path(path)
    name = display_name or path.name
    report = FileReport(file=name)
    if now is not None and (now.tzinfo is None or now.utcoffset() is None):
        raise ValueError("now must be an aware datetime (UTC), not a naive one")
    now_epoch = int((now or dt.datetime.now(dt.UTC)).timestamp())
    started = dt.datetime.now(dt.UTC)  # before the database is read (or waited for): see ConcurrentImport
    try:
        report.sha256 = file_sha256(path)
        fmt = detect_format(path)
    except OSError as exc:
        report.errors.append(RowError("file", "", f"cannot read the file ({exc.strerror})"))
        report.error_count = 1
        raise ImportRefused(report) from None
    chosen: Profile | None = None
    if isinstance(profile, str):
        chosen = find_profile(session, profile)
    elif profile is not None:
        chosen = profile
    if chosen is not None and fmt != "csv":
        report.errors = [RowError("file", "profile", "an import profile reads a CSV export; this file is Green "
                                  "Button XML, which is read without one")]
        report.error_count = 1
        raise ImportRefused(report)
    if chosen is None and fmt == "csv" and not _own_layout(path):
        chosen, problems = choose_profile(session, path)
        if problems:
            report.errors = problems
            report.error_count = len(problems)
            raise ImportRefused(report)
        if chosen is not None:
            report.notes.append(f"read as profile {chosen.name!r} (its layout was recognised)")
    elif chosen is not None:
        report.notes.append(f"read with profile {chosen.name!r}")
    if chosen is not None:
        report.profile = chosen.name
        fmt = "profile"
    earlier = session.scalar(select(ImportBatch).where(ImportBatch.sha256 == report.sha256))
    if earlier is not None:
        finished = session.scalar(select(func.max(AuditEntry.at)).where(
            AuditEntry.entity == "import_batch", AuditEntry.entity_key == str(earlier.id)))
        if finished is not None and finished > started:  # committed while this import waited for the lock
            raise ConcurrentImport(name, report.sha256, earlier.id)
        report.status = "duplicate"
        report.batch_id = earlier.id
        report.notes.append(f"this file (SHA-256 {report.sha256[:12]}...) was already imported as batch {earlier.id} "
                            f"on {earlier.imported_at:%Y-%m-%d %H:%M} UTC by {earlier.imported_by}")
        return report

    meters = {m.code: (m.id, m.kind) for m in session.scalars(select(Meter))}
    kinds = {code: kind for code, (_, kind) in meters.items()}
    limits = meter_limits(session)
    flags = SignFlags(limits)
    batch = ImportBatch(file_name=name[:500], sha256=report.sha256, format=fmt, imported_by=actor,
                        status="imported", meters=[], accepted=0, unchanged=0, revised=0, rejected=0, notes=[])
    session.add(batch)
    try:
        session.flush()
    except IntegrityError:  # PostgreSQL: another transaction committed a batch of this SHA-256 meanwhile
        raise ConcurrentImport(name, report.sha256, None) from None
    report.batch_id = batch.id
    writer = _Writer(session, batch.id, {code: mid for code, (mid, _) in meters.items()})

    rejected_rows: list[RowError] = []
    parse = ParseReport(max_errors=MAX_ERRORS_REPORTED, on_error=rejected_rows.append if skip_invalid else None)
    consistency = FileConsistency()
    writing = True
    raw_of: dict[str, dict[str, str]] = {}  # Green Button: where -> the reading as read
    for chunk in _chunks(path, fmt, meter=meter, timezone=timezone, report=parse, profile=chosen, kinds=kinds,
                         session=session):
        if skip_invalid:
            raw_of.update(chunk.attrs.get("raw", {}))
        errors = check_intervals(chunk, kinds)
        if fmt == "greenbutton" and meter is None:
            errors = _title_not_a_meter(errors, chunk, kinds, report)
        later = check_not_future(chunk, now_epoch) + check_physical(chunk, kinds, limits)
        if later:  # one error per reading, in the file's order
            known = {e.where for e in errors}
            for e in later:
                if e.where not in known:
                    errors.append(e)
                    known.add(e.where)
            order = {w: i for i, w in enumerate(chunk["where"].tolist())}
            errors.sort(key=lambda e: order.get(e.where, -1))
        parse.add_errors(errors)
        chunk = _drop_rows(chunk, errors)
        chunk, errors, notes = consistency.check(chunk)
        parse.add_errors(errors)
        report.notes.extend(notes)
        flags.feed(_drop_rows(chunk, errors))  # flagged whether or not the file is refused or rows skipped
        if parse.error_count and not skip_invalid:
            writing = False  # keep reading to name every bad row, but write nothing more
        if writing and len(chunk):
            accepted, unchanged, revised = writer.store(chunk)
            report.accepted += accepted
            report.unchanged += unchanged
            report.revised += revised
            for code in chunk["meter_code"].unique().tolist():
                if code not in report.meters:
                    report.meters.append(code)
        if progress:
            progress(len(chunk))
    report.notes.extend(consistency.finish())
    report.notes.extend(parse.notes)
    report.skipped = list(parse.skipped)
    report.errors = list(parse.errors)
    report.error_count = parse.error_count
    report.rejected = parse.error_count
    report.more_like = parse.more_like_this()
    report.flags = flags.flags()

    if parse.fatal or (parse.error_count and not skip_invalid):
        report.status = "refused"
        report.accepted = report.unchanged = report.revised = 0
        report.batch_id = None  # rolled back by the caller: the id would be handed out again
        raise ImportRefused(report)
    if report.accepted + report.unchanged + report.revised == 0 and not parse.error_count:
        report.status = "refused"
        report.errors = [RowError("file", "", "the file holds no electricity readings to import"
                                  + (f" ({'; '.join(report.skipped)})" if report.skipped else ""))]
        report.error_count = 1
        report.batch_id = None
        raise ImportRefused(report)

    report.status = "imported"
    if parse.error_count:
        report.status = "partial"
        target = Path(rejected_path) if rejected_path else path.with_name(path.name + ".rejected.csv")
        try:
            _write_rejected(target, _with_raw(rejected_rows, path, fmt, raw_of))
        except OSError as exc:  # a folder the user may not write to: nothing of the file is kept
            report.status = "refused"
            report.accepted = report.unchanged = report.revised = 0
            report.batch_id = None
            report.errors = [RowError("file", "", f"the rejected rows cannot be written to {target} "
                                      f"({exc.strerror or exc}); nothing was imported")]
            report.error_count = 1
            raise ImportRefused(report) from None
        report.rejected_file = str(target)

    for meter_id, starts in writer.revised_starts.items():
        report.stale_periods.extend(
            mark_stale(session, meter_id, starts, f"readings revised by import batch {batch.id} ({name})"))
    report.stale_periods = sorted(set(report.stale_periods))
    report.meters.sort()
    batch.status = report.status
    batch.meters = report.meters
    batch.accepted, batch.unchanged, batch.revised, batch.rejected = (
        report.accepted, report.unchanged, report.revised, report.rejected)
    batch.notes = report.skipped + report.notes[:50]
    audit.record(session, actor=actor, action="import", entity="import_batch", key=str(batch.id),
                 after={"file": name, "sha256": report.sha256, "status": report.status, "accepted": report.accepted,
                        "unchanged": report.unchanged, "revised": report.revised, "rejected": report.rejected,
                        "stale_periods": report.stale_periods})
    return report


#: A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP): it is written with a
#: leading apostrophe, which spreadsheets show as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: str) -> str:
    """``cell`` safe to open in a spreadsheet: ``'`` before a leading ``= + - @``, tab or carriage return."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _with_raw(rows: list[RowError], path: Path, fmt: str, raw_of: dict[str, dict[str, str]]) -> list[RowError]:
    """The rejected rows, each with its raw columns as read: errors found after parsing (an unknown meter, a
    duplicate...) carry no raw row, so a CSV's lines are read again and a Green Button's readings looked up."""
    missing = {e.where for e in rows if e.raw is None}
    if not missing:
        return rows
    if fmt == "csv":
        wanted = {int(w[5:]) for w in missing if w.startswith("line ") and w[5:].isdigit()}
        raw_of = _csv_lines(path, wanted)
    return [e if e.raw is not None else RowError(e.where, e.field, e.reason, raw=raw_of.get(e.where, {}))
            for e in rows]


def _csv_lines(path: Path, wanted: set[int]) -> dict[str, dict[str, str]]:
    """``"line N"`` -> {column: text as read} for the physical lines ``wanted`` of a CSV (the header is line 1),
    read as the parser numbers them (one physical line per row)."""
    found: dict[str, dict[str, str]] = {}
    if not wanted:
        return found
    last = max(wanted)
    with path.open("rb") as fh:
        header: list[str] = []
        for number, data in enumerate(fh, start=1):
            text = data.decode("utf-8", "replace").rstrip("\r\n")
            if number == 1:
                header = [c.strip().lower() for c in next(csv.reader([text.lstrip("\ufeff")]), [])]
            elif number in wanted:
                values = next(csv.reader([text]), [])
                found[f"line {number}"] = {c: (values[i] if i < len(values) else "") for i, c in enumerate(header)}
            if number >= last:
                break
    return found


def _write_rejected(target: Path, rows: list[RowError]) -> None:
    """``FILE.rejected.csv``: where, field, reason and the row's raw columns as read, every cell neutralised
    against formula injection (:func:`neutralised`); written to a ``.part`` file and renamed."""
    columns: list[str] = []
    for e in rows:
        for k in (e.raw or {}):
            if k not in columns:
                columns.append(k)
    tmp = target.with_name(target.name + ".part")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["where", "field", "reason", *columns])
            for e in rows:
                cells = [e.where, e.field, e.reason, *[(e.raw or {}).get(c, "") for c in columns]]
                w.writerow([neutralised(c) for c in cells])
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def list_batches(session: Session, limit: int = 100, offset: int = 0) -> list[ImportBatch]:
    """The most recent import batches first (file, hash, who, when, counts)."""
    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit).offset(offset)))
