"""A battery's posted month as charged and discharged energy per member (services.credits.storage), on SQLite
and PostgreSQL: the parts sum to the battery's totals and discharged - charged is each member's ledger net."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from energy_coop.calc.credits.allocation import COOP
from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import Asset, LedgerEntry, Member
from energy_coop.services.credits import allocation, ledger, storage
from energy_coop.services.screens import member as member_screen
from energy_coop.units import round_half_even
from tests.battery import seed_battery_coop as seed
from tests.helpers import add_readings, utc

def ledger_net(s, member_number: str) -> tuple[int, int]:
    wh, cents = s.execute(
        select(func.coalesce(func.sum(LedgerEntry.wh), 0), func.coalesce(func.sum(LedgerEntry.cents), 0))
        .join(Member, LedgerEntry.member_id == Member.id).join(Asset, LedgerEntry.asset_id == Asset.id)
        .where(Member.member_number == member_number, Asset.asset_code == "BAT1",
               LedgerEntry.period == "2024-02")).one()
    return int(wh), int(cents)


def test_parts_sum_to_the_battery_and_each_member_matches_the_ledger(sessions, tmp_path):
    seed(sessions, tmp_path / "reg")
    with sessions.begin() as s:
        month = storage.storage_month(s, "2024-02")["BAT1"]
        split = month.split
        # 29 days x 4 discharging hours x 1,125,003 mWh, rounded once to Wh; 4 charging hours x 1,250,001 mWh
        discharged_total = round_half_even(29 * 4 * 1_125_003, 1000)
        assert discharged_total == 130_500
        run = allocation.current_run(s, "2024-02")
        posted = next(a for a in run.document["assets"] if a["asset_code"] == "BAT1")
        assert split.discharged_wh == discharged_total == sum(h.discharged_wh for h in split.holders)
        assert split.net_wh == posted["wh"] == sum(h.net_wh for h in split.holders)
        assert split.charged_wh == discharged_total - posted["wh"] == sum(h.charged_wh for h in split.holders)
        assert posted["wh"] == round_half_even(29 * 4 * (1_125_003 - 1_250_001), 1000) == -14_500
        assert [h.holder for h in split.holders] == ["1001", "1002", COOP]
        for h in split.holders:
            assert h.charged_wh >= 0 and h.discharged_wh >= 0
            if h.holder != COOP:
                assert h.discharged_wh - h.charged_wh == ledger_net(s, h.holder)[0] == h.net_wh
        # 1001 holds 1 of 4 shares all month: a quarter of 130,500.348 Wh out and of 145,000.116 Wh in
        assert split.holder("1001")[1:] == (36_250, 32_625, -3_625)

        shares = storage.storage_shares(s, "1001", "2024-02")
        assert [(x.asset_code, x.asset_name, x.period) for x in shares] == [("BAT1", "Depot battery", "2024-02")]
        [mine] = shares
        assert (mine.charged_wh, mine.discharged_wh, mine.net_wh) == (36_250, 32_625, -3_625)
        assert (mine.net_wh, mine.cents) == ledger_net(s, "1001")
        # value: 116 h x (1.125003 kWh x 0.30 - 1.250001 kWh x 0.06) = 3,045.009744 cents; a quarter: 761.25
        assert mine.cents == 761  # shifting earned money although the energy is negative
        assert storage.storage_shares(s, "1003", "2024-02") == []  # no battery shares
        assert storage.storage_shares(s, "1001", "2024-01") == []  # not posted


def test_a_repost_still_reconciles_with_the_ledger_entries_and_their_reversals(sessions, tmp_path):
    seed(sessions, tmp_path / "reg")
    with sessions.begin() as s:
        before = storage.storage_shares(s, "1002", "2024-02")
    with sessions.begin() as s:  # a late reading on 29 February, then a repost
        add_readings(s, "PM-BAT1", [(utc(2024, 3, 1) - 60, utc(2024, 3, 1), 777_777)], name="late")
    with sessions.begin() as s:
        allocation.post(s, "2024-02", actor="test", repost=True, today=dt.date(2024, 3, 6))
    with sessions.begin() as s:
        split = storage.storage_month(s, "2024-02")["BAT1"].split
        assert split.discharged_wh == round_half_even(29 * 4 * 1_125_003 + 777_777, 1000)
        assert split.charged_wh == sum(h.charged_wh for h in split.holders)
        assert split.discharged_wh == sum(h.discharged_wh for h in split.holders)
        [after] = storage.storage_shares(s, "1002", "2024-02")
        assert (after.discharged_wh - after.charged_wh, after.cents) == ledger_net(s, "1002")
        assert after != before[0]


def test_unknown_member_and_bad_month_are_refused(sessions, tmp_path):
    seed(sessions, tmp_path / "reg")
    with sessions.begin() as s:
        with pytest.raises(NotFoundError):
            storage.storage_shares(s, "9999", "2024-02")
        with pytest.raises(RefusedError):
            storage.storage_shares(s, "1001", "2024-13")


def test_dashboard_screen_reconciles_and_shows_the_battery_as_charged_and_discharged(sessions, tmp_path):
    seed(sessions, tmp_path / "reg")
    with sessions.begin() as s:
        ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=125, period="2024-02",
                                   memo="meter fault credit", actor="test", today=dt.date(2024, 3, 7))
    with sessions.begin() as s:
        board = member_screen.member_dashboard(s, "1001", today=dt.date(2024, 3, 7))
        st = board.statement
        assert st.period == "2024-02"
        entries = sum(c.cents for c in st.credits) + sum(o.cents for o in st.other)
        assert st.opening_cents + entries == st.closing_cents == board.balance_cents
        assert board.reconciles
        assert [o.memo for o in st.other] == ["meter fault credit"]
        assert board.storage_codes == ["BAT1"]
        [share] = board.storage
        [line] = board.statement_storage.values()  # the statement's battery line: the same split as the chart's
        assert (line.asset_code, line.charged_wh, line.discharged_wh) == ("BAT1", share.charged_wh, share.discharged_wh)
        assert (share.charged_wh, share.discharged_wh) == (36_250, 32_625)
        [month] = board.months
        assert month["produced_wh"] == ledger_net_solar(s)
        assert month["storage_codes"] == ["BAT1"]


def ledger_net_solar(s) -> int:
    return int(s.scalar(select(func.sum(LedgerEntry.wh)).join(Member, LedgerEntry.member_id == Member.id)
                        .join(Asset, LedgerEntry.asset_id == Asset.id)
                        .where(Member.member_number == "1001", Asset.asset_code == "SUN1")))


def test_battery_command_prints_the_split_as_json_and_refuses_what_is_not_there(sessions, tmp_path, cli):
    import json

    seed(sessions, tmp_path / "reg")
    result = cli("battery", "2024-02", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    [bat] = doc["assets"]
    assert (doc["period"], bat["asset_code"], bat["discharged_wh"], bat["net_wh"]) == ("2024-02", "BAT1", 130_500, -14_500)
    assert bat["charged_wh"] == sum(h["charged_wh"] for h in bat["holders"]) == 145_000
    assert bat["holders"][0] == {"holder": "1001", "charged_wh": 36_250, "discharged_wh": 32_625, "net_wh": -3_625,
                                 "cents": 761}
    assert bat["holders"][-1]["holder"] == COOP and bat["holders"][-1]["cents"] is None
    mine = json.loads(cli("battery", "2024-02", "--member", "1001", "--json").stdout)
    assert [h["holder"] for h in mine["assets"][0]["holders"]] == ["1001"]
    text = cli("battery", "2024-02", "--member", "1001")
    assert "1001: charged 36.250 kWh, discharged 32.625 kWh, value $7.61" in text.stdout
    not_posted = cli("battery", "2024-01")
    assert not_posted.exit_code == 4 and "2024-01 is not posted" in not_posted.stderr
    assert cli("battery", "2024-02", "--member", "9999").exit_code == 4
    assert cli("battery", "2024-13").exit_code == 2
