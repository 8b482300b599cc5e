"""The job-run table's rules: one row per (job, period), claims, retries, finishes and recovery."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import func, select

from energy_coop.config import Schedule
from energy_coop.models import JobRun
from jobs import periods as job_periods
from jobs import recovery as job_recovery
from jobs import runs as job_runs
from jobs import specs as job_specs
from tests.helpers import add_readings, hourly, utc
from tests.jobs.conftest import at

HOST = "test-host"
S = Schedule()
DUE = at(2024, 3, 3, 4, 40)
DONE = at(2024, 3, 3, 4, 45)


def claim(sessions, job="monthly-allocation", period="2024-02", now=DUE, **kw):
    with sessions.begin() as s:
        c = job_runs.claim_run(s, job, period, now=now, host=kw.pop("host", HOST), pid=kw.pop("pid", os.getpid()),
                               **kw)
        return c.claimed, c.run.id, c.run.attempt, c.reason


def finish(sessions, run_id, attempt, outcome, now=DONE, message="done"):
    with sessions.begin() as s:
        return job_runs.finish_run(s, run_id, attempt, outcome=outcome, now=now, counts={"n": 1}, message=message)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_period_is_claimed_once_and_then_refused_with_the_reason(sessions):
    claimed, run_id, attempt, _ = claim(sessions)
    assert claimed and attempt == 1
    again = claim(sessions, host="other-host")
    assert again[:3] == (False, run_id, 1)
    assert "already running" in again[3]
    assert finish(sessions, run_id, 1, "succeeded")
    done = claim(sessions, force_retry=True)
    assert done[0] is False and "already ran (succeeded" in done[3]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(JobRun)) == 1
        run = s.get(JobRun, run_id)
        assert (run.outcome, run.counts, run.message, run.finished_at) == ("succeeded", {"n": 1}, "done",
                                                                            at(2024, 3, 3, 4, 45))


def test_a_failed_run_is_retried_in_place_with_backoff_then_left_for_a_person(sessions):
    _, run_id, _, _ = claim(sessions)
    finish(sessions, run_id, 1, "failed", now=at(2024, 3, 3, 5), message="boom 1")
    # the first retry is due at once (next catch-up pass)
    claimed, same_id, attempt, reason = claim(sessions, now=at(2024, 3, 3, 5))
    assert (claimed, same_id, attempt) == (True, run_id, 2) and "retry" in reason
    finish(sessions, run_id, 2, "failed", now=at(2024, 3, 3, 6), message="boom 2")
    # the second waits RETRY_BACKOFF x 1
    early = claim(sessions, now=at(2024, 3, 3, 6, 10))
    assert early[0] is False and "will be retried after 2024-03-03 06:15 UTC" in early[3]
    assert claim(sessions, now=at(2024, 3, 3, 6, 15))[:3] == (True, run_id, 3)
    finish(sessions, run_id, 3, "failed", now=at(2024, 3, 3, 7), message="boom 3")
    # MAX_ATTEMPTS reached: no more automatic retries, but a person may
    late = claim(sessions, now=at(2024, 3, 10))
    assert late[0] is False and "jobs run monthly-allocation --period 2024-02" in late[3]
    assert claim(sessions, now=at(2024, 3, 10), force_retry=True)[:3] == (True, run_id, 4)
    finish(sessions, run_id, 4, "succeeded", now=at(2024, 3, 10))
    with sessions.begin() as s:
        run = s.get(JobRun, run_id)
        assert [f["message"] for f in run.counts["earlier_failures"]] == ["boom 1", "boom 2", "boom 3"]
        assert run.outcome == "succeeded" and run.attempt == 4


def test_inbox_slots_are_not_retried_the_next_slot_does_the_work(sessions):
    _, run_id, _, _ = claim(sessions, job="import-inbox", period="2024-03-05T10:15Z", now=at(2024, 3, 5, 10, 15))
    finish(sessions, run_id, 1, "failed", now=at(2024, 3, 5, 10, 16))
    assert claim(sessions, job="import-inbox", period="2024-03-05T10:15Z", now=at(2024, 3, 5, 11))[0] is False


def test_a_late_finisher_cannot_overwrite_a_run_taken_over_after_its_lease(sessions):
    _, run_id, _, _ = claim(sessions, host="far-away", pid=4242)
    with sessions.begin() as s:  # the lease (6 h for an allocation) ran out: another host takes it over
        resolved = job_recovery.recover_stale_runs(s, now=at(2024, 3, 3, 11), host=HOST)
        assert [r.id for r in resolved] == [run_id]
        assert resolved[0].outcome == "failed" and "lease ran out" in resolved[0].message
    assert claim(sessions, now=at(2024, 3, 3, 11))[:3] == (True, run_id, 2)
    assert finish(sessions, run_id, 1, "succeeded") is False  # the zombie's outcome is not written
    with sessions.begin() as s:
        assert s.get(JobRun, run_id).outcome == "running"


def test_recovery_leaves_live_runs_alone_and_resolves_dead_ones(sessions, coop):
    live = claim(sessions, period="2024-01", pid=os.getppid())[1]  # a live process on this host
    mine = claim(sessions, period="2023-12", pid=os.getpid())[1]   # this process is running it
    dead = claim(sessions, period="2024-02", pid=dead_pid())[1]
    reborn = claim(sessions, period="2023-11", pid=os.getpid())[1]  # same pid, but not ours: a dead predecessor
    here = {("monthly-allocation", "2023-12")}
    with sessions.begin() as s:
        resolved = job_recovery.recover_stale_runs(s, now=at(2024, 3, 3, 5), host=HOST, running_here=here)
        outcome = {r.id: (r.outcome, r.message) for r in resolved}
    assert set(outcome) == {dead, reborn}
    assert "is gone" in outcome[dead][1] and "nothing was posted for 2024-02" in outcome[dead][1]
    assert "earlier process with that pid died" in outcome[reborn][1]
    with sessions.begin() as s:
        assert s.get(JobRun, live).outcome == "running" and s.get(JobRun, mine).outcome == "running"
        assert job_recovery.recover_stale_runs(s, now=at(2024, 3, 3, 5), host=HOST, running_here=here) == []


def test_recovery_of_an_allocation_that_committed_marks_it_succeeded(sessions, coop):
    from energy_coop.services.credits import allocation

    with sessions.begin() as s:
        add_readings(s, "PM-SUN1", hourly(utc(2024, 2, 1), utc(2024, 3, 1)))
        add_readings(s, "PM-BAT1", hourly(utc(2024, 2, 1), utc(2024, 3, 1), 500_000), name="bat")
    claim(sessions, now=at(2024, 3, 3, 4, 40), pid=dead_pid())
    with sessions.begin() as s:  # the run's work transaction committed; then the process died
        allocation.post(s, "2024-02", actor="scheduler", today=at(2024, 3, 3).date())
    with sessions.begin() as s:
        [run] = job_recovery.recover_stale_runs(s, now=at(2024, 3, 3, 5), host=HOST)
        assert run.outcome == "succeeded" and run.counts["posted"] is True
        assert "was committed" in run.message
        assert job_periods.missed_periods(s, "monthly-allocation", now=at(2024, 3, 3, 5), schedule=S) == []


def test_list_runs_newest_first_and_last_runs(sessions):
    with sessions.begin() as s:
        assert job_runs.last_runs(s) == {j: None for j in job_specs.JOBS}
    for i, slot in enumerate(["10:00", "10:15", "10:30"]):
        _, rid, _, _ = claim(sessions, job="import-inbox", period=f"2024-03-05T{slot}Z", now=at(2024, 3, 5, 10, 15 * i))
        finish(sessions, rid, 1, "succeeded", now=at(2024, 3, 5, 10, 15 * i, 30))
    with sessions.begin() as s:
        runs = job_runs.list_runs(s, limit=2)
        assert [r.period for r in runs] == ["2024-03-05T10:30Z", "2024-03-05T10:15Z"]
        assert job_runs.last_runs(s)["import-inbox"].period == "2024-03-05T10:30Z"
        assert runs[0].as_dict()["outcome"] == "succeeded"


def test_silence_is_judged_by_the_heartbeat_for_other_hosts_and_by_the_pid_here(sessions):
    import datetime as dt

    silence = dt.timedelta(minutes=5)
    far = claim(sessions, period="2024-02", host="far-away", pid=4242)[1]
    slow = claim(sessions, period="2024-01", host="far-away", pid=4243)[1]
    old = claim(sessions, period="2023-12", host="far-away", pid=4244)[1]
    here = claim(sessions, period="2023-11", pid=os.getppid())[1]  # a live process on this host, silent too
    with sessions.begin() as s:
        assert job_runs.beat(s, slow, 1, at=DUE + dt.timedelta(minutes=20)) is True
        s.get(JobRun, old).heartbeat_at = None  # written before heartbeats existed: the lease decides
    with sessions.begin() as s:
        resolved = job_recovery.recover_stale_runs(s, now=DUE + dt.timedelta(minutes=24), host=HOST,
                                                   silence=silence)
        outcome = {r.id: r.message for r in resolved}
    assert set(outcome) == {far}
    assert ("its process (pid 4242 on far-away) has not been heard from since 2024-03-03 04:40:00 UTC "
            "(it writes a heartbeat every 30 s; 5 minutes of silence means it stopped)") in outcome[far]
    with sessions.begin() as s:
        assert [s.get(JobRun, i).outcome for i in (slow, old, here)] == ["running"] * 3
        assert job_runs.beat(s, far, 1, at=DUE + dt.timedelta(minutes=25)) is False  # taken over: no beat
        assert s.get(JobRun, far).heartbeat_at == DUE
