"""Hostile and broken inputs through the command line (issue 14): each a refusal naming file, line and field,
exit status 2, and nothing written; never a traceback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from energy_coop.models import CreditRate, ImportBatch, Reading
from tests.conftest import TEST_DATA

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def coop(coop_with_consumption_meter):
    return coop_with_consumption_meter


def counts(sessions) -> tuple[int, int]:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(ImportBatch)),
                s.scalar(select(func.count()).select_from(Reading)))


def gb_with(write, name: str, old: str, new: str) -> Path:
    """The month-end Green Button fixture (8 hourly readings, values 1..8 x 10^3 Wh) with one text replaced."""
    text = (TEST_DATA / "gb_month_end.xml").read_text(encoding="utf-8")
    assert old in text
    return write(name, text.replace(old, new, 1))


def import_json(cli, *args):
    result = cli("import", *map(str, args), "--json")
    return result.exit_code, json.loads(result.stdout)["files"], result.stderr


# ------------------------------------------------------------------------------------------ 1. the crashes


def test_a_green_button_value_of_ten_to_the_thirty_is_refused_not_an_overflow(coop, cli, write):
    path = gb_with(write, "huge.xml", "<ns1:value>1</ns1:value>", "<ns1:value>1" + "0" * 30 + "</ns1:value>")
    code, [report], stderr = import_json(cli, path, "--meter", "PM-SUN1")
    assert code == 2 and report["status"] == "refused"
    assert [(e["where"], e["field"]) for e in report["errors"]] == [
        ("UsagePoint 'PV-ME', IntervalBlock 1, IntervalReading 1", "value")]
    assert "too large for one reading (the limit is 1,000,000 kWh)" in report["errors"][0]["reason"]
    assert "Traceback" not in stderr
    assert counts(coop) == (0, 0)


@pytest.mark.parametrize("kwh, words", [
    ("1e999999", "'1e999999' kWh is too large for one reading"),
    ("9" * 10_000_000, "(10,000,000 characters) kWh is too large for one reading"),
], ids=["1e999999", "10-MB-of-digits"])
def test_an_absurd_csv_kwh_is_refused_not_a_decimal_overflow(coop, cli, write, kwh, words):
    path = write("k.csv", "meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-01T00:00:00Z,60,1\n"
                          f"PM-SUN1,2024-02-01T01:00:00Z,60,{kwh}\n")
    code, [report], stderr = import_json(cli, path)
    assert code == 2 and report["status"] == "refused"
    [error] = report["errors"]
    assert (error["line"], error["field"]) == (3, "kwh") and words in error["reason"]
    assert len(stderr) < 2000  # the 10 MB value is not echoed back
    assert counts(coop) == (0, 0)


def test_export_ledger_into_a_folder_that_does_not_exist_is_refused(coop, cli, tmp_path):
    out = tmp_path / "nonexistent" / "dir" / "x.csv"
    result = cli("export", "ledger", "--out", str(out))
    assert result.exit_code == 73  # EX_CANTCREAT: a missing folder, named
    assert f"error: the folder {out.parent} does not exist: create it (or give another)" in result.stderr
    assert not out.parent.exists()


def test_export_ledger_onto_something_that_is_not_a_regular_file_is_refused_and_left_alone(coop, cli, tmp_path):
    fifo = tmp_path / "ledger.csv"
    os.mkfifo(fifo)
    result = cli("export", "ledger", "--out", str(fifo))
    assert result.exit_code == 2
    assert f"--out {fifo}: is not a regular file (a device, a pipe or a folder); give a new or ordinary file" \
        in result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and not Path(str(fifo) + ".part").exists()


def test_forecast_given_a_png_as_weather_is_refused_naming_the_line(coop, cli, write):
    result = cli("forecast", "--asset", "SUN1", "--weather", str(write("weather.png", PNG)))
    assert result.exit_code == 2
    assert "weather.png: the weather file is refused" in result.stderr
    assert "line 1: byte 0x89 is not UTF-8 text; is this a CSV file?" in result.stderr


# ------------------------------------------------------------------------------- 2. several files at once


def hours_csv(first_hour: int, n: int = 3, kwh: str = "1.5") -> str:
    rows = [f"PM-SUN1,2024-02-01T{h:02d}:00:00Z,60,{kwh}" for h in range(first_hour, first_hour + n)]
    return "meter_code,start,interval_minutes,kwh\n" + "\n".join(rows) + "\n"


def test_a_refused_second_file_leaves_the_first_imported_and_both_outcomes_on_stdout(coop, cli, write):
    a = write("a.csv", hours_csv(0))
    b = write("b.csv", hours_csv(3) + "PM-SUN1,2024-02-01T06:00:00Z,60,abc\n")
    result = cli("import", str(a), str(b))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == ["a.csv: 3 accepted, 0 unchanged, 0 revised, 0 rejected",
                                          "b.csv: refused, nothing imported: 1 problem(s)"]
    assert "line 5, column kwh: 'abc' is not a number" in result.stderr
    assert counts(coop) == (1, 3)


def test_a_second_file_that_fails_unexpectedly_does_not_hide_the_first_files_commit(coop, cli, write,
                                                                                   monkeypatch):
    # fault injection: no input is known to crash the importer any more, so make the second file's read fail
    from energy_coop.services.metering import imports

    real = imports.detect_format

    def failing(path):
        if Path(path).name == "b.csv":
            raise RuntimeError("disk went away")
        return real(path)

    monkeypatch.setattr(imports, "detect_format", failing)
    a, b = write("a.csv", hours_csv(0)), write("b.csv", hours_csv(3))
    result = cli("import", str(a), str(b), "--json")
    assert result.exit_code == 2
    first, second = json.loads(result.stdout)["files"]
    assert (first["file"], first["status"], first["accepted"]) == ("a.csv", "imported", 3)
    assert (second["file"], second["status"], second["batch_id"]) == ("b.csv", "refused", None)
    assert second["errors"][0]["reason"].startswith("could not be imported: an unexpected RuntimeError while "
                                                    "reading it (disk went away); nothing of this file was kept")
    assert counts(coop) == (1, 3)
    plain = cli("import", str(b))  # the same without --json: the outcome on stdout, exit 2
    assert plain.exit_code == 2 and plain.stdout.startswith("b.csv: refused, nothing imported")


# ----------------------------------------------------------------------- 3. accepted that should not be


def test_a_green_button_duration_of_ten_to_the_twelve_seconds_is_refused(coop, cli, write):
    path = gb_with(write, "long.xml", "<ns1:duration>3600</ns1:duration>",
                   "<ns1:duration>1000000000000</ns1:duration>")
    code, [report], _ = import_json(cli, path, "--meter", "CONS-1")
    assert code == 2 and report["status"] == "refused"
    assert report["errors"] == [{
        "where": "UsagePoint 'PV-ME', IntervalBlock 1, IntervalReading 1", "field": "timePeriod/duration",
        "reason": "'1000000000000' seconds is longer than 92 days, the longest interval one reading may cover"}]
    assert counts(coop) == (0, 0)


def test_a_csv_interval_of_nineteen_years_is_refused(coop, cli, write):
    path = write("long.csv", "meter_code,start,interval_minutes,kwh\nCONS-1,2024-02-01T00:00:00Z,9999999,1\n")
    code, [report], _ = import_json(cli, path)
    assert code == 2
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(2, "interval_minutes")]
    assert "longer than 92 days" in report["errors"][0]["reason"]
    assert counts(coop) == (0, 0)


@pytest.mark.parametrize("digits", ["١٢٣", "１２３", "१२३"], ids=["arabic-indic", "full-width", "devanagari"])
def test_shares_written_in_other_scripts_digits_are_refused(coop, cli, write, digits):
    path = write("shares.csv", f"ref,date,asset_code,kind,member_number,from_member_number,shares\n"
                               f"S-9,2024-03-01,SUN1,issue,1001,,{digits}\n")
    result = cli("load", "shares", str(path), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"] == [{
        "where": "line 2", "field": "shares", "line": 2,
        "reason": f"{digits!r} is not a whole number (write it with the digits 0-9)"}]
    with coop.begin() as s:
        from energy_coop.models import ShareTransaction
        assert s.scalar(select(func.count()).select_from(ShareTransaction)) == 4  # the small co-op's, no more


def test_an_adjustment_written_in_arabic_indic_digits_is_refused(coop, cli):
    result = cli("ledger", "record", "adjustment", "--member", "1001", "--amount", "١٢٣", "--memo", "x")
    assert result.exit_code == 2
    assert "--amount: amount '١٢٣' is not a number (write it with the digits 0-9" in result.stderr
    with coop.begin() as s:
        from energy_coop.models import LedgerEntry
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0


@pytest.mark.parametrize("field, value", [("latitude", "٣٩.٧"), ("total_shares", "١٠")])
def test_asset_numbers_in_other_scripts_digits_are_refused(coop, cli, write, field, value):
    from tests.helpers import ASSETS

    header, sun, _ = ASSETS.splitlines()
    row = dict(zip(header.split(","), sun.split(",")))
    row[field] = value
    path = write("assets.csv", header + "\n" + ",".join(row.values()) + "\n")
    result = cli("load", "assets", str(path), "--json")
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)["errors"]
    assert (error["line"], error["field"]) == (2, field) and "digits 0-9" in error["reason"]


def test_load_refuses_a_fifo_instead_of_waiting_forever(coop, cli, tmp_path):
    fifo = tmp_path / "members.csv"
    os.mkfifo(fifo)
    result = cli("load", "members", str(fifo))
    assert result.exit_code == 2
    assert "members.csv: is not a regular file (a folder, a device or a pipe); give a CSV file" in result.stderr


# ------------------------------------------------------------------- 5. FILE.rejected.csv, as read and safe


def test_rejected_rows_are_written_as_read_and_neutralised(coop, cli, write):
    import csv

    path = write("mixed.csv", "meter_code,start,interval_minutes,kwh,quality\n"
                              "PM-SUN1,2024-02-01T00:00:00Z,60,1.5,actual\n"
                              "NOPE,2024-02-01T00:00:00Z,60,2.5,estimated\n"
                              '"=HYPERLINK(""http://evil.example"",""x"")",2024-02-01T01:00:00Z,60,+3,actual\n'
                              "PM-SUN1,2024-02-01T02:00:00Z,60,@SUM(1),actual\n")
    code, [report], _ = import_json(cli, path, "--skip-invalid")
    assert code == 0 and (report["status"], report["accepted"], report["rejected"]) == ("partial", 1, 3)
    with open(str(path) + ".rejected.csv", newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: r["where"])
    assert [(r["where"], r["field"]) for r in rows] == [("line 3", "meter_code"), ("line 4", "meter_code"),
                                                        ("line 5", "kwh")]
    cells = [(r["meter_code"], r["start"], r["interval_minutes"], r["kwh"], r["quality"]) for r in rows]
    assert cells == [
        ("NOPE", "2024-02-01T00:00:00Z", "60", "2.5", "estimated"),  # an unknown meter: raw columns not empty
        ("'=HYPERLINK(\"http://evil.example\",\"x\")", "2024-02-01T01:00:00Z", "60", "'+3", "actual"),
        ("PM-SUN1", "2024-02-01T02:00:00Z", "60", "'@SUM(1)", "actual"),
    ]
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r.values())


def test_green_button_readings_refused_after_parsing_are_written_as_read(coop, cli, write):
    import csv

    path = gb_with(write, "off.xml", "<ns1:start>1706734800</ns1:start>", "<ns1:start>1706734860</ns1:start>")
    code, [report], _ = import_json(cli, path, "--meter", "PM-SUN1", "--skip-invalid")
    assert code == 0 and (report["status"], report["accepted"], report["rejected"]) == ("partial", 7, 1)
    with open(str(path) + ".rejected.csv", newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["where"] == "UsagePoint 'PV-ME', IntervalBlock 1, IntervalReading 2"
    assert (row["start"], row["duration"], row["value"]) == ("1706734860", "3600", "2")


# ------------------------------------------------------------------------ 6. refused: no batch id at all


def test_a_refused_import_reports_no_batch_id(coop, cli, write):
    bad = write("bad.csv", "meter_code,start,interval_minutes,kwh\nNOPE,2024-02-01T00:00:00Z,60,1\n")
    code, [report], _ = import_json(cli, bad)
    assert code == 2 and report["status"] == "refused" and report["batch_id"] is None
    code, [good], _ = import_json(cli, write("good.csv", hours_csv(0)))
    assert code == 0 and good["batch_id"] is not None
    with coop.begin() as s:
        assert s.scalars(select(ImportBatch.id)).all() == [good["batch_id"]]


# ------------------------------------------------------------------------- 7. what the fuzz test found


def test_a_time_zone_name_too_long_for_the_file_system_is_refused(coop, cli, write):
    from tests.helpers import ASSETS

    header, sun, _ = ASSETS.splitlines()
    path = write("assets.csv", header + "\n" + sun.replace(",UTC,", "," + "x" * 300 + ",") + "\n")
    result = cli("load", "assets", str(path), "--json")
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)["errors"]
    assert (error["line"], error["field"]) == (2, "timezone") and "is not a known time zone" in error["reason"]
    readings = write("r.csv", "meter_code,start,interval_minutes,kwh\nCONS-1,2024-02-01T00:00:00,60,1\n")
    code, [report], _ = import_json(cli, readings, "--timezone", "x" * 300)
    assert code == 2 and report["errors"][0]["field"] == "timezone"


def test_a_rate_too_large_for_a_64_bit_column_is_refused(coop, cli, write):
    path = write("rates.csv", "valid_from,rate_per_kwh,asset_code\n2024-06-01T00:00:00Z," + "9" * 25 + ",\n")
    result = cli("load", "rates", str(path), "--json")
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)["errors"]
    assert (error["line"], error["field"]) == (2, "rate_per_kwh") and "is far too large" in error["reason"]
    with coop.begin() as s:
        assert s.scalar(select(func.count()).select_from(CreditRate)) == 1  # the small co-op's own


@pytest.mark.parametrize("column", ["meter_code", "start", "interval_minutes", "quality"])
def test_a_ten_megabyte_cell_is_refused_without_being_echoed_back(coop, cli, write, column):
    row = {"meter_code": "PM-SUN1", "start": "2024-02-01T00:00:00Z", "interval_minutes": "60", "kwh": "1",
           "quality": "actual"}
    row[column] = "7" * 10_000_000
    path = write("big.csv", ",".join(row) + "\n" + ",".join(row.values()) + "\n")
    code, [report], stderr = import_json(cli, path)
    assert code == 2 and [(e["line"], e["field"]) for e in report["errors"]] == [(2, column)]
    assert "'7777777777777777777777777777777777777777'... (10,000,000 characters)" in report["errors"][0]["reason"]
    assert len(stderr) < 2000 and counts(coop) == (0, 0)


def test_a_green_button_title_too_long_for_a_meter_code_is_refused_and_not_repeated(coop, cli, write):
    path = gb_with(write, "title.xml", "<title>PV-ME</title>", "<title>" + "T" * 500_000 + "</title>")
    code, [report], stderr = import_json(cli, path)
    assert code == 2
    assert [(e["where"], e["field"]) for e in report["errors"]] == [(f"UsagePoint '{'T' * 40}...'", "title")]
    assert report["errors"][0]["reason"] == ("is 500,000 characters long; a meter code has at most 64. Give the "
                                             "meter code when importing")
    assert len(stderr) < 2000


def test_forecast_refuses_a_fifo_as_weather_instead_of_waiting_forever(coop, cli, tmp_path):
    fifo = tmp_path / "weather.csv"
    os.mkfifo(fifo)
    result = cli("forecast", "--asset", "SUN1", "--weather", str(fifo))
    assert result.exit_code == 2
    assert "it is not a regular file (a folder, a device or a pipe); give a CSV file" in result.stderr
