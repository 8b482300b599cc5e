"""The member's screens (SPEC 1, 10): their dashboard, their statements list and one statement.

One read function per screen; each takes a Session and plain values and returns dataclasses and dicts of
integers (energy [Wh], money [cents]), dates and codes, never formatted text: the pages format (see
:mod:`energy_coop.formatting`). Nothing here writes. An unknown member number raises :class:`NotFoundError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from energy_coop.errors import NotFoundError, RefusedError
from energy_coop.models import Member, Premises
from energy_coop.period import Period
from energy_coop.services import memo
from energy_coop.services.credits import issued, queries as credits_queries, statements, storage as storage_service
from energy_coop.services.credits.storage import StorageShare
from energy_coop.services.efficiency.measures import list_measures
from energy_coop.services.efficiency.premises import list_audits
from energy_coop.services.forecasting import forecasts
from energy_coop.services.metering.queries import ProductionDay, asset_daily_production
from energy_coop.services.registers.loading import share_register
from energy_coop.services.registers.queries import get_member, held_on, member_info, register_assets


@dataclass
class HeldAsset:
    asset_code: str
    name: str
    kind: str
    shares: int
    total_shares: int
    days: list[ProductionDay] = field(default_factory=list)

    @property
    def has_forecast(self) -> bool:
        return any(d.forecast_wh is not None for d in self.days)


@dataclass
class MemberDashboard:
    """What a member's own page shows: balance, credits by month, holdings and their assets' production."""

    member: dict[str, Any]
    balance_wh: int  # [Wh] every ledger entry of the member
    balance_cents: int  # [cents]
    months: list[dict[str, Any]]  # {"period", "wh", "cents", "assets"}: the last 13 months with credits, oldest first
    holdings: list[HeldAsset]
    periods: list[str]  # issued months with a statement for the member, newest first
    efficiency: dict[str, Any] | None
    outlook: dict[str, Any] | None = None  # forecasts.member_outlook: next month's expected credits [Wh, cents]
    performance: list[dict[str, Any]] = field(default_factory=list)  # last month, held solar assets [Wh]
    #: the member's share of each battery, per production month (the last STORAGE_MONTHS with its credits),
    #: oldest first: charged and discharged [Wh] instead of a negative net, and the value of shifting [cents]
    storage: list[StorageShare] = field(default_factory=list)
    #: the newest month's statement (opening balance, credits by asset, every other entry, closing balance), so
    #: the page reconciles: opening + entries = closing = ``balance_cents``; None before any entry
    statement: statements.Statement | None = None
    #: the statement month's battery shares by asset code (the statement's credit lines for those assets)
    statement_storage: dict[str, statements.StorageLine] = field(default_factory=dict)
    storage_codes: list[str] = field(default_factory=list)  # the member's storage assets (batteries)

    @property
    def latest_month(self) -> dict[str, Any] | None:
        """The newest month with credits (``period``, ``wh``, ``cents``, ``produced_wh``), None before any."""
        return self.months[-1] if self.months else None

    @property
    def storage_assets(self) -> list[tuple[str, str, list[StorageShare]]]:
        """``storage`` grouped by asset: ``(asset_code, asset_name, shares oldest first)``."""
        grouped: dict[str, list[StorageShare]] = {}
        for share in self.storage:
            grouped.setdefault(share.asset_code, []).append(share)
        return [(code, rows[-1].asset_name, rows) for code, rows in sorted(grouped.items())]

    @property
    def reconciles(self) -> bool:
        """Whether the statement shown closes at the balance shown (energy and money)."""
        st = self.statement
        return st is not None and (st.closing_cents, st.closing_wh) == (self.balance_cents, self.balance_wh)


#: how many of the newest months with battery credits the dashboard charts
STORAGE_MONTHS = 6


def _produced(months: list[dict[str, Any]], storage_codes: set[str]) -> list[dict[str, Any]]:
    """Credits by month with ``produced_wh`` [Wh]: the energy of the month's generating assets only (a
    battery's net energy is not production; the dashboard shows it as charged and discharged)."""
    return [m | {"produced_wh": sum(a["wh"] for a in m["assets"] if a["asset_code"] not in storage_codes),
                 "storage_codes": [a["asset_code"] for a in m["assets"] if a["asset_code"] in storage_codes]}
            for m in months]


