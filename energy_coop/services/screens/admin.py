"""The admin console's screens (SPEC 1, 10); auditors read them too.

One read function per screen; each takes a Session and plain values and returns dicts,
:class:`~energy_coop.services.paging.Page` of dicts and dataclasses of integers (energy [Wh], money [cents],
rates [micro-units per kWh]), dates and codes, never formatted text: the pages format (see
:mod:`energy_coop.formatting`). Nothing here writes (computing an allocation draft changes nothing). Months are
:class:`~energy_coop.period.Period` values that the views parsed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from energy_coop import models
from energy_coop.errors import RefusedError
from energy_coop.models import AllocationRun, Asset, AuditEntry, ImportBatch, LedgerEntry, Member, Meter, User
from energy_coop.period import Period
from energy_coop.services.credits import allocation
from energy_coop.services.credits import queries as credits
from energy_coop.services.forecasting import forecasts
from energy_coop.services.metering import queries as metering
from energy_coop.services.metering.profiles import profile_documents
from energy_coop.services.paging import Page, paged
from energy_coop.services.registers import queries as registers
from energy_coop.services.screens.member import performance_rows


def overview(session: Session, *, today: dt.date, threshold: float = 0.8) -> dict[str, Any]:
    """The admin home page: record counts, the newest posted months, and last month's performance ratio of
    every solar array (flagged below ``threshold``)."""
    def count(model) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return {"members": count(Member), "assets": count(Asset), "meters": count(Meter), "users": count(User),
            "batches": count(ImportBatch), "runs": count(AllocationRun), "ledger_entries": count(LedgerEntry),
            "posted_periods": credits.posted_periods(session)[:3],
            "performance": performance_rows(forecasts.performance(session, str(Period.of(today).previous()),
                                                                  threshold=threshold))}


# ------------------------------------------------------------------------------------------------ registers


def members_screen(session: Session, *, q: str = "", page: int = 1) -> Page:
    """The members register page: members by number, optionally those whose number, name or email has ``q``."""
    return registers.members_page(session, q=q, page=page)


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


def audit_log_screen(session: Session, *, page: int = 1, per_page: int = 50) -> Page:
    """The audit log, newest first (who, when, what, before/after)."""
    stmt = select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.entity,
                  AuditEntry.entity_key, AuditEntry.before, AuditEntry.after, AuditEntry.note
                  ).order_by(AuditEntry.id.desc())
    return paged(session, stmt, select(func.count()).select_from(AuditEntry), page, per_page,
                 ("id", "at", "actor", "action", "entity", "key", "before", "after", "note"))


def jobs_screen(session: Session, *, limit: int = 100) -> list[dict[str, Any]] | None:
    """The scheduler's recorded job runs, newest first; None while no job-run table exists."""
    job_run = getattr(models, "JobRun", None)
    if job_run is None:
        return None
    return [{"job": r.job, "period": r.period, "outcome": r.outcome, "started_at": r.started_at,
             "finished_at": r.finished_at, "message": r.message}
            for r in session.scalars(select(job_run).order_by(job_run.started_at.desc()).limit(limit))]
