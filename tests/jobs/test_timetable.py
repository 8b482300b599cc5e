"""The pages' timetable (energy_coop.timetable, no APScheduler) says what the scheduler's cron triggers do."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from energy_coop import timetable
from energy_coop.config import Schedule
from jobs.scheduler import next_run_times

SCHEDULES = st.builds(
    Schedule,
    inbox_minutes=st.sampled_from([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]),
    forecasts_at=st.builds(dt.time, st.integers(0, 23), st.integers(0, 59)),
    allocation_day=st.integers(1, 28),
    allocation_at=st.builds(dt.time, st.integers(0, 23), st.integers(0, 59)),
)
MOMENTS = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31, 23, 59, 59),
                       timezones=st.just(dt.UTC))


@settings(max_examples=300, deadline=None)
@given(SCHEDULES, MOMENTS)
def test_every_next_firing_is_the_cron_triggers(schedule, now):
    assert timetable.next_times(schedule, now) == next_run_times(schedule, now)


def test_on_the_boundary_the_firing_is_that_second():
    s = Schedule(inbox_minutes=15)
    assert timetable.next_inbox_pass(s, dt.datetime(2024, 3, 5, 10, 15, tzinfo=dt.UTC)) == \
        dt.datetime(2024, 3, 5, 10, 15, tzinfo=dt.UTC)
    assert timetable.next_inbox_pass(s, dt.datetime(2024, 3, 5, 10, 15, 0, 1, tzinfo=dt.UTC)) == \
        dt.datetime(2024, 3, 5, 10, 30, tzinfo=dt.UTC)
    assert timetable.next_allocation(s, dt.datetime(2024, 12, 3, 4, 41, tzinfo=dt.UTC)) == \
        dt.datetime(2025, 1, 3, 4, 40, tzinfo=dt.UTC)


def test_two_missed_inbox_intervals_mean_the_scheduler_is_not_running():
    s = Schedule(inbox_minutes=15)
    last = dt.datetime(2024, 3, 5, 10, 0, tzinfo=dt.UTC)
    assert timetable.scheduler_silence(s, last, last + dt.timedelta(minutes=30)) is None
    silent = timetable.scheduler_silence(s, last, last + dt.timedelta(minutes=30, seconds=1))
    assert silent.since == last + dt.timedelta(minutes=30) and silent.expected_every == dt.timedelta(minutes=15)
    assert timetable.scheduler_silence(s, None, last).last_started is None
