"""The PDF layout of members' documents: text wraps and is never cut, pages are numbered, any name renders."""

from __future__ import annotations

import datetime as dt
import io

import pypdf

from energy_coop.documents.pdf import Document, Row, Section, drawable, render


def text_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def words(text: str) -> list[str]:
    return text.split()


def doc(rows: tuple[Row, ...], **kw) -> Document:
    return Document(title=kw.get("title", "Credit statement, November 2026"), author="Sunny Co-op",
                    letterhead=("Sunny Co-op", "12 Main Street", "Springfield"),
                    facts=(("Statement no.", "2026-11-1001"), ("Member", kw.get("member", "1001 Ada"))),
                    sections=(Section("Entries", rows, ("", "Energy", "Amount")),),
                    notes=("CO₂ avoided uses 0.367 kg/kWh (US EPA eGRID2022).",), footer="Sunny Co-op",
                    created=dt.datetime(2026, 12, 1, 12, tzinfo=dt.timezone.utc))


def test_a_long_memo_wraps_whole_and_the_figures_stay_beside_it():
    memo = ("Bill application for the October invoice of the community kitchen, agreed at the assembly of "
            "3 November, cheque 17 of the credit union, reference CU-2026-000417-B")
    data = render(doc((Row(memo, "0.000 kWh", "-$25.00"),)))
    text = " ".join(text_of(data))
    assert " ".join(words(memo)) in " ".join(words(text))
    assert "-$25.00" in text and "Sunny Co-op" in text


def test_many_rows_make_numbered_pages_and_every_row_is_there():
    rows = tuple(Row(f"Adjustment number {i}: a memo long enough to wrap over two lines of the description "
                     f"column of the table, row {i}", "1.000 kWh", f"${i}.00") for i in range(60))
    pages = text_of(render(doc(rows)))
    assert len(pages) >= 3
    for n, page in enumerate(pages, 1):
        assert f"Page {n} of {len(pages)}" in page
    joined = " ".join(words(" ".join(pages)))
    for i in range(60):
        assert f"row {i}" in joined and f"${i}.00" in joined
    # the column heads come again on every page the table continues on
    assert all("Energy" in page and "Amount" in page for page in pages[:-1])


def test_currency_signs_and_accents_render_and_a_name_outside_the_font_shows_question_marks():
    data = render(doc((Row("Crédito de la instalación solar, señora Núñez", "1.234,567 kWh", "1.234,56 €"),
                       Row("Guthaben Übertrag für Jörg Größe", "0,000 kWh", "£3.00 ¥4 ₹5"),),
                      member="1002 李小龍 Ada"))
    text = " ".join(text_of(data))
    for expected in ("1.234,56 €", "señora Núñez", "Jörg Größe", "£3.00", "₹5", "CO₂", "1002 ??? Ada"):
        assert expected in text, expected
    assert drawable("a\tb\nc🙂") == "a b c?"


def test_the_creation_date_is_the_issue_instant():
    data = render(doc((Row("x", "", ""),)))
    info = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert info.title == "Credit statement, November 2026"
    assert info.creation_date == dt.datetime(2026, 12, 1, 12, tzinfo=dt.timezone.utc)
