"""``POST /api/v1/meters/{meter_code}/readings``: a data logger's readings, stored once per idempotency key, by a
token that may write only its own meters (SPEC 20, issue 17). On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select

from energy_coop.config import Config
from energy_coop.models import ImportBatch, Reading, ReadingRevision, ReadingSubmission
from energy_coop.services.accounts import tokens as api_tokens
from energy_coop.services.metering import logger
from tests.api.conftest import Client
from tests.helpers import utc
from web import create_app

MARCH = utc(2024, 3, 1)
KEY = {"Idempotency-Key": "6b1d2c1e-roof-0001"}


def issue(sessions, scopes, name="roof logger", email="admin@example.org") -> str:
    with sessions.begin() as s:
        return api_tokens.issue(s, email, actor="test", name=name, scopes=scopes).token


def quarter(k: int, kwh, **extra) -> dict:
    start = dt.datetime.fromtimestamp(MARCH + 900 * k, dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return {"start": start, "interval_minutes": 15, "kwh": kwh, **extra}


def post(api, body, meter="PM-SUN1", headers=KEY, raw: bytes | None = None, **kwargs):
    data = raw if raw is not None else json.dumps(body)
    return api.post(f"/meters/{meter}/readings", data=data, headers=headers,
                    content_type=kwargs.pop("content_type", "application/json"), **kwargs)


def ok(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def stored(sessions, meter="PM-SUN1", since=MARCH) -> list[tuple[int, int, int, str]]:
    with sessions.begin() as s:
        from energy_coop.models import Meter
        mid = s.scalar(select(Meter.id).where(Meter.code == meter))
        return [tuple(r) for r in s.execute(select(Reading.start, Reading.end, Reading.mwh, Reading.quality)
                                            .where(Reading.meter_id == mid, Reading.start >= since)
                                            .order_by(Reading.start))]


def counts(sessions) -> tuple[int, int, int]:
    with sessions.begin() as s:
        return (s.scalar(select(func.count()).select_from(Reading)),
                s.scalar(select(func.count()).select_from(ImportBatch)),
                s.scalar(select(func.count()).select_from(ReadingSubmission)))


@pytest.fixture
def roof(app, sessions, tokens):
    """The logger of PM-SUN1: an admin's token with the scope meter:PM-SUN1 only."""
    return Client(app, issue(sessions, ["meter:PM-SUN1"]))


def test_readings_are_stored_to_the_exact_mwh_as_one_import_batch(roof, sessions):
    body = {"readings": [quarter(0, "0.125"), quarter(1, 0.1), quarter(2, "1.000001"), quarter(3, 2),
                         quarter(4, 1.5E1, quality="estimated"), quarter(5, "0")]}
    response = post(roof, body)
    doc = ok(response, 201)
    assert response.headers["Idempotency-Replayed"] == "false"
    assert {k: doc[k] for k in ("file", "status", "meters", "accepted", "unchanged", "revised", "rejected",
                                "errors", "meter_code", "idempotency_key", "readings", "replayed")} == {
        "file": "API: logger roof logger", "status": "imported", "meters": ["PM-SUN1"], "accepted": 6,
        "unchanged": 0, "revised": 0, "rejected": 0, "errors": [], "meter_code": "PM-SUN1",
        "idempotency_key": KEY["Idempotency-Key"], "readings": 6, "replayed": False}
    assert stored(sessions) == [(MARCH + 900 * k, MARCH + 900 * (k + 1), mwh, q) for k, mwh, q in (
        (0, 125_000, "actual"), (1, 100_000, "actual"), (2, 1_000_001, "actual"), (3, 2_000_000, "actual"),
        (4, 15_000_000, "estimated"), (5, 0, "actual"))]
    with sessions.begin() as s:
        batch = s.get(ImportBatch, doc["batch_id"])
        assert (batch.file_name, batch.format, batch.imported_by, batch.accepted, batch.sha256) == (
            "API: logger roof logger", "logger", "admin@example.org", 6, doc["sha256"])


def test_the_same_key_twice_stores_once_and_answers_the_first_answer_again(roof, sessions):
    body = {"readings": [quarter(0, "0.5"), quarter(1, "0.75")]}
    first = ok(post(roof, body), 201)
    before = counts(sessions)
    again = post(roof, body)
    replay = ok(again, 201)
    assert again.headers["Idempotency-Replayed"] == "true"
    assert replay == {**first, "replayed": True}
    # the same readings written differently (spacing, key order, number for text) are the same request...
    respaced = json.dumps({"readings": [{"kwh": "0.5", "interval_minutes": 15, "start": quarter(0, 0)["start"]},
                                        quarter(1, "0.75")]}, indent=4)
    assert ok(post(roof, None, raw=respaced.encode()), 201)["replayed"] is True
    assert counts(sessions) == before
    assert [r[2] for r in stored(sessions)] == [500_000, 750_000]


