"""A data logger's JSON body read into exact readings (SPEC 20): numbers as their decimal text, never a float;
the same meaning gives the same canonical SHA-256. Pure: no database."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from energy_coop.importers.logger_readings import canonical_sha256, load_json, parse_logger_body

START = "2024-03-01T00:00:00Z"

# energy of one reading inside its bound (|kwh| <= 10^6, common.MAX_READING_MWH), as mWh
exact_mwh = st.integers(min_value=-10**12, max_value=10**12)


def body(kwh_json: str) -> bytes:
    return ('{"readings": [{"start": "%s", "interval_minutes": 15, "kwh": %s}]}' % (START, kwh_json)).encode()


@settings(max_examples=300, deadline=None)
@given(exact_mwh)
def test_a_json_number_and_its_text_store_the_same_exact_mwh(mwh):
    text = str(Decimal(mwh).scaleb(-6))  # e.g. "1.000001", "-0.5", "1E-6"
    as_number = parse_logger_body(body(text), "PV-1")
    as_text = parse_logger_body(body(json.dumps(text)), "PV-1")
    for parsed in (as_number, as_text):
        assert parsed.report.errors == []
        assert parsed.chunk["mwh"].tolist() == [mwh]
    exponent = parse_logger_body(body(f"{mwh}e-6"), "PV-1")
    assert exponent.chunk["mwh"].tolist() == [mwh]


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_a_json_number_is_read_as_the_digits_written_never_as_a_binary_float(value):
    text = repr(value)
    parsed = parse_logger_body(body(text), "PV-1")
    exact = Decimal(text)
    if exact.scaleb(6) == exact.scaleb(6).to_integral_value():
        assert parsed.chunk["mwh"].tolist() == [int(exact.scaleb(6))]
    else:
        assert [e.field for e in parsed.report.errors] == ["kwh"]
        assert "more than 6 decimal places" in parsed.report.errors[0].reason


def test_point_one_is_exactly_100_mwh_and_1e_minus_7_is_refused():
    assert parse_logger_body(body("0.1"), "PV-1").chunk["mwh"].tolist() == [100_000]
    assert parse_logger_body(body("0.30000000000000004"), "PV-1").report.errors[0].reason == (
        "'0.30000000000000004' has more than 6 decimal places (finer than 1 mWh)")
    refused = parse_logger_body(body("1e-7"), "PV-1").report.errors
    assert [(e.where, e.field) for e in refused] == [("readings[0]", "kwh")]


def test_huge_exponents_and_long_digit_runs_are_refused_without_overflow():
    for text in ("1e999999999", "-1e999999999", "1" + "0" * 20_000, "1e-999999999"):
        errors = parse_logger_body(body(text), "PV-1").report.errors
        assert [e.field for e in errors] == ["kwh"], text[:30]


def test_the_canonical_sha256_is_of_the_meaning_not_the_bytes():
    a = load_json(b'{"readings": [{"start": "x", "kwh": 1.50}]}')
    b = load_json(b'{ "readings" : [ { "kwh" : 1.50 , "start" : "x" } ] }')
    c = load_json(b'{"readings": [{"start": "x", "kwh": 1.5}]}')
    assert canonical_sha256("PV-1", a) == canonical_sha256("PV-1", b)
    assert canonical_sha256("PV-1", a) != canonical_sha256("PV-2", a)  # the meter is part of the request
    assert canonical_sha256("PV-1", a) != canonical_sha256("PV-1", c)  # the digits sent are kept as sent
