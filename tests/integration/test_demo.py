"""The demo co-op of SPEC section 2, seeded through the same services an administrator uses."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from energy_coop.models import (
    MEMBER_TYPES,
    AllocationRun,
    Asset,
    LedgerEntry,
    Member,
    Reading,
    ShareTransaction,
    User,
)
from decimal import Decimal

from energy_coop.models import AuditEntry, ImportBatch, ReadingSubmission
from energy_coop.demo.logger import LOGGER_NAME
from energy_coop.services.credits import ledger
from energy_coop.services.settings import get_settings
from energy_coop.services.accounts.users import check_password
from energy_coop.services.credits import issued


def test_demo_seeds_a_complete_co_op_and_a_second_run_changes_nothing(cli, sessions):
    result = cli("demo", "--no-serve")
    assert result.exit_code == 0, result.stderr
    assert "admin@demo.energy-coop.org" in result.stdout and "password" in result.stdout
    today = dt.date.today()
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Member)) >= 200
        assert {t for (t,) in s.execute(select(Member.member_type).distinct())} == set(MEMBER_TYPES)
        kinds = sorted(k for (k,) in s.execute(select(Asset.kind)))
        assert kinds == ["solar", "solar", "solar", "storage"]
        periods = sorted(p for (p,) in s.execute(select(AllocationRun.period)))
        assert len(periods) == 13 and periods[-1] == (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        assert s.scalar(select(func.count()).select_from(Reading)) >= 13 * 28 * 96 * 4
        assert s.scalar(select(func.count()).select_from(Reading).where(Reading.mwh < 0)) > 0  # battery charging
        mid_month = s.scalars(select(ShareTransaction).where(ShareTransaction.kind == "transfer")).all()
        assert mid_month and all(t.date.day == 15 for t in mid_month)
        assert ledger.verify(s).ok
        manual = s.execute(select(LedgerEntry.kind, Member.member_number, LedgerEntry.cents)
                           .join(Member).where(LedgerEntry.kind.in_(ledger.MANUAL_KINDS))
                           .order_by(LedgerEntry.seq)).all()
        assert [(k, n) for k, n, _ in manual] == [("adjustment", "1001"), ("payout", "1002"), ("payout", "1003"),
                                                  ("bill_application", "1004")]
        assert manual[0][2] == 250 and all(c < 0 and c % 100 == 0 for _, _, c in manual[1:])
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
        # every posted month is issued, the manual entries on the last month's statements
        assert [m["period"] for m in issued.issued_months(s)] == periods[::-1]
        assert {b for (b,) in s.execute(select(LedgerEntry.booked).distinct())} == set(periods)
        last = issued.get_statement(s, "1002", periods[-1]).document
        assert [o["kind"] for o in last["other_entries"]] == ["payout"]
        admin = s.scalar(select(User).where(User.email == "admin@demo.energy-coop.org"))
        assert admin.role == "admin" and check_password(admin, "demo-admin-password")
        coop = get_settings(s)
        assert (coop.coop_name, coop.currency, coop.locale, coop.timezone) == (
            "Glenwood Community Solar Co-op", "USD", "en_US", "America/New_York")
        assert coop.emission_factor_kg_per_kwh == Decimal("0.390") and "US EIA, 2022" in coop.emission_factor_source
        settings_audited = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "setting"))
        # the depot's first month came as its utility's export, read through the detected profile (SPEC 20)
        export = s.scalars(select(ImportBatch).where(ImportBatch.format == "profile")).one()
        assert export.file_name.startswith("depot_utility_export_") and export.meters == ["PM-DEPOT"]
        assert "read as profile 'utility-blocks' (its layout was recognised)" in export.notes
        # the school roof's data logger re-sent yesterday's quarter hours: one batch, every reading unchanged
        logged = s.scalars(select(ImportBatch).where(ImportBatch.format == "logger")).one()
        assert (logged.file_name, logged.meters, logged.accepted, logged.revised) == (
            f"API: logger {LOGGER_NAME}", ["PM-SCHOOL"], 0, 0)
        sent = s.scalars(select(ReadingSubmission)).one()
        assert sent.key.startswith("demo-PM-SCHOOL-") and sent.answer["readings"] == logged.unchanged >= 92
    again = cli("demo", "--no-serve")
    assert again.exit_code == 0, again.stderr
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == entries
        assert s.scalar(select(func.count()).select_from(AllocationRun)) == 13
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.format == "logger")) == 1
        assert s.scalar(select(func.count()).select_from(ReadingSubmission)) == 1  # replayed, stored once
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity == "setting")) == settings_audited
