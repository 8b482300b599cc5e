"""The import inbox reads a utility's export through the profile its layout fits (SPEC 20): no option needed when
the file's metadata names the meter."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from energy_coop.models import Reading
from jobs import runner
from tests.jobs.conftest import at
from tests.jobs.test_inbox import drop, listing
from tests.profile_exports import delivered_wh, received_wh, utility_blocks


def test_a_dropped_utility_export_naming_its_meter_is_detected_and_imported(coop, config, sessions):
    drop(config, "usage.csv", utility_blocks(dt.date(2022, 8, 1), 1, meter="PM-SUN1"))
    drop(config, "other.csv", utility_blocks(dt.date(2022, 8, 1), 1))  # names a meter the co-op does not have
    result = runner.run_job(config, "import-inbox", now=at(2024, 3, 5, 10, 15))
    assert (result.counts["imported"], result.counts["refused"]) == (1, 1), result.message
    assert listing(config.inbox / "done") == ["usage.csv"]
    report = json.loads((config.inbox / "rejected" / "other.csv.report.json").read_text())
    assert "'SAMPLE-METER-7' (named by the file's metadata) is not a meter in the register" in json.dumps(
        report["report"]["errors"])
    with sessions.begin() as s:
        total = s.scalar(select(func.sum(Reading.mwh)))
    assert total == sum(received_wh(1, h) - delivered_wh(1, h) for h in range(24)) * 1000
