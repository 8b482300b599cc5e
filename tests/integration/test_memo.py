"""The figures members' pages remember per process (services.memo) follow every change of the stored data at
once: an import, a revision, a forecast refresh, an edit of an asset. Real databases, real services."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from energy_coop.models import AuditEntry
from energy_coop.services.forecasting import forecasts
from energy_coop.services.metering import imports
from energy_coop.services import memo
from energy_coop.services.screens import member as member_screens
from energy_coop.services.registers.loading import load_register
from tests.helpers import small_coop

TODAY = dt.date(2024, 2, 14)  # the dashboard's fortnight: 1 to 14 February (SUN1 keeps UTC)


@pytest.fixture
def coop(sessions, tmp_path):
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
    return tmp_path


def import_day(sessions, folder, name: str, kwh_per_hour: str, day: str = "2024-02-10") -> None:
    path = folder / name
    lines = ["meter_code,start,interval_minutes,kwh"]
    lines += [f"PM-SUN1,{day}T{h:02d}:00:00Z,60,{kwh_per_hour}" for h in range(24)]
    path.write_text("\n".join(lines) + "\n")
    with sessions.begin() as s:
        imports.import_file(s, path, actor="test")


def sun1_days(sessions) -> dict[dt.date, tuple[int | None, int | None]]:
    with sessions.begin() as s:
        board = member_screens.member_dashboard(s, "1001", today=TODAY)
    [sun1] = [h for h in board.holdings if h.asset_code == "SUN1"]
    return {d.day: (d.metered_wh, d.forecast_wh) for d in sun1.days}


def test_a_revised_reading_shows_on_the_next_dashboard(coop, sessions):
    import_day(sessions, coop, "first.csv", "1.5")
    assert sun1_days(sessions)[dt.date(2024, 2, 10)] == (36_000, None)  # 24 h x 1.5 kWh
    assert sun1_days(sessions)[dt.date(2024, 2, 9)] == (None, None)
    import_day(sessions, coop, "revised.csv", "2.25")  # the same hours, new values: a revision
    assert sun1_days(sessions)[dt.date(2024, 2, 10)] == (54_000, None)
    import_day(sessions, coop, "next.csv", "0.5", day="2024-02-11")
    days = sun1_days(sessions)
    assert days[dt.date(2024, 2, 10)] == (54_000, None) and days[dt.date(2024, 2, 11)] == (12_000, None)


def test_a_forecast_refresh_is_in_the_audit_log_and_on_the_next_dashboard(coop, sessions):
    assert all(f is None for _, f in sun1_days(sessions).values())
    with sessions.begin() as s:
        forecasts.refresh_forecasts(s, today=dt.date(2024, 2, 8), days=3, actor="scheduler")
    with sessions.begin() as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "forecast")).all()
        assert (entry.actor, entry.entity, entry.entity_key) == ("scheduler", "forecasts", "SUN1")
        assert entry.after["intervals"] == 72 and entry.after["source"] == "typical"
        assert entry.after["from"] == "2024-02-08T00:00:00+00:00" and entry.after["to"] == "2024-02-11T00:00:00+00:00"
        stored_wh = entry.after["total_wh"]
    days = sun1_days(sessions)
    forecast_days = {d for d, (_, f) in days.items() if f is not None}
    assert forecast_days == {dt.date(2024, 2, 8), dt.date(2024, 2, 9), dt.date(2024, 2, 10)}
    assert sum(days[d][1] for d in forecast_days) == stored_wh > 0


def test_an_asset_edit_changes_the_remembered_outlook(coop, sessions, tmp_path):
    with sessions.begin() as s:
        before = forecasts.member_outlook(s, "1001", today=TODAY)
    # SUN1 doubled in size (same share count): next month's expectation must follow the register at once
    bigger = tmp_path / "assets.csv"
    bigger.write_text("asset_code,name,kind,meter_code,timezone,latitude,longitude,total_shares,capacity_kw_dc,"
                      "capacity_kw_ac,tilt_deg,azimuth_deg,storage_kwh,storage_kw\n"
                      "SUN1,School roof,solar,PM-SUN1,UTC,39.73,-105.18,10,500,400,20,180,,\n"
                      "BAT1,Depot battery,storage,PM-BAT1,UTC,39.74,-105.0,4,,,,,400,100\n")
    with sessions.begin() as s:
        load_register(s, "assets", bigger, actor="test")
    with sessions.begin() as s:
        after = forecasts.member_outlook(s, "1001", today=TODAY)
    assert after["wh"] == pytest.approx(2 * before["wh"], rel=0.02)


def test_the_data_version_names_the_database_and_moves_with_each_change(coop, sessions, tmp_path):
    with sessions.begin() as s:
        first = memo.data_version(s)
    with sessions.begin() as s:
        assert memo.data_version(s) == first  # reading changes nothing
    import_day(sessions, tmp_path, "x.csv", "1")
    with sessions.begin() as s:
        second = memo.data_version(s)
    assert second[0] == first[0] and second[1] > first[1]
