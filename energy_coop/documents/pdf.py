"""Laying out a document for members as a PDF: A4, a Unicode font, tables whose text wraps, page numbers.

This module knows nothing of statements or money: it draws a :class:`Document` whose every text is already
formatted (by :mod:`energy_coop.formatting`, in the co-op's locale and currency). Text is never cut: a long
description or memo wraps onto as many lines as it needs, and a table that does not fit continues on the next
page under its column heads again.

The font is Source Sans Pro (SIL Open Font License), installed from PyPI as ``font-source-sans-pro``; it has
the Latin, Greek and Cyrillic letters and the currency signs. Once per process it is cut down to those
characters (fontTools), which makes each PDF's own font subset several times quicker to write; a character the
font does not have (a CJK name, an emoji) is drawn as "?" rather than silently dropped.
"""

from __future__ import annotations

import atexit
import datetime as dt
import io
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

FAMILY = "SourceSans"

#: The characters the cut-down font keeps: printable ASCII, Latin-1, Latin Extended A/B, Greek, Cyrillic, the
#: currency signs and common punctuation (dashes, quotes, bullet, ellipsis, minus, subscript two).
_KEEP = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x2013, 0x2014), (0x2018, 0x201E),
         (0x2020, 0x2022), (0x2026, 0x2026), (0x2030, 0x2030), (0x2039, 0x203A), (0x20A0, 0x20C0),
         (0x2082, 0x2082), (0x2122, 0x2122), (0x2212, 0x2212), (0x202F, 0x202F), (0x2009, 0x200A)]

_lock = threading.Lock()
_fonts: dict[str, Path] = {}
_cmap: frozenset[int] = frozenset()


def _prepare_fonts() -> tuple[dict[str, Path], frozenset[int]]:
    """The cut-down regular and bold fonts (paths in a per-process temporary folder) and their characters."""
    global _cmap
    with _lock:
        if _fonts:
            return _fonts, _cmap
        import font_source_sans_pro
        from fontTools import subset
        from fontTools.ttLib import TTFont

        folder = Path(tempfile.mkdtemp(prefix="energy-coop-fonts-"))
        atexit.register(shutil.rmtree, folder, True)
        text = "".join(chr(c) for lo, hi in _KEEP for c in range(lo, hi + 1))
        codepoints: set[int] = set()
        for style, name in (("", "SourceSansPro"), ("B", "SourceSansProBold")):
            font = TTFont(font_source_sans_pro.font_files_ttf[name])
            options = subset.Options()
            options.layout_features = ["kern", "liga"]
            options.name_IDs = ["*"]
            options.notdef_outline = True
            cutter = subset.Subsetter(options)
            cutter.populate(text=text)
            cutter.subset(font)
            buffer = io.BytesIO()
            font.save(buffer)
            path = folder / f"{name}.ttf"
            path.write_bytes(buffer.getvalue())
            _fonts[style] = path
            if not codepoints:
                codepoints = set(font.getBestCmap())
        _cmap = frozenset(codepoints)
        return _fonts, _cmap


def prepare_fonts() -> None:
    """Cut the fonts now (about half a second, once per process) rather than inside the first render: an entry
    point that renders inside a write transaction calls this before opening it, so the lock is held shorter."""
    _prepare_fonts()


def drawable(text: str) -> str:
    """``text`` with every character the font cannot draw replaced by "?" (line breaks and tabs become spaces)."""
    _, cmap = _prepare_fonts()
    return "".join(ch if ord(ch) in cmap else (" " if ch in "\t\r\n" else "?") for ch in text)


@dataclass(frozen=True)
class Row:
    """One line of a table: a description (wraps) and, right-aligned, an energy and an amount.

    ``sentence`` draws the description across the whole width in a smaller font (a plain-words explanation
    under a figure); ``bold`` is for totals and balances."""

    text: str
    energy: str = ""
    amount: str = ""
    bold: bool = False
    sentence: bool = False


