"""The inbox folder's layout (SPEC section 9) and what an administrator needs to see of it: the files it refused.

The scheduler's ``import-inbox`` job (``jobs/inbox``, ``jobs/inbox_files``) moves each file through these
subfolders; the Overview lists what landed in ``rejected/``, with the reason from the report written beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

INBOX_DONE = "done"
INBOX_REJECTED = "rejected"
INBOX_PROCESSING = "processing"
REPORT_SUFFIX = ".report.json"
#: At most this many refused files are read for a page (the count says how many more there are).
LISTED = 20


def refused_files(inbox: Path | None) -> tuple[list[dict[str, Any]], int]:
    """The files the inbox refused that are still in ``rejected/``, newest first: ``(listed, total)``.

    Each listed file: ``name``, ``refused_at`` (aware datetime, from its report, else the file's time) and
    ``summary`` (the report's one line: what was wrong and where; None when its report is missing or unreadable).
    A missing inbox or ``rejected/`` folder has none.
    """
    folder = (inbox / INBOX_REJECTED) if inbox is not None else None
    if folder is None or not folder.is_dir():
        return [], 0
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.endswith(REPORT_SUFFIX) and not entry.name.startswith("."):
                    found.append((entry.stat().st_mtime, entry.name))
    except OSError:
        return [], 0
    found.sort(reverse=True)
    listed = []
    for mtime, name in found[:LISTED]:
        refused_at = dt.datetime.fromtimestamp(mtime, dt.UTC)
        summary = None
        try:
            doc = json.loads((folder / (name + REPORT_SUFFIX)).read_text(encoding="utf-8"))
            summary = str(doc.get("summary") or "")[:300] or None
            refused_at = dt.datetime.fromisoformat(doc["refused_at"]).astimezone(dt.UTC)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        listed.append({"name": name, "refused_at": refused_at, "summary": summary})
    return listed, len(found)
