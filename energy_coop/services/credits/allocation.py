"""The monthly allocation use case (SPEC section 5): draft, post, repost.

Gathers the inputs (readings of each asset's local month, the share register, the rates), hands them to the
pure arithmetic in :mod:`energy_coop.calc.credits.allocation`, and - when posting - writes one allocation run and its
ledger entries through :mod:`energy_coop.services.credits.ledger`. The caller owns the transaction; nothing commits
here, so a crash anywhere leaves the whole run or none of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Collection
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from energy_coop.period import local_midnight_utc, parse_period
from energy_coop.calc.credits.allocation import (
    COOP,
    PeriodAllocation,
    allocate_asset,
    allocate_period,
    daily_totals,
    format_coverage,
    month_days,
)
from energy_coop.calc.credits.days import MonthEnd, first_month_start, last_month_end
from energy_coop.calc.credits.holdings import holdings_timelines
from energy_coop.calc.credits.rates import NoRateError, RateSchedule, rates_for_asset
from energy_coop.errors import ConflictError, RefusedError, RowError
from energy_coop.models import AllocationRun, Asset, CreditRate, LedgerEntry, Member, Reading, utcnow
from energy_coop.services import audit
from energy_coop.services.credits import ledger
from energy_coop.services.metering.coverage import Coverage, coverage_from_starts
from energy_coop.services.registers.loading import share_register


@dataclass
class AssetInputs:
    """What one asset's month was computed from (kept for the audit export)."""

    asset: Asset
    days: list[dt.date]
    start_utc: int
    end_utc: int
    starts: np.ndarray  # [UTC epoch s]
    ends: np.ndarray  # [UTC epoch s]
    mwh: np.ndarray  # [mWh]
    rates: np.ndarray  # [micro-currency/kWh] at each start
    schedule: RateSchedule
    energy_by_day: list[int]  # [mWh]
    value_by_day: list[int]  # [mWh x micro-currency/kWh]
    holdings: dict[str, list[tuple[dt.date, int]]]
    coverage: Coverage


@dataclass
class AllocationOutcome:
    """A computed (and perhaps posted) month. ``document`` is the ``allocate --json`` document."""

    period: str
    allocation: PeriodAllocation
    inputs: list[AssetInputs]
    inputs_sha256: str
    status: str = "draft"
    run_id: int | None = None
    messages: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # assets whose coverage is below 100 %
    #: whether the month had ended in every asset's time zone when it was computed (SPEC 13); a draft of an
    #: unfinished month may be looked at but not posted. ``month_end`` says where and when it ends last.
    month_over: bool = True
    month_end: MonthEnd | None = None

    @property
    def note(self) -> str | None:
        """``"month not over: ..."`` for a draft of an unfinished month, else None."""
        if self.month_over or self.month_end is None:
            return None
        return "month not over: " + not_over_reason(self.period, self.month_end)

    @property
    def document(self) -> dict[str, Any]:
        """SPEC 5's ``allocate --json`` document plus ``month_over`` (and, when false, ``note``)."""
        doc = self.allocation.to_document(status=self.status, run_id=self.run_id)
        doc["month_over"] = self.month_over
        if self.note:
            doc["note"] = self.note
        return doc


def instant(now: dt.datetime | None = None, today: dt.date | None = None) -> dt.datetime:
    """The instant a computation is made at, in UTC: ``now`` (an aware datetime), else the start of ``today``
    in UTC (the cautious reading of a caller that knows only the date), else the clock."""
    if now is not None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be an aware datetime (UTC), not a naive one")
        return now.astimezone(dt.UTC)
    if today is not None:
        return dt.datetime.combine(today, dt.time.min, dt.UTC)
    return dt.datetime.now(dt.UTC)


def _epoch(at: dt.datetime) -> int:
    return int(at.timestamp())


def _parse(period: str) -> str:
    try:
        parse_period(period)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None
    return period.strip()


def _zones(session: Session) -> list[tuple[str, str]]:
    return [(code, tz) for code, tz in session.execute(select(Asset.asset_code, Asset.timezone)
                                                       .order_by(Asset.asset_code))]


def _refuse_future(period: str, zones: list[tuple[str, str]], at: int) -> None:
    if at < first_month_start(period, zones):
        raise RefusedError(f"{period} is in the future; its production has not been metered yet")