@dataclass(frozen=True)
class Section:
    """A titled table (``columns``: the heads of the description, energy and amount columns; none: no heads)."""

    title: str
    rows: tuple[Row, ...]
    columns: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class Document:
    """Everything a page shows, as formatted text."""

    title: str  # the PDF's title (metadata) and the heading under the letterhead
    author: str  # the issuer's name (metadata)
    letterhead: tuple[str, ...]  # the issuer: its name first, then address lines and contact
    facts: tuple[tuple[str, str], ...]  # ("Statement no.", "2026-11-1001"), ("Issued", "1 Dec 2026"), ...
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = ()  # closing paragraphs (what the figures mean, sources)
    footer: str = ""  # left of the page number on every page
    page_label: str = "Page {page} of {pages}"  # the page number, in the document's language
    created: dt.datetime | None = None  # the PDF's creation date (the issue instant)
    keywords: tuple[str, ...] = field(default_factory=tuple)


MARGIN = 18.0  # [mm]
ENERGY_W = 36.0  # [mm]
AMOUNT_W = 34.0  # [mm]
LINE_H = 5.2  # [mm] for 10 pt text


class _Pdf(FPDF):
    def __init__(self, doc: Document) -> None:
        super().__init__(format="A4", unit="mm")
        self.doc = doc
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 6)
        fonts, _ = _prepare_fonts()
        for style, path in fonts.items():
            self.add_font(FAMILY, style, str(path))

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FAMILY, "", 8.5)
        self.set_text_color(90, 90, 90)
        width = self.epw
        label = self.doc.page_label.format(page=self.page_no(), pages="{nb}")
        self.cell(width * 0.7, 5, drawable(self.doc.footer), align="L")
        self.cell(width * 0.3, 5, drawable(label), align="R")
        self.set_text_color(0, 0, 0)


def render(doc: Document) -> bytes:
    """The PDF of ``doc`` (A4, as many pages as it needs)."""
    pdf = _Pdf(doc)
    pdf.alias_nb_pages()
    pdf.set_title(drawable(doc.title))
    pdf.set_author(drawable(doc.author))
    pdf.set_creator("energy-coop")
    if doc.keywords:
        pdf.set_keywords(drawable(" ".join(doc.keywords)))
    if doc.created is not None:
        pdf.set_creation_date(doc.created.astimezone(dt.timezone.utc))
    pdf.add_page()
    _letterhead(pdf, doc)
    for section in doc.sections:
        _section(pdf, section)
    if doc.notes:
        pdf.ln(3)
        pdf.set_font(FAMILY, "", 8.5)
        pdf.set_text_color(60, 60, 60)
        for note in doc.notes:
            _write(pdf, 0, 4.4, drawable(note), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.2)
        pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())