def test_the_same_key_with_other_readings_is_409_naming_the_key_and_stores_nothing(roof, sessions):
    ok(post(roof, {"readings": [quarter(0, "0.5")]}), 201)
    before = counts(sessions)
    body = ok(post(roof, {"readings": [quarter(0, "0.6")]}), 409)
    assert body["error"] == "conflict"
    assert body["message"].startswith("the idempotency key '6b1d2c1e-roof-0001' was used on ")
    assert "for other readings (meter 'PM-SUN1'); nothing was stored" in body["message"]
    assert counts(sessions) == before and [r[2] for r in stored(sessions)] == [500_000]
    # another key with those readings is a new request: the reading is revised
    assert ok(post(roof, {"readings": [quarter(0, "0.6")]}, headers={"Idempotency-Key": "k2"}), 201)["revised"] == 1


def test_a_token_for_one_meter_cannot_write_another_and_nothing_is_stored(app, roof, sessions, tokens):
    before = counts(sessions)
    body = ok(post(roof, {"readings": [quarter(0, "-1")]}, meter="PM-BAT1"), 403)
    assert body["message"] == ("this token may write readings for meter 'PM-SUN1' only, not for meter 'PM-BAT1'; "
                               "nothing was stored (its scopes: meter:PM-SUN1)")
    reader = Client(app, issue(sessions, ["read"], name="dashboard"))
    assert ok(post(reader, {"readings": [quarter(0, "1")]}), 403)["message"].startswith("this token may not write")
    member = Client(app, tokens["member"])  # a member's read-write token: the role may not
    assert ok(post(member, {"readings": [quarter(0, "1")]}), 403)["message"].endswith("it needs the role admin")
    assert counts(sessions) == before
    # an administrator's write token writes any meter
    admin = Client(app, tokens["admin"])
    assert ok(post(admin, {"readings": [quarter(0, "-1")]}, meter="PM-BAT1"), 201)["accepted"] == 1
    assert [r[2] for r in stored(sessions, "PM-BAT1")] == [-1_000_000]


BAD = [
    (quarter(0, "1,5"), "kwh", "'1,5' is not a number; give the energy in kWh, e.g. 1.25 (a dot before the decimals)"),
    (quarter(0, "0.0000001"), "kwh", "'0.0000001' has more than 6 decimal places (finer than 1 mWh)"),
    (quarter(0, 1e-7), "kwh", "'1E-7' has more than 6 decimal places (finer than 1 mWh)"),
    (quarter(0, "1" * 30), "kwh", f"'{'1' * 30}' kWh is too large for one reading (the limit is 1,000,000 kWh)"),
    (quarter(0, None), "kwh", "is null; give the energy in kWh as a number or decimal text, e.g. 0.125"),
    (quarter(0, True), "kwh", "is true; give the energy in kWh as a number or decimal text, e.g. 0.125"),
    ({"start": "2024-03-01T00:00:00", "interval_minutes": 15, "kwh": "1"}, "start",
     "'2024-03-01T00:00:00' has no UTC offset; add one (e.g. +01:00 or Z) or name the file's time zone when "
     "importing it"),
    ({"start": "2024-02-30T00:00:00Z", "interval_minutes": 15, "kwh": "1"}, "start",
     "'2024-02-30T00:00:00Z' is not a valid date and time (check the day, month and hour)"),
    ({"start": 1709251200, "interval_minutes": 15, "kwh": "1"}, "start",
     'is a number; give a date and time in ISO 8601 text with a UTC offset, e.g. "2024-03-01T00:15:00+01:00"'),
    ({"interval_minutes": 15, "kwh": "1"}, "start", "is missing; every reading needs its start"),
    ({"start": "2024-03-01T00:00:00Z", "kwh": "1"}, "end", "is missing, and so is interval_minutes; give one of them"),
    (quarter(0, "1", interval_minutes=15.5), "interval_minutes",
     "'15.5' is not a whole number of minutes greater than 0"),
    (quarter(0, "1", interval_minutes=7), "end",
     "the reading is 7 minutes long; readings of asset meter 'PM-SUN1' must be 5, 15, 30 or 60 minutes long"),
    ({"start": "2024-03-01T00:05:00Z", "interval_minutes": 15, "kwh": "1"}, "start",
     "a 15 minutes reading must start on a multiple of 15 minutes in UTC; 2024-03-01 00:05 UTC does not"),
    ({"start": "2024-03-01T00:15:00Z", "end": "2024-03-01T00:00:00Z", "kwh": "1"}, "end",
     "'2024-03-01T00:00:00Z' does not end after the start '2024-03-01T00:15:00Z'"),
    (quarter(0, "1", quality="guessed"), "quality",
     "'guessed' is not a quality; use actual or estimated (or leave it empty for actual)"),
    (quarter(0, "1", meter_code="PM-BAT1"), "meter_code",
     "is not a field of a reading; a reading has start, end or interval_minutes, kwh and (optionally) quality"),
    ("PM-SUN1,2024-03-01T00:00:00Z,15,1", "reading",
     "is text, not an object with start, end or interval_minutes, kwh and (optionally) quality"),
    ({"start": "2099-01-01T00:00:00Z", "interval_minutes": 15, "kwh": "1"}, "start",
     "after now"),
]


