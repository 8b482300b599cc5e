"""The admin console's screens (SPEC 1, 10); auditors read them too.

One read function per screen; each takes a Session and plain values and returns dicts,
:class:`~energy_coop.services.paging.Page` of dicts and dataclasses of integers (energy [Wh], money [cents],
rates [micro-units per kWh]), dates and codes, never formatted text: the pages format (see
:mod:`energy_coop.formatting`). Nothing here writes (computing an allocation draft changes nothing). Months are
:class:`~energy_coop.period.Period` values that the views parsed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop import models
from energy_coop.config import Schedule
from energy_coop.errors import RefusedError
from energy_coop.models import AllocationRun, Asset, ImportBatch, LedgerEntry, Member, Meter, User
from energy_coop.period import Period
from energy_coop.services.credits import allocation
from energy_coop.services.credits import queries as credits
from energy_coop.services.forecasting import forecasts
from energy_coop.services.metering import queries as metering
from energy_coop.services.metering.profiles import profile_documents
from energy_coop.services.paging import Page, paged
from energy_coop.services.registers import queries as registers
from energy_coop.services.screens import audit_log
from energy_coop.services.screens.audit_log import AuditFilter
from energy_coop.services.screens.member import performance_rows
from energy_coop.services.screens.todo import scheduler_state  # noqa: F401 - the Jobs page's read function
from energy_coop.services.screens.todo import todo as todo_list


def overview(session: Session, *, today: dt.date, threshold: float = 0.8, now: dt.datetime | None = None,
             schedule: Schedule | None = None, inbox: Path | None = None) -> dict[str, Any]:
    """The admin home page: what needs doing (:func:`energy_coop.services.screens.todo.todo`), record counts,
    the newest posted months, and last month's performance ratio of every solar array (flagged below
    ``threshold``). ``now`` defaults to the start of ``today`` (UTC); ``schedule`` to the default timetable."""
    def count(model) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    now = now or dt.datetime.combine(today, dt.time.min, dt.UTC)
    performance = forecasts.performance(session, str(Period.of(today).previous()), threshold=threshold)
    return {"todo": todo_list(session, now=now, schedule=schedule or Schedule(), inbox=inbox, performance=performance),
            "members": count(Member), "assets": count(Asset), "meters": count(Meter), "users": count(User),
            "batches": count(ImportBatch), "runs": count(AllocationRun), "ledger_entries": count(LedgerEntry),
            "posted_periods": credits.posted_periods(session)[:3],
            "performance": performance_rows(performance)}


# ------------------------------------------------------------------------------------------------ registers


def members_screen(session: Session, *, q: str = "", page: int = 1,
                   filter: registers.MemberFilter | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """The members register page: one page of members (with shares held ``today`` and balance) as ``filter``
    says (or those whose number, name or email has ``q``), and the asset codes its filter offers."""
    return {"page": registers.members_page(session, q=q, page=page, filter=filter, today=today),
            "asset_codes": registers.asset_codes(session)}


def member_record(session: Session, member_number: str) -> dict[str, str]:
    """The member edit form's values: the register row as text (:class:`NotFoundError` for an unknown number)."""
    return registers.member_record(session, member_number)


def asset_screen(session: Session, asset_code: str, *, today: dt.date, threshold: float = 0.8,
                 months: int = 12) -> dict[str, Any]:
    """One asset's page: its register row, shares sold and unsold today, its holders, and (a solar array)
    metered production against the expectation for each of the last ``months`` whole months, with the
    performance ratio (:class:`NotFoundError` for an unknown code)."""
    record = registers.asset_record(session, asset_code)
    holders = registers.asset_holders(session, asset_code, today)
    total = int(record["total_shares"])
    held = sum(h["shares"] for h in holders)
    production = []
    if record["kind"] == "solar":
        month = Period.of(today).previous()
        for _ in range(months):
            production += performance_rows(forecasts.performance(session, str(month), threshold=threshold,
                                                                 asset_code=asset_code))
            month = month.previous()
    return {"asset": record, "total_shares": total, "held_shares": held, "unsold_shares": total - held,
            "holders": holders, "production": production}


def member_exists(session: Session, member_number: str) -> bool:
    """Whether a member with ``member_number`` is registered (the add form refuses a second one)."""
    return session.scalar(select(Member.id).where(Member.member_number == member_number)) is not None


def asset_record(session: Session, asset_code: str) -> dict[str, str]:
    """The asset edit form's values: the register row as text (:class:`NotFoundError` for an unknown code)."""
    return registers.asset_record(session, asset_code)


def asset_codes(session: Session) -> list[str]:
    """Every asset code, in order (a filter's or a form's choices)."""
    return registers.asset_codes(session)


def members_list_csv(session: Session, *, filter: registers.MemberFilter, today: dt.date) -> list[list[Any]]:
    """The members list as filtered, every row (its CSV download)."""
    return registers.members_list_export(session, filter, today)


def members_csv(session: Session) -> list[list[Any]]:
    """The members register download: every member's row (the CSV writer neutralises formulas)."""
    return registers.members_export(session)


def assets_screen(session: Session, *, today: dt.date) -> list[dict[str, Any]]:
    """The assets page: every asset, its size [kW AC or kWh] and the shares members hold in it today."""
    return registers.assets_overview(session, today=today)


def shares_screen(session: Session, *, page: int = 1) -> dict[str, Any]:
    """The share register page: one page of transactions, newest first, and the asset codes its forms offer."""
    return {"page": registers.share_transactions_page(session, page=page),
            "asset_codes": registers.asset_codes(session)}


