"""Green Button (ESPI) parsing: our own small fixtures in tests/data, hostile XML, broken links and values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from energy_coop.importers.metering.common import CHUNK_COLUMNS, ParseReport
from energy_coop.importers.metering.greenbutton import parse_greenbutton

from .conftest import DATA

NY = "America/New_York"


def parse(path: Path, meter: str | None = None) -> tuple[pd.DataFrame, ParseReport]:
    report = ParseReport()
    return parse_greenbutton(path, meter=meter, report=report), report


def test_fall_back_day_has_100_quarter_hours():
    df, report = parse(DATA / "gb_fallback_2024-11-03.xml")
    assert report.ok and report.skipped == []
    assert list(df.columns) == list(CHUNK_COLUMNS)
    assert len(df) == 100
    local_day = pd.to_datetime(df["start"], unit="s", utc=True).dt.tz_convert(NY).dt.strftime("%Y-%m-%d")
    assert set(local_day) == {"2024-11-03"}
    assert df["start"].iloc[0] == 1730606400 and df["end"].iloc[-1] == 1730606400 + 100 * 900
    assert (df["end"] - df["start"]).eq(900).all()
    # value x 10^-1 Wh -> mWh: values 5, 15, ..., 995 tenths of Wh
    assert df["mwh"].tolist()[:3] == [500, 1500, 2500]
    assert int(df["mwh"].sum()) == 5_000_000
    assert df["meter_code"].unique().tolist() == ["PV-FALL"]
    assert df["where"].iloc[50] == "UsagePoint 'PV-FALL', IntervalBlock 2, IntervalReading 1"
    assert df["line"].tolist() == list(range(1, 101))
    assert report.meters == {"PV-FALL": 100} and report.rows_read == 100


def test_month_end_with_kwh_multiplier_and_other_prefix():
    df, report = parse(DATA / "gb_month_end.xml")
    assert report.ok
    months = pd.to_datetime(df["start"], unit="s", utc=True).dt.strftime("%Y-%m")
    assert months.value_counts().to_dict() == {"2024-01": 4, "2024-02": 4}
    assert df["mwh"].tolist() == [k * 1_000_000 for k in range(1, 9)]  # value x 10^3 Wh


def test_net_metering_yields_received_minus_delivered():
    df, report = parse(DATA / "gb_net_metering.xml")
    assert report.ok
    assert df["mwh"].tolist() == [400_000, -100_000, 300_000, 0]
    assert (df["end"] - df["start"]).tolist() == [900] * 4
    assert df["where"].iloc[0].endswith("(received)") and "(delivered)" in df["where"].iloc[0]


def test_gas_usage_point_skipped_electric_kept_cost_noted():
    df, report = parse(DATA / "gb_gas_and_electric.xml")
    assert report.ok
    assert report.skipped == ["UsagePoint 'GAS-1' (kind 1, natural gas): skipped, not electricity",
                              "cost data: skipped (costs and bill summaries are not stored)"]
    assert df["meter_code"].tolist() == ["E-1", "E-1"]
    assert df["mwh"].tolist() == [700_000, 800_000]


def test_meter_argument_names_the_meter_but_not_for_two_usage_points(tmp_path):
    df, report = parse(DATA / "gb_month_end.xml", meter="PV-9")
    assert report.ok and df["meter_code"].unique().tolist() == ["PV-9"]
    two = tmp_path / "two.xml"
    text = (DATA / "gb_gas_and_electric.xml").read_text().replace("<espi:kind>1</espi:kind>",
                                                                 "<espi:kind>0</espi:kind>")
    two.write_text(text)
    df, report = parse(two, meter="PV-9")
    assert len(df) == 0 and report.fatal
    assert str(report.errors[0]).startswith("meter: the file has 2 electricity UsagePoints ('GAS-1', 'E-1')")


@pytest.mark.parametrize("name", ["gb_billion_laughs.xml", "gb_external_entity.xml"])
def test_hostile_xml_refused_cleanly(name):
    df, report = parse(DATA / name)
    assert len(df) == 0 and report.fatal and report.error_count == 1
    assert str(report.errors[0]).startswith("xml: the file declares a DOCTYPE")


def test_truncated_xml_refused_cleanly():
    df, report = parse(DATA / "gb_truncated.xml")
    assert len(df) == 0 and report.fatal
    assert str(report.errors[0]).startswith("xml: the file is not well-formed XML (line ")
    assert str(report.errors[0]).endswith("is it complete?")


def test_not_a_feed_and_oversized(tmp_path):
    other = tmp_path / "x.xml"
    other.write_text("<html><body/></html>")
    df, report = parse(other)
    assert report.fatal and str(report.errors[0]) == ("xml: this is not a Green Button file: its root element is "
                                                      "'html', expected an Atom feed")
    big = tmp_path / "big.xml"
    with big.open("wb") as f:
        f.truncate(300 * 1024**2)
    report = ParseReport()
    assert len(parse_greenbutton(big, meter=None, report=report)) == 0
    assert report.fatal and str(report.errors[0]).startswith("size: the file is 300.0 MiB")


def _variant(tmp_path: Path, old: str, new: str, source: str = "gb_month_end.xml") -> Path:
    text = (DATA / source).read_text()
    assert old in text
    path = tmp_path / "variant.xml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_duplicate_start_refused_naming_both_elements(tmp_path):
    path = _variant(tmp_path, "<ns1:start>1706734800</ns1:start></ns1:timePeriod>",
                    "<ns1:start>1706731200</ns1:start></ns1:timePeriod>")
    df, report = parse(path)
    assert len(df) == 7
    assert [str(e) for e in report.errors] == [
        "UsagePoint 'PV-ME', IntervalBlock 1, IntervalReading 2, timePeriod/start: starts at 1706731200 "
        "(2024-01-31 20:00 UTC), the same time as UsagePoint 'PV-ME', IntervalBlock 1, IntervalReading 1; each "
        "interval may appear once"]


@pytest.mark.parametrize("old, new, message", [
    ("<ns1:start>1706734800</ns1:start></ns1:timePeriod>", "<ns1:start>1706734800.5</ns1:start></ns1:timePeriod>",
     "IntervalReading 2, timePeriod/start: '1706734800.5' is not a whole number of seconds since 1970-01-01 UTC"),
    ("<ns1:value>2</ns1:value>", "<ns1:value>two</ns1:value>", "IntervalReading 2, value: 'two' is not a whole "
     "number"),
    ("<ns1:duration>3600</ns1:duration><ns1:start>1706734800", "<ns1:duration>0</ns1:duration><ns1:start>1706734800",
     "IntervalReading 2, timePeriod/duration: '0' is not a whole number of seconds greater than 0"),
])
def test_broken_reading_refused(tmp_path, old, new, message):
    df, report = parse(_variant(tmp_path, old, new))
    assert len(df) == 7 and report.error_count == 1
    assert str(report.errors[0]) == "UsagePoint 'PV-ME', IntervalBlock 1, " + message


def test_value_finer_than_a_mwh_refused(tmp_path):
    path = _variant(tmp_path, "<ns1:powerOfTenMultiplier>3<", "<ns1:powerOfTenMultiplier>-4<")
    df, report = parse(path)
    assert len(df) == 0 and report.error_count == 8
    assert str(report.errors[0]).endswith("value: 1 x 10^-4 Wh is finer than 1 mWh")


def test_non_energy_unit_skipped(tmp_path):
    df, report = parse(_variant(tmp_path, "<ns1:uom>72<", "<ns1:uom>38<"))
    assert len(df) == 0 and report.ok
    assert report.skipped == ["UsagePoint 'PV-ME', MeterReading 'reading': unit uom 38 (W): skipped, only "
                              "electricity energy in Wh is stored"]


def test_blank_title_is_an_error(tmp_path):
    df, report = parse(_variant(tmp_path, "<title>PV-ME</title>", "<title> </title>"))
    assert len(df) == 0
    assert str(report.errors[0]).endswith("has no title to use as the meter code; give the meter code when "
                                          "importing or set the title to the meter code")


def test_missing_direction_in_net_file_is_an_error(tmp_path):
    text = (DATA / "gb_net_metering.xml").read_text()
    marker = "<value>50</value></IntervalReading>"
    assert text.count(marker) == 2
    cut = text.rsplit("<IntervalReading>", 1)  # drop the last reading of the first block in the document
    path = tmp_path / "net.xml"
    path.write_text(cut[0] + cut[1].split("</IntervalReading>", 1)[1])
    df, report = parse(path)
    assert len(df) == 3 and report.error_count == 1
    assert "has readings of both directions, but no" in report.errors[0].reason


def test_unlinked_interval_block_is_an_error(tmp_path):
    path = _variant(tmp_path, 'rel="self" href="/DataCustodian/RetailCustomer/2/UsagePoint/1/MeterReading/1/'
                    'IntervalBlock/1"/>\n    <link rel="up" href="/DataCustodian/RetailCustomer/2/UsagePoint/1/'
                    'MeterReading/1/IntervalBlock"/>',
                    'rel="self" href="/elsewhere/IntervalBlock/1"/>')
    df, report = parse(path)
    assert len(df) == 0
    assert [str(e) for e in report.errors] == [
        "IntervalBlock entry 'elsewhere/IntervalBlock/1', link: is linked to no MeterReading of the file"]


def test_a_huge_single_attribute_is_refused_at_once_not_parsed_for_minutes(tmp_path):
    # expat re-scans an unfinished token on every feed: 30 MB in one attribute took ~25 s before the scan
    import time

    path = tmp_path / "attr.xml"
    with path.open("w") as f:
        f.write('<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n<entry a="')
        f.write("x" * 30_000_000)
        f.write('"/></feed>\n')
    began = time.perf_counter()
    df, report = parse(path)
    assert time.perf_counter() - began < 5
    assert len(df) == 0 and report.fatal
    assert [str(e) for e in report.errors] == [
        "xml: line 3 (byte 65): one element's text or attributes run over 1 MiB; Green Button values, titles and "
        "links are far shorter, so the file is refused (is it a Green Button file?)"]


def test_long_token_finds_the_line_across_read_blocks(tmp_path, monkeypatch):
    from energy_coop.importers.metering import atom

    path = tmp_path / "t.xml"
    path.write_text("<a>\n\n" + "x" * 50 + "<b/>\n" + "y" * 200 + "</a>")
    assert atom.long_token(path, limit=100) == (3, 55)
    monkeypatch.setattr(atom, "_BLOCK", 7)  # the run and its newlines span many blocks
    assert atom.long_token(path, limit=100) == (3, 55)
    assert atom.long_token(path, limit=250) is None
    assert atom.long_token(DATA / "gb_month_end.xml") is None


# ------------------------------------------------------------------------------- redacted links (issue 17)


def _entries(path: Path) -> tuple[str, list[str], str]:
    """The feed's text before its first entry, its entries, and what follows the last one."""
    text = path.read_text(encoding="utf-8")
    head, *rest = text.split("  <entry>\n")
    entries = ["  <entry>\n" + e for e in rest]
    last, tail = entries[-1].split("  </entry>\n", 1)
    entries[-1] = last + "  </entry>\n"
    return head, entries, tail


