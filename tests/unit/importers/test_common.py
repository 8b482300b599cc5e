"""Shared importer pieces: RowError text, empty chunk, size check, format sniffing, the report."""

from __future__ import annotations

from energy_coop.importers.metering.common import (
    CHUNK_COLUMNS,
    ParseReport,
    RowError,
    check_size,
    detect_format,
    empty_chunk,
)


def test_row_error_text():
    assert str(RowError("line 12", "kwh", "'abc' is not a number")) == "line 12, column kwh: 'abc' is not a number"
    assert str(RowError("UsagePoint 'x', IntervalBlock 2, IntervalReading 17", "value", "is missing")) == (
        "UsagePoint 'x', IntervalBlock 2, IntervalReading 17, value: is missing")
    assert str(RowError("file", "size", "too big")) == "size: too big"


def test_empty_chunk_columns_and_dtypes():
    df = empty_chunk()
    assert list(df.columns) == list(CHUNK_COLUMNS) and len(df) == 0
    assert [str(t) for t in df.dtypes] == ["str", "int64", "str", "int64", "int64", "int64", "str"]


def test_check_size(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10)
    assert check_size(p, 10) is None
    err = check_size(p, 9)
    assert err == RowError("file", "size", "the file is 10 bytes (10 bytes); the limit for this kind of file is "
                           "9 bytes (9 bytes). Split it into smaller files")


def test_detect_format(tmp_path):
    cases = {b"meter_code,start\n": "csv", b"\xef\xbb\xbf  \n<?xml version='1.0'?><feed/>": "greenbutton",
             b"\n\n<feed/>": "greenbutton", b"": "csv", b"\xff\xfe<\x00f\x00": "greenbutton"}
    for i, (content, expected) in enumerate(cases.items()):
        p = tmp_path / f"f{i}"
        p.write_bytes(content)
        assert detect_format(p) == expected, content


def test_report_caps_errors_but_counts_and_streams_all():
    seen = []
    report = ParseReport(max_errors=2, on_error=seen.append)
    for i in range(5):
        report.add_error(RowError(f"line {i}", "kwh", "bad"))
    assert report.error_count == 5 and len(report.errors) == 2 and len(seen) == 5
    assert not report.ok and not report.fatal