@pytest.mark.parametrize("reading, field, reason", BAD, ids=[f"{f}-{i}" for i, (_, f, _) in enumerate(BAD)])
def test_each_bad_reading_is_refused_naming_its_index_and_field(roof, sessions, reading, field, reason):
    before = counts(sessions)
    body = ok(post(roof, {"readings": [quarter(1, "0.5"), quarter(2, "0.5"), reading]}), 422)
    assert body["error"] == "invalid_input"
    assert [d["where"] for d in body["details"]] == ["readings[2]"]
    assert body["details"][0]["field"] == field and reason in body["details"][0]["reason"]
    assert body["report"]["status"] == "refused" and body["report"]["accepted"] == 0
    assert counts(sessions) == before  # nothing stored, not even the key


def test_every_bad_reading_is_named_and_the_key_stays_free_for_the_corrected_body(roof, sessions):
    readings = [quarter(0, "x"), quarter(1, "1"), quarter(2, "1", quality="good"), quarter(1, "2")]
    body = ok(post(roof, {"readings": readings}), 422)
    assert [(d["where"], d["field"]) for d in body["details"]] == [
        ("readings[0]", "kwh"), ("readings[2]", "quality"), ("readings[3]", "kwh")]
    assert "already has a reading for the interval starting 2024-03-01 00:15 UTC on readings[1]" in \
        body["details"][2]["reason"]
    assert stored(sessions) == []
    fixed = ok(post(roof, {"readings": [quarter(0, "3"), quarter(1, "1"), quarter(2, "1")]}), 201)
    assert fixed["accepted"] == 3 and fixed["replayed"] is False


def test_huge_or_unreadable_bodies_are_refused_in_words(roof, sessions):
    before = counts(sessions)
    many = {"readings": [quarter(k, "0.001") for k in range(logger.MAX_READINGS + 1)]}
    body = ok(post(roof, many), 422)
    assert body["message"] == "the readings were not stored: the body holds more readings than one request may carry"
    assert body["details"][0]["reason"] == ("holds 10,001 readings; the most one request may carry is 10,000. "
                                            "Send them in several requests")
    big = b'{"readings": [{"start": "2024-03-01T00:00:00Z", "interval_minutes": 15, "kwh": "' + b"1" * (5 << 20) + b'"}]}'
    assert "the most one request may carry is 4,194,304 bytes" in ok(post(roof, None, raw=big), 413)["message"]
    for raw, words in [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"readings": [{"start": "2024-03-01T00:00:00Z", "interval_minutes": 15, "kwh": NaN}]}',
         "NaN is not a JSON number"),
        (b'{"readings": [', "the body is not JSON (Expecting value at line 1, column 15)"),
        (b'{"readings": []}', "is an empty list; send at least one reading"),
        (b'{"readings": [], "meter": "PM-BAT1"}', "is not a field of the body"),
        (b'{"reading": []}', "is missing; send {\"readings\": [...]}"),
        (b"\xff\xfe", "is not UTF-8 text"),
        (b'{"readings": [{"start": "2024-03-01T00:00:00Z", "interval_minutes": 15, "kwh": 1' + b"0" * 5000 + b"}]}",
         "kWh is too large for one reading"),
    ]:
        body = ok(post(roof, None, raw=raw), 422)
        assert any(words in d["reason"] for d in body["details"]), (raw[:40], body)
    assert counts(sessions) == before


def test_the_key_header_is_required_and_the_body_must_be_json(roof, sessions):
    body = ok(post(roof, {"readings": [quarter(0, "1")]}, headers={}), 422)
    assert body["message"] == "the readings were not stored: the header Idempotency-Key is required"
    assert body["details"][0]["field"] == "Idempotency-Key"
    body = ok(post(roof, {"readings": [quarter(0, "1")]}, headers={"Idempotency-Key": "k\u00e9y"}), 422)
    assert "must be 1 to 255 printable ASCII characters" in body["details"][0]["reason"]
    body = ok(post(roof, None, raw=b"meter_code,start\n", content_type="text/csv"), 415)
    assert body["message"] == "send the readings as JSON with 'Content-Type: application/json'"
    assert counts(sessions)[2] == 0