def test_redacted_links_are_settled_by_document_order_to_the_exact_wh():
    # both MeterReadings' self hrefs, their related IntervalBlock hrefs and the blocks' hrefs are identical:
    # refused before as "linked to several MeterReadings"; each MeterReading owns the blocks after it
    df, report = parse(DATA / "gb_redacted_links.xml")
    assert report.ok and report.errors == []
    assert df["meter_code"].unique().tolist() == ["PM-SUN1"]
    # received (19) - delivered (1), per quarter hour [mWh]
    assert df["mwh"].tolist() == [4_900_000, 5_800_000, 7_000_000, 7_950_000, 90_000, -20_000, -30_000, -40_000]
    assert int(df["mwh"].sum()) == 25_650_000  # 25,650 Wh
    assert df["start"].tolist() == [1717243200 + 900 * k for k in range(8)]
    assert df["where"].iloc[0] == ("UsagePoint 'PM-SUN1', IntervalBlock 1, IntervalReading 1 (delivered) and "
                                   "UsagePoint 'PM-SUN1', IntervalBlock 3, IntervalReading 1 (received)")
    assert report.notes == ["4 IntervalBlocks linked to their MeterReading by document order: the MeterReadings "
                            "of the file have the same links (redacted?), so each is taken to own the entries "
                            "that follow it"]


