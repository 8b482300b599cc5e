"""Share register -> holdings (SPEC 3 shares.csv, SPEC 5 step 2) and register validation."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_coop.calc.credits.holdings import (
    RegisterProblem,
    holding_segments,
    holdings_on,
    holdings_timeline,
    holdings_timelines,
    validate_register,
)
from energy_coop.calc.credits.holdings import (
    ShareTransaction as T,
)

D = date
CAPS = {"SOLAR1": 10, "BATT1": 5}


def test_timeline_issue_transfer_redeem_and_other_asset_ignored():
    txs = [
        T("s1", D(2024, 1, 10), "SOLAR1", "issue", "1001", None, 5),
        T("s2", D(2024, 3, 5), "SOLAR1", "transfer", "1002", "1001", 2),
        T("s3", D(2024, 3, 20), "SOLAR1", "redeem", "1002", None, 2),
        T("b1", D(2024, 3, 1), "BATT1", "issue", "1001", None, 1),
    ]
    assert holdings_timeline(txs, "SOLAR1") == {
        "1001": [(D(2024, 1, 10), 5), (D(2024, 3, 5), 3)],
        "1002": [(D(2024, 3, 5), 2), (D(2024, 3, 20), 0)],
    }
    assert holdings_timelines(txs)["BATT1"] == {"1001": [(D(2024, 3, 1), 1)]}
    assert holdings_timeline(txs, "NOPE") == {}


def test_same_day_net_zero_makes_no_change_point():
    txs = [
        ("a", D(2024, 3, 1), "SOLAR1", "issue", "1001", None, 4),
        ("b", D(2024, 3, 7), "SOLAR1", "transfer", "1002", "1001", 1),
        ("c", D(2024, 3, 7), "SOLAR1", "transfer", "1001", "1002", 1),
    ]
    assert holdings_timeline(txs, "SOLAR1") == {"1001": [(D(2024, 3, 1), 4)]}


def test_holdings_on_counts_the_transactions_of_that_day():
    txs = [
        T("s1", D(2024, 3, 1), "SOLAR1", "issue", "1001", None, 5),
        T("s2", D(2024, 3, 5), "SOLAR1", "transfer", "1002", "1001", 2),
        T("s3", D(2024, 3, 9), "SOLAR1", "redeem", "1002", None, 2),
    ]
    assert holdings_on(txs, "SOLAR1", D(2024, 2, 29)) == {}
    assert holdings_on(txs, "SOLAR1", D(2024, 3, 4)) == {"1001": 5}
    assert holdings_on(txs, "SOLAR1", D(2024, 3, 5)) == {"1001": 3, "1002": 2}
    assert holdings_on(txs, "SOLAR1", D(2024, 3, 9)) == {"1001": 3}  # 1002 redeemed to 0: left out


def test_segments_over_a_month():
    days = [D(2024, 3, 1) + timedelta(days=i) for i in range(31)]
    # held 5 since January, 3 from the 5th, 0 from the 20th, 7 from the 25th
    points = [
        (D(2024, 1, 10), 5),
        (D(2024, 3, 5), 3),
        (D(2024, 3, 20), 0),
        (D(2024, 3, 25), 7),
        (D(2024, 4, 2), 1),
    ]
    assert holding_segments(points, days) == [(0, 4, 5), (4, 19, 3), (24, 31, 7)]
    assert holding_segments([(D(2024, 4, 1), 5)], days) == []  # only after the month
    assert holding_segments([(D(2024, 2, 1), 5), (D(2024, 2, 9), 0)], days) == []  # only before
    assert holding_segments([(D(2024, 3, 31), 2)], days) == [(30, 31, 2)]


def test_segments_over_non_consecutive_days_latest_point_wins():
    days = [D(2024, 3, 1), D(2024, 3, 10), D(2024, 3, 20)]
    points = [(D(2024, 3, 2), 4), (D(2024, 3, 5), 6), (D(2024, 3, 15), 6)]
    assert holding_segments(points, days) == [(1, 3, 6)]


def test_segments_refuse_unsorted_timeline():
    with pytest.raises(ValueError, match="increasing date order"):
        holding_segments([(D(2024, 3, 5), 1), (D(2024, 3, 1), 2)], [D(2024, 3, 1)])


@settings(max_examples=200, deadline=None)
@given(
    changes=st.dictionaries(st.integers(0, 60), st.integers(0, 9), max_size=8),
    day_offsets=st.sets(st.integers(5, 50), min_size=1, max_size=20),
)
def test_segments_expand_to_the_last_point_on_or_before_each_day(changes, day_offsets):
    base = D(2024, 1, 1)
    points = [(base + timedelta(days=k), v) for k, v in sorted(changes.items())]
    days = [base + timedelta(days=k) for k in sorted(day_offsets)]
    dense = [0] * len(days)
    for start, stop, shares in holding_segments(points, days):
        assert shares != 0 and start < stop
        for i in range(start, stop):
            dense[i] += shares
    expected = []
    for day in days:
        before = [v for d, v in points if d <= day]
        expected.append(before[-1] if before else 0)
    assert dense == expected


# ---------------------------------------------------------------------------------------------- validation


def test_valid_register_has_no_problems():
    txs = [
        T("s1", D(2024, 3, 1), "SOLAR1", "issue", "1001", None, 6),
        T("s2", D(2024, 3, 1), "SOLAR1", "issue", "1002", None, 4),
        T("s3", D(2024, 3, 5), "SOLAR1", "transfer", "1003", "1002", 4),
        T("s4", D(2024, 3, 6), "SOLAR1", "redeem", "1001", None, 6),
    ]
    assert validate_register(txs, CAPS) == []


def test_transfer_from_member_without_enough_shares():
    txs = [
        T("s1", D(2024, 3, 1), "SOLAR1", "issue", "1002", None, 2),
        T("s2", D(2024, 3, 5), "SOLAR1", "transfer", "1003", "1002", 5),
    ]
    assert validate_register(txs, CAPS) == [
        RegisterProblem(
            "s2",
            D(2024, 3, 5),
            "SOLAR1",
            "on 2024-03-05 member 1002 would hold -3 shares of SOLAR1: they hold 2 and transfer 5",
        )
    ]


def test_redeeming_more_than_held():
    txs = [
        T("s1", D(2024, 3, 1), "BATT1", "issue", "1001", None, 2),
        T("s2", D(2024, 3, 8), "BATT1", "redeem", "1001", None, 3),
    ]
    [problem] = validate_register(txs, CAPS)
    assert problem.ref == "s2"
    assert (
        problem.reason == "on 2024-03-08 member 1001 would hold -1 shares of BATT1: they hold 2 and redeem 3"
    )


def test_more_shares_than_the_asset_has():
    txs = [
        T("s1", D(2024, 3, 1), "BATT1", "issue", "1001", None, 3),
        T("s2", D(2024, 3, 4), "BATT1", "issue", "1002", None, 2),  # 5 of 5: fine
        T("s3", D(2024, 3, 9), "BATT1", "issue", "1003", None, 1),  # 6 of 5
    ]
    assert validate_register(txs, CAPS) == [
        RegisterProblem(
            "s3",
            D(2024, 3, 9),
            "BATT1",
            "on 2024-03-09 the members would hold 6 shares of BATT1, more than its 5 total shares: "
            "5 were held before that day, 1 issued that day",
        )
    ]


def test_every_offending_row_is_named_and_same_day_debits_all_named():
    txs = [
        T("s1", D(2024, 3, 1), "SOLAR1", "issue", "1001", None, 3),
        T("s2", D(2024, 3, 2), "SOLAR1", "transfer", "1002", "1001", 2),
        T("s3", D(2024, 3, 2), "SOLAR1", "redeem", "1001", None, 2),  # with s2: 3 - 4 = -1
        T("s4", D(2024, 3, 2), "SOLAR1", "issue", "1009", None, 1),
        T(
            "s5", D(2024, 3, 20), "SOLAR1", "issue", "1004", None, 9
        ),  # issued 3 + 1 - redeemed 2, + 9 = 11 > 10
        T("s6", D(2024, 3, 21), "SOLAR1", "redeem", "1005", None, 1),  # holds nothing
    ]
    problems = validate_register(list(reversed(txs)), CAPS)
    assert [p.ref for p in problems] == ["s2", "s3", "s5", "s6"]
    assert (
        problems[0].reason
        == problems[1].reason
        == (
            "on 2024-03-02 member 1001 would hold -1 shares of SOLAR1: they hold 3, transfer 2 and redeem 2 "
            "(that day's rows: s2, s3)"
        )
    )
    assert problems[2].reason == (
        "on 2024-03-20 the members would hold 11 shares of SOLAR1, more than its 10 total shares: "
        "2 were held before that day, 9 issued that day"
    )
    assert (
        problems[3].reason
        == "on 2024-03-21 member 1005 would hold -1 shares of SOLAR1: they hold 0 and redeem 1"
    )


def test_same_day_issue_and_transfer_chain_is_valid_in_any_order():
    txs = [
        T("z", D(2024, 3, 1), "SOLAR1", "transfer", "1002", "1001", 5),
        T("a", D(2024, 3, 1), "SOLAR1", "issue", "1001", None, 5),
    ]
    assert validate_register(txs, CAPS) == []
    assert validate_register(txs[::-1], CAPS) == []
    assert holdings_timeline(txs, "SOLAR1") == {"1002": [(D(2024, 3, 1), 5)]}


def test_rows_wrong_on_their_own():
    txs = [
        T("r1", D(2024, 3, 1), "SOLAR1", "gift", "1001", None, 1),
        T("r2", D(2024, 3, 1), "SOLAR1", "issue", "1001", None, 0),
        T("r3", D(2024, 3, 1), "SOLAR1", "transfer", "1001", None, 1),
        T("r4", D(2024, 3, 1), "SOLAR1", "transfer", "1001", "1001", 1),
        T("r5", D(2024, 3, 1), "WIND9", "issue", "1001", None, 1),
        T("r6", D(2024, 3, 1), "SOLAR1", "issue", "1001", "1002", 1),
        T("r7", D(2024, 3, 1), "SOLAR1", "issue", "1001", None, 1),
        T("r7", D(2024, 3, 2), "SOLAR1", "issue", "1002", None, 1),
    ]
    reasons = {(p.ref, p.reason) for p in validate_register(txs, CAPS)}
    assert reasons == {
        ("r1", "kind 'gift' is not one of issue, transfer, redeem"),
        ("r2", "shares must be a whole number greater than 0, not 0"),
        ("r3", "a transfer needs the from_member_number of the member giving the shares"),
        ("r4", "member 1001 cannot transfer shares to themself"),
        ("r5", "asset WIND9 is not in the asset register"),
        ("r6", "from_member_number is only for transfers, but this row is a issue"),
        ("r7", "ref r7 is used by 2 rows; each transaction needs its own ref"),
    }
    assert len(validate_register(txs, CAPS)) == 8  # r7 named once per row


# Property: validation agrees with a literal day-by-day replay, whatever the row order.

MEMBERS = ["1001", "1002", "1003"]
tx_strategy = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.sampled_from(["issue", "transfer", "redeem"]),
        st.sampled_from(MEMBERS),
        st.sampled_from(MEMBERS),
        st.integers(1, 4),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(rows=tx_strategy, seed=st.integers(0, 10**6))
def test_validation_matches_literal_replay(rows, seed):
    txs = []
    for i, (k, kind, member, other, shares) in enumerate(rows):
        if kind == "transfer" and other == member:
            other = next(m for m in MEMBERS if m != member)
        txs.append(
            T(
                f"t{i}",
                D(2024, 3, 1) + timedelta(days=k),
                "SOLAR1",
                kind,
                member,
                other if kind == "transfer" else None,
                shares,
            )
        )
    # literal: a holding on day d = Σ of every row dated <= d
    bad = set()
    for k in range(7):
        day = D(2024, 3, 1) + timedelta(days=k)
        held = defaultdict(int)
        for t in txs:
            if t.date <= day:
                held[t.member_number] += -t.shares if t.kind == "redeem" else t.shares
                if t.kind == "transfer":
                    held[t.from_member_number] -= t.shares
        for t in txs:
            if t.date == day:
                debited = t.from_member_number if t.kind == "transfer" else t.member_number
                if t.kind != "issue" and held[debited] < 0:
                    bad.add(t.ref)
                if t.kind == "issue" and sum(held.values()) > CAPS["SOLAR1"]:
                    bad.add(t.ref)
    problems = validate_register(txs, CAPS)
    assert {p.ref for p in problems} == bad
    shuffled = txs[:]
    random.Random(seed).shuffle(shuffled)
    assert validate_register(shuffled, CAPS) == problems
