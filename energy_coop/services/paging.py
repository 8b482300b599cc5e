"""One page of a list read from the database, for every screen that lists (members, ledger, audit log ...)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

MAX_PER_PAGE = 200


@dataclass
class Page:
    """One page of a list: ``items`` (dicts), the 1-based ``page``, ``pages`` in all and ``total`` items."""

    items: list[dict[str, Any]]
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paged(session: Session, stmt, count_stmt, page: int, per_page: int, keys: tuple[str, ...]) -> Page:
    """Run ``stmt`` for one page (``page`` clamped to the pages there are, ``per_page`` to 1..MAX_PER_PAGE) and
    name each row's columns by ``keys``."""
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    total = int(session.scalar(count_stmt) or 0)
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(int(page), pages))
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([dict(zip(keys, r)) for r in rows], page, pages, total, per_page)