def performance_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``forecasts.performance`` rows for a page: its kWh texts (the CLI's JSON, exact to the Wh) as integer
    ``metered_wh`` and ``expected_wh`` [Wh]."""
    return [{k: v for k, v in row.items() if k not in ("metered_kwh", "expected_kwh")}
            | {"metered_wh": int(Decimal(row["metered_kwh"]) * 1000),
               "expected_wh": int(Decimal(row["expected_kwh"]) * 1000)} for row in rows]


def member_dashboard(session: Session, member_number: str, *, today: dt.date, days: int = 14,
                     threshold: float = 0.8) -> MemberDashboard:
    """Everything on a member's dashboard; :class:`NotFoundError` for an unknown member number.

    Besides credits and holdings: next month's expected credits (typical year, with a low/high band) and last
    month's performance ratio of each held solar array, flagged below ``threshold``.

    Each thing is read once (the member, their ledger sums, their share transactions and the assets these
    name); what is the same for every member (an asset's daily production, its performance ratio, its typical
    month) is remembered per process until the data changes (:mod:`energy_coop.services.memo`).
    """
    # the member, whether they have a building in the efficiency programme, and the data version, in one query
    # and so one snapshot: remembered figures read later are then never staler than their key
    found = session.execute(
        select(Member, exists().where(Premises.member_id == Member.id), *memo.version_columns())
        .where(Member.member_number == member_number)).first()
    if found is None:
        raise NotFoundError(f"no member with number {member_number!r}")
    member, has_premises, newest_id, newest_at = found
    version = memo.version_of(session, newest_id, newest_at)
    sums = credits_queries.ledger_sums(session, member.id)
    credits = credits_queries.credits_from_sums(member_number, sums)
    register = share_register(session, member_number=member_number)
    assets = register_assets(session, register, version)
    holdings = []
    for asset, shares in held_on(register, assets, member_number, today):
        held = HeldAsset(asset.asset_code, asset.name, asset.kind, shares, asset.total_shares)
        held.days = asset_daily_production(session, asset, today - dt.timedelta(days=days - 1), today,
                                           version=version)
        holdings.append(held)
    try:
        outlook = forecasts.outlook_from_register(session, member_number, register, assets, today=today,
                                                  version=version)
    except RefusedError:  # e.g. an asset whose parameters the forecast model refuses
        outlook = None
    last_month = str(Period.of(today).previous())
    storage_codes = {a.asset_code for a in assets if a.kind == "storage"}
    months = _produced(credits["months"][-13:], storage_codes)
    storage_periods = [m["period"] for m in months if m["storage_codes"]][-STORAGE_MONTHS:]
    # the month the member's newest entries are booked in: its statement (issued or not) ends at the balance
    newest_booked = credits_queries.latest_booked(session, member.id)
    statement = None
    if newest_booked:
        try:
            statement = statements.statement(session, member_number, newest_booked)
        except (RefusedError, NotFoundError):  # a month without a statement: the page says so
            statement = None
    # the statement already holds its batteries' charged/discharged split (statements.statement reads it)
    statement_storage = {b.asset_code: b for b in statement.storage} if statement is not None else {}
    return MemberDashboard(
        member=member_info(member), balance_wh=credits["balance_wh"], balance_cents=credits["balance_cents"],
        months=months, holdings=holdings,
        periods=issued.periods_for_member(session, member_number),
        storage=storage_service.storage_history(session, member_number, storage_periods, version=version),
        statement=statement, statement_storage=statement_storage, storage_codes=sorted(storage_codes),
        efficiency=_efficiency(session, member.id) if has_premises else {"audits": [], "measures": []},
        outlook=outlook if outlook and outlook["assets"] else None,
        performance=performance_rows([
            row for h in holdings if h.kind == "solar"
            for row in forecasts.performance(session, last_month, asset_code=h.asset_code, threshold=threshold,
                                             version=version)]),
    )


def _efficiency(session: Session, member_id: int) -> dict[str, Any]:
    audits = [{"date": a.audit_date, "auditor": a.auditor_name, "level": a.ashrae_level, "findings": a.findings}
              for a in list_audits(session, member_id=member_id)]
    measures = [{"category": m.category, "description": m.description, "status": m.status,
                 "estimated_kwh_per_year": m.estimated_kwh_per_year, "cost_cents": m.cost_cents}
                for m in list_measures(session, member_id=member_id)]
    return {"audits": audits, "measures": measures}


def member_statements(session: Session, member_number: str) -> dict[str, Any]:
    """The statements list: the member's details and the issued months with a statement for them, newest first
    (only issued months have statements, SPEC 13)."""
    member = get_member(session, member_number)
    return {"member": member_info(member), "periods": issued.periods_for_member(session, member_number)}


@dataclass(frozen=True)
class IssuedStatementScreen:
    """An issued statement to show on a page: as it was issued (``statement``, from the stored document), or
    (``statement`` None) why there is none."""

    statement: statements.Statement | None
    reason: str = ""
    pdf_sha256: str = ""


def member_issued_statement(session: Session, member_number: str, period: Period) -> IssuedStatementScreen:
    """One issued month's statement of the member as it was issued (the figures its stored files were rendered
    from), or the reason there is none. An unknown member raises :class:`NotFoundError`."""
    get_member(session, member_number)
    try:
        row = issued.get_statement(session, member_number, str(period))
    except NotFoundError as exc:
        return IssuedStatementScreen(None, exc.message)
    return IssuedStatementScreen(statements.Statement.from_dict(row.document), pdf_sha256=row.pdf_sha256)


#: A statement's formats: what each download is, as stored when its month was issued.
STATEMENT_FORMATS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


@dataclass(frozen=True)
class StatementFile:
    """A statement download: the stored bytes, or (``data`` None) why there is no statement for that month."""

    data: bytes | None
    reason: str | None = None


def member_statement_file(session: Session, member_number: str, period: Period, fmt: str = "pdf") -> StatementFile:
    """One issued month's statement of the member: the bytes of its ``fmt`` ('pdf' or 'csv') file as stored
    when the month was issued, or the reason there is none (the month is not issued, or they had no entries
    then). An unknown member raises :class:`NotFoundError`."""
    get_member(session, member_number)
    try:
        row = issued.get_statement(session, member_number, str(period))
    except NotFoundError as exc:
        return StatementFile(None, exc.message)
    return StatementFile(row.pdf if fmt == "pdf" else row.csv)
