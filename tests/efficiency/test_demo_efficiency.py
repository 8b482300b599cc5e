"""The demo's efficiency programme seeds on both databases and gives the savings pages content."""

from __future__ import annotations

import datetime as dt

import pytest

from energy_coop.services.efficiency.incentives import budget_summary
from energy_coop.services.efficiency.measures import measures_by_status
from energy_coop.services.efficiency.premises import list_premises
from energy_coop.services.efficiency.savings import premises_savings
from energy_coop.demo.seed import write_register_files
from energy_coop.demo.efficiency import seed_efficiency
from energy_coop.services.registers.loading import load_register

TODAY = dt.date(2026, 11, 26)


@pytest.mark.slow
def test_seed_efficiency(sessions, tmp_path):
    paths = write_register_files(tmp_path, tou_from=dt.date(2025, 11, 1), tou_until=dt.date(2026, 12, 31))
    with sessions.begin() as s:
        load_register(s, "members", paths["members"], actor="demo")
        counts = seed_efficiency(s, today=TODAY, folder=tmp_path / "efficiency", actor="demo")
        assert counts["premises"] == 12 and counts["awards"] >= 6 and counts["readings"] > 5000
        again = seed_efficiency(s, today=TODAY, folder=tmp_path / "efficiency", actor="demo")
        assert again["premises"] == 0  # idempotent
    with sessions.begin() as s:
        statuses = {p.member.member_number: premises_savings(s, p.id, until=TODAY)["status"]
                    for p in list_premises(s)}
        assert statuses["1001"] == "measured" and statuses["1006"] == "insufficient_data"
        for row in budget_summary(s, on=TODAY):
            assert 0 < row["awarded_cents"] <= row["budget_cents"]
        by_status = measures_by_status(s)
        assert all(by_status[k]["count"] for k in ("proposed", "approved", "installed", "verified", "discarded"))
