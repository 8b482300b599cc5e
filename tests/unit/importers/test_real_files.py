"""The public Green Button sample files kept beside the repository in ``<repo root>/../shared/data``.

They are not copied into the repository (see shared/data/SOURCES.md); the tests skip when the folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from energy_coop.importers.metering.common import ParseReport, detect_format
from energy_coop.importers.metering.greenbutton import parse_greenbutton

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "greenbutton"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared sample data not found at {SHARED}")


def parse(name: str) -> tuple[pd.DataFrame, ParseReport]:
    report = ParseReport()
    path = SHARED / name
    assert detect_format(path) == "greenbutton"
    return parse_greenbutton(path, meter=None, report=report), report


def test_15_minute_file_with_spring_forward_day():
    df, report = parse("15minLP_15Days.xml")
    assert report.ok
    assert len(df) == 1340
    local = pd.to_datetime(df["start"], unit="s", utc=True).dt.tz_convert("America/New_York")
    per_day = local.dt.strftime("%Y-%m-%d").value_counts()
    assert per_day["2012-03-11"] == 92
    assert per_day.drop("2012-03-11").eq(96).all() and len(per_day) == 14
    assert int(df["mwh"].sum()) == 1_397_734_000
    assert report.meters == {"Front Electric Meter": 1340}
    assert "cost data: skipped (costs and bill summaries are not stored)" in report.skipped
    assert (df["end"] - df["start"]).eq(900).all() and df["start"].is_monotonic_increasing


def test_hourly_nine_days_binned_daily():
    df, report = parse("TestGBDataHourlyNineDaysBinnedDaily.xml")
    assert report.ok
    assert len(df) == 216
    assert int(df["mwh"].sum()) == 199_563_000
    assert (df["end"] - df["start"]).eq(3600).all()
    assert "cost data: skipped (costs and bill summaries are not stored)" in report.skipped


def test_gas_file_is_skipped_not_an_error():
    df, report = parse("ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25.xml")
    assert report.ok
    assert len(df) == 0 and report.meters == {}
    assert report.skipped == ["UsagePoint '1 MAIN ST, ANYTOWN ME 12345' (kind 1, natural gas): skipped, not "
                              "electricity"]