def test_a_revision_in_a_posted_month_marks_it_stale_and_keeps_the_old_value(app, sessions, tokens):
    admin = Client(app, tokens["admin"])
    feb = {"start": "2024-02-10T12:00:00Z", "end": "2024-02-10T13:00:00Z", "kwh": "1.25"}
    doc = ok(post(admin, {"readings": [feb]}), 201)
    assert (doc["revised"], doc["stale_periods"]) == (1, ["2024-02"])
    with sessions.begin() as s:
        old = s.scalars(select(ReadingRevision)).one()
        assert (old.mwh, old.replaced_by_batch_id) == (1_000_000, doc["batch_id"])
    same = ok(post(admin, {"readings": [feb]}, headers={"Idempotency-Key": "another"}), 200)
    assert same["status"] == "duplicate" and same["batch_id"] == doc["batch_id"]


def test_a_replay_after_a_restart_still_replays(db_url, tmp_path, sessions, tokens):
    from web.api.db import dispose_readers

    token = issue(sessions, ["meter:PM-SUN1"])
    body = {"readings": [quarter(0, "0.5")]}

    def fresh_app():
        dispose_readers()
        return create_app(Config(database_url=db_url, instance_dir=tmp_path / "instance", inbox=tmp_path / "inbox",
                                 _secret_key="test-secret"))

    first = ok(post(Client(fresh_app(), token), body), 201)
    before = counts(sessions)
    again = post(Client(fresh_app(), token), body)
    assert ok(again, 201) == {**first, "replayed": True} and again.headers["Idempotency-Replayed"] == "true"
    assert counts(sessions) == before
    dispose_readers()


@pytest.mark.slow
@pytest.mark.parametrize("same_body", [True, False])
def test_two_requests_racing_with_one_key_store_once(app, roof, sessions, same_body):
    bodies = [{"readings": [quarter(0, "0.5")]}, {"readings": [quarter(0, "0.5" if same_body else "0.7")]}]
    answers: list = [None, None]
    barrier = threading.Barrier(2)

    def send(i):
        client = Client(app, roof.headers["Authorization"].split()[1])
        barrier.wait()
        answers[i] = post(client, bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(a.status_code for a in answers)
    if same_body:
        assert codes == [201, 201]
        assert sorted(a.headers["Idempotency-Replayed"] for a in answers) == ["false", "true"]
    else:
        assert codes == [201, 409]
    assert len(stored(sessions)) == 1
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.format == "logger")) == 1
        assert s.scalar(select(func.count()).select_from(ReadingSubmission)) == 1


def test_keys_older_than_thirty_days_are_pruned_and_then_new_again(sessions, tokens):
    start = dt.datetime(2024, 3, 2, tzinfo=dt.timezone.utc)
    data = json.dumps({"readings": [quarter(0, "0.5")]}).encode()
    with sessions.begin() as s:
        first = logger.submit_readings(s, "PM-SUN1", data, key="k", owner="token 1", source="roof",
                                       actor="admin@example.org", now=start)
    with sessions.begin() as s:
        later = logger.submit_readings(s, "PM-SUN1", data, key="k", owner="token 1", source="roof",
                                       actor="admin@example.org", now=start + dt.timedelta(days=29))
    assert (first.status_code, first.replayed, later.replayed) == (201, False, True)
    other = json.dumps({"readings": [quarter(0, "0.75")]}).encode()
    with sessions.begin() as s:
        renewed = logger.submit_readings(s, "PM-SUN1", other, key="k", owner="token 1", source="roof",
                                         actor="admin@example.org", now=start + dt.timedelta(days=31))
        assert (renewed.status_code, renewed.replayed, renewed.document["revised"]) == (201, False, 1)
        assert s.scalar(select(func.count()).select_from(ReadingSubmission)) == 1


def test_a_logger_is_held_to_the_meters_physical_bounds_and_sign_as_a_file_is(roof, sessions):
    before = counts(sessions)
    # SUN1 is 200 kW AC: 75.001 kWh in a quarter hour is 300.004 kW, beyond 1.5 x its rating
    refused = ok(post(roof, {"readings": [quarter(0, "1"), quarter(1, "75.001")]}), 422)
    [error] = refused["report"]["errors"] if "report" in refused else refused["errors"]
    assert error["where"] == "readings[1]" and "1.5" in error["reason"]
    assert counts(sessions) == before
    flagged = ok(post(roof, {"readings": [quarter(0, "-5"), quarter(1, "1")]},
                      headers={"Idempotency-Key": "negative-night"}), 201)
    assert flagged["flags"] and "wrong sign" in flagged["flags"][0]["message"]
