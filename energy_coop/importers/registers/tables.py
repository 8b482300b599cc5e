"""Reading a register CSV file (SPEC section 3) into rows, with every problem of its shape named.

The checks here are about the file, not the co-op: encoding, header, column names, row lengths. What the
values mean is checked by the service that loads them.
"""

from __future__ import annotations

import csv
import io
import stat
from dataclasses import dataclass
from pathlib import Path

from energy_coop.errors import RefusedError, RowError

MAX_REGISTER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class TableRow:
    line: int
    values: dict[str, str]

    @property
    def where(self) -> str:
        return f"line {self.line}"


def read_table(
    path: str | Path,
    *,
    required: set[str],
    optional: set[str],
    max_bytes: int = MAX_REGISTER_BYTES,
) -> tuple[list[str], list[TableRow]]:
    """Read a UTF-8 CSV with a header row; return (header, rows) or raise :class:`RefusedError`.

    Values are stripped of surrounding white space. Refused: anything but a regular file (a FIFO would block
    forever), a file over ``max_bytes``, bytes that are not
    UTF-8 (the line is named), an empty file, a header without rows, missing required or unknown columns,
    duplicated column names, and rows with too many or too few fields.
    """
    path = Path(path)
    name = path.name
    try:
        status = path.stat()
    except OSError as exc:
        raise RefusedError(f"{name}: cannot read the file ({exc.strerror})") from None
    if not stat.S_ISREG(status.st_mode):  # a FIFO or a device would block or never end
        raise RefusedError(f"{name}: is not a regular file (a folder, a device or a pipe); give a CSV file")
    size = status.st_size
    if size > max_bytes:
        raise RefusedError(f"{name}: the file is {size:,} bytes; the limit for a register file is {max_bytes:,}")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # a file growing while read is still held to the limit
    except OSError as exc:
        raise RefusedError(f"{name}: cannot read the file ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise RefusedError(f"{name}: the file is over the limit for a register file ({max_bytes:,} bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RefusedError(
            f"{name}: the file is not UTF-8 text",
            [RowError(f"line {line}", "", f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8")],
        ) from None
    if text.strip() == "":
        raise RefusedError(f"{name}: the file is empty; it needs a header row and at least one row")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise RefusedError(f"{name}: line 1 (the header) cannot be read as CSV: {exc}") from None
    errors: list[RowError] = []
    seen: set[str] = set()
    for col in header:
        if col == "":
            errors.append(RowError("line 1", "", "a column has no name"))
        elif col in seen:
            errors.append(RowError("line 1", col, "this column appears twice"))
        seen.add(col)
    missing = sorted(required - seen)
    unknown = sorted(c for c in seen if c and c not in required | optional)
    if missing:
        errors.append(RowError("line 1", ", ".join(missing), "required column missing"))
    for col in unknown:
        errors.append(
            RowError("line 1", col, "unknown column; allowed: " + ", ".join(sorted(required | optional)))
        )
    if errors:
        raise RefusedError(
            f"{name}: the header is wrong (required: {', '.join(sorted(required))}; found: {', '.join(header)})",
            errors,
        )
    rows: list[TableRow] = []
    try:
        for values in reader:
            line = reader.line_num
            if not values or all(v.strip() == "" for v in values):
                continue
            if len(values) != len(header):
                errors.append(
                    RowError(f"line {line}", "", f"has {len(values)} fields; the header has {len(header)}")
                )
                continue
            rows.append(TableRow(line, {h: v.strip() for h, v in zip(header, values)}))
    except csv.Error as exc:
        errors.append(RowError(f"line {reader.line_num}", "", f"cannot be read as CSV: {exc}"))
    if errors:
        raise RefusedError(f"{name}: some rows cannot be read", errors)
    if not rows:
        raise RefusedError(f"{name}: the file has a header but no rows")
    return header, rows
