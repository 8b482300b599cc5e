"""calc.reading_checks: interval rules per meter kind and file-level consistency across chunks."""

from __future__ import annotations

import pandas as pd
import pytest

from energy_coop.calc.metering.reading_checks import FileConsistency, check_intervals
from energy_coop.importers.metering.common import ParseReport, make_chunk
from energy_coop.importers.metering.csv_readings import iter_csv_chunks

T0 = 1709251200  # 2024-03-01T00:00:00Z
KINDS = {"PV": "production", "HOME": "consumption"}


def chunk(rows: list[tuple[int, str, int, int, int]]) -> pd.DataFrame:
    """rows of (line, meter, start, end, mwh)."""
    return make_chunk(where=[f"line {r[0]}" for r in rows], line=[r[0] for r in rows],
                      meter_code=[r[1] for r in rows], start=[r[2] for r in rows], end=[r[3] for r in rows],
                      mwh=[r[4] for r in rows], quality=["actual"] * len(rows))


def test_production_meter_lengths_and_alignment():
    df = chunk([(2, "PV", T0, T0 + 300, 1), (3, "PV", T0, T0 + 3600, 1), (4, "PV", T0, T0 + 600, 1),
                (5, "PV", T0 + 300, T0 + 1200, 1), (6, "PV", T0, T0 + 86400, 1), (7, "GHOST", T0, T0 + 900, 1)])
    assert [str(e) for e in check_intervals(df, KINDS)] == [
        "line 4, column end: the reading is 10 minutes long; readings of asset meter 'PV' must be 5, 15, 30 or 60 "
        "minutes long",
        "line 5, column start: a 15 minutes reading must start on a multiple of 15 minutes in UTC; 2024-03-01 "
        "00:05 UTC does not",
        "line 6, column end: the reading is 1 day long; readings of asset meter 'PV' must be 5, 15, 30 or 60 "
        "minutes long",
        "line 7, column meter_code: no meter with code 'GHOST' is registered; register it (assets or members file) "
        "or correct the code",
    ]


def test_consumption_meter_takes_daily_and_billing_periods_but_aligned_intervals():
    df = chunk([(2, "HOME", T0, T0 + 86400, 1), (3, "HOME", T0 + 7, T0 + 29 * 86400 + 3, 1),
                (4, "HOME", T0 + 60, T0 + 960, 1), (5, "HOME", T0, T0 + 900, 1)])
    errors = check_intervals(df, KINDS)
    assert [(e.where, e.field) for e in errors] == [("line 4", "start")]


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        check_intervals(chunk([(2, "PV", T0, T0 + 900, 1)]), {"PV": "solar"})


def test_duplicates_across_chunks_same_value_dropped_different_value_error():
    fc = FileConsistency()
    kept1, e1, n1 = fc.check(chunk([(2, "PV", T0, T0 + 900, 10), (3, "PV", T0 + 900, T0 + 1800, 20)]))
    assert len(kept1) == 2 and e1 == [] and n1 == []
    kept2, e2, n2 = fc.check(chunk([(4, "PV", T0, T0 + 900, 10), (5, "PV", T0 + 900, T0 + 1800, 25),
                                    (6, "PV", T0 + 1800, T0 + 2700, 30)]))
    assert kept2["line"].tolist() == [6]
    assert [str(e) for e in e2] == [
        "line 5, column kwh: meter 'PV' already has a reading for the interval starting 2024-03-01 00:15 UTC on "
        "line 3 with 0.00002 kWh; this one says 0.000025 kWh. Keep one of them"]
    assert n2 == ["line 4 repeats line 2 (meter 'PV', 2024-03-01 00:00 UTC, same value 0.00001 kWh); ignored"]
    assert fc.duplicates_dropped == 1


def test_duplicates_within_one_chunk():
    fc = FileConsistency()
    kept, errors, notes = fc.check(chunk([(2, "PV", T0, T0 + 900, 1), (3, "PV", T0, T0 + 900, 1),
                                          (4, "PV", T0, T0 + 900, 2), (5, "HOME", T0, T0 + 900, 2)]))
    assert kept["line"].tolist() == [2, 5]
    assert [(e.where, e.field) for e in errors] == [("line 4", "kwh")]
    assert "on line 2 with" in errors[0].reason
    assert len(notes) == 1


