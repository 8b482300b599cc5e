"""Payouts, bill applications and adjustments: the ledger entries admins make by hand (SPEC 6), through the
service and ``energy-coop ledger record``, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from energy_coop.errors import RefusedError
from energy_coop.models import AuditEntry, LedgerEntry, LedgerHead
from energy_coop.services.credits import ledger, statements
from energy_coop.services.credits.statements import safe_cell
from tests.helpers import small_coop

TODAY = dt.date(2024, 3, 20)


@pytest.fixture
def coop(sessions, tmp_path):
    """The small co-op with member 1001 credited 50.00 (and 12.345 kWh) by an adjustment in February 2024."""
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        ledger.record_manual_entry(s, kind="adjustment", member_number="1001", cents=5000, wh=12_345,
                                   memo="opening credit", period="2024-02", actor="test", today=TODAY)
    return sessions


def ledger_state(sessions):
    with sessions.begin() as s:
        head = s.get(LedgerHead, 1)
        audits = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "ledger_entry"))
        return (s.scalar(select(func.count()).select_from(LedgerEntry)), head.last_hash, head.total_cents, audits)


def test_a_payout_is_appended_audited_and_on_the_statement(coop):
    with coop.begin() as s:
        entry = ledger.record_manual_entry(s, kind="payout", member_number="1001", cents=-1999,
                                           memo="  cheque 17 ", actor="admin@coop.test", today=TODAY)
    assert (entry.kind, entry.cents, entry.wh, entry.memo, entry.period) == ("payout", -1999, 0, "cheque 17",
                                                                            "2024-03")
    assert (entry.balance_wh, entry.balance_cents) == (12_345, 3001)
    with coop.begin() as s:
        st_mar = statements.statement(s, "1001", "2024-03")
        assert (st_mar.opening_cents, st_mar.closing_cents) == (5000, 3001)
        assert [(o.kind, o.cents, o.memo) for o in st_mar.other] == [("payout", -1999, "cheque 17")]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "ledger_entry")
                          .order_by(AuditEntry.id.desc())).first()
        assert audit.actor == "admin@coop.test" and audit.entity_key == str(entry.seq)
        assert audit.after == {"kind": "payout", "member_number": "1001", "period": "2024-03", "wh": 0,
                               "cents": -1999, "memo": "cheque 17"}
        report = ledger.verify(s)
    assert report.ok and report.entries == 2 and report.total_cents == 3001


@pytest.mark.parametrize("kwargs, field, words", [
    (dict(kind="payout", cents=1000), "cents", "write it as a negative amount"),
    (dict(kind="bill_application", cents=-5001), "cents", "balance is 50.00; -50.01 would leave it at -0.01"),
    (dict(kind="payout", cents=-100, wh=-5), "wh", "leave the Wh at 0"),
    (dict(kind="adjustment", cents=0), "cents", "changes nothing"),
    (dict(kind="adjustment", cents=10**11 + 1), "cents", "beyond the largest manual entry"),
    (dict(kind="adjustment", cents=True), "cents", "whole number of cents"),
    (dict(kind="adjustment", cents=1.5), "cents", "whole number of cents"),
    (dict(kind="refund", cents=100), "kind", "choose one of: adjustment, payout, bill_application"),
    (dict(kind="payout", cents=-100, member_number="9999"), "member_number", "there is no member '9999'"),
    (dict(kind="payout", cents=-100, memo="=HYPERLINK(\"http://x\")"), "memo", "run as a formula"),
    (dict(kind="payout", cents=-100, memo="-10 for the cheque"), "memo", "run as a formula"),
    (dict(kind="payout", cents=-100, memo="cheque\n17"), "memo", "on one line"),
    (dict(kind="payout", cents=-100, memo="   "), "memo", "is required"),
    (dict(kind="payout", cents=-100, memo="x" * 201), "memo", "keep it to 200"),
    (dict(kind="payout", cents=-100, period="2024-04"), "period", "after this month (2024-03)"),
    (dict(kind="payout", cents=-100, period="2024-13"), "period", "2024-13"),
])
def test_refusals_name_the_field_and_write_nothing(coop, kwargs, field, words):
    before = ledger_state(coop)
    args = dict(member_number="1001", memo="cheque 17", actor="test", today=TODAY) | kwargs
    with pytest.raises(RefusedError) as caught, coop.begin() as s:
        ledger.record_manual_entry(s, **args)
    assert caught.value.message == "no ledger entry was made"
    assert [e.field for e in caught.value.errors] == [field]
    assert words in caught.value.errors[0].reason
    assert ledger_state(coop) == before


def test_every_problem_is_named_at_once(coop):
    with pytest.raises(RefusedError) as caught, coop.begin() as s:
        ledger.record_manual_entry(s, kind="payout", member_number="nobody", cents=5, memo="@SUM(A1)",
                                   period="1999-99", actor="test", today=TODAY)
    assert sorted(e.field for e in caught.value.errors) == ["cents", "member_number", "memo", "period"]


def test_of_two_payouts_at_once_that_together_overdraw_only_one_is_made(coop):
    """Each would fit the 50.00 balance alone; the head-row lock makes the second see the first."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def pay(n: int) -> None:
        barrier.wait(timeout=30)
        try:
            with coop.begin() as s:
                ledger.record_manual_entry(s, kind="payout", member_number="1001", cents=-3000,
                                           memo=f"cheque {n}", actor="test", today=TODAY)
            outcomes.append("paid")
        except RefusedError as exc:
            outcomes.append(exc.errors[0].reason)

    threads = [threading.Thread(target=pay, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["member 1001's balance is 20.00; -30.00 would leave it at -10.00", "paid"]
    with coop.begin() as s:
        assert ledger.balance(s, s.scalar(select(LedgerEntry.member_id).limit(1))) == (12_345, 2000)


@given(st.text(max_size=40))
def test_an_accepted_memo_is_never_a_spreadsheet_formula(memo):
    """The ledger export writes memos unescaped (their hashes cover them): what the check lets through must be
    exactly what the CSV neutraliser would leave alone."""
    text, problem = ledger.check_memo(memo)
    if problem is None:
        assert safe_cell(text) == text and text.isprintable() and text == text.strip() and text


# ------------------------------------------------------------------------------------------------ command line


def test_the_command_records_a_payout_and_prints_the_new_balance(coop, cli):
    result = cli("ledger", "record", "payout", "--member", "1001", "--amount", "-12.50", "--memo", "cheque 18",
                 "--period", "2024-03", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc == {"seq": 2, "kind": "payout", "member_number": "1001", "period": "2024-03", "booked": "2024-03",
                   "wh": 0, "cents": -1250, "memo": "cheque 18", "balance_wh": 12_345, "balance_cents": 3750}
    result = cli("ledger", "record", "adjustment", "--member", "1002", "--amount", "3.21", "--kwh", "-0.5",
                 "--memo", "meter correction", "--period", "2024-03")
    assert result.exit_code == 0 and "balance now $3.21" in result.stdout
    with coop.begin() as s:
        assert s.scalar(select(LedgerEntry.wh).where(LedgerEntry.seq == 3)) == -500


@pytest.mark.parametrize("args, words", [
    (["--amount", "-1e999999"], "--amount: amount '-1e999999' is far too large"),
    (["--amount", "-1.001"], "--amount: amount '-1.001' has more than 2 decimal places"),
    (["--amount", "ten"], "--amount: amount 'ten' is not a number"),
    (["--amount", "-60.00"], "--amount: member 1001's balance is 50.00; -60.00 would leave it at -10.00"),
    (["--amount", "-1", "--kwh", "2"], "--kwh: a payout moves money, not energy"),
    (["--amount", "-1", "--memo", "+1 for you"], "--memo: starts with '+'"),
])
def test_the_command_names_the_option_and_writes_nothing(coop, cli, args, words):
    before = ledger_state(coop)
    base = {"--member": "1001", "--amount": "-1.00", "--memo": "cheque 19", "--period": "2024-03"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    result = cli("ledger", "record", "payout", *[x for kv in base.items() for x in kv])
    assert result.exit_code == 2, result.output
    assert "error: no ledger entry was made" in result.stderr and words in result.stderr
    assert ledger_state(coop) == before
