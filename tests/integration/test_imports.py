"""Importing meter files through the command (SPEC section 4) on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from energy_coop.models import AllocationRun, ImportBatch, Meter, Reading, ReadingRevision
from energy_coop.services.metering.coverage import meter_month_coverage
from tests.conftest import SHARED_DATA, TEST_DATA


@pytest.fixture
def coop(coop_with_consumption_meter):
    return coop_with_consumption_meter


def feb_csv(kwh: str = "1.5", hours: int = 29 * 24, meter: str = "PM-SUN1", extra: str = "") -> str:
    start = dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc)
    lines = ["meter_code,start,interval_minutes,kwh,quality"]
    for h in range(hours):
        t = start + dt.timedelta(hours=h)
        lines.append(f"{meter},{t.isoformat()},60,{kwh},actual")
    return "\n".join(lines) + "\n" + extra


def readings(sessions) -> dict[int, int]:
    with sessions.begin() as s:
        return dict(s.execute(select(Reading.start, Reading.mwh)).all())


def counts(sessions) -> tuple[int, int, int]:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(ImportBatch)),
                s.scalar(select(func.count()).select_from(Reading)),
                s.scalar(select(func.count()).select_from(ReadingRevision)))


def imported(cli, *args):
    result = cli("import", *map(str, args), "--json")
    return result.exit_code, json.loads(result.stdout)["files"], result.stderr


def test_csv_import_is_exact_and_reports_as_specified(coop, cli, write):
    code, files, _ = imported(cli, write("feb.csv", feb_csv("1.234567")))
    assert code == 0
    [report] = files
    assert {k: report[k] for k in ("file", "status", "meters", "accepted", "unchanged", "revised", "rejected",
                                   "errors")} == {
        "file": "feb.csv", "status": "imported", "meters": ["PM-SUN1"], "accepted": 696, "unchanged": 0,
        "revised": 0, "rejected": 0, "errors": []}
    assert len(report["sha256"]) == 64
    assert set(readings(coop).values()) == {1_234_567}  # mWh, exact


def test_the_same_file_twice_does_nothing_and_says_so(coop, cli, write):
    path = write("feb.csv", feb_csv())
    imported(cli, path)
    before = counts(coop)
    code, [report], stderr = imported(cli, path)
    assert code == 0 and report["status"] == "duplicate" and report["accepted"] == 0
    assert "already imported as batch" in " ".join(report["notes"])
    assert counts(coop) == before


def test_same_values_in_another_file_are_no_ops_and_changed_values_are_revisions(coop, cli, write):
    imported(cli, write("a.csv", feb_csv("1.5")))
    code, [same], _ = imported(cli, write("b.csv", feb_csv("1.5") + "\n"))  # other bytes, same readings
    assert (same["accepted"], same["unchanged"], same["revised"]) == (0, 696, 0)
    code, [changed], _ = imported(cli, write("c.csv", feb_csv("1.5", hours=24).replace(
        "2024-02-01T05:00:00+00:00,60,1.5", "2024-02-01T05:00:00+00:00,60,2.25")))
    assert (changed["accepted"], changed["unchanged"], changed["revised"]) == (0, 23, 1)
    with coop.begin() as s:
        rev = s.scalars(select(ReadingRevision)).one()
        current = s.get(Reading, rev.reading_id)
        batches = {b.file_name: b.id for b in s.scalars(select(ImportBatch))}
        assert (rev.mwh, rev.batch_id, rev.replaced_by_batch_id) == (1_500_000, batches["a.csv"], batches["c.csv"])
        assert (current.mwh, current.batch_id) == (2_250_000, batches["c.csv"])


def test_a_changed_quality_alone_is_a_revision_and_the_same_quality_again_is_unchanged(coop, cli, write):
    imported(cli, write("estimated.csv", feb_csv("1.5").replace(",actual", ",estimated")))
    imported(cli, write("bat.csv", feb_csv("0.5", meter="PM-BAT1")))
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    code, [confirmed], _ = imported(cli, write("actual.csv", feb_csv("1.5", hours=24)))  # same values, now actual
    assert code == 0
    assert (confirmed["accepted"], confirmed["unchanged"], confirmed["revised"]) == (0, 0, 24)
    assert confirmed["stale_periods"] == ["2024-02"]
    code, [again], _ = imported(cli, write("again.csv", feb_csv("1.5", hours=24) + "\n"))  # other bytes
    assert (again["accepted"], again["unchanged"], again["revised"]) == (0, 24, 0)
    with coop.begin() as s:
        batches = {b.file_name: b.id for b in s.scalars(select(ImportBatch))}
        sun = s.scalar(select(Meter.id).where(Meter.code == "PM-SUN1"))
        stored = s.execute(select(Reading.quality, Reading.mwh, Reading.batch_id, func.count())
                           .where(Reading.meter_id == sun)
                           .group_by(Reading.quality, Reading.mwh, Reading.batch_id)).all()
        assert sorted(stored) == [("actual", 1_500_000, batches["actual.csv"], 24),
                                  ("estimated", 1_500_000, batches["estimated.csv"], 672)]
        kept = s.execute(select(ReadingRevision.quality, ReadingRevision.mwh, ReadingRevision.batch_id,
                                ReadingRevision.replaced_by_batch_id)).all()
        assert kept == [("estimated", 1_500_000, batches["estimated.csv"], batches["actual.csv"])] * 24


def test_a_revision_in_a_posted_month_marks_it_stale_until_reposted(coop, cli, write):
    imported(cli, write("a.csv", feb_csv("1.5")))
    imported(cli, write("bat.csv", feb_csv("0.5", meter="PM-BAT1")))
    assert cli("allocate", "2024-02", "--post").exit_code == 0
    code, [report], _ = imported(cli, write("fix.csv", "meter_code,start,end,kwh\n"
                                            "PM-SUN1,2024-02-10T00:00:00Z,2024-02-10T01:00:00Z,3\n"))
    assert report["revised"] == 1 and report["stale_periods"] == ["2024-02"]
    with coop.begin() as s:
        assert s.scalars(select(AllocationRun)).one().stale_since is not None
    assert cli("allocate", "2024-02", "--repost").exit_code == 0
    with coop.begin() as s:
        runs = s.scalars(select(AllocationRun).order_by(AllocationRun.generation)).all()
        assert [r.superseded for r in runs] == [True, False] and runs[-1].stale_since is None


def test_one_bad_row_refuses_the_whole_file(coop, cli, write):
    bad = feb_csv(extra="PM-SUN1,2024-03-01T00:00:00Z,60,abc,actual\nNOPE,2024-03-01T00:00:00Z,60,1,actual\n")
    code, [report], stderr = imported(cli, write("bad.csv", bad))
    assert code == 2 and report["status"] == "refused"
    assert {(e["line"], e["field"]) for e in report["errors"]} == {(698, "kwh"), (699, "meter_code")}
    assert "'abc' is not a number" in stderr and "no meter with code 'NOPE'" in stderr
    assert counts(coop) == (0, 0, 0)


def test_skip_invalid_keeps_the_good_rows_and_writes_the_rejected_ones(coop, cli, write):
    path = write("bad.csv", feb_csv(extra="PM-SUN1,2024-03-01T00:00:00Z,60,NaN,actual\n"))
    code, [report], _ = imported(cli, path, "--skip-invalid")
    assert code == 0 and report["status"] == "partial"
    assert (report["accepted"], report["rejected"]) == (696, 1)
    rows = list(csv.DictReader(open(str(path) + ".rejected.csv")))
    assert len(rows) == 1 and rows[0]["where"] == "line 698" and rows[0]["kwh"] == "NaN"
    assert "not a finite number" in rows[0]["reason"] or "not a number" in rows[0]["reason"]


@pytest.mark.parametrize("content, field, words", [
    ("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-01T00:00:00,60,1\n", "start", "no UTC offset"),
    ("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-01T00:07:00Z,15,1\n", "start", "multiple"),
    ("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-01T00:00:00Z,60,1\n"
     "PM-SUN1,2024-02-01T01:00:00Z,15,1\n", "end", "one interval length per meter"),
    ("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-01T00:00:00Z,60,1\n"
     "PM-SUN1,2024-02-01T00:00:00Z,60,2\n", "", "line 2"),
    ("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-01T00:00:00Z,60,Infinity\n", "kwh", ""),
    ("meter_code,start,interval_minutes,kwh\nPM-SUN1,2024-02-01T00:00:00Z,45,1\n", "", "45"),
], ids=["naive", "off-boundary", "mixed-lengths", "duplicate-different", "infinity", "odd-length"])
def test_bad_rows_are_named(coop, cli, write, content, field, words):
    code, [report], stderr = imported(cli, write("x.csv", content))
    assert code == 2 and report["errors"]
    assert any((not field or e["field"] == field) and words in e["reason"] + str(e.get("line", ""))
               for e in report["errors"]), report["errors"]
    assert counts(coop) == (0, 0, 0)


def test_naive_timestamps_are_taken_in_the_named_zone(coop, cli, write):
    code, [report], _ = imported(cli, write("n.csv", "meter_code,start,interval_minutes,kwh\n"
                                            "PM-SUN1,2024-02-01T10:00:00,60,1\n"), "--timezone", "America/Denver")
    assert code == 0
    assert list(readings(coop)) == [int(dt.datetime(2024, 2, 1, 17, tzinfo=dt.timezone.utc).timestamp())]


def test_a_huge_file_is_refused_before_it_is_read(coop, cli, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.write(b"meter_code,start,interval_minutes,kwh\n")
        fh.truncate(2 * 1024**3)  # sparse: 2 GiB on paper, nothing on disk
    code, [report], stderr = imported(cli, path)
    assert code == 2 and "the limit for this kind of file" in stderr
    assert counts(coop) == (0, 0, 0)


def test_hostile_and_broken_xml_is_refused_cleanly(coop, cli):
    for name in ("gb_billion_laughs.xml", "gb_external_entity.xml", "gb_truncated.xml"):
        code, [report], stderr = imported(cli, TEST_DATA / name, "--meter", "CONS-1")
        assert code == 2 and report["status"] == "refused" and report["errors"], name
        assert "Traceback" not in stderr
    assert counts(coop) == (0, 0, 0)


def test_a_gas_only_file_is_reported_as_skipped(coop, cli):
    path = SHARED_DATA / "greenbutton" / "ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25.xml"
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared data folder is absent)")
    code, [report], stderr = imported(cli, path, "--meter", "CONS-1")
    assert code == 2 and "no electricity readings" in stderr
    assert any("gas" in note.lower() for note in report["skipped"])


def test_the_real_15_minute_green_button_file(coop, cli):
    path = SHARED_DATA / "greenbutton" / "15minLP_15Days.xml"
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared data folder is absent)")
    code, [report], _ = imported(cli, path, "--meter", "CONS-1")
    assert code == 0 and report["accepted"] == 1340
    assert any("cost" in note.lower() for note in report["skipped"])
    stored = readings(coop)
    assert sum(stored.values()) == 1_397_734_000  # mWh
    eastern = ZoneInfo("America/New_York")
    on_day = [t for t in stored if dt.datetime.fromtimestamp(t, eastern).date() == dt.date(2012, 3, 11)]
    assert len(on_day) == 92  # the spring-forward day


def test_fall_back_day_and_month_end_files(coop, cli):
    code, [report], _ = imported(cli, TEST_DATA / "gb_fallback_2024-11-03.xml", "--meter", "CONS-1")
    assert code == 0 and report["accepted"] == 100
    with coop.begin() as s:
        cov = meter_month_coverage(s, "CONS-1", "2024-11", timezone="America/New_York")
    assert cov.present == 100 and cov.expected == 2884 and cov.gaps  # Nov 2024 in New York: 721 hours


def test_coverage_lists_the_gaps(coop, cli, write):
    content = feb_csv()
    content = "\n".join(line for line in content.splitlines() if "2024-02-10T0" not in line) + "\n"
    imported(cli, write("gappy.csv", content))
    with coop.begin() as s:
        cov = meter_month_coverage(s, "PM-SUN1", "2024-02")
    doc = cov.as_dict()
    assert (doc["present"], doc["expected"], doc["coverage"]) == (686, 696, "0.9856")
    assert doc["gaps"] == [{"start": "2024-02-10T00:00:00+00:00", "end": "2024-02-10T10:00:00+00:00", "intervals": 10}]


def test_coverage_and_batches_commands(coop, cli, write):
    content = "\n".join(line for line in feb_csv().splitlines() if "2024-02-10T0" not in line) + "\n"
    imported(cli, write("gappy.csv", content))
    result = cli("coverage", "2024-02", "--json")
    assert result.exit_code == 0, result.stderr
    meters = {m["meter_code"]: m for m in json.loads(result.stdout)["meters"]}
    assert meters["PM-SUN1"]["coverage"] == "0.9856" and meters["PM-BAT1"]["coverage"] == "0.0000"
    batches = json.loads(cli("batches", "--json").stdout)["batches"]
    assert [(b["file"], b["accepted"], b["status"]) for b in batches] == [("gappy.csv", 686, "imported")]
    assert cli("coverage", "2024-13").exit_code == 2