def test_mixed_interval_lengths_within_a_file():
    fc = FileConsistency()
    fc.check(chunk([(2, "PV", T0, T0 + 900, 1)]))
    kept, errors, _ = fc.check(chunk([(3, "PV", T0 + 3600, T0 + 7200, 1), (4, "HOME", T0, T0 + 86400, 1),
                                      (5, "HOME", T0 + 86400, T0 + 86400 + 3600, 1)]))
    assert kept["line"].tolist() == [4]
    assert [str(e) for e in errors] == [
        "line 3, column end: meter 'PV' has 15 minutes readings (line 2) but this one is 1 hour long; one file "
        "must use one interval length per meter",
        "line 5, column end: meter 'HOME' has daily or billing-period readings (line 4) but this one is 1 hour "
        "long; one file must use one interval length per meter",
    ]


def test_overlapping_billing_periods():
    day = 86400
    fc = FileConsistency()
    fc.check(chunk([(2, "HOME", T0, T0 + 31 * day, 1)]))
    kept, errors, _ = fc.check(chunk([(3, "HOME", T0 + 31 * day, T0 + 60 * day, 1),  # adjacent: fine
                                      (4, "HOME", T0 + 10 * day, T0 + 12 * day, 1),  # inside the first
                                      (5, "HOME", T0 + 59 * day, T0 + 90 * day, 1)]))  # overlaps line 3
    assert kept["line"].tolist() == [3]
    assert [str(e) for e in errors] == [
        "line 4, column start: meter 'HOME': the period 2024-03-11 00:00 UTC to 2024-03-13 00:00 UTC overlaps the "
        "period 2024-03-01 00:00 UTC to 2024-04-01 00:00 UTC on line 2; billing periods of one meter must not "
        "overlap",
        "line 5, column start: meter 'HOME': the period 2024-04-29 00:00 UTC to 2024-05-30 00:00 UTC overlaps the "
        "period 2024-04-01 00:00 UTC to 2024-04-30 00:00 UTC on line 3; billing periods of one meter must not "
        "overlap",
    ]


def test_csv_chunk_size_does_not_change_consistency_results(write_csv):
    rows = [f"PV,2024-03-01T00:{m:02d}:00Z,2024-03-01T00:{m + 5:02d}:00Z,{m}," for m in range(0, 30, 5)]
    text = "meter_code,start,end,kwh,quality\n" + "\n".join(
        rows + [rows[1], rows[2].replace(",10,", ",11,"), rows[5]]) + "\n"
    path = write_csv(text)

    def run(chunk_rows: int):
        fc = FileConsistency()
        kept, errors, notes = [], [], []
        report = ParseReport()
        for c in iter_csv_chunks(path, report=report, chunk_rows=chunk_rows):
            k, e, n = fc.check(c)
            kept.append(k)
            errors += [str(x) for x in e]
            notes += n
        return pd.concat(kept, ignore_index=True), errors, notes

    whole = run(100)
    small = run(2)
    pd.testing.assert_frame_equal(whole[0], small[0])
    assert whole[1:] == small[1:]
    assert whole[0]["line"].tolist() == [2, 3, 4, 5, 6, 7]
    assert whole[1] == ["line 9, column kwh: meter 'PV' already has a reading for the interval starting "
                        "2024-03-01 00:10 UTC on line 4 with 10 kWh; this one says 11 kWh. Keep one of them"]
    assert len(whole[2]) == 2


def test_out_of_order_file_still_finds_duplicates():
    fc = FileConsistency()
    fc.check(chunk([(2, "PV", T0 + 3600, T0 + 4500, 1)]))
    fc.check(chunk([(3, "PV", T0, T0 + 900, 1)]))  # earlier than what came before: needs the sorted index
    kept, errors, notes = fc.check(chunk([(4, "PV", T0, T0 + 900, 2), (5, "PV", T0 + 3600, T0 + 4500, 1)]))
    assert len(kept) == 0 and len(notes) == 1
    assert [(e.where, e.field) for e in errors] == [("line 4", "kwh")]