def test_redacted_links_with_the_directions_in_the_other_order_give_the_same_net(tmp_path):
    head, entries, tail = _entries(DATA / "gb_redacted_links.xml")
    up, forward, reverse = entries[0], entries[1:5], entries[5:9]
    path = tmp_path / "reverse_first.xml"
    path.write_text(head + "".join([up, *reverse, *forward]) + tail, encoding="utf-8")
    df, report = parse(path)
    assert report.ok
    assert int(df["mwh"].sum()) == 25_650_000
    assert df["mwh"].tolist()[:2] == [4_900_000, 5_800_000]


def test_redacted_links_with_blocks_before_their_meter_readings_are_refused_saying_why(tmp_path):
    head, entries, tail = _entries(DATA / "gb_redacted_links.xml")
    up, mr1, rt1, ib1, ib2, mr2, rt2, ib3, ib4 = entries
    path = tmp_path / "ambiguous.xml"
    path.write_text(head + "".join([up, ib1, ib2, mr1, rt1, ib3, ib4, mr2, rt2]) + tail, encoding="utf-8")
    df, report = parse(path)
    assert len(df) == 0 and not report.ok
    assert [str(e) for e in report.errors][0] == (
        "IntervalBlock entry 2, link: its links fit 2 MeterReadings (entry 4, entry 8), whose hrefs are the same, "
        "and document order does not settle it: entry 2 comes before any of them, so the feed does not list each "
        "MeterReading before its own entries")
    assert report.error_count == 4  # every block of the two: none is guessed


