"""The inbox's folders and the file moves of the ``import-inbox`` job (SPEC section 9).

The inbox job moves each file it owns through these subfolders of the inbox: a file is claimed by renaming
it into ``processing/<run id>/`` (a rename is atomic, so of two runs exactly one gets it), then moved to
``done/`` (imported, or already imported) or ``rejected/`` (refused, with ``<name>.report.json`` beside it).
:func:`settle_interrupted_inbox` finishes the moves of a run that died half-way, from the import batches.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_coop.models import ImportBatch
from energy_coop.services.metering.imports import file_sha256
from energy_coop.services.metering.inbox import (INBOX_DONE, INBOX_PROCESSING, INBOX_REJECTED,  # noqa: F401
                                                 REPORT_SUFFIX)

PARTIAL_SUFFIXES = (".part", ".tmp")


def inbox_candidate(name: str) -> bool:
    """Whether a file name in the inbox is one to import: not hidden, not a partial upload, not our report."""
    lower = name.lower()
    return not (name.startswith(".") or lower.endswith(PARTIAL_SUFFIXES) or lower.endswith(REPORT_SUFFIX))


def move_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` (created) without overwriting: ``name``, else ``name-2.ext``, ...."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem}-{n}{path.suffix}"
    os.rename(path, target)
    return target


def settle_interrupted_inbox(session: Session, inbox: Path, folder: Path) -> dict[str, Any]:
    """Settle the files an interrupted inbox run had claimed (in ``folder``) against the import batches.

    A file whose SHA-256 has an import batch was committed: it goes to ``done/``. One without was not: it goes
    back into the inbox, where the next run imports it. Returns the counts and the batches found.
    """
    counts: dict[str, Any] = {"imported": 0, "returned": 0, "unreadable": 0, "batches": []}
    if not folder.is_dir():
        return counts
    for path in sorted(folder.iterdir()):
        try:
            digest = file_sha256(path)
        except OSError:
            counts["unreadable"] += 1
            continue
        batch = session.scalar(select(ImportBatch.id).where(ImportBatch.sha256 == digest))
        if batch is not None:
            move_aside(path, inbox / INBOX_DONE)
            counts["imported"] += 1
            counts["batches"].append(batch)
        else:
            move_aside(path, inbox)
            counts["returned"] += 1
    try:
        folder.rmdir()
    except OSError:
        pass
    return counts
