"""Utility and inverter exports through import profiles (SPEC 20), on SQLite and PostgreSQL.

Each built-in profile imports its fixture (``tests/data/profiles``, written by ``tests/profile_exports.py`` in the
layouts real exports use) to the exact Wh; detection picks the right profile; a file in no layout is refused in
words; every fixture with one field broken is refused naming line, column and reason, with nothing stored.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from energy_coop.models import AuditEntry, ImportBatch, ImportProfile, Meter, Reading
from tests.conftest import TEST_DATA
from tests.helpers import small_coop, utc
from tests.profile_exports import (MY_UTILITY, delivered_wh, received_wh, start_end_kwh,
                                   utility_blocks)

DATA = TEST_DATA / "profiles"


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op (solar meter PM-SUN1, battery PM-BAT1, assets in UTC) and a consumption meter CONS-1."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        s.add(Meter(code="CONS-1", kind="consumption"))
    return sessions


def imported(cli, *args):
    result = cli("import", *map(str, args), "--json")
    return result.exit_code, json.loads(result.stdout)["files"][0], result.stderr


def stored(sessions, meter: str) -> dict[int, int]:
    """start [UTC s] -> mWh of one meter's readings."""
    with sessions.begin() as s:
        return dict(s.execute(select(Reading.start, Reading.mwh).join(Meter, Meter.id == Reading.meter_id)
                              .where(Meter.code == meter)).all())


def nothing_stored(sessions) -> bool:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(Reading)) == 0
                and s.scalar(select(func.count()).select_from(ImportBatch)) == 0)


# ------------------------------------------------------------------------------------------- each profile, exact


def test_utility_blocks_on_a_solar_meter_is_received_minus_delivered_to_the_wh(coop, cli):
    code, report, _ = imported(cli, DATA / "utility_blocks_2022-08.csv", "--meter", "PM-SUN1",
                               "--timezone", "America/New_York")
    assert code == 0, report
    assert (report["status"], report["profile"], report["accepted"]) == ("imported", "utility-blocks", 48)
    assert "read as profile 'utility-blocks' (its layout was recognised)" in report["notes"]
    readings = stored(coop, "PM-SUN1")
    assert len(readings) == 48
    assert sum(readings.values()) == 9_356_000  # 18,236 Wh received - 8,880 Wh delivered over two days
    assert readings[utc(2022, 8, 1, 4)] == -103_000  # midnight in New York (EDT): 0 received, 0.103 kWh delivered
    assert readings[utc(2022, 8, 1, 16)] == 864_000  # noon: 0.967 kWh received - 0.103 + 0.084 delivered
    assert readings[utc(2022, 8, 1, 16)] == (received_wh(1, 12) - delivered_wh(1, 12)) * 1000


def test_a_net_export_on_a_consumption_meter_is_refused_by_the_sign_rule(coop, cli, write):
    code, report, _ = imported(cli, DATA / "utility_blocks_2022-08.csv", "--meter", "CONS-1",
                               "--timezone", "America/New_York", "--profile", "utility-blocks")
    # the fixture's home sent back more than it used at midday: a consumption meter never reads negative
    # (SPEC 4), so the file is refused naming those hours, and the words say where a net export belongs
    assert code == 2 and report["status"] == "refused" and report["accepted"] == 0, report
    reasons = [e["reason"] for e in report["errors"]]
    assert reasons and all("is negative" in r and "belongs on an asset's meter" in r for r in reasons)
    assert stored(coop, "CONS-1") == {}


def test_a_month_of_utility_blocks_in_quarter_hours_is_generated_and_exact(coop, cli, write):
    text = utility_blocks(dt.date(2022, 8, 1), 31)
    code, report, _ = imported(cli, write("august.csv", text), "--meter", "PM-SUN1", "--timezone",
                               "America/New_York")
    assert code == 0, report
    expected = sum(received_wh(d, h) - delivered_wh(d, h) for d in range(1, 32) for h in range(24))
    assert report["accepted"] == 31 * 24
    assert sum(stored(coop, "PM-SUN1").values()) == expected * 1000


