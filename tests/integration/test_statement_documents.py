"""The statement a member reads (issue 15): the PDF as issued and stored, and the same figures formatted for
three locales. The PDF's text is read back with pypdf."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pypdf
import pytest
from sqlalchemy import select

from energy_coop.documents.statements import issue_month, statement_document
from energy_coop.formatting import Formatter
from energy_coop.models import IssuedStatement, Member
from energy_coop.services.credits import ledger
from energy_coop.services.credits.statements import (
    AssetCredit,
    EarlierCredit,
    OtherEntry,
    Statement,
    StorageLine,
    YearToDate,
)
from energy_coop.services.settings import CoopSettings, set_settings
from tests.battery import seed_battery_coop

ISSUED = dt.datetime(2024, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
MEMO = ("Applied to the February invoice of the community kitchen, as agreed at the assembly of 3 March; "
        "credit union cheque 17, reference CU-2024-000417-B")


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())


@pytest.fixture
def issued_coop(sessions, tmp_path):
    """The battery co-op with February 2024 posted, a bill application for 1001 and the co-op's settings."""
    seed_battery_coop(sessions, tmp_path / "registers")
    with sessions.begin() as s:
        set_settings(s, {"coop_name": "Sunny Hill Energy Co-op", "address": "12 Main Street\nSpringfield",
                         "contact_email": "office@sunnyhill.example", "currency": "EUR", "locale": "de_DE",
                         "emission_factor_source": "national grid average 2023",
                         "emission_factor_kg_per_kwh": "0.380"}, actor="test")
        ledger.record_manual_entry(s, kind="bill_application", member_number="1001", cents=-150, memo=MEMO,
                                   actor="test", period="2024-02", today=dt.date(2024, 3, 1))
    with sessions.begin() as s:
        issue_month(s, "2024-02", actor="test", now=ISSUED)
    return sessions


def stored_pdf(sessions, number: str) -> bytes:
    with sessions.begin() as s:
        return s.scalar(select(IssuedStatement.pdf).join(Member, IssuedStatement.member_id == Member.id)
                        .where(Member.member_number == number))


def test_the_issued_pdf_names_the_coop_and_has_the_currency_every_entry_and_the_whole_memo(issued_coop):
    text = pdf_text(stored_pdf(issued_coop, "1001"))
    for expected in ("Sunny Hill Energy Co-op", "12 Main Street", "office@sunnyhill.example",
                     "Statement no. 2024-02-1001", "Issued 02.03.2024", "Member 1001 · Ada Lovelace",
                     "Credit statement for Februar 2024", "Opening balance 0,000 kWh 0,00 €",
                     "Credits from School roof (SUN1)", "Depot battery (BAT1)", MEMO, "-1,50 €",
                     "The year so far (2024)", "CO₂ avoided", "source: national grid average 2023", "Page 1 of 1"):
        assert expected in text, expected
    # a battery in one plain sentence: stored (charged) and gave back (discharged), and what moving it earned
    assert "Your share of the battery stored 36,250 kWh when energy was cheaper and gave back 32,625 kWh" in text
    assert "moving it earned you 7,61 €" in text


def test_the_statement_reconciles_and_the_pdf_is_the_stored_document(issued_coop):
    with issued_coop.begin() as s:
        row = s.scalar(select(IssuedStatement).join(Member, IssuedStatement.member_id == Member.id)
                       .where(Member.member_number == "1001"))
        st = Statement.from_dict(row.document)
    other = sum(o.cents for o in st.other)
    assert st.closing_cents == st.opening_cents + st.credits_cents + st.earlier_cents + other
    assert [o.memo for o in st.other] == [MEMO]
    assert st.storage == [StorageLine("BAT1", 36250, 32625)]
    assert st.year is not None and st.year.cents == st.credits_cents and st.year.generated_wh == next(
        c.wh for c in st.credits if c.asset_code == "SUN1")


SAMPLE = Statement(
    "1001", "Ada Núñez", "2026-11", 0, 3139,
    credits=[AssetCredit("SOLAR-1", "School roof", 56852, 568, "solar"),
             AssetCredit("BAT-HUB", "Community hub battery", -3000, 630, "storage")],
    earlier=[EarlierCredit("2025-10", "SOLAR-1", "School roof", 12000, 120, False),
             EarlierCredit("2026-03", "SOLAR-1", "School roof", -42, -1, True)],
    other=[OtherEntry(5, "payout", "2026-11-20", "Paid to the credit union account ending 0417", 0, -123456)],
    closing_wh=65810, closing_cents=-119000, number="2026-11-1001", issued_at="2026-12-01T14:00:00+00:00",
    storage=[StorageLine("BAT-HUB", 30000, 27000)], year=YearToDate(2026, 1234567, 98765, 1300000))
SETTINGS = CoopSettings(coop_name="Glenwood Co-op", emission_factor_kg_per_kwh=Decimal("0.390"),
                        emission_factor_source="US EIA 2022")


@pytest.mark.parametrize("locale, currency, expected", [
    ("en_US", "USD", ["Issued Dec 1, 2026", "Credit statement for November 2026", "Opening balance 0.000 kWh $31.39",
                      "Credits from School roof (SOLAR-1) 56.852 kWh $5.68", "Credits for October 2025",
                      "Correction of March 2026", "-0.042 kWh -$0.01", "Paid out to you, Nov 20, 2026",
                      "-$1,234.56", "Closing balance 65.810 kWh -$1,190.00", "1,234.567 kWh $987.65",
                      "CO₂ avoided 507.0 kg"]),
    ("de_DE", "EUR", ["Issued 01.12.2026", "Credit statement for November 2026", "Opening balance 0,000 kWh 31,39 €",
                      "Credits from School roof (SOLAR-1) 56,852 kWh 5,68 €", "Credits for Oktober 2025",
                      "Correction of März 2026", "-0,042 kWh -0,01 €", "Paid out to you, 20.11.2026",
                      "-1.234,56 €", "Closing balance 65,810 kWh -1.190,00 €", "1.234,567 kWh 987,65 €",
                      "CO₂ avoided 507,0 kg"]),
    ("es_ES", "EUR", ["Issued 1 dic 2026", "Credit statement for noviembre de 2026",
                      "Opening balance 0,000 kWh 31,39 €", "Credits from School roof (SOLAR-1) 56,852 kWh 5,68 €",
                      "Credits for octubre de 2025", "Correction of marzo de 2026", "-0,042 kWh -0,01 €",
                      "Paid out to you, 20 nov 2026", "-1.234,56 €", "Closing balance 65,810 kWh -1.190,00 €",
                      "1.234,567 kWh 987,65 €", "CO₂ avoided 507,0 kg"]),
])
def test_the_same_statement_in_three_locales(locale, currency, expected):
    fmt = Formatter(locale, currency, "America/New_York")
    doc = statement_document(SAMPLE, SETTINGS, fmt)
    lines = [" ".join(part for part in (r.text, r.energy, r.amount) if part)
             for section in doc.sections for r in section.rows]
    page = " | ".join([doc.title, *(f"{k} {v}" for k, v in doc.facts), *lines]).replace("\xa0", " ")
    for text in expected:
        assert text in page, (text, page)
    from energy_coop.documents.statements import statement_pdf

    pdf = pdf_text(statement_pdf(SAMPLE, SETTINGS, fmt))
    assert expected[-2].split(" kWh")[0] in pdf and "Glenwood Co-op" in pdf