def month_end(session: Session, period: str) -> MonthEnd:
    """When ``period`` has ended in every asset's time zone: the latest local end, and its asset."""
    return last_month_end(_parse(period), _zones(session))


def month_end_text(end: MonthEnd) -> str:
    """``"2027-01-01 00:00 America/New_York (05:00 UTC)"``: the instant a month ends, locally and in UTC (with
    the UTC date too when it is another day)."""
    zone = ZoneInfo(end.timezone)
    moment = dt.datetime.fromtimestamp(end.end_utc, dt.UTC)
    local = moment.astimezone(zone)
    text = f"{local:%Y-%m-%d %H:%M} {end.timezone}"
    if end.timezone == "UTC":
        return text
    utc = f"{moment:%H:%M} UTC" if moment.date() == local.date() else f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"{text} ({utc})"


def not_over_reason(period: str, end: MonthEnd) -> str:
    """Why ``period`` cannot be posted yet, naming the asset and the instant its month ends there."""
    where = f" for asset {end.asset_code}" if end.asset_code else ""
    return (f"{period} has not ended{where}: it ends at {month_end_text(end)}; it can be posted after that")


def refuse_unfinished(session: Session, period: str, *, now: dt.datetime | None = None,
                      today: dt.date | None = None) -> None:
    """Refuse (:class:`RefusedError`) posting ``period`` before it has ended in every asset's time zone (SPEC 13),
    whatever the gaps or reposting allowed."""
    period = _parse(period)
    zones = _zones(session)
    at = _epoch(instant(now, today))
    _refuse_future(period, zones, at)
    end = last_month_end(period, zones)
    if at < end.end_utc:
        raise RefusedError(not_over_reason(period, end),
                           [RowError(f"asset {end.asset_code}" if end.asset_code else "", "period",
                                     f"the month ends there at {month_end_text(end)}")],
                           subject="month not over")


def _digest(allocation: PeriodAllocation) -> str:
    """SHA-256 of everything a posting would write (to tell an unchanged repost from a real one)."""
    h = hashlib.sha256(allocation.period.encode())
    for a in allocation.assets:
        h.update(f"|{a.asset_code}:{allocation.coverage[a.asset_code]}:{a.wh}:{a.cents}".encode())
        h.update(repr([(p.holder, p.shares_days, p.wh, p.cents) for p in a.holders]).encode())
    return h.hexdigest()


def compute(session: Session, period: str, *, now: dt.datetime | None = None, today: dt.date | None = None,
            progress: Callable[[int], None] | None = None,
            only: Collection[str] | None = None) -> AllocationOutcome:
    """The draft allocation of ``period`` ('YYYY-MM') as of the instant ``now`` (aware, UTC; default the clock;
    ``today`` alone means its 00:00 UTC); changes nothing.

    A month that has begun but not yet ended in every asset's time zone is computed from the readings so far,
    with ``month_over`` false (it cannot be posted yet). ``only``: compute just these asset codes (a reader
    that needs one asset's month, e.g. the battery's split in :mod:`.storage`); never for posting, which needs
    every asset. Refused (:class:`RefusedError`): a period that does not parse, a month that has not begun
    anywhere (in the future), an interval with no credit rate in force (naming the asset and the time).
    """
    period = _parse(period)
    at = _epoch(instant(now, today))
    zones = _zones(session)
    _refuse_future(period, zones, at)
    end = last_month_end(period, zones)
    wanted = select(Asset).order_by(Asset.asset_code)
    if only is not None:
        wanted = wanted.where(Asset.asset_code.in_(sorted(only)))
    assets = session.scalars(wanted).all()
    timelines = holdings_timelines(share_register(session))
    rate_rows = [
        (int(r.valid_from.timestamp()), r.rate_micros, None if r.scope == "*" else r.scope)
        for r in session.scalars(select(CreditRate))
    ]
    results = []
    inputs: list[AssetInputs] = []
    coverage = {}
    incomplete = []
    for asset in assets:
        days, start_utc, end_utc = month_days(period, asset.timezone)
        if asset.commissioned_on is not None and asset.commissioned_on > days[-1]:
            continue  # not built yet in this month
        rows = session.connection().execute(  # Core, not ORM: a month is ~3,000 rows per asset
            select(Reading.start, Reading.end, Reading.mwh).where(
                Reading.meter_id == asset.meter_id, Reading.start >= start_utc, Reading.start < end_utc)
        ).all()
        starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        mwh = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        schedule = rates_for_asset(rate_rows, asset.asset_code)
        try:
            rates = schedule.lookup(starts)
        except NoRateError as exc:
            raise RefusedError(f"cannot value {period}: {exc}") from None
        energy, value = daily_totals(starts, mwh, rates, asset.timezone, days)
        holdings = timelines.get(asset.asset_code, {})
        results.append(allocate_asset(asset.asset_code, asset.total_shares, days, energy, value, holdings))
        window_start = start_utc
        if asset.commissioned_on is not None and asset.commissioned_on > days[0]:
            window_start = local_midnight_utc(asset.commissioned_on, asset.timezone)
        cov = coverage_from_starts(asset.meter.code, starts, ends, window_start, end_utc)
        coverage[asset.asset_code] = cov.fraction
        if not cov.complete:
            incomplete.append(f"{asset.asset_code}: {format_coverage(cov.fraction)} "
                              f"({cov.present} of {cov.expected} intervals)")
        inputs.append(AssetInputs(asset, days, start_utc, end_utc, starts, ends, mwh, rates, schedule, energy,
                                  value, holdings, cov))
        if progress:
            progress(1)
    allocation = allocate_period(period, results, coverage)
    outcome = AllocationOutcome(period, allocation, inputs, "", incomplete=incomplete, month_over=at >= end.end_utc,
                                month_end=end)
    outcome.inputs_sha256 = _digest(allocation)
    return outcome


