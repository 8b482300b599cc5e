"""Fixtures the integration tests share."""

from __future__ import annotations

import pytest

from energy_coop.models import Meter
from tests.helpers import small_coop


@pytest.fixture
def coop_with_consumption_meter(sessions, tmp_path):
    """The small co-op of :func:`tests.helpers.small_coop` plus a member-side consumption meter ``CONS-1``."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        s.add(Meter(code="CONS-1", kind="consumption"))
    return sessions
