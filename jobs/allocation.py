"""The ``monthly-allocation`` job: draft last month's allocation, and post it only when the co-op turned
auto-posting on (``ENERGY_COOP_AUTO_POST``), the month has ended in every asset's time zone (SPEC 13) and every
asset's coverage is complete; a month it posts it also issues (its statements are frozen, SPEC 13), in the same
transaction.

Its messages are shown on the admins' jobs page, so they name no command-line option."""

from __future__ import annotations

import datetime as dt
from typing import Any

from energy_coop.calc.credits.allocation import format_coverage
from energy_coop.config import Config
from energy_coop.db import get_sessionmaker
from energy_coop.documents import statements
from energy_coop.documents.pdf import prepare_fonts
from energy_coop.errors import ConflictError, RefusedError
from energy_coop.formatting import Formatter, formatter_for
from energy_coop.services.credits import allocation
from energy_coop.services.settings import get_settings
from jobs.result import WorkResult


def _counts(outcome: allocation.AllocationOutcome) -> dict[str, Any]:
    doc = outcome.allocation
    return {
        "total_wh": doc.total_wh,
        "total_cents": doc.total_cents,
        "assets": len(doc.assets),
        "members": len(doc.members),
        "coverage": {code: format_coverage(c) for code, c in sorted(doc.coverage.items())},
        "incomplete": list(outcome.incomplete),
        "posted": outcome.status == "posted",
        "month_over": outcome.month_over,
        "allocation_run_id": outcome.run_id,
    }


def _totals(outcome: allocation.AllocationOutcome, f: Formatter) -> str:
    a = outcome.allocation
    return f"{f.energy_kwh(a.total_wh)} kWh, {f.money(a.total_cents)} in credits over {len(a.assets)} asset(s)"


def monthly_allocation(config: Config, period: str, *, now: dt.datetime, run_id: int, actor: str) -> WorkResult:
    """Draft ``period`` (and maybe post it) in one transaction; the totals and coverage go into the counts.

    A month already posted is skipped (the job never reposts: that is a person's decision). A post that loses
    to a simultaneous one (``ConflictError``) is skipped too: the month is posted exactly once either way. A month
    that has not ended yet in every asset's time zone at ``now`` (a person's run just after the UTC month end)
    is drafted, never posted, and the run counts as failed so that it is run again rather than recorded as done.
    A month it posts is issued at once (``documents.statements.issue_month``); should issuing be refused (an
    earlier month with entries is not issued yet, say), nothing is posted either and the run fails saying why.
    """
    if config.auto_post:
        prepare_fonts()  # a month it posts it issues: cut the statements' font before the write lock is taken
    try:
        with get_sessionmaker(config.database_url).begin() as session:
            f = formatter_for(get_settings(session))  # the job's messages in the co-op's locale and currency
            posted = allocation.current_run(session, period)
            if posted is not None:
                return WorkResult("skipped", {"posted": True, "allocation_run_id": posted.id},
                                  f"{period} is already posted (run {posted.id}, {posted.posted_at:%Y-%m-%d %H:%M} UTC "
                                  f"by {posted.posted_by}); nothing to draft")
            draft = allocation.compute(session, period, now=now)
            coverage = ", ".join(f"{code} {format_coverage(c)}" for code, c in sorted(draft.allocation.coverage.items()))
            if not draft.month_over:  # "failed", not "succeeded": a run recorded as done would never post it
                return WorkResult("failed", _counts(draft),
                                  f"drafted {period}: {_totals(draft, f)}. Not posted: {draft.note}; the job "
                                  "runs it again after that")
            if not config.auto_post:
                return WorkResult("succeeded", _counts(draft),
                                  f"drafted {period}: {_totals(draft, f)}; coverage {coverage or 'n/a'}. Not posted: "
                                  "auto-posting is off (an admin posts it from the allocation page or the command "
                                  "line)")
            if draft.incomplete:
                return WorkResult("succeeded", _counts(draft),
                                  f"drafted {period}: {_totals(draft, f)}. Not posted: coverage is below 100 % "
                                  f"({'; '.join(draft.incomplete)}); import the missing readings, or an admin "
                                  "posts it with the gaps allowed")
            outcome = allocation.post(session, period, actor=actor, now=now)
            issued = statements.issue_month(session, period, actor=actor, now=now)
            return WorkResult("succeeded", {**_counts(outcome), "statements_issued": issued.statements},
                              f"drafted and posted {period} as allocation run {outcome.run_id}: {_totals(outcome, f)}; "
                              f"coverage {coverage}; {issued.statements} statements issued")
    except ConflictError as exc:
        return WorkResult("skipped", {"posted": True}, f"not posted here: {exc.message}")
    except RefusedError as exc:
        return WorkResult("failed", {}, f"{period} could not be drafted: {exc}")