def current_run(session: Session, period: str) -> AllocationRun | None:
    """The run whose entries stand for ``period`` now (the latest generation), or None."""
    return session.scalar(
        select(AllocationRun).where(AllocationRun.period == period).order_by(AllocationRun.generation.desc()).limit(1)
    )


def already_posted(period: str, previous: AllocationRun) -> ConflictError:
    """The refusal of posting ``period`` again without reposting it (``option="repost"``)."""
    return ConflictError(f"{period} is already posted (run {previous.id}, {previous.posted_at:%Y-%m-%d %H:%M} UTC "
                         f"by {previous.posted_by})", option="repost")


def post(session: Session, period: str, *, actor: str, repost: bool = False, allow_gaps: bool = False,
         now: dt.datetime | None = None, today: dt.date | None = None,
         expected_inputs_sha256: str | None = None,
         progress: Callable[[int], None] | None = None) -> AllocationOutcome:
    """Compute and post ``period`` as of ``now`` (see :func:`compute`): one run and its ledger entries, in the
    caller's transaction.

    Refused (:class:`RefusedError`, nothing written): a month that has not ended in every asset's time zone at
    ``now`` (:func:`refuse_unfinished`; neither ``allow_gaps`` nor ``repost`` changes that); any asset's
    coverage below 100 % unless ``allow_gaps`` (``option="allow_gaps"``); with ``expected_inputs_sha256`` (the
    draft a person looked at), a draft that no longer has those inputs. A period already posted raises
    :class:`ConflictError` (exit status 3, ``option="repost"``) unless ``repost``: then the earlier run's
    entries are reversed and the new ones appended, linked to it. A repost whose result equals the posted one
    changes nothing and says so. Two processes posting one period at once: the (period, generation) key lets
    exactly one commit.
    """
    period = _parse(period)
    refuse_unfinished(session, period, now=now, today=today)
    outcome = compute(session, period, now=now, today=today, progress=progress)
    previous = current_run(session, period)
    if previous is not None and not repost:
        raise already_posted(period, previous)
    if expected_inputs_sha256 is not None and expected_inputs_sha256 != outcome.inputs_sha256:
        raise RefusedError(f"the draft of {period} changed since you looked; check it again",
                           subject="draft changed")
    if outcome.incomplete and not allow_gaps:
        raise RefusedError(
            f"{period} cannot be posted: some meter readings are missing",
            [_gap_error(text) for text in outcome.incomplete], option="allow_gaps")
    if previous is not None and previous.inputs_sha256 == outcome.inputs_sha256:
        outcome.status = "posted"
        outcome.run_id = previous.id
        if previous.stale_since is not None:
            previous.stale_since = None
            previous.stale_reason = None
        outcome.messages.append(f"nothing changed since run {previous.id}; {period} was not reposted")
        return outcome

    document = outcome.allocation.to_document(status="posted", run_id=None)
    members = dict(session.connection().execute(select(Member.member_number, Member.id)).all())
    asset_ids = {i.asset.asset_code: i.asset.id for i in outcome.inputs}
    run = AllocationRun(
        period=period, generation=(previous.generation + 1) if previous else 1, posted_by=actor,
        allow_gaps=allow_gaps, inputs_sha256=outcome.inputs_sha256, total_wh=outcome.allocation.total_wh,
        total_cents=outcome.allocation.total_cents, member_wh=0, member_cents=0, entries=0, document=document,
        replaces_run_id=previous.id if previous else None,
    )
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError(f"{period} was posted by someone else at the same moment; nothing was posted") from None
    entries: list[ledger.NewEntry] = []
    if previous is not None:
        for seq, member_id, number, asset_id, code, wh, cents in session.execute(
            select(LedgerEntry.seq, LedgerEntry.member_id, Member.member_number, LedgerEntry.asset_id,
                   Asset.asset_code, LedgerEntry.wh, LedgerEntry.cents)
            .join(Member, LedgerEntry.member_id == Member.id)
            .outerjoin(Asset, LedgerEntry.asset_id == Asset.id)
            .where(LedgerEntry.run_id == previous.id, LedgerEntry.kind == "allocation")
            .order_by(LedgerEntry.seq)
        ):
            entries.append(ledger.NewEntry("reversal", member_id, number, -wh, -cents, period=period,
                                           asset_id=asset_id, asset_code=code, run_id=run.id, reverses_seq=seq,
                                           memo=f"reverses run {previous.id}"))
        previous.superseded = True
    member_wh = member_cents = count = 0
    for a in outcome.allocation.assets:
        for part in a.holders:
            if part.holder == COOP or (part.wh == 0 and part.cents == 0):
                continue
            entries.append(ledger.NewEntry("allocation", members[part.holder], part.holder, part.wh, part.cents,
                                           period=period, asset_id=asset_ids[a.asset_code],
                                           asset_code=a.asset_code, run_id=run.id))
            member_wh += part.wh
            member_cents += part.cents
            count += 1
    ledger.append(session, entries)
    run.member_wh, run.member_cents, run.entries = member_wh, member_cents, count
    audit.record(session, actor=actor, action="repost" if previous else "post", entity="allocation", key=period,
                 after={"run_id": run.id, "replaces_run_id": run.replaces_run_id, "total_wh": run.total_wh,
                        "total_cents": run.total_cents, "entries": count, "allow_gaps": allow_gaps})
    outcome.status = "posted"
    outcome.run_id = run.id
    if previous is not None:
        outcome.messages.append(f"run {previous.id} reversed ({len(entries) - count} entries) and replaced by "
                                f"run {run.id}")
    return outcome


