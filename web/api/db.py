"""Read transactions for the API's GET requests: see :func:`energy_coop.db.get_read_sessionmaker`."""

from __future__ import annotations

from energy_coop.db import dispose_all as dispose_readers  # noqa: F401 - kept for the API tests
from energy_coop.db import get_read_sessionmaker as read_sessionmaker  # noqa: F401
