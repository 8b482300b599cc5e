"""The booking rule and the order months close in (SPEC 13), from literals and from hypothesis."""

from __future__ import annotations

from hypothesis import given, strategies as st

from energy_coop.calc.credits.booking import booked_month, issue_blocker, next_month
from energy_coop.calc.credits.chain import entry_content
import datetime as dt


def test_an_entry_for_an_open_month_is_booked_in_it():
    assert booked_month("2026-11", set(), "2026-12") == "2026-11"
    assert booked_month("2026-11", {"2026-09", "2026-10"}, "2026-12") == "2026-11"


def test_a_late_posting_is_booked_in_the_month_after_the_latest_issued_one():
    issued = {f"2025-{m:02d}" for m in range(11, 13)} | {f"2026-{m:02d}" for m in range(1, 12)}
    assert booked_month("2025-10", issued, "2026-12") == "2026-12"
    assert booked_month("2026-03", issued, "2026-12") == "2026-12"  # a repost of an issued month
    assert booked_month("2026-11", issued, "2027-01") == "2026-12"  # the earliest open month, not today's


def test_an_entry_without_a_month_is_booked_like_one_for_the_current_month():
    assert booked_month(None, set(), "2026-12") == "2026-12"
    assert booked_month(None, {"2026-12"}, "2026-12") == "2027-01"  # never in an issued month


def test_months_are_issued_in_order():
    assert issue_blocker("2026-11", set(), {"2026-11"}) is None
    assert issue_blocker("2026-11", {"2026-10"}, {"2026-10", "2026-11", "2026-12"}) is None
    assert issue_blocker("2026-11", set(), {"2026-09", "2026-10", "2026-11"}) == (
        "2026-09 has entries and its statements are not issued yet; months are issued in order: issue 2026-09 first")
    assert issue_blocker("2026-10", {"2026-10"}, set()) == "2026-10's statements are issued already"
    assert issue_blocker("2025-10", {"2026-11"}, {"2025-10"}).startswith(
        "2025-10 comes before 2026-11, whose statements are issued already")
    assert issue_blocker("2026-12", {"2026-10"}, {"2026-11"}).startswith("2026-11 has entries")
    assert issue_blocker("2026-12", {"2026-10"}, set()) is None  # a month without entries does not hold others up


def test_the_hash_covers_booked_only_when_it_is_not_the_default():
    when = dt.datetime(2026, 12, 3, 4, 40, tzinfo=dt.timezone.utc)
    plain = entry_content(7, "allocation", "1001", "2026-11", "SUN1", 10, 1, 3, None, None, when)
    assert entry_content(7, "allocation", "1001", "2026-11", "SUN1", 10, 1, 3, None, None, when, "2026-11") == plain
    assert entry_content(7, "allocation", "1001", "2026-11", "SUN1", 10, 1, 3, None, None, when,
                         "2026-12") == plain + "|booked=2026-12"
    no_period = entry_content(8, "adjustment", "1001", None, None, 0, 5, None, None, "x", when)
    assert entry_content(8, "adjustment", "1001", None, None, 0, 5, None, None, "x", when, "2026-12") == no_period
    assert entry_content(8, "adjustment", "1001", None, None, 0, 5, None, None, "x", when,
                         "2027-01").endswith("|booked=2027-01")


months = st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2020, 2030), st.integers(1, 12))


def run_of_issued(start: str, length: int) -> set[str]:
    out, m = set(), start
    for _ in range(length):
        out.add(m)
        m = next_month(m)
    return out


@given(period=st.one_of(st.none(), months), first=months, length=st.integers(0, 30), current=months)
def test_booked_is_never_an_issued_month_and_never_before_the_entry_s_own(period, first, length, current):
    issued = run_of_issued(first, length)
    booked = booked_month(period, issued, current)
    assert booked not in issued
    if issued:
        assert booked > max(issued)
    if period is not None:
        assert booked >= period
        if not issued or period > max(issued):
            assert booked == period
        else:
            assert booked == next_month(max(issued))


@given(first=months, length=st.integers(1, 30), extra=st.sets(months, max_size=6))
def test_issuing_in_order_is_always_allowed_and_out_of_order_never(first, length, extra):
    issued = run_of_issued(first, length)
    latest = max(issued)
    following = next_month(latest)
    booked = issued | {m for m in extra if m > latest}
    blocker = issue_blocker(following, issued, booked)
    assert blocker is None
    for m in extra:
        if m > following and m not in issued:
            assert issue_blocker(m, issued, booked | {following}) is not None
        if m <= latest:
            assert issue_blocker(m, issued, booked) is not None