def test_start_end_kwh_in_local_time_on_a_consumption_meter(coop, cli):
    code, report, _ = imported(cli, DATA / "start_end_kwh_2024-03.csv", "--meter", "CONS-1",
                               "--timezone", "Europe/Berlin")
    assert code == 0, report
    assert report["profile"] == "start-end-kwh"
    readings = stored(coop, "CONS-1")
    assert (len(readings), sum(readings.values())) == (96, 6_480_000)
    assert readings[utc(2024, 3, 3, 23, 0)] == 50_000  # 2024-03-04 00:00 in Berlin (UTC+1), 0.050 kWh
    assert readings[utc(2024, 3, 4, 22, 45)] == 50_000 + 95 % 40 * 1000


def test_the_inverter_register_is_differenced_across_its_reset(coop, cli):
    code, report, _ = imported(cli, DATA / "inverter_register_2024-06.csv", "--meter", "PM-SUN1",
                               "--timezone", "Europe/Berlin")
    assert code == 0, report
    assert report["profile"] == "inverter-register"
    readings = stored(coop, "PM-SUN1")
    # 48 quarter hours after the baseline row at 06:00 CEST; each step is 20 Wh x (i mod 9); the counter restarts
    # from zero after 30 of them and the restarted row's own value is that interval's energy
    assert len(readings) == 48
    assert sum(readings.values()) == sum(20 * (i % 9) for i in range(1, 49)) * 1000 == 3_720_000
    assert readings[utc(2024, 6, 3, 4, 0)] == 20_000  # 06:00-06:15 CEST
    assert readings[utc(2024, 6, 3, 11, 30)] == 20 * (31 % 9) * 1000  # the interval the counter restarted in


def test_a_user_profile_file_reads_decimal_commas_dates_and_both_channels(coop, cli):
    code, report, _ = imported(cli, DATA / "my_utility_2024-01.csv", "--meter", "CONS-1",
                               "--profile", DATA / "my-utility.toml")
    assert code == 0, report
    assert report["profile"] == "my-utility"
    assert stored(coop, "CONS-1") == {
        utc(2024, 1, 15, 22, 0): 120_500, utc(2024, 1, 15, 22, 15): 118_000,
        utc(2024, 1, 15, 22, 30): 121_250, utc(2024, 1, 15, 22, 45): 115_500,  # 23:45-00:00: 119 - 3.5 Wh
    }


def test_the_meter_named_in_the_metadata_is_used_and_local_times_follow_its_asset(coop, cli, write):
    text = utility_blocks(dt.date(2022, 8, 1), 1, meter="PM-SUN1")
    code, report, _ = imported(cli, write("named.csv", text))
    assert code == 0, report
    assert "local times were read in UTC (the time zone of the meter's asset)" in report["notes"]
    readings = stored(coop, "PM-SUN1")
    assert readings[utc(2022, 8, 1, 12)] == (received_wh(1, 12) - delivered_wh(1, 12)) * 1000


def test_the_autumn_night_in_order_is_25_hours(coop, cli, write):
    text = start_end_kwh(dt.datetime(2022, 11, 6, 0, 0), 25 * 4, zone="America/New_York")
    assert text.count("2022-11-06 01:15,2022-11-06 01:30") == 2  # the repeated hour, twice in time order
    code, report, _ = imported(cli, write("fallback.csv", text), "--meter", "CONS-1",
                               "--timezone", "America/New_York")
    assert code == 0, report
    readings = stored(coop, "CONS-1")
    assert sorted(readings) == [utc(2022, 11, 6, 4) + 900 * i for i in range(100)]
    assert sum(readings.values()) == sum(50 + i % 40 for i in range(100)) * 1000


# ------------------------------------------------------------------------------------------------ auto-detection


