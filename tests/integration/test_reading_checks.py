"""Issue 17 (SPEC 4 and 20) through the command on SQLite and PostgreSQL: a Green Button file with redacted
links, repeated messages collapsed, the meter-code suggestion, coverage in the meter's own month, readings of
the wrong sign flagged, and readings no meter could record refused.

The co-op is :func:`tests.helpers.small_coop`: PM-SUN1 is a 200 kW AC solar array in UTC (standby draw 0.5 %
= 1,000 W, so 250 Wh per quarter hour; at most 1.5 x 200 kW = 300 kWh an hour), PM-BAT1 a 100 kW battery, and
CONS-1 a member-side consumption meter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from energy_coop.models import ImportBatch, Meter, Member, Premises, Reading
from energy_coop.services.settings import set_setting
from tests.conftest import TEST_DATA

REDACTED = TEST_DATA / "gb_redacted_links.xml"
NET_MWH = [4_900_000, 5_800_000, 7_000_000, 7_950_000, 90_000, -20_000, -30_000, -40_000]  # received - delivered


@pytest.fixture
def coop(coop_with_consumption_meter):
    return coop_with_consumption_meter


def imported(cli, *args):
    result = cli("import", *map(str, args), "--json")
    return result.exit_code, json.loads(result.stdout)["files"], result.stderr


def stored(sessions, code: str = "PM-SUN1") -> list[int]:
    with sessions.begin() as s:
        return list(s.scalars(select(Reading.mwh).join(Meter, Meter.id == Reading.meter_id)
                              .where(Meter.code == code).order_by(Reading.start)))


def count_readings(sessions) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(Reading))


def entries(path: Path) -> tuple[str, list[str], str]:
    text = path.read_text(encoding="utf-8")
    head, *rest = text.split("  <entry>\n")
    parts = ["  <entry>\n" + e for e in rest]
    last, tail = parts[-1].split("  </entry>\n", 1)
    parts[-1] = last + "  </entry>\n"
    return head, parts, tail


def reordered(write, name: str, order: list[int], path: Path = REDACTED) -> Path:
    head, parts, tail = entries(path)
    return write(name, head + "".join(parts[i] for i in order) + tail)


def swapped(text: str) -> str:
    """The redacted file with its two directions swapped: the net is delivered - received, mostly negative."""
    return (text.replace("<espi:flowDirection>1</espi:flowDirection>", "<espi:flowDirection>X</espi:flowDirection>")
            .replace("<espi:flowDirection>19</espi:flowDirection>", "<espi:flowDirection>1</espi:flowDirection>")
            .replace("<espi:flowDirection>X</espi:flowDirection>", "<espi:flowDirection>19</espi:flowDirection>"))


# ------------------------------------------------------------------------------------------------ Green Button


def test_redacted_links_import_by_document_order_to_the_exact_wh(coop, cli):
    code, [report], _ = imported(cli, REDACTED)
    assert code == 0, report
    assert (report["status"], report["meters"], report["accepted"]) == ("imported", ["PM-SUN1"], 8)
    assert stored(coop) == NET_MWH and sum(stored(coop)) == 25_650_000  # 25,650 Wh net
    assert any("linked to their MeterReading by document order" in n for n in report["notes"])
    assert report["flags"] == []  # -40 Wh a quarter hour is within the 250 Wh standby draw


def test_redacted_links_with_the_reverse_block_first_store_the_same_net(coop, cli, write):
    path = reordered(write, "reverse_first.xml", [0, 5, 6, 7, 8, 1, 2, 3, 4])
    code, [report], _ = imported(cli, path)
    assert code == 0 and report["accepted"] == 8
    assert stored(coop) == NET_MWH


def test_a_file_no_linking_method_settles_is_refused_with_the_reason(coop, cli, write):
    path = reordered(write, "ambiguous.xml", [0, 3, 4, 1, 2, 7, 8, 5, 6])  # blocks before their MeterReading
    code, [report], stderr = imported(cli, path)
    assert code == 2 and report["status"] == "refused"
    first = report["errors"][0]
    assert (first["where"], first["field"]) == ("IntervalBlock entry 2", "link")
    assert first["reason"].startswith("its links fit 2 MeterReadings (entry 4, entry 8), whose hrefs are the same, "
                                      "and document order does not settle it")
    assert count_readings(coop) == 0


def test_a_title_that_is_no_meter_code_is_said_once_with_a_count_and_the_meter_option(coop, cli, write):
    # 7,764 quarter hours of one direction for a UsagePoint titled 'ROOF 7': one reason, repeated
    readings = "".join(f"<espi:IntervalReading><espi:timePeriod><espi:duration>900</espi:duration><espi:start>"
                       f"{1704067200 + 900 * k}</espi:start></espi:timePeriod><espi:value>10</espi:value>"
                       "</espi:IntervalReading>" for k in range(7_764))
    head, parts, tail = entries(REDACTED)
    up, mr, rt, block = parts[0].replace("PM-SUN1", "ROOF 7"), parts[5], parts[6], parts[7]
    start, end = block.split("<espi:IntervalReading>", 1)[0], "</espi:IntervalBlock>" + block.split(
        "</espi:IntervalBlock>", 1)[1]
    path = write("roof7.xml", head + up + mr + rt + start + readings + end + tail)
    result = cli("import", str(path))
    assert result.exit_code == 2
    reason = "the UsagePoint's title 'ROOF 7' is not the code of a registered meter (registered meters include "
    lines = result.stderr.splitlines()
    listed = [line for line in lines if reason in line]
    named = listed[0].split("include ", 1)[1].split(")", 1)[0]
    assert sorted(named.split(", ")) == ["'CONS-1'", "'PM-BAT1'", "'PM-SUN1'"]  # the closest three: all there are
    assert len(listed) == 5  # the first five, then one line for the rest
    assert "    ... and 7,759 more like this" in lines
    assert lines.index("    ... and 7,759 more like this") == lines.index(listed[-1]) + 1
    assert "hint: for a file of one meter, name it with --meter CODE" in result.stderr
    assert len(result.stderr) < 5_000
    code, [report], _ = imported(cli, path)
    assert len(report["errors"]) == 5 and report["hints"] == ["meter"]
    [more] = report["more_like_this"]
    assert more["more"] == 7_759 and more["field"] == "title" and reason in more["reason"]
    # named with the meter code, the same file imports
    code, [report], _ = imported(cli, path, "--meter", "PM-SUN1")
    assert code == 0 and report["accepted"] == 7_764


# ------------------------------------------------------------------------------------------------ coverage


def _cons_reading(write, text: str = "CONS-1,2026-03-31T23:30:00-04:00,30,0.5\n") -> Path:
    return write("cons.csv", "meter_code,start,interval_minutes,kwh\n" + text)


def test_consumption_coverage_counts_the_premises_local_month(coop, cli, write):
    with coop.begin() as s:
        member = s.scalar(select(Member).where(Member.member_number == "1001"))
        meter = s.scalar(select(Meter).where(Meter.code == "CONS-1"))
        s.add(Premises(member_id=member.id, address="1 Elm St", floor_area_m2=120, heating_fuel="heat_pump",
                       meter_id=meter.id, timezone="America/New_York"))
    assert imported(cli, _cons_reading(write))[0] == 0  # 2026-04-01 03:30 UTC
    march = json.loads(cli("coverage", "2026-03", "--meter", "CONS-1", "--json").stdout)["meters"][0]
    april = json.loads(cli("coverage", "2026-04", "--meter", "CONS-1", "--json").stdout)["meters"][0]
    assert (march["present"], march["timezone"]) == (1, "America/New_York")
    assert march["expected"] == 31 * 48 - 2  # the month's half hours, less the hour skipped on 8 March
    assert april["present"] == 0


def test_consumption_coverage_without_premises_uses_the_coop_zone(coop, cli, write):
    with coop.begin() as s:
        set_setting(s, "timezone", "America/New_York", actor="test")
    assert imported(cli, _cons_reading(write))[0] == 0
    march = json.loads(cli("coverage", "2026-03", "--meter", "CONS-1", "--json").stdout)["meters"][0]
    assert (march["present"], march["timezone"]) == (1, "America/New_York")
    text = cli("coverage", "2026-04", "--meter", "CONS-1").stdout
    assert text.startswith("CONS-1") and " 0 of " in text


# ------------------------------------------------------------------------------------------------ sign checks


def test_a_solar_meter_negative_beyond_standby_is_stored_and_flagged_everywhere(coop, cli, write):
    path = write("swapped.xml", swapped(REDACTED.read_text()))
    code, [report], _ = imported(cli, path)
    assert code == 0 and report["accepted"] == 8
    assert stored(coop) == [-m for m in NET_MWH]  # stored as read: an asset's wrong sign is flagged, not refused
    [flag] = report["flags"]
    assert {k: flag[k] for k in ("meter_code", "check", "count", "months", "standby_w")} == {
        "meter_code": "PM-SUN1", "check": "wrong_sign", "count": 4, "months": {"2024-06": 4}, "standby_w": 1_000}
    assert flag["first"][0].startswith("UsagePoint 'PM-SUN1', IntervalBlock ")
    assert flag["first"][0].endswith("IntervalReading 1 (received)") and len(flag["first"]) == 4
    assert flag["message"].startswith("meter 'PM-SUN1' has 4 readings with the wrong sign in 2024-06: a solar "
                                      "meter reads its production")
    text = cli("import", str(write("swapped2.xml", swapped(REDACTED.read_text()) + "\n")))
    assert "warning: meter 'PM-SUN1' has 4 readings with the wrong sign in 2024-06" in text.stderr
    cov = json.loads(cli("coverage", "2024-06", "--json").stdout)["meters"]
    sun = next(m for m in cov if m["meter_code"] == "PM-SUN1")
    assert sun["wrong_sign"] == 4 and sun["flags"][0].startswith("meter 'PM-SUN1' has 4 readings")
    assert next(m for m in cov if m["meter_code"] == "PM-BAT1")["wrong_sign"] == 0


def test_skip_invalid_does_not_hide_the_flags(coop, cli, write):
    text = swapped(REDACTED.read_text()).replace("<espi:value>7000</espi:value>", "<espi:value>x</espi:value>")
    code, [report], _ = imported(cli, write("swapped_bad.xml", text), "--skip-invalid")
    # the broken value and its other direction (the net cannot be computed) are rejected
    assert code == 0 and report["status"] == "partial" and report["rejected"] == 2
    [flag] = report["flags"]
    assert flag["count"] == 3  # the other three negatives are stored and flagged


def test_a_battery_reads_either_sign_without_a_flag(coop, cli, write):
    path = write("bat.csv", "meter_code,start,interval_minutes,kwh\nPM-BAT1,2024-06-01T00:00:00Z,60,-80\n"
                            "PM-BAT1,2024-06-01T01:00:00Z,60,75\n")
    code, [report], _ = imported(cli, path)
    assert code == 0 and report["accepted"] == 2 and report["flags"] == []


def test_a_negative_consumption_reading_is_refused_naming_the_row(coop, cli, write):
    path = write("cons.csv", "meter_code,start,interval_minutes,kwh\nCONS-1,2024-06-01T00:00:00Z,60,1.5\n"
                             "CONS-1,2024-06-01T01:00:00Z,60,-0.25\n")
    code, [report], _ = imported(cli, path)
    assert code == 2 and report["status"] == "refused"
    assert report["errors"] == [{"where": "line 3", "field": "kwh", "line": 3, "reason": (
        "-0.25 kWh is negative, but 'CONS-1' is a consumption meter, whose readings are the energy the premises "
        "used (0 or more); a file's net export (received minus delivered) belongs on an asset's meter")}]
    assert count_readings(coop) == 0
    code, [report], _ = imported(cli, path, "--skip-invalid")
    assert code == 0 and (report["accepted"], report["rejected"]) == (1, 1)
    assert stored(coop, "CONS-1") == [1_500_000]


def test_a_green_button_net_on_a_consumption_meter_is_refused(coop, cli):
    code, [report], _ = imported(cli, REDACTED, "--meter", "CONS-1")
    assert code == 2
    assert [e["where"] for e in report["errors"]] == [
        f"UsagePoint 'PM-SUN1', IntervalBlock 2, IntervalReading {k} (delivered) and UsagePoint 'PM-SUN1', "
        f"IntervalBlock 4, IntervalReading {k} (received)" for k in (2, 3, 4)]
    assert all(e["field"] == "value" and "is a consumption meter" in e["reason"] for e in report["errors"])
    assert count_readings(coop) == 0


# ------------------------------------------------------------------------------------------------ bounds


@pytest.mark.parametrize("kwh, ok", [("300", True), ("300.001", False), ("-300.001", False)])
def test_an_asset_reading_over_one_and_a_half_times_its_capacity_is_refused(coop, cli, write, kwh, ok):
    path = write("big.csv", f"meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-06-01T12:00:00Z,60,{kwh}\n")
    code, [report], _ = imported(cli, path)
    if ok:
        assert code == 0 and report["accepted"] == 1
        return
    assert code == 2
    [error] = report["errors"]
    assert (error["line"], error["field"]) == (2, "kwh")
    assert error["reason"] == (f"{kwh} kWh in 1 hour is more than meter 'PM-SUN1' could record: its asset is rated "
                               "200 kW, so at most 300 kWh (1.5 x its rating) in that time; check the unit (Wh or "
                               "kWh) or the multiplier")
    assert count_readings(coop) == 0


def test_a_battery_is_bounded_by_its_power_both_ways(coop, cli, write):
    path = write("bat.csv", "meter_code,start,interval_minutes,kwh\nPM-BAT1,2024-06-01T00:00:00Z,15,-37.5\n"
                            "PM-BAT1,2024-06-01T00:15:00Z,15,-37.501\n")
    code, [report], _ = imported(cli, path)
    assert code == 2 and [e["line"] for e in report["errors"]] == [3]
    assert "rated 100 kW, so at most 37.5 kWh" in report["errors"][0]["reason"]


def test_a_green_button_value_beyond_the_asset_is_refused(coop, cli, write):
    # the first received value 5,000 Wh -> 5,000 x 10^3 Wh = 5 MWh in 15 minutes from a 200 kW array
    text = REDACTED.read_text().replace("<espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>72"
                                        "</espi:uom></espi:ReadingType>", "<espi:powerOfTenMultiplier>3"
                                        "</espi:powerOfTenMultiplier><espi:uom>72</espi:uom></espi:ReadingType>")
    code, [report], _ = imported(cli, write("kwh_multiplier.xml", text))
    assert code == 2 and report["status"] == "refused"
    assert report["errors"][0]["field"] == "value"
    assert "is more than meter 'PM-SUN1' could record: its asset is rated 200 kW, so at most 75 kWh" in \
        report["errors"][0]["reason"]
    assert count_readings(coop) == 0


@pytest.mark.parametrize("kwh, words", [
    ("1e-999999", "'1e-999999' has more than 6 decimal places (finer than 1 mWh)"),
    ("1e999999", "'1e999999' kWh is too large for one reading (the limit is 1,000,000 kWh)"),
    ("1000000.001", "'1000000.001' kWh is too large for one reading (the limit is 1,000,000 kWh)"),
    ("1e" + "9" * 10_000_000, "(10,000,002 characters) is 10,000,002 characters long; a kWh value is a number of "
                              "at most 100 characters"),
], ids=["tiny-exponent", "huge-exponent", "over-10^12-mWh", "10-MB-exponent"])
def test_absurd_numbers_in_a_csv_are_refused_in_plain_words(coop, cli, write, kwh, words):
    path = write("k.csv", f"meter_code,start,interval_minutes,kwh\nCONS-1,2024-06-01T00:00:00Z,60,{kwh}\n")
    code, [report], stderr = imported(cli, path)
    assert code == 2
    [error] = report["errors"]
    assert error["field"] == "kwh" and words in error["reason"]
    assert len(stderr) < 2_000 and count_readings(coop) == 0


@pytest.mark.parametrize("value, field, words", [
    ("1e999999", "value", "'1e999999' is not a whole number"),
    ("-1" + "0" * 13, "value", "too large for one reading (the limit is 1,000,000 kWh)"),
], ids=["exponent", "over-10^12-mWh"])
def test_absurd_numbers_in_a_green_button_file_are_refused(coop, cli, write, value, field, words):
    text = REDACTED.read_text().replace("<espi:value>5000</espi:value>", f"<espi:value>{value}</espi:value>", 1)
    code, [report], _ = imported(cli, write("v.xml", text))
    assert code == 2
    assert any(e["field"] == field and words in e["reason"] for e in report["errors"]), report["errors"]
    assert count_readings(coop) == 0


def test_ten_megabytes_of_digits_in_a_green_button_value_are_refused_at_once(coop, cli, write):
    text = REDACTED.read_text().replace("<espi:value>5000</espi:value>", "<espi:value>" + "9" * 10_000_000
                                        + "</espi:value>", 1)
    code, [report], _ = imported(cli, write("digits.xml", text))
    assert code == 2 and report["errors"][0]["field"] == "xml"
    assert "run over 1 MiB" in report["errors"][0]["reason"]
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0
