"""The long meter-reading CSV format (SPEC section 4): exact values, every rule, chunking, bad input."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_coop.importers.metering.common import CHUNK_COLUMNS, ParseReport
from energy_coop.importers.metering.csv_readings import iter_csv_chunks
from energy_coop.units import kwh_to_mwh

from .conftest import DATA, read_all

HEADER = "meter_code,start,end,kwh,quality\n"
T0 = 1709251200  # 2024-03-01T00:00:00Z


def msgs(report: ParseReport) -> list[str]:
    return [str(e) for e in report.errors]


def test_exact_values_types_and_lines(write_csv):
    path = write_csv(HEADER
                     + "PV-1,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,0.0015,\n"
                     + "PV-1,2024-03-01T01:00:00+01:00,2024-03-01T01:15:00+01:00,-12.5,Estimated\n"
                     + "\n"
                     + "PV-2,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,999999.123456,actual\n"
                     + "PV-2,2024-03-01T00:15:00Z,2024-03-01T00:30:00Z,7,\n")
    df, report, _ = read_all(path)
    assert report.ok and report.errors == []
    assert list(df.columns) == list(CHUNK_COLUMNS)
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        "where": "str", "line": "int64", "meter_code": "str", "start": "int64", "end": "int64", "mwh": "int64",
        "quality": "str"}
    assert df["where"].tolist() == ["line 2", "line 3", "line 5", "line 6"]
    assert df["line"].tolist() == [2, 3, 5, 6]
    assert df["meter_code"].tolist() == ["PV-1", "PV-1", "PV-2", "PV-2"]
    assert df["start"].tolist() == [T0, T0, T0, T0 + 900]
    assert df["end"].tolist() == [T0 + 900, T0 + 900, T0 + 900, T0 + 1800]
    assert df["mwh"].tolist() == [1500, -12_500_000, 999_999_123_456, 7_000_000]
    assert df["quality"].tolist() == ["actual", "estimated", "actual", "actual"]
    assert report.meters == {"PV-1": 2, "PV-2": 2}
    assert report.rows_read == 4


def test_columns_in_any_order_with_interval_minutes_and_no_quality(write_csv):
    path = write_csv(" KWH ,interval_minutes,Meter_Code,start\n0.25,15,M,2024-03-01T00:00:00Z\n1,1440,M,"
                     "2024-03-02T00:00:00-05:00\n")
    df, report, _ = read_all(path)
    assert report.ok
    assert df[["start", "end", "mwh", "quality"]].values.tolist() == [
        [T0, T0 + 900, 250_000, "actual"], [T0 + 86400 + 5 * 3600, T0 + 2 * 86400 + 5 * 3600, 1_000_000, "actual"]]


@pytest.mark.parametrize("kwh, mwh", [("0.0015", 1500), ("1", 1_000_000), ("-0.000001", -1), ("+2.5", 2_500_000),
                                      (".5", 500_000), ("3.", 3_000_000), ("1.50000000", 1_500_000),
                                      ("1e-3", 1000), (" 4.2 ", 4_200_000), ("000000000012.5", 12_500_000)])
def test_kwh_exact(write_csv, kwh, mwh):
    df, report, _ = read_all(write_csv(HEADER + f'M,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,"{kwh}",\n'))
    assert report.ok, msgs(report)
    assert df["mwh"].tolist() == [mwh]


@pytest.mark.parametrize("kwh, reason", [
    ("abc", "'abc' is not a number"),
    ("1,5", "'1,5' is not a number"),
    ("NaN", "'NaN' is not a finite number"),
    ("Infinity", "'Infinity' is not a finite number"),
    ("-inf", "'-inf' is not a finite number"),
    ("", "is empty"),
    ("1.1234567", "'1.1234567' has more than 6 decimal places (finer than 1 mWh)"),
    ("1000000001", "'1000000001' kWh is too large for one reading"),
    ("1.2.3", "'1.2.3' is not a number"),
    ("١٢", "'١٢' is not a number"),
])
def test_kwh_refused(write_csv, kwh, reason):
    df, report, _ = read_all(write_csv(HEADER + "M,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,0.5,\n"
                                       + f'M,2024-03-01T00:15:00Z,2024-03-01T00:30:00Z,"{kwh}",\n'))
    assert len(report.errors) == 1
    e = report.errors[0]
    assert (e.where, e.field) == ("line 3", "kwh")
    assert e.reason.startswith(reason)
    assert e.raw == {"meter_code": "M", "start": "2024-03-01T00:15:00Z", "end": "2024-03-01T00:30:00Z",
                     "kwh": kwh, "quality": ""}
    assert df["line"].tolist() == [2]  # the good row is still returned; the service decides all-or-nothing


def test_row_errors_name_line_column_and_reason(write_csv):
    path = write_csv(HEADER
                     + " ,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,1,\n"
                     + "M,2024-02-30T00:00:00Z,2024-03-01T00:15:00Z,1,maybe\n"
                     + "M,2024-03-01T00:15:00Z,2024-03-01T00:15:00Z,1,\n"
                     + "M,yesterday,2024-03-01T00:15:00.5Z,1,\n"
                     + "M,1969-12-31T23:45:00Z,1970-01-01T00:00:00Z,1,\n")
    df, report, _ = read_all(path)
    assert len(df) == 0
    assert msgs(report) == [
        "line 2, column meter_code: is empty; every reading needs the code of its meter",
        "line 3, column start: '2024-02-30T00:00:00Z' is not a valid date and time (check the day, month and hour)",
        "line 3, column quality: 'maybe' is not a quality; use actual or estimated (or leave it empty for actual)",
        "line 4, column end: '2024-03-01T00:15:00Z' does not end after the start '2024-03-01T00:15:00Z'",
        "line 5, column start: 'yesterday' is not a date and time in ISO 8601 form with a UTC offset "
        "(e.g. 2024-03-01T00:15:00+01:00)",
        "line 5, column end: '2024-03-01T00:15:00.5Z' has a fraction of a second; readings start and end on whole "
        "seconds",
        "line 6, column start: '1969-12-31T23:45:00Z' is outside the years 1970 to 2099",
    ]
    assert report.error_count == 7 and not report.fatal


def test_interval_minutes_rules(write_csv):
    path = write_csv("meter_code,start,interval_minutes,kwh\nM,2024-03-01T00:00:00Z,0,1\n"
                     "M,2024-03-01T00:00:00Z,15.5,1\nM,2024-03-01T00:00:00Z,,1\n")
    df, report, _ = read_all(path)
    assert len(df) == 0
    assert msgs(report) == [
        "line 2, column interval_minutes: '0' is not a whole number of minutes greater than 0",
        "line 3, column interval_minutes: '15.5' is not a whole number of minutes greater than 0",
        "line 4, column interval_minutes: is empty; give the interval length in whole minutes",
    ]


def test_naive_timestamp_refused_without_timezone(write_csv):
    df, report, _ = read_all(write_csv(HEADER + "M,2024-03-01T00:00:00,2024-03-01T00:15:00Z,1,\n"))
    assert len(df) == 0
    assert msgs(report) == ["line 2, column start: '2024-03-01T00:00:00' has no UTC offset; add one (e.g. +01:00 "
                            "or Z) or name the file's time zone when importing it"]


def test_naive_timestamps_localised_with_timezone(write_csv):
    path = write_csv(HEADER + "M,2024-03-01T00:00:00,2024-03-01 00:15,1,\n"
                     + "M,2024-07-01T00:00:00,2024-07-01T00:15:00+02:00,1,\n")
    df, report, _ = read_all(path, timezone="Europe/Berlin")
    assert report.ok
    assert df["start"].tolist() == [T0 - 3600, 1719784800]
    assert df["end"].tolist() == [T0 - 3600 + 900, 1719784800 + 900]


def test_dst_fall_back_ambiguous_and_spring_forward_nonexistent(write_csv):
    path = write_csv(HEADER
                     + "M,2024-11-03T00:45:00,2024-11-03T01:00:00-04:00,1,\n"  # fine: before the change
                     + "M,2024-11-03T01:30:00,2024-11-03T01:45:00-04:00,1,\n"  # 01:30 happens twice
                     + "M,2024-11-03T01:30:00-05:00,2024-11-03T01:45:00-05:00,1,\n"  # explicit: fine
                     + "M,2024-03-10T02:30:00,2024-03-10T02:45:00,1,\n")  # does not exist
    df, report, _ = read_all(path, timezone="America/New_York")
    assert df["line"].tolist() == [2, 4]
    assert df["start"].tolist() == [1730609100, 1730615400]
    assert msgs(report) == [
        "line 3, column start: '2024-11-03T01:30:00' happens twice in America/New_York (the clocks go back that "
        "night); write it with its UTC offset (e.g. -04:00 or -05:00) so it is clear which one is meant",
        "line 5, column start: '2024-03-10T02:30:00' does not exist in America/New_York (the clocks skip that "
        "hour); check the time or write it with its UTC offset",
        "line 5, column end: '2024-03-10T02:45:00' does not exist in America/New_York (the clocks skip that hour); "
        "check the time or write it with its UTC offset",
    ]


def test_unknown_timezone_refused(write_csv):
    df, report, n = read_all(write_csv(HEADER + "M,2024-03-01T00:00:00,2024-03-01T00:15:00Z,1,\n"),
                             timezone="Mars/Olympus")
    assert n == 0 and report.fatal
    assert msgs(report) == ["timezone: 'Mars/Olympus' is not a time zone name; use an IANA name such as "
                            "Europe/Berlin or America/New_York"]


@pytest.mark.parametrize("header, problem", [
    ("meter_code,start,end,kwh,quality,comment", "unknown column 'comment'"),
    ("meter_code,start,end,quality", "missing column 'kwh'"),
    ("meter_code,start,end,interval_minutes,kwh", "both 'end' and 'interval_minutes' are given; keep one"),
    ("meter_code,start,kwh", "neither 'end' nor 'interval_minutes' is given; add one"),
    ("meter_code,start,end,kwh,kwh", "repeated column 'kwh'"),
])
def test_wrong_header_refuses_file_naming_found_and_required(write_csv, header, problem):
    df, report, n = read_all(write_csv(header + "\nM,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,1,x,y\n"))
    assert n == 0 and report.fatal and report.error_count == 1
    e = report.errors[0]
    assert (e.where, e.field) == ("line 1", "header")
    found = ", ".join(repr(c) for c in header.split(","))
    assert e.reason == (f"{problem}. Columns found: {found}; required: meter_code, start, kwh and one of end or "
                        "interval_minutes; optional: quality")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", HEADER.encode(), HEADER.encode() + b"\n\n,,,,\n"])
def test_empty_or_header_only(write_csv, content):
    df, report, n = read_all(write_csv(content))
    assert n == 0 and report.fatal and report.error_count == 1
    assert "no readings" in str(report.errors[0])


def test_bom_is_fine(write_csv):
    df, report, _ = read_all(write_csv(b"\xef\xbb\xbf" + HEADER.encode()
                                       + b"M,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,1,\n"))
    assert report.ok and df["mwh"].tolist() == [1_000_000]


def test_non_utf8_bytes_name_the_line(write_csv):
    path = write_csv(HEADER.encode()
                     + b"M,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,1,\n"
                     + b"Z\xe4hler,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,1,\n"  # latin-1 'ä'
                     + b"M,2024-03-01T00:15:00Z,2024-03-01T00:30:00Z,2\xff,\n")
    df, report, _ = read_all(path)
    assert df["line"].tolist() == [2]
    assert [(e.where, e.field) for e in report.errors] == [("line 3", "meter_code"), ("line 4", "kwh")]
    assert all("not UTF-8 text" in e.reason for e in report.errors)


def test_non_utf8_header_refused(write_csv):
    df, report, n = read_all(write_csv(b"meter_code,start,end,kwh,qualit\xe9\n"))
    assert n == 0 and report.fatal
    assert msgs(report) == ["line 1, column header: the header line is not UTF-8 text; save the file as UTF-8 "
                            "(in Excel: 'CSV UTF-8')"]


def test_too_many_values_on_a_line_stops_with_its_line(write_csv):
    path = write_csv(HEADER + "M,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,1,\n"
                     + "M,2024-03-01T00:15:00Z,2024-03-01T00:30:00Z,1,,extra\n")
    df, report, _ = read_all(path)
    assert report.fatal
    assert msgs(report) == ["line 3, column row: has 6 values but the header has 5 columns; the file cannot be "
                            "read past this line"]


def test_short_row_reports_empty_fields(write_csv):
    df, report, _ = read_all(write_csv(HEADER + "M,2024-03-01T00:00:00Z\n"))
    assert [(e.where, e.field) for e in report.errors] == [("line 2", "end"), ("line 2", "kwh")]


def test_two_gib_file_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.truncate(2 * 1024**3)  # sparse: instant, uses no disk
    report = ParseReport()
    assert list(iter_csv_chunks(path, report=report)) == []
    assert report.fatal
    assert msgs(report) == ["size: the file is 2.0 GiB (2,147,483,648 bytes); the limit for this kind of file is "
                            "1.0 GiB (1,073,741,824 bytes). Split it into smaller files"]


def test_chunk_boundaries_do_not_change_the_result(write_csv):
    rows = "".join(f"M{i % 3},2024-03-01T{i // 4:02d}:{(i % 4) * 15:02d}:00Z,"
                   f"2024-03-01T{(i + 1) // 4:02d}:{((i + 1) % 4) * 15:02d}:00Z,{i}.{i:03d},\n"
                   for i in range(23))
    path = write_csv(HEADER + rows + "M0,bad,2024-03-01T00:15:00Z,1,\n" + rows[:60].split("\n")[0] + "\n")
    whole, r1, n1 = read_all(path)
    small, r2, n2 = read_all(path, chunk_rows=2)
    assert (n1, n2) == (1, 13)
    pd.testing.assert_frame_equal(whole, small)
    assert msgs(r1) == msgs(r2) == ["line 25, column start: 'bad' is not a date and time in ISO 8601 form with a "
                                    "UTC offset (e.g. 2024-03-01T00:15:00+01:00)"]
    assert r1.meters == r2.meters == {"M0": 9, "M1": 8, "M2": 7}


def test_csv_crossing_a_month_end():
    df, report, _ = read_all(DATA / "csv_month_end.csv")
    assert report.ok
    months = pd.to_datetime(df["start"], unit="s", utc=True).dt.tz_convert("Europe/Berlin").dt.strftime("%Y-%m")
    assert months.value_counts().to_dict() == {"2024-01": 4, "2024-02": 4}
    assert df.groupby(months.to_numpy())["mwh"].sum().to_dict() == {"2024-01": 1_000_000, "2024-02": 2_600_000}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.decimals(min_value=-1_000_000, max_value=1_000_000, places=6, allow_nan=False),
                min_size=1, max_size=30))
def test_vectorised_kwh_matches_units_kwh_to_mwh(tmp_path_factory, values):
    text = HEADER + "".join(f"M,2024-03-01T00:00:00Z,2024-03-01T00:15:00Z,{v},\n" for v in values)
    path = tmp_path_factory.mktemp("h") / "r.csv"
    path.write_text(text)
    df, report, _ = read_all(path)
    assert report.ok
    assert df["mwh"].tolist() == [kwh_to_mwh(str(v)) for v in values]