def rates_screen(session: Session, *, page: int = 1) -> dict[str, Any]:
    """The credit rates page: one page of rate rows, latest first, and the asset codes its forms offer."""
    return {"page": registers.rates_page(session, page=page), "asset_codes": registers.asset_codes(session)}


def form_choices(session: Session) -> list[str]:
    """The asset codes a submitted share or rate form is checked against."""
    return registers.asset_codes(session)


# ------------------------------------------------------------------------------------------------ meter data


def imports_screen(session: Session) -> dict[str, Any]:
    """The imports page: the latest import batches, and the import profiles its upload may name (SPEC 20)."""
    return {"batches": metering.import_batches(session),
            "profiles": [{"name": p["name"], "description": p["description"], "built_in": p["built_in"]}
                         for p in profile_documents(session)]}


def coverage_screen(session: Session, period: Period) -> list[dict[str, Any]]:
    """The coverage page: every asset meter's coverage of the local month ``period``."""
    return metering.month_coverage(session, period)


# ------------------------------------------------------------------------------------------------ allocation, ledger


def allocation_screen(session: Session, period: Period, *, now: dt.datetime | None = None,
                      today: dt.date | None = None) -> dict[str, Any]:
    """The allocation page: the draft of ``period`` as of ``now`` (or why it cannot be computed), whether the
    month is over (``month_over``; if not, ``ends_at``: when it can be posted), the month's runs, the current
    one, whether the draft's inputs are those it posted, and every stale month."""
    out: dict[str, Any] = {"period": str(period), "draft": None, "refusal": None, "incomplete": [],
                           "month_over": True, "ends_at": None, "note": None}
    try:
        outcome = allocation.compute(session, str(period), now=now, today=today)
    except RefusedError as exc:
        out["refusal"] = exc.message
    else:
        out["draft"] = outcome.document
        out["incomplete"] = outcome.incomplete
        out["inputs_sha256"] = outcome.inputs_sha256
        out["month_over"] = outcome.month_over
        out["note"] = outcome.note
        if outcome.month_end is not None:
            out["ends_at"] = allocation.month_end_text(outcome.month_end)
    out["runs"] = credits.allocation_runs(session, period=period)
    current = out["runs"][0] if out["runs"] else None
    out["current"] = current
    out["unchanged"] = bool(current and out["draft"] is not None
                            and current["inputs_sha256"] == out.get("inputs_sha256"))
    out["stale"] = credits.stale_runs(session)
    return out


def allocation_confirmation(session: Session, period: Period, *, repost: bool,
                            now: dt.datetime | None = None) -> dict[str, Any]:
    """The confirmation step of posting (or reposting) ``period`` from the page: what would be posted.

    Refused as posting itself would be, before anything is asked: a month not over, a draft that cannot be
    computed (:class:`RefusedError`), a month already posted when not reposting (:class:`ConflictError`). The
    answer carries the draft (``draft``: SPEC 5's document), its ``inputs_sha256`` (sent back with the
    confirmation, so that a changed draft is refused), the assets whose readings are incomplete
    (``incomplete_assets``: codes; ``incomplete``: with their coverage) and the current run, if any.
    """
    allocation.refuse_unfinished(session, str(period), now=now)
    outcome = allocation.compute(session, str(period), now=now)
    current = allocation.current_run(session, str(period))
    if current is not None and not repost:
        raise allocation.already_posted(str(period), current)
    return {"period": str(period), "repost": repost, "draft": outcome.document,
            "inputs_sha256": outcome.inputs_sha256, "incomplete": outcome.incomplete,
            "incomplete_assets": [text.partition(":")[0] for text in outcome.incomplete],
            "current": credits.run_dict(current) if current is not None else None}


def ledger_entries_screen(session: Session, *, page: int = 1) -> Page:
    """The manual ledger entries page: adjustments, payouts and bill applications, newest first."""
    return credits.manual_entries_page(session, page=page)


# ------------------------------------------------------------------------------------------------ users, audit log, jobs


def users_screen(session: Session) -> list[dict[str, Any]]:
    """The users page: every user with their role, member number and whether they may sign in."""
    rows = session.execute(select(User.id, User.email, User.role, Member.member_number, User.active,
                                  User.created_at).outerjoin(Member, User.member_id == Member.id)
                           .order_by(User.role, User.email)).all()
    return [dict(zip(("id", "email", "role", "member_number", "active", "created_at"), r)) for r in rows]


def audit_log_screen(session: Session, *, page: int = 1, per_page: int = 50,
                     filter: AuditFilter | None = None) -> dict[str, Any]:
    """The audit log page: one page of entries, newest first, as ``filter`` says, with each change typed for
    the page (:mod:`energy_coop.services.screens.audit_log`), and the filter's choices."""
    return {"page": audit_log.audit_log_screen(session, page=page, per_page=per_page, filter=filter),
            "choices": audit_log.audit_choices(session)}


def jobs_screen(session: Session, *, limit: int = 100) -> list[dict[str, Any]] | None:
    """The scheduler's recorded job runs, newest first; None while no job-run table exists."""
    job_run = getattr(models, "JobRun", None)
    if job_run is None:
        return None
    return [{"job": r.job, "period": r.period, "outcome": r.outcome, "started_at": r.started_at,
             "finished_at": r.finished_at, "message": r.message}
            for r in session.scalars(select(job_run).order_by(job_run.started_at.desc()).limit(limit))]