def test_a_meter_reading_without_any_link_in_a_file_of_one_usage_point_is_its(tmp_path):
    text = (DATA / "gb_month_end.xml").read_text()
    marker = '<link rel="up" href="/DataCustodian/RetailCustomer/2/UsagePoint/1/MeterReading"/>'
    if marker not in text:
        pytest.skip("fixture layout changed")
    path = tmp_path / "nolink.xml"
    path.write_text(text.replace(marker, ""), encoding="utf-8")
    df, report = parse(path)
    assert report.ok and df["mwh"].tolist() == [k * 1_000_000 for k in range(1, 9)]


@pytest.mark.parametrize("old, new, where, field, words", [
    ("<espi:value>7000</espi:value>", "<espi:value>7e3</espi:value>",
     "UsagePoint 'PM-SUN1', IntervalBlock 3, IntervalReading 3", "value", "'7e3' is not a whole number"),
    ("<espi:value>7000</espi:value>", "<espi:value>1" + "0" * 40 + "</espi:value>",
     "UsagePoint 'PM-SUN1', IntervalBlock 3, IntervalReading 3", "value", "too large for one reading"),
    ("<espi:start>1717245000</espi:start></espi:timePeriod><espi:value>7000",
     "<espi:start>1717245001</espi:start></espi:timePeriod><espi:value>7000",
     "UsagePoint 'PM-SUN1', IntervalBlock 1, IntervalReading 3", "timePeriod/start",
     "no received (flowDirection 19) reading"),
    ("<espi:flowDirection>19</espi:flowDirection>", "<espi:flowDirection>1</espi:flowDirection>",
     "UsagePoint 'PM-SUN1', IntervalBlock 3, IntervalReading 1", "timePeriod/start", "the same time as"),
], ids=["value-exponent", "value-huge", "start-off-grid", "direction-twice"])
def test_the_redacted_file_with_one_field_broken_names_it(tmp_path, old, new, where, field, words):
    text = (DATA / "gb_redacted_links.xml").read_text()
    assert old in text
    path = tmp_path / "broken.xml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    df, report = parse(path)
    assert not report.ok
    assert any(e.where == where and e.field == field and words in e.reason for e in report.errors), \
        [str(e) for e in report.errors]
