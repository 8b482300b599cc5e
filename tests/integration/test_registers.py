"""Loading the register files of SPEC section 3 through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from energy_coop.calc.credits.holdings import holdings_on
from energy_coop.models import Asset, AuditEntry, CreditRate, Member, Meter, ShareTransaction
from energy_coop.services.registers.shares import share_register

MEMBERS = """member_number,name,email,member_type,joined_on,low_income,annual_usage_kwh,meter_code
1001,Ada Lovelace,ada@example.org,household,2023-01-05,false,3200.5,CONS-1001
1002,Worker Bees Co-op,bees@example.org,worker_coop,2023-02-01,false,,
1003,Bo Riverside,bo@example.org,clt_household,2023-03-01,true,2100,
"""

ASSETS = """asset_code,name,kind,meter_code,timezone,latitude,longitude,altitude_m,total_shares,commissioned_on,capacity_kw_dc,capacity_kw_ac,tilt_deg,azimuth_deg,losses_pct,array_type,storage_kwh,storage_kw,roundtrip_efficiency
SUN1,School roof,solar,PM-SUN1,America/Denver,39.73,-105.18,1829,1000,2023-01-01,250,200,20,180,14,fixed_roof_mount,,,
BAT1,Depot battery,storage,PM-BAT1,America/Denver,39.74,-105.0,,500,2023-06-01,,,,,,,400,100,0.9
"""

SHARES = """ref,date,asset_code,kind,member_number,from_member_number,shares,price_per_share
S-1,2024-01-01,SUN1,issue,1001,,300,10.00
S-2,2024-01-01,SUN1,issue,1002,,200,10.00
S-3,2024-03-15,SUN1,transfer,1003,1001,100,
S-4,2024-03-20,SUN1,redeem,1002,,50,
S-5,2024-02-01,BAT1,issue,1003,,100,
"""

RATES = """valid_from,rate_per_kwh,asset_code
2024-01-01T00:00:00-07:00,0.120000,
2024-01-01T00:00:00-07:00,0.15,BAT1
2024-06-01T00:00:00Z,0.123456,
"""


@pytest.fixture
def loaded(cli, write):
    for kind, content in (("members", MEMBERS), ("assets", ASSETS), ("shares", SHARES), ("rates", RATES)):
        result = cli("load", kind, str(write(f"{kind}.csv", content)), "--json")
        assert result.exit_code == 0, result.stderr + result.stdout
    return write


def counts(sessions) -> dict[str, int]:
    with sessions.begin() as s:
        return {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Member, Asset, Meter, ShareTransaction, CreditRate, AuditEntry)
        }


def test_each_register_loads_with_the_documented_json(cli, write, sessions):
    expected = {"members": 3, "assets": 2, "shares": 5, "rates": 3}
    for kind, content in (("members", MEMBERS), ("assets", ASSETS), ("shares", SHARES), ("rates", RATES)):
        result = cli("load", kind, str(write(f"{kind}.csv", content)), "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == {
            "file": f"{kind}.csv", "kind": kind, "created": expected[kind], "updated": 0, "unchanged": 0,
            "errors": [],
        }
    with sessions.begin() as s:
        ada = s.scalar(select(Member).where(Member.member_number == "1001"))
        assert (ada.name, ada.member_type, ada.joined_on, ada.low_income) == (
            "Ada Lovelace", "household", dt.date(2023, 1, 5), False)
        assert ada.annual_usage_wh == 3_200_500  # 3200.5 kWh, exact
        assert ada.meter.code == "CONS-1001" and ada.meter.kind == "consumption"
        sun = s.scalar(select(Asset).where(Asset.asset_code == "SUN1"))
        assert (sun.total_shares, sun.capacity_kw_dc, sun.array_type, sun.meter.kind) == (
            1000, 250.0, "fixed_roof_mount", "production")
        bat = s.scalar(select(Asset).where(Asset.asset_code == "BAT1"))
        assert bat.capacity_kw_dc is None and bat.storage_kwh == 400.0 and bat.roundtrip_efficiency == 0.9
        rates = {(r.scope, r.valid_from): r.rate_micros for r in s.scalars(select(CreditRate))}
        assert rates == {
            ("*", dt.datetime(2024, 1, 1, 7, tzinfo=dt.timezone.utc)): 120_000,
            ("BAT1", dt.datetime(2024, 1, 1, 7, tzinfo=dt.timezone.utc)): 150_000,
            ("*", dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)): 123_456,
        }
        s1 = s.scalar(select(ShareTransaction).where(ShareTransaction.ref == "S-1"))
        assert s1.price_per_share_cents == 1000


def test_loading_twice_changes_nothing(loaded, cli, sessions):
    before = counts(sessions)
    for kind, content in (("members", MEMBERS), ("assets", ASSETS), ("shares", SHARES), ("rates", RATES)):
        result = cli("load", kind, str(loaded(f"{kind}.csv", content)), "--json")
        doc = json.loads(result.stdout)
        assert (doc["created"], doc["updated"], doc["errors"]) == (0, 0, [])
        assert doc["unchanged"] == {"members": 3, "assets": 2, "shares": 5, "rates": 3}[kind]
    assert counts(sessions) == before  # not even an audit entry


def test_an_update_changes_only_that_row_and_is_audited(loaded, cli, sessions):
    changed = MEMBERS.replace("Bo Riverside,bo@example.org", "Bo Rivers,bo@example.org")
    doc = json.loads(cli("load", "members", str(loaded("members.csv", changed)), "--json").stdout)
    assert (doc["created"], doc["updated"], doc["unchanged"]) == (0, 1, 2)
    with sessions.begin() as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.entity, entry.entity_key) == ("update", "member", "1003")
        assert entry.before == {"name": "Bo Riverside"} and entry.after == {"name": "Bo Rivers"}
        assert entry.actor.startswith("cli")


def test_holdings_on_any_day_equal_the_register_up_to_that_day(loaded, sessions):
    with sessions.begin() as s:
        register = share_register(s)
    assert holdings_on(register, "SUN1", dt.date(2023, 12, 31)) == {}
    assert holdings_on(register, "SUN1", dt.date(2024, 1, 1)) == {"1001": 300, "1002": 200}
    assert holdings_on(register, "SUN1", dt.date(2024, 3, 14)) == {"1001": 300, "1002": 200}
    assert holdings_on(register, "SUN1", dt.date(2024, 3, 15)) == {"1001": 200, "1002": 200, "1003": 100}
    assert holdings_on(register, "SUN1", dt.date(2024, 3, 20)) == {"1001": 200, "1002": 150, "1003": 100}
    assert holdings_on(register, "BAT1", dt.date(2024, 3, 20)) == {"1003": 100}


def refused(cli, kind, path):
    """Load a file that must be refused; return (stderr text, JSON errors) after checking the exit status."""
    text_result = cli("load", kind, str(path))
    assert text_result.exit_code == 2, text_result.stdout
    json_result = cli("load", kind, str(path), "--json")
    assert json_result.exit_code == 2
    return text_result.stderr, json.loads(json_result.stdout)["errors"]


def test_a_file_with_bad_rows_is_refused_whole_with_every_row_named(loaded, cli, sessions):
    before = counts(sessions)
    bad = (
        "member_number,name,email,member_type,joined_on,low_income\n"
        "2001,Good Person,good@example.org,household,2024-01-01,false\n"
        "2002,,x@example.org,household,2024-01-01,false\n"
        "2003,Cara,not-an-email,martian,2024-02-30,maybe\n"
        "2001,Twice,t@example.org,household,2024-01-01,false\n"
    )
    stderr, errors = refused(cli, "members", loaded("bad_members.csv", bad))
    named = {(e["line"], e["field"]) for e in errors}
    assert named == {(3, "name"), (4, "email"), (4, "member_type"), (4, "joined_on"), (4, "low_income"),
                     (5, "member_number")}
    assert "line 4, column member_type: 'martian' is not one of" in stderr
    assert "line 5, column member_number: '2001' already appears on line 2" in stderr
    assert "nothing was loaded" in stderr
    assert counts(sessions) == before  # the good row 2001 was not written either


@pytest.mark.parametrize(
    "content, expected",
    [
        ("member_number,nam\n1,x\n", "required column missing"),
        ("member_number,name,shoe_size\n1,x,42\n", "unknown column"),
        ("", "the file is empty"),
        ("member_number,name\n", "header but no rows"),
        ("member_number,name\n1,x,extra\n", "has 3 fields; the header has 2"),
        (b"member_number,name\n1,Jos\xe9\n", "line 2: byte 0xe9 is not valid UTF-8"),
    ],
    ids=["wrong-header", "unknown-column", "empty", "header-only", "ragged", "not-utf8"],
)
def test_malformed_member_files_are_refused_with_a_clear_message(cli, write, sessions, content, expected):
    path = write("m.csv", content)
    result = cli("load", "members", str(path))
    assert result.exit_code == 2
    assert expected in result.stderr
    assert counts(sessions)["members"] == 0


def test_share_rows_with_bad_values_and_unknown_references_are_named(loaded, cli, sessions):
    before = counts(sessions)
    bad = (
        "ref,date,asset_code,kind,member_number,from_member_number,shares\n"
        "S-10,2024-13-01,SUN1,issue,1001,,5\n"
        "S-11,2024-04-01,NOPE,issue,1001,,5\n"
        "S-12,2024-04-01,SUN1,issue,9999,,5\n"
        "S-13,2024-04-01,SUN1,issue,1001,,0\n"
        "S-14,2024-04-01,SUN1,issue,1001,,-3\n"
        "S-15,2024-04-01,SUN1,transfer,1002,,5\n"
        "S-10,2024-04-01,SUN1,issue,1001,,5\n"
    )
    stderr, errors = refused(cli, "shares", loaded("bad_shares.csv", bad))
    assert {(e["line"], e["field"]) for e in errors} == {
        (2, "date"), (3, "asset_code"), (4, "member_number"), (5, "shares"), (6, "shares"),
        (7, "from_member_number"), (8, "ref")}
    assert "no asset with code 'NOPE'" in stderr and "no member with number '9999'" in stderr
    assert counts(sessions) == before


def test_transfer_from_a_member_without_enough_shares_is_refused(loaded, cli, sessions):
    before = counts(sessions)
    bad = (
        "ref,date,asset_code,kind,member_number,from_member_number,shares\n"
        "S-20,2024-04-01,SUN1,transfer,1001,1003,150\n"
    )
    stderr, errors = refused(cli, "shares", loaded("t.csv", bad))
    assert [(e["line"], e["field"]) for e in errors] == [(2, "shares")]
    assert "member 1003 would hold -50 shares of SUN1" in stderr
    assert counts(sessions) == before


def test_issuing_more_than_total_shares_is_refused_naming_the_row(loaded, cli):
    bad = (
        "ref,date,asset_code,kind,member_number,from_member_number,shares\n"
        "S-30,2024-05-01,SUN1,issue,1003,,400\n"
        "S-31,2024-05-01,SUN1,issue,1001,,200\n"
    )
    stderr, errors = refused(cli, "shares", loaded("over.csv", bad))
    assert sorted(e["line"] for e in errors) == [2, 3]
    assert "more than its 1000 total shares" in stderr


def test_lowering_total_shares_below_what_is_held_is_refused(loaded, cli, sessions):
    lowered = ASSETS.replace("1829,1000,", "1829,400,")
    stderr, errors = refused(cli, "assets", loaded("assets.csv", lowered))
    assert errors[0]["field"] == "total_shares" and "cannot lower total_shares of SUN1 to 400" in stderr
    with sessions.begin() as s:
        assert s.scalar(select(Asset.total_shares).where(Asset.asset_code == "SUN1")) == 1000


def test_asset_rows_are_checked_by_kind(cli, write, sessions):
    bad = (
        "asset_code,name,kind,meter_code,timezone,latitude,longitude,total_shares,capacity_kw_dc,"
        "capacity_kw_ac,tilt_deg,azimuth_deg,storage_kwh,storage_kw\n"
        "A1,Roof,solar,M1,Mars/Olympus,39,-105,100,10,8,20,180,50,\n"
        "A2,Roof,solar,M2,UTC,95,-105,0,10,30,120,400,,\n"
        "A3,Batt,storage,M3,UTC,39,-105,100,,,,,,10\n"
        "A4,Dup,solar,M1,UTC,39,-105,100,10,8,20,180,,\n"
    )
    stderr, errors = refused(cli, "assets", write("a.csv", bad))
    named = {(e["line"], e["field"]) for e in errors}
    assert {(2, "timezone"), (2, "storage_kwh"), (3, "latitude"), (3, "total_shares"), (3, "capacity_kw_ac"),
            (3, "tilt_deg"), (3, "azimuth_deg"), (4, "storage_kwh"), (5, "meter_code")} <= named
    assert counts(sessions)["assets"] == 0


def test_rates_refuse_naive_timestamps_too_many_places_and_unknown_assets(loaded, cli):
    bad = (
        "valid_from,rate_per_kwh,asset_code\n"
        "2024-07-01T00:00:00,0.12,\n"
        "2024-07-01T00:00:00Z,0.1234567,\n"
        "2024-07-01T00:00:00Z,-0.1,SUN1\n"
        "2024-07-01T00:00:00Z,0.1,NOPE\n"
        "2024-07-01T00:00:00Z,NaN,BAT1\n"
    )
    stderr, errors = refused(cli, "rates", loaded("r.csv", bad))
    assert [(e["line"], e["field"]) for e in errors] == [
        (2, "valid_from"), (3, "rate_per_kwh"), (4, "rate_per_kwh"), (5, "asset_code"), (6, "rate_per_kwh")]
    assert "has no UTC offset" in stderr and "more than 6 decimal places" in stderr


def test_a_refused_load_on_a_fresh_database_leaves_nothing(cli, write, sessions):
    content = MEMBERS + "1004,,x@example.org,household,2024-01-01,false,,\n"
    result = cli("load", "members", str(write("m.csv", content)))
    assert result.exit_code == 2 and "line 5, column name" in result.stderr
    assert counts(sessions) == {t: 0 for t in counts(sessions)}


def test_commands_refuse_an_unmigrated_database(tmp_path, monkeypatch, write):
    from click.testing import CliRunner

    from energy_coop.cli import main

    monkeypatch.setenv("ENERGY_COOP_INSTANCE", str(tmp_path / "inst"))
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(main, ["--db", url, "load", "members", str(write("m.csv", MEMBERS))])
    assert result.exit_code == 2
    assert "run `energy-coop db upgrade` first" in result.stderr