@pytest.mark.parametrize("name, meter, profile", [
    ("utility_blocks_2022-08.csv", "PM-SUN1", "utility-blocks"),
    ("start_end_kwh_2024-03.csv", "CONS-1", "start-end-kwh"),
    ("inverter_register_2024-06.csv", "PM-SUN1", "inverter-register"),
])
def test_detection_picks_the_right_built_in_profile(coop, cli, name, meter, profile):
    code, report, _ = imported(cli, DATA / name, "--meter", meter, "--timezone", "Europe/Berlin")
    assert code == 0, report
    assert report["profile"] == profile
    assert f"read as profile '{profile}' (its layout was recognised)" in report["notes"]


def test_a_stored_profile_is_detected_after_it_is_added(coop, cli):
    added = cli("profiles", "add", str(DATA / "my-utility.toml"))
    assert added.exit_code == 0, added.stderr
    code, report, _ = imported(cli, DATA / "my_utility_2024-01.csv", "--meter", "CONS-1")
    assert code == 0, report
    assert report["profile"] == "my-utility"
    assert sum(stored(coop, "CONS-1").values()) == 475_250


def test_a_file_in_no_layout_is_refused_saying_what_was_recognised(coop, cli, write):
    path = write("odd.csv", "Energy Usage Information\nAccount Number,0012345678\n\nWhen,Amount\n"
                            "2024-03-01 00:00,1.5\n")
    code, report, stderr = imported(cli, path, "--meter", "CONS-1")
    assert code == 2
    assert report["status"] == "refused"
    [error] = report["errors"]
    assert error["field"] == "layout"
    reason = error["reason"]
    assert reason.startswith("the file is in no known layout: line 1 looks like metadata ('Energy Usage "
                             "Information'); line 4 has columns 'when', 'amount'; line 5 looks like data")
    assert ("profile 'start-end-kwh' expected a header line with the columns 'start' (start), 'end' (end), "
            "'kwh' (energy) within the first 100 lines") in reason
    assert "profile 'utility-blocks' expected a block label line 'energy delivered'" in reason
    assert "README section 'Meter files from utilities: profiles'" in reason
    assert "--profile NAME|PATH" in stderr
    assert nothing_stored(coop)


def test_our_own_layout_with_a_wrong_column_still_gets_our_parsers_words(coop, cli, write):
    code, report, _ = imported(cli, write("own.csv", "meter,start,interval_minutes,kwh\nPM-SUN1,"
                                                     "2024-03-01T00:00:00Z,60,1\n"))
    assert code == 2
    assert "unknown column 'meter'" in report["errors"][0]["reason"]


def test_a_file_without_a_meter_is_refused_naming_its_account(coop, cli):
    code, report, stderr = imported(cli, DATA / "start_end_kwh_2024-03.csv", "--timezone", "Europe/Berlin")
    assert code == 2
    assert report["errors"][0] == {
        "where": "file", "field": "meter",
        "reason": "this file does not name one of our meter codes (its metadata: account '0012345678' (line 2)); "
                  "name the meter its readings belong to when importing it"}
    assert "--meter CODE" in stderr
    assert nothing_stored(coop)


def test_a_metadata_meter_that_is_not_ours_is_refused(coop, cli):
    code, report, _ = imported(cli, DATA / "utility_blocks_2022-08.csv", "--timezone", "America/New_York")
    assert code == 2
    assert report["errors"][0]["reason"].startswith(
        "'SAMPLE-METER-7' (named by the file's metadata) is not a meter in the register")


def test_only_the_other_channel_is_refused(coop, cli, write):
    text = utility_blocks(dt.date(2022, 8, 1), 1)
    delivered_only = text[:text.index("Energy Received")]
    code, report, _ = imported(cli, write("d.csv", delivered_only), "--meter", "PM-SUN1", "--timezone", "UTC")
    assert code == 2
    assert report["errors"][0]["reason"] == (
        "the file holds only energy delivered (to the premises); meter PM-SUN1 is a production meter, whose "
        "readings are the energy received")
    assert nothing_stored(coop)


def test_an_unknown_profile_name_is_refused_listing_the_profiles(coop, cli):
    code, report, _ = imported(cli, DATA / "start_end_kwh_2024-03.csv", "--meter", "CONS-1", "--profile", "nope")
    assert code == 2
    assert report["errors"][0]["reason"].startswith(
        "there is no import profile 'nope'; the profiles are: utility-blocks, start-end-kwh, inverter-register")


