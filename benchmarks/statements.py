"""Statement PDFs (issue 15): our word wrapping against fpdf2's own, and a render pool against one process.

    python benchmarks/statements.py [--n 400]

Renders ``n`` copies of a typical member statement (opening balance, three assets one of them a battery, an
earlier month's credits, a bill application with a long memo, the year so far) with
``documents.statements.statement_pdf``:

1. baseline: the same layout with every text written by fpdf2's ``multi_cell`` (its line breaking, which is
   what the layout used before); product: ``documents.pdf``'s own wrapping (each word measured once);
2. baseline: one process; product: ``render_pool()`` (one spawn process per core), as the demo issues.

Prints one JSON document: milliseconds per statement for each, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from decimal import Decimal
from itertools import repeat

from energy_coop.documents import pdf
from energy_coop.documents.statements import _render, render_pool, statement_pdf
from energy_coop.formatting import Formatter
from energy_coop.services.credits.statements import (
    AssetCredit,
    EarlierCredit,
    OtherEntry,
    Statement,
    StorageLine,
    YearToDate,
)
from energy_coop.services.settings import CoopSettings

STATEMENT = Statement(
    "1001", "Kai Haddad", "2026-10", 270686, 34915,
    credits=[AssetCredit("BAT-HUB", "Community hub battery", -3100, 651, "storage"),
             AssetCredit("SUN-DEPOT", "Depot canopy array", 47861, 477, "solar"),
             AssetCredit("SUN-FARM", "Lake Brandt community field", 157325, 1608, "solar")],
    earlier=[EarlierCredit("2026-08", "SUN-FARM", "Lake Brandt community field", -42, -1, True)],
    other=[OtherEntry(7, "bill_application", "2026-10-20", "Applied to the September invoice of the community "
                      "kitchen, as agreed at the assembly of 3 October; credit union cheque 17", 0, -2500)],
    closing_wh=472730, closing_cents=35150, number="2026-10-1001", issued_at="2026-11-03T06:00:00+00:00",
    storage=[StorageLine("BAT-HUB", 31000, 27900)], year=YearToDate(2026, 2559774, 33106, 2590174))
SETTINGS = CoopSettings(coop_name="Glenwood Community Solar Co-op", address="300 S Elm St\nGreensboro, NC 27401",
                        contact_email="hello@demo.energy-coop.org", emission_factor_kg_per_kwh=Decimal("0.390"),
                        emission_factor_source="US EIA, 2022")
STYLE = ("en_US", "USD", "America/New_York")


def fpdf2_write(doc_pdf, width, height, text, *, align="L", new_x="LMARGIN", new_y="NEXT") -> int:
    """The baseline writer: fpdf2's multi_cell for every text."""
    lines = doc_pdf.multi_cell(width, height, text, align=align, dry_run=True, output="LINES")
    doc_pdf.multi_cell(width, height, text, align=align, new_x=new_x, new_y=new_y)
    return len(lines)


def per_statement(n: int) -> float:
    fmt = Formatter(*STYLE)
    statement_pdf(STATEMENT, SETTINGS, fmt)
    start = time.perf_counter()
    for _ in range(n):
        statement_pdf(STATEMENT, SETTINGS, fmt)
    return (time.perf_counter() - start) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    n = parser.parse_args().n
    ours = per_statement(n // 4)
    original = pdf._write
    pdf._write = fpdf2_write
    try:
        theirs = per_statement(n // 4)
    finally:
        pdf._write = original
    fmt = Formatter(*STYLE)
    start = time.perf_counter()
    for _ in range(n):
        statement_pdf(STATEMENT, SETTINGS, fmt)
    one = time.perf_counter() - start
    with render_pool() as pool:
        list(pool.map(_render, [STATEMENT] * 8, repeat(SETTINGS), repeat(STYLE), repeat(None)))  # workers up
        start = time.perf_counter()
        list(pool.map(_render, [STATEMENT] * n, repeat(SETTINGS), repeat(STYLE), repeat(None), chunksize=8))
        pooled = time.perf_counter() - start
    print(json.dumps({
        "statements": n, "cores": os.cpu_count(),
        "ms_per_statement": {"fpdf2_wrapping": round(theirs, 1), "our_wrapping": round(ours, 1),
                             "ratio": round(ours / theirs, 2)},
        "issue_rendering_s": {"one_process": round(one, 1), "pool": round(pooled, 1),
                              "ratio": round(pooled / one, 2)},
    }, indent=2))


if __name__ == "__main__":
    main()