def _letterhead(pdf: _Pdf, doc: Document) -> None:
    top = pdf.get_y()
    left_w = pdf.epw * 0.58
    if doc.letterhead:
        pdf.set_font(FAMILY, "B", 15)
        _write(pdf, left_w, 7, drawable(doc.letterhead[0]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, "", 9.5)
        for line in doc.letterhead[1:]:
            _write(pdf, left_w, 4.6, drawable(line), new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()
    x = MARGIN + left_w + 4
    width = pdf.epw - left_w - 4
    pdf.set_xy(x, top)
    key_w = width * 0.45
    for key, value in doc.facts:
        y = pdf.get_y()
        pdf.set_font(FAMILY, "", 9)
        pdf.set_text_color(90, 90, 90)
        pdf.set_xy(x, y)
        _write(pdf, key_w, 4.8, drawable(key), new_x="RIGHT", new_y="TOP")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(FAMILY, "B", 9)
        pdf.set_xy(x + key_w, y)
        _write(pdf, width - key_w, 4.8, drawable(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(left_bottom, pdf.get_y()) + 5)
    pdf.set_draw_color(150, 150, 150)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + pdf.epw, pdf.get_y())
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", 13)
    _write(pdf, 0, 6.5, drawable(doc.title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _wrap(pdf: _Pdf, width: float, text: str) -> list[str]:
    """``text`` broken into lines that fit a cell ``width`` wide (0: to the right margin) in the current font:
    at spaces, and inside a word only when the word alone is wider than the cell. Each word is measured once
    (fpdf2's own line breaking re-measures the whole line at every character, which made long memos slow)."""
    room = (width or pdf.epw - (pdf.get_x() - pdf.l_margin)) - 2 * pdf.c_margin
    space = pdf.get_string_width(" ")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            w = pdf.get_string_width(word)
            if line and used + space + w <= room:
                line, used = f"{line} {word}", used + space + w
                continue
            if line:
                lines.append(line)
            while w > room and len(word) > 1:  # a word wider than the cell: cut it where it fills a line
                cut = len(word) - 1
                while cut > 1 and pdf.get_string_width(word[:cut]) > room:
                    cut = max(1, int(cut * room / pdf.get_string_width(word[:cut])))
                lines.append(word[:cut])
                word = word[cut:]
                w = pdf.get_string_width(word)
            line, used = word, w
        lines.append(line)
    return lines or [""]


def _write(pdf: _Pdf, width: float, height: float, text: str, *, align: str = "L", new_x: str = "LMARGIN",
           new_y: str = "NEXT") -> int:
    """Write ``text`` wrapped in a column ``width`` wide at the current position, one ``height`` per line;
    return the number of lines. ``new_x``/``new_y`` as fpdf2's: where the position goes afterwards."""
    x, top = pdf.get_x(), pdf.get_y()
    lines = _wrap(pdf, width, text)
    cell_w = width or pdf.epw - (x - pdf.l_margin)
    y = top
    for line in lines:
        if y + height > pdf.page_break_trigger:  # a paragraph that reaches the foot goes on over the page
            pdf.add_page()
            y = top = pdf.get_y()
        pdf.set_xy(x, y)
        pdf.cell(cell_w, height, line, align=align)
        y += height
    if new_x == "RIGHT" and new_y == "TOP":
        pdf.set_xy(x + cell_w, top)
    else:
        pdf.set_xy(pdf.l_margin, y)
    return len(lines)


def _text_lines(pdf: _Pdf, width: float, text: str) -> int:
    return len(_wrap(pdf, width, text))


def _heads(pdf: _Pdf, columns: tuple[str, str, str]) -> None:
    desc_w = pdf.epw - ENERGY_W - AMOUNT_W
    pdf.set_font(FAMILY, "B", 8.5)
    pdf.set_text_color(70, 70, 70)
    pdf.cell(desc_w, 5, drawable(columns[0]))
    pdf.cell(ENERGY_W, 5, drawable(columns[1]), align="R")
    pdf.cell(AMOUNT_W, 5, drawable(columns[2]), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(200, 200, 200)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + pdf.epw, pdf.get_y())


def _section(pdf: _Pdf, section: Section) -> None:
    desc_w = pdf.epw - ENERGY_W - AMOUNT_W
    pdf.set_font(FAMILY, "B", 10.5)
    if pdf.get_y() + 7 + 2 * LINE_H > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(2)
    _write(pdf, 0, 6, drawable(section.title), new_x="LMARGIN", new_y="NEXT")
    if section.columns:
        _heads(pdf, section.columns)
    for row in section.rows:
        text = drawable(row.text)
        if row.sentence:
            pdf.set_font(FAMILY, "", 9)
            lines = _text_lines(pdf, pdf.epw, text)
            if pdf.get_y() + lines * 4.6 > pdf.page_break_trigger:
                pdf.add_page()
            pdf.set_text_color(50, 50, 50)
            _write(pdf, 0, 4.6, text, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(0, 0, 0)
            pdf.ln(0.8)
            continue
        pdf.set_font(FAMILY, "B" if row.bold else "", 10)
        lines = _text_lines(pdf, desc_w, text)
        height = lines * LINE_H + 1.6
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            if section.columns:
                _heads(pdf, section.columns)
            pdf.set_font(FAMILY, "B" if row.bold else "", 10)
        y = pdf.get_y() + 0.8
        pdf.set_xy(MARGIN, y)
        _write(pdf, desc_w, LINE_H, text, align="L", new_x="RIGHT", new_y="TOP")
        pdf.set_xy(MARGIN + desc_w, y)
        pdf.cell(ENERGY_W, LINE_H, drawable(row.energy), align="R")
        pdf.cell(AMOUNT_W, LINE_H, drawable(row.amount), align="R")
        pdf.set_xy(MARGIN, y + lines * LINE_H + 0.8)
        pdf.set_draw_color(225, 225, 225)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + pdf.epw, pdf.get_y())