# ------------------------------------------------------------------------------------- one field broken, refused


def _blocks() -> str:
    return (DATA / "utility_blocks_2022-08.csv").read_text(encoding="utf-8")


BROKEN = [
    pytest.param("utility_blocks_2022-08.csv", "PM-SUN1", "America/New_York",
                 lambda t: t.replace("2022-08-01 03:00:00", "2022-08-32 03:00:00", 1),
                 "line 12", "Interval", "'2022-08-32 03:00:00' is not a date and time in this layout's form",
                 id="bad-date"),
    pytest.param("utility_blocks_2022-08.csv", "PM-SUN1", "America/New_York",
                 lambda t: t.replace(",0.117", ",0.1l7", 1),
                 "line 12", "Usage (kWh)", "'0.1l7' is not a number; give the energy in kWh, e.g. 1.25",
                 id="bad-number"),
    pytest.param("utility_blocks_2022-08.csv", "PM-SUN1", "America/New_York",
                 lambda t: t.replace("Energy Received\r\nInterval,Usage (kWh)\r\n", "Energy Received\r\n", 1),
                 "line 36", "header", "the received block opened on line 35 has no header line: expected the "
                 "columns 'interval', 'usage', found", id="missing-block-header"),
    pytest.param("inverter_register_2024-06.csv", "PM-SUN1", "Europe/Berlin",
                 lambda t: t.replace("2024-06-03 07:15:00,10520.550", "2024-06-03 07:15:00,10519.550", 1),
                 "line 10", "Total Yield (kWh)", "the register went down from the line before; a reset starts "
                 "again from zero, and this value is too high for that (line 9)", id="register-backwards"),
    pytest.param("start_end_kwh_2024-03.csv", "CONS-1", "America/New_York",
                 lambda t: t.replace("2024-03-04 01:00,2024-03-04 01:15", "2022-11-06 01:00,2022-11-06 01:15", 1),
                 "line 9", "Start", "'2022-11-06 01:00' happens twice in America/New_York (the clocks go back "
                 "that night) but appears only once here", id="dst-ambiguous"),
    pytest.param("start_end_kwh_2024-03.csv", "CONS-1", "Europe/Berlin",
                 lambda t: t.replace("2024-03-04 01:00,2024-03-04 01:15", "2024-03-31 02:30,2024-03-04 01:15", 1),
                 "line 9", "Start", "'2024-03-31 02:30' does not exist in Europe/Berlin (the clocks skip that "
                 "hour)", id="dst-nonexistent"),
    pytest.param("my_utility_2024-01.csv", "CONS-1", None,
                 lambda t: t.replace('"118,0"', '"118.0"', 1),
                 "line 6", "Bezug (Wh)", "'118.0' is not a number in this layout: it writes decimals after a comma",
                 id="decimal-mark"),
]


@pytest.mark.parametrize("name, meter, zone, breaking, where, column, reason", BROKEN)
def test_one_broken_field_refuses_the_file_naming_it(coop, cli, write, name, meter, zone, breaking, where, column,
                                                     reason):
    original = (DATA / name).read_bytes().decode("utf-8")
    broken = breaking(original)
    assert broken != original
    args = ["--meter", meter] + (["--timezone", zone] if zone else [])
    if name.startswith("my_utility"):
        args += ["--profile", DATA / "my-utility.toml"]
    path = write(name, broken.encode("utf-8"))
    code, report, stderr = imported(cli, path, *args)
    assert code == 2, report
    assert report["status"] == "refused"
    matching = [e for e in report["errors"] if e["where"] == where and e["field"] == column]
    assert matching, report["errors"]
    assert matching[0]["reason"].startswith(reason), matching[0]["reason"]
    assert nothing_stored(coop)


# ---------------------------------------------------------------------------------------------- profile files


