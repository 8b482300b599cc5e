"""The ``import-inbox`` job: import the meter files dropped into the inbox, each once, each in its own transaction.

For every file in ``config.inbox`` (oldest first, so a later file revising readings is imported after the one
it revises):

* hidden and partial files (``.name``, ``*.part``, ``*.tmp``) are not touched, nor a file modified within the
  last ``ENERGY_COOP_INBOX_SETTLE_SECONDS``: a file still being written is left for the next run;
* the file is claimed by renaming it into ``processing/<run id>/``. A rename is atomic, so when two runs see
  the same file exactly one gets it; the other finds it gone and leaves it. A file whose size or time
  changed between the look and the rename is put back (something is still writing it);
* it is imported all-or-nothing (:func:`energy_coop.services.metering.imports.import_file`) and moved to ``done/``
  (also when it was already imported: same SHA-256), or, when refused, to ``rejected/`` with
  ``<name>.report.json`` beside it naming every problem;
* anything unexpected (the database gone, say) puts the file back into the inbox for the next run and makes
  the run fail; a file that disappears while being imported is reported and nothing of it is kept.

A crash between the import's commit and the move leaves the file in ``processing/<run id>/``; recovery
(:func:`jobs.inbox_files.settle_interrupted_inbox`) sends it to ``done/`` or back by its import batch.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from energy_coop.config import Config
from energy_coop.db import get_sessionmaker
from energy_coop.services.metering.imports import ConcurrentImport, FileReport, ImportRefused, import_file
from energy_coop.storage_faults import translate
from jobs.inbox_files import (
    INBOX_DONE,
    INBOX_PROCESSING,
    INBOX_REJECTED,
    REPORT_SUFFIX,
    inbox_candidate,
    move_aside,
)
from jobs.result import WorkResult

log = logging.getLogger(__name__)

OUTCOME_KEYS = ("imported", "duplicates", "refused", "failed", "still_being_written", "taken_by_another_run",
                "vanished")


def _write_report(folder: Path, target: Path, report: FileReport, run_id: int, now: dt.datetime) -> Path:
    """``<name>.report.json`` beside a rejected file: what was wrong, where, and when (written atomically)."""
    path = folder / (target.name + REPORT_SUFFIX)
    doc = {"file": report.file, "rejected_as": target.name, "refused_at": now.isoformat(), "job_run": run_id,
           "summary": report.summary(), "report": report.as_dict()}
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _scan(inbox: Path, settle_seconds: float) -> tuple[list[tuple[Path, os.stat_result]], list[str]]:
    """The files ready to import (oldest first) and, for those left because they are still being written,
    "NAME (changed at HH:MM:SS UTC; taken by a run from HH:MM:SS UTC)".

    Raises OSError when the inbox cannot be listed (missing, not a folder, no permission): the run fails.
    """
    ready, recent = [], []
    wall = time.time()  # file times are the real clock's, whatever the run's own ``now``
    with os.scandir(inbox) as entries:
        for entry in entries:
            if not entry.is_file() or not inbox_candidate(entry.name):
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            if wall - st.st_mtime < settle_seconds:
                recent.append(_left(entry.name, st.st_mtime, settle_seconds))
            else:
                ready.append((Path(entry.path), st))
    ready.sort(key=lambda item: (item[1].st_mtime_ns, item[0].name))
    return ready, sorted(recent)


def _left(name: str, mtime: float, settle_seconds: float) -> str:
    changed = dt.datetime.fromtimestamp(mtime, dt.UTC)
    ready_at = changed + dt.timedelta(seconds=settle_seconds)
    return f"{name} (changed at {changed:%H:%M:%S} UTC; taken by a run from {ready_at:%H:%M:%S} UTC)"


def _still_written(recent: list[str]) -> str:
    return f"left because still being written: {', '.join(recent)}" if recent else ""


def import_inbox(config: Config, period: str, *, now: dt.datetime, run_id: int, actor: str) -> WorkResult:
    """Import every settled file of the inbox once (see the module docstring); counts per kind of result."""
    inbox = config.inbox
    try:
        ready, recent = _scan(inbox, config.schedule.inbox_settle_seconds)
    except OSError as exc:
        return WorkResult("failed", {}, f"cannot read the inbox {inbox}: {exc.strerror or exc}")
    counts: dict[str, Any] = {key: 0 for key in OUTCOME_KEYS}
    counts.update(files=len(ready), accepted=0, unchanged=0, revised=0, batches=[])
    counts["still_being_written"] = len(recent)
    notes: list[str] = []
    if not ready:
        left = f"; {_still_written(recent)}" if recent else ""
        return WorkResult("succeeded", counts, f"nothing to import in {inbox}{left}")

    processing = inbox / INBOX_PROCESSING / str(run_id)
    try:
        processing.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return WorkResult("failed", counts, f"cannot create {processing}: {exc.strerror or exc}")
    factory = get_sessionmaker(config.database_url)
    for path, seen in ready:
        name = path.name
        claimed = processing / name
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            counts["taken_by_another_run"] += 1  # another run renamed it first (or someone removed it)
            continue
        except OSError as exc:
            counts["failed"] += 1
            notes.append(f"{name}: could not be claimed ({exc.strerror or exc})")
            continue
        try:
            now_st = claimed.stat()
        except FileNotFoundError:
            counts["vanished"] += 1
            notes.append(f"{name} disappeared as it was claimed; nothing was imported from it")
            continue
        if (now_st.st_size, now_st.st_mtime_ns) != (seen.st_size, seen.st_mtime_ns):
            move_aside(claimed, inbox)
            counts["still_being_written"] += 1
            continue
        _import_one(factory, inbox, claimed, name, actor, run_id, now, counts, notes)
    try:
        processing.rmdir()
    except OSError:
        pass
    outcome = "failed" if counts["failed"] else "succeeded"
    if recent:
        notes.append(_still_written(recent))
    return WorkResult(outcome, counts, _summary(counts, notes))


def _import_one(factory, inbox: Path, claimed: Path, name: str, actor: str, run_id: int, now: dt.datetime,
                counts: dict[str, Any], notes: list[str]) -> None:
    """Import one claimed file in its own transaction and move it where its result says."""
    try:
        with factory.begin() as session:
            report = import_file(session, claimed, actor=actor, display_name=name, now=now)
    except ImportRefused as exc:
        if not claimed.exists():
            counts["vanished"] += 1
            notes.append(f"{name} disappeared while it was being imported; nothing was imported from it")
            return
        target = move_aside(claimed, inbox / INBOX_REJECTED)
        _write_report(inbox / INBOX_REJECTED, target, exc.report, run_id, now)
        counts["refused"] += 1
        notes.append(f"{name} refused ({exc.report.error_count} problem(s)): see {INBOX_REJECTED}/"
                     f"{target.name}{REPORT_SUFFIX}")
        return
    except ConcurrentImport as exc:  # imported meanwhile by another process (a command, another scheduler)
        move_aside(claimed, inbox / INBOX_DONE)
        counts["duplicates"] += 1
        notes.append(f"{name} was imported by another process at the same time"
                     + (f" (batch {exc.batch_id})" if exc.batch_id is not None else ""))
        return
    except Exception as exc:
        if not claimed.exists():
            counts["vanished"] += 1
            notes.append(f"{name} disappeared while it was being imported; nothing was imported from it")
            return
        fault = translate(exc, database=str(factory.kw["bind"].url))
        if fault is None:
            log.exception("importing %s failed", name)
        move_aside(claimed, inbox)
        counts["failed"] += 1
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        why = fault.message if fault is not None else f"{exc.__class__.__name__}: {first}"
        notes.append(f"{name} could not be imported ({why}); it was put back into the inbox for the next run")
        return
    move_aside(claimed, inbox / INBOX_DONE)
    if report.status == "duplicate":
        counts["duplicates"] += 1
        notes.append(f"{name} was already imported (batch {report.batch_id})")
    else:
        counts["imported"] += 1
        counts["batches"].append(report.batch_id)
        notes.append(report.summary())
        notes.extend(f"{name}: warning: {flag['message']}" for flag in report.flags)  # stored, but flagged
    counts["accepted"] += report.accepted
    counts["unchanged"] += report.unchanged
    counts["revised"] += report.revised


def _summary(counts: dict[str, Any], notes: list[str]) -> str:
    parts = [f"{counts[k]} {k.replace('_', ' ')}" for k in OUTCOME_KEYS if counts[k]]
    head = f"{counts['files']} file(s): " + (", ".join(parts) if parts else "nothing done")
    return head + ("; " + "; ".join(notes) if notes else "")
