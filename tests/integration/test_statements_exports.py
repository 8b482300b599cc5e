"""Statements equal the ledger; the audit bundle alone re-computes the posted month (SPEC section 6)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import func, select

from energy_coop.models import LedgerEntry, Member
from energy_coop.documents.statements import statement_pdf
from energy_coop.services.credits import ledger, queries as credits_queries, statements
from tests.helpers import add_readings, hourly, small_coop, utc

FEB = (utc(2024, 2, 1), utc(2024, 3, 1))
MAR = (utc(2024, 3, 1), utc(2024, 4, 1))


@pytest.fixture
def posted(sessions, tmp_path, cli):
    with sessions.begin() as s:
        small_coop(s, tmp_path / "registers")
        # an uneven production profile so that remainders and ties really occur
        add_readings(s, "PM-SUN1", [(t, t + 3600, 1_000_000 + (t // 3600) % 7 * 333_333) for t in range(*FEB, 3600)])
        add_readings(s, "PM-BAT1", [(t, t + 3600, -2_000_001 if (t // 3600) % 24 < 6 else 1_499_999)
                                    for t in range(*FEB, 3600)], name="bat")
        add_readings(s, "PM-SUN1", hourly(*MAR, 1_234_567), name="march")
        add_readings(s, "PM-BAT1", hourly(*MAR, 10), name="march bat")
    for period in ("2024-02", "2024-03"):
        assert cli("allocate", period, "--post").exit_code == 0
    with sessions.begin() as s:
        ledger.record_manual_entry(s, kind="payout", member_number="1001", cents=-1000, memo="cheque 17",
                                   actor="test", period="2024-03")
    return sessions


def test_statement_totals_equal_the_ledger(posted):
    with posted.begin() as s:
        for number in ("1001", "1002", "1003"):
            member_id = s.scalar(select(Member.id).where(Member.member_number == number))
            feb = statements.statement(s, number, "2024-02")
            mar = statements.statement(s, number, "2024-03")
            assert (feb.opening_wh, feb.opening_cents) == (0, 0)
            assert (mar.opening_wh, mar.opening_cents) == (feb.closing_wh, feb.closing_cents)
            assert (mar.closing_wh, mar.closing_cents) == ledger.balance(s, member_id)
            feb_sum = s.execute(select(func.sum(LedgerEntry.wh), func.sum(LedgerEntry.cents))
                                .where(LedgerEntry.member_id == member_id, LedgerEntry.period == "2024-02")).one()
            assert (feb.credits_wh, feb.credits_cents) == tuple(feb_sum)
        mar = statements.statement(s, "1001", "2024-03")
        assert [(o.kind, o.cents, o.memo) for o in mar.other] == [("payout", -1000, "cheque 17")]


def test_statement_csv_and_pdf(posted):
    with posted.begin() as s:
        st = statements.statement(s, "1001", "2024-03")
    rows = list(csv.DictReader(statements.statement_csv(st).splitlines()))
    assert rows[0]["line"] == "opening_balance" and int(rows[-1]["cents"]) == st.closing_cents
    assert sum(int(r["cents"]) for r in rows[1:-1]) == st.closing_cents - st.opening_cents
    pdf = statement_pdf(st)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000


def test_csv_cells_cannot_become_formulas():
    assert statements.safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert statements.safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert statements.safe_cell("-12.5") == "-12.5"
    assert statements.safe_cell("+1 555") == "'+1 555"


def test_member_credits_by_month_and_asset(posted):
    with posted.begin() as s:
        credits = credits_queries.member_credits(s, "1003")
        st = statements.statement(s, "1003", "2024-03")
    assert [m["period"] for m in credits["months"]] == ["2024-02", "2024-03"]
    assert credits["balance_cents"] == st.closing_cents
    assert {a["asset_code"] for a in credits["months"][0]["assets"]} == {"SUN1", "BAT1"}
    assert sum(m["cents"] for m in credits["months"]) == credits["balance_cents"]


def _recompute_from_bundle(folder: Path) -> dict:
    """SPEC 5 from the bundle's CSV files alone: no application code, Fractions and the rounding rules."""
    assets = {r["asset_code"]: r for r in csv.DictReader((folder / "assets.csv").open())}
    held: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)  # (asset, day) -> holder -> shares
    for r in csv.DictReader((folder / "holdings.csv").open()):
        day = dt.date.fromisoformat(r["first_day"])
        while day <= dt.date.fromisoformat(r["last_day"]):
            held[(r["asset_code"], day.isoformat())][r["holder"]] = int(r["shares"])
            day += dt.timedelta(days=1)
    exact_wh: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    exact_cents: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    total_kwh: dict[str, Fraction] = defaultdict(Fraction)
    total_value: dict[str, Fraction] = defaultdict(Fraction)
    for r in csv.DictReader((folder / "readings.csv").open()):
        code, kwh, rate = r["asset_code"], Fraction(Decimal(r["kwh"])), Fraction(Decimal(r["rate_per_kwh"]))
        total = int(assets[code]["total_shares"])
        total_kwh[code] += kwh
        total_value[code] += kwh * rate
        for holder, shares in held[(code, r["local_day"])].items():
            exact_wh[code][holder] += kwh * 1000 * shares / total
            exact_cents[code][holder] += kwh * rate * 100 * shares / total

    def split(total: int, exact: dict[str, Fraction]) -> dict[str, int]:
        parts = {h: x.numerator // x.denominator for h, x in exact.items()}
        order = sorted(exact, key=lambda h: (-(exact[h] - parts[h]), h == "COOP", h))
        for h in order[: total - sum(parts.values())]:
            parts[h] += 1
        return parts

    result = {}
    for code in assets:
        wh, cents = round(total_kwh[code] * 1000), round(total_value[code] * 100)  # round() is half-to-even
        result[code] = (wh, cents, split(wh, exact_wh[code]), split(cents, exact_cents[code]))
    return result


def test_the_audit_bundle_alone_recomputes_the_posted_month(posted, tmp_path, cli):
    out = tmp_path / "audit"
    result = cli("export", "audit", "--period", "2024-02", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["inputs_match_posted_run"] is True
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    posted_doc = json.loads((out / "allocation.json").read_text())
    recomputed = _recompute_from_bundle(out)
    for asset in posted_doc["assets"]:
        wh, cents, wh_parts, cents_parts = recomputed[asset["asset_code"]]
        assert (asset["wh"], asset["cents"]) == (wh, cents)
        assert {h["holder"]: (h["wh"], h["cents"]) for h in asset["holders"]} == {
            h: (wh_parts[h], cents_parts[h]) for h in wh_parts}
    ledger_rows = list(csv.DictReader((out / "ledger.csv").open()))
    per_member = defaultdict(int)
    for r in ledger_rows:
        per_member[r["member_number"]] += int(r["cents"])
    assert dict(per_member) == {m["member_number"]: m["cents"] for m in posted_doc["members"]}


def test_ledger_export_lets_an_auditor_verify_the_chain_offline(posted, tmp_path, cli):
    out = tmp_path / "ledger.csv"
    assert cli("export", "ledger", "--out", str(out)).exit_code == 0
    prev = "0" * 64
    rows = list(csv.DictReader(out.open()))
    assert len(rows) > 5
    for r in rows:
        content = "|".join(r[c].replace("\\", "\\\\").replace("|", "\\|") if c == "memo" else r[c] for c in (
            "seq", "kind", "member_number", "period", "asset_code", "wh", "cents", "run_id", "reverses_seq", "memo",
            "created_at"))
        if r["booked"] != (r["period"] or r["created_at"][:7]):  # booked elsewhere than its own month (SPEC 13)
            content += "|booked=" + r["booked"]
        assert r["prev_hash"] == prev
        assert hashlib.sha256((prev + "\n" + content).encode()).hexdigest() == r["hash"]
        prev = r["hash"]


def test_export_statements_writes_one_file_per_member(posted, tmp_path, cli):
    assert cli("statements", "issue", "2024-02").exit_code == 0  # only issued months have statements
    for fmt in ("csv", "pdf"):
        result = cli("export", "statements", "--period", "2024-02", "--format", fmt, "--out", str(tmp_path / fmt))
        assert result.exit_code == 0, result.stderr
        assert sorted(p.name for p in (tmp_path / fmt).iterdir()) == [
            f"statement_2024-02_{n}.{fmt}" for n in ("1001", "1002", "1003")]


def test_audit_of_an_unposted_month_is_refused(posted, tmp_path, cli):
    result = cli("export", "audit", "--period", "2024-04", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2 and "2024-04 has not been posted" in result.stderr