def test_profiles_list_and_show(coop, cli):
    assert cli("profiles", "add", str(DATA / "my-utility.toml")).exit_code == 0
    listed = json.loads(cli("profiles", "list", "--json").stdout)["profiles"]
    assert [p["name"] for p in listed] == ["utility-blocks", "start-end-kwh", "inverter-register", "my-utility"]
    assert listed[3]["added_by"] and not listed[3]["built_in"]
    shown = cli("profiles", "show", "utility-blocks")
    assert shown.exit_code == 0
    assert 'layout = "blocks"' in shown.stdout and 'received = ["energy received", "received"]' in shown.stdout
    with coop.begin() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity == "import_profile")).one()
        assert (entry.action, entry.entity_key) == ("add", "my-utility")


def test_adding_the_same_name_twice_needs_replace(coop, cli):
    assert cli("profiles", "add", str(DATA / "my-utility.toml")).exit_code == 0
    again = cli("profiles", "add", str(DATA / "my-utility.toml"))
    assert again.exit_code == 3
    assert "a profile named 'my-utility' is stored already" in again.stderr and "--replace" in again.stderr
    assert cli("profiles", "add", str(DATA / "my-utility.toml"), "--replace").exit_code == 0


BAD_PROFILES = [
    pytest.param(MY_UTILITY.replace('ambiguous = "refuse"', 'ambiguous = "sometimes"'),
                 "line 15", "time.ambiguous", "'sometimes' is not one of refuse, earlier, later, in-order",
                 id="bad-choice"),
    pytest.param(MY_UTILITY.replace("[energy]", "[energy]\ncolour = \"blue\""),
                 "line 18", "energy.colour", "is not a key of [energy]", id="unknown-key"),
    pytest.param(MY_UTILITY.replace('layout = "table"', 'layout = "table'),
                 "line 3", "toml", "this is not valid TOML", id="not-toml"),
    pytest.param(MY_UTILITY.replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Bonn"'),
                 "line 14", "time.timezone", "'Europe/Bonn' is not a time zone name", id="bad-zone"),
    pytest.param(MY_UTILITY.replace('name = "my-utility"', 'name = "utility-blocks"'),
                 "line 1", "name", "is a built-in profile's name", id="built-in-name"),
    pytest.param(MY_UTILITY.replace("delivered = \"bezug\"\nreceived = \"einspeisung\"\n", "energy = \"bezug\"\n"),
                 "line 16", "energy.channel", "say which channel the energy column is", id="no-channel"),
]


@pytest.mark.parametrize("text, where, key, reason", BAD_PROFILES)
def test_a_bad_profile_file_is_refused_by_line_and_key(coop, cli, write, text, where, key, reason):
    result = cli("profiles", "add", str(write("bad.toml", text)), "--json")
    assert result.exit_code in (2, 3)
    details = json.loads(result.stdout)["details"]
    assert any(d["where"] == where and d["field"] == key and d["reason"].startswith(reason) for d in details), details
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportProfile)) == 0


def test_skip_invalid_keeps_the_good_intervals_and_never_nets_half_an_interval(coop, cli, write):
    text = (DATA / "utility_blocks_2022-08.csv").read_bytes().decode("utf-8")
    broken = text.replace(",0.117", ",0.1l7", 1)  # the delivered row of 02:00-03:00 on the first day (line 12)
    path = write("u.csv", broken.encode())
    code, report, _ = imported(cli, path, "--meter", "PM-SUN1", "--timezone", "America/New_York", "--skip-invalid")
    assert code == 0, report
    assert (report["status"], report["accepted"]) == ("partial", 47)
    assert [(e["where"], e["field"]) for e in report["errors"]] == [("line 12", "Usage (kWh)"), ("line 39", "time")]
    assert "has energy received, but the file has no delivered row for the same interval (or it was refused)" in (
        report["errors"][1]["reason"])
    readings = stored(coop, "PM-SUN1")
    assert utc(2022, 8, 1, 6) not in readings  # 02:00 EDT: neither half of the net is stored
    assert sum(readings.values()) == 9_356_000 - (received_wh(1, 2) - delivered_wh(1, 2)) * 1000
    rejected = path.with_name("u.csv.rejected.csv").read_text()
    assert "line 12,Usage (kWh)" in rejected and "0.1l7" in rejected