def _gap_error(text: str) -> RowError:
    code, _, rest = text.partition(": ")
    return RowError(f"asset {code}", "coverage", rest)


def mark_stale(session: Session, meter_id: int, starts: list[int], reason: str) -> list[str]:
    """Mark stale every posted month of the asset metered by ``meter_id`` that contains one of ``starts``."""
    asset = session.scalar(select(Asset).where(Asset.meter_id == meter_id))
    if asset is None or not starts:
        return []
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(asset.timezone)
    periods = sorted({dt.datetime.fromtimestamp(s, zone).strftime("%Y-%m") for s in starts})
    marked = []
    for period in periods:
        run = current_run(session, period)
        if run is not None and run.stale_since is None:
            run.stale_since = utcnow()
            run.stale_reason = reason
            marked.append(period)
    return marked


def stale_periods(session: Session) -> list[AllocationRun]:
    """Current runs whose readings were revised after posting (a repost fixes them)."""
    latest = (select(AllocationRun.period, func.max(AllocationRun.generation).label("g"))
              .group_by(AllocationRun.period).subquery())
    return list(session.scalars(
        select(AllocationRun).join(latest, (AllocationRun.period == latest.c.period)
                                   & (AllocationRun.generation == latest.c.g))
        .where(AllocationRun.stale_since.is_not(None)).order_by(AllocationRun.period)))


def asset_count(session: Session) -> int:
    """How many assets a month's allocation walks (every registered asset): the length of its progress bar."""
    return session.scalar(select(func.count()).select_from(Asset)) or 0
