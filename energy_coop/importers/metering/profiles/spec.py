"""A profile: how one utility's (or inverter's) export is laid out, read from a small TOML file.

The keys (README "Meter files from utilities: profiles" shows a worked file)::

    name = "my-utility"                 # lower-case letters, digits and dashes
    description = "..."
    layout = "table"                    # "table": one header line; "blocks": labelled blocks, each with a header

    [columns]                           # header names (any case; spaces and a unit in brackets are ignored)
    period = "interval"                 # one column holding "START to END"
    start = "start"                     # or start and end, or start with time.interval_minutes,
    end = "end"                         # or end alone (end-time-only rows)
    date = "date"                       # optional: a date column the start/end time columns belong to
    energy = "kwh"                      # one energy column (its channel: energy.channel or the block's label)
    delivered = "delivered"             # or one column per channel
    received = "received"

    [blocks]                            # layout = "blocks": the label lines that open a block, per channel
    delivered = "energy delivered"
    received = "energy received"

    [time]
    formats = ["%Y-%m-%d %H:%M:%S"]     # strptime formats, tried in turn
    period_separator = "to"
    timezone = "America/New_York"       # zone of local times (else the import must name one)
    ambiguous = "refuse"                # refuse | earlier | later | in-order (see times.py)
    interval_minutes = 15               # length of end-only (or start-only) rows; end-only without it:
                                        # the difference to the row before
    [energy]
    unit = "kWh"                        # Wh | kWh | MWh | "header" (the unit written in the column's header)
    decimal = "."                       # or ","
    channel = "received"                # a table's single energy column: delivered or received
    cumulative = false                  # true: the column is a register; energy = difference to the row before
    reset = "refuse"                    # a register going down: refuse | restart | rollover (see numbers.py)
    restart_below = "1"                 # restart: the highest value a reset register may show, in the unit
    rollover_at = "100000"              # rollover: the register's modulus, in the unit

    [metadata]
    meter = "meter number"              # a metadata line ("Meter Number,E-1") naming the meter code

Every problem of a profile file is named by line and key; nothing half-read is used.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from energy_coop.errors import RowError
from energy_coop.importers.metering.common import quoted
from energy_coop.importers.metering.profiles.numbers import UNIT_PLACES, RegisterRule, energy_mwh
from energy_coop.importers.metering.profiles.times import AMBIGUOUS_RULES, normalise

CHANNELS: tuple[str, ...] = ("delivered", "received")
LAYOUTS: tuple[str, ...] = ("table", "blocks")
RESETS: tuple[str, ...] = ("refuse", "restart", "rollover")
#: Largest profile file [bytes].
MAX_PROFILE_BYTES = 32 * 1024
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")

_KEYS: dict[str, tuple[str, ...]] = {
    "": ("name", "description", "layout", "columns", "blocks", "time", "energy", "metadata"),
    "columns": ("period", "start", "end", "date", "energy", "delivered", "received"),
    "blocks": CHANNELS,
    "time": ("formats", "period_separator", "timezone", "ambiguous", "interval_minutes", "header_within"),
    "energy": ("unit", "decimal", "channel", "cumulative", "reset", "restart_below", "rollover_at"),
    "metadata": ("meter",),
}
_UNIT_IN_HEADER = re.compile(r"^(.*?)\s*[\(\[]\s*(k?wh|mwh)\s*[\)\]]\s*$", re.IGNORECASE)


def header_name(cell: str) -> tuple[str, str | None]:
    """A header cell -> (its name: lower case, spaces collapsed, a unit in brackets removed; the unit or None).

    ``"Usage (kWh)"`` -> ``("usage", "kWh")``; ``"kWh"`` -> ``("kwh", "kWh")``.
    """
    text = normalise(cell).strip('"').strip()
    m = _UNIT_IN_HEADER.match(text)
    if m:
        unit = m.group(2).lower()
        return normalise(m.group(1)).lower(), {"wh": "Wh", "kwh": "kWh", "mwh": "MWh"}[unit]
    name = text.lower()
    unit = {"wh": "Wh", "kwh": "kWh", "mwh": "MWh"}.get(name)
    return name, unit


@dataclass(frozen=True)
class Profile:
    """A layout, checked. Column names and labels are normalised (see :func:`header_name`)."""

    name: str
    description: str
    layout: str
    columns: dict[str, tuple[str, ...]]
    blocks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
    period_separator: str = "to"
    timezone: str | None = None
    ambiguous: str = "refuse"
    interval_minutes: int | None = None
    header_within: int = 100
    unit: str = "header"
    decimal: str = "."
    channel: str | None = None
    cumulative: bool = False
    register: RegisterRule = RegisterRule()
    meter_keys: tuple[str, ...] = ()
    source: str = ""
    built_in: bool = False

    @property
    def timing(self) -> str:
        """``period``, ``start-end``, ``start`` (with interval_minutes) or ``end`` (end-time-only)."""
        c = self.columns
        if "period" in c:
            return "period"
        if "start" in c:
            return "start-end" if "end" in c else "start"
        return "end"

    @property
    def required(self) -> list[tuple[str, tuple[str, ...]]]:
        """(role, accepted names) of every column the table's header must have."""
        return [(role, names) for role, names in self.columns.items()]

    def describe(self) -> dict[str, Any]:
        """A plain document of the profile (for ``profiles list --json`` and the API listing)."""
        return {
            "name": self.name, "description": self.description, "layout": self.layout, "built_in": self.built_in,
            "columns": {k: list(v) for k, v in self.columns.items()},
            "blocks": {k: list(v) for k, v in self.blocks.items()},
            "timing": self.timing, "formats": list(self.formats), "timezone": self.timezone,
            "ambiguous": self.ambiguous, "interval_minutes": self.interval_minutes, "unit": self.unit,
            "decimal": self.decimal, "channel": self.channel, "cumulative": self.cumulative,
            "reset": self.register.reset if self.cumulative else None,
        }


class ProfileInvalid(Exception):
    """A profile file that cannot be used; ``errors`` names every problem by line and key."""

    def __init__(self, source: str, errors: list[RowError]):
        super().__init__(f"{source}: the profile cannot be used: {len(errors)} problem(s)")
        self.source = source
        self.errors = errors


def _line_of(text: str, section: str, key: str) -> str:
    """``"line N"`` of ``key`` inside ``[section]`` of a TOML text (the section's line, or ``"file"``)."""
    current = ""
    section_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        m = re.fullmatch(r"\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?", stripped)
        if m:
            current = m.group(1)
            if current == section:
                section_line = number
            continue
        if current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            return f"line {number}"
    if section_line is not None:
        return f"line {section_line}"
    return "file"


def load_profile(text: str, source: str = "profile", *, built_in: bool = False) -> Profile:
    """Read and check a profile's TOML text; raise :class:`ProfileInvalid` naming every problem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PROFILE_BYTES:
        raise ProfileInvalid(source, [RowError("file", "size", f"a profile is a few lines; this one is larger than "
                                                               f"{MAX_PROFILE_BYTES // 1024} KiB")])
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f"line {m.group(1)}" if m else "file"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) or "not TOML"
        raise ProfileInvalid(source, [RowError(where, "toml", f"this is not valid TOML: {reason}"
                                                              + (f" (column {m.group(2)})" if m else ""))]) from None
    errors: list[RowError] = []

    def problem(section: str, key: str, reason: str) -> None:
        name = f"{section}.{key}" if section else key
        errors.append(RowError(_line_of(text, section, key) if key else "file", name, reason))

    for section, allowed in _KEYS.items():
        table = doc if not section else doc.get(section, {})
        if section and not isinstance(table, dict):
            problem("", section, f"must be a table ([{section}])")
            continue
        for key in table:
            if key not in allowed:
                problem(section, key, f"is not a key of {('[' + section + ']') if section else 'a profile'}; "
                                      f"the keys are {', '.join(allowed)}")

    def get(section: str, key: str, default=None):
        table = doc if not section else doc.get(section, {})
        return table.get(key, default) if isinstance(table, dict) else default

    def text_value(section: str, key: str, default: str | None, choices: tuple[str, ...] | None = None):
        value = get(section, key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            problem(section, key, f"must be text in quotes, not {value!r}")
            return default
        if choices is not None and value not in choices:
            problem(section, key, f"{quoted(value)} is not one of {', '.join(choices)}")
            return default
        return value

    def names(section: str, key: str) -> tuple[str, ...] | None:
        value = get(section, key)
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(v, str) and v.strip() for v in items):
            problem(section, key, "must be a name in quotes or a list of names")
            return None
        return tuple(header_name(v)[0] for v in items)

    name = text_value("", "name", None)
    if name is None:
        problem("", "name", "is missing; give the profile a name (lower-case letters, digits, dashes)")
        name = "?"
    elif not NAME.fullmatch(name):
        problem("", "name", f"{quoted(name)} is not a profile name: use lower-case letters, digits and dashes, "
                            "at most 40")
    description = text_value("", "description", "") or ""
    layout = text_value("", "layout", "table", LAYOUTS) or "table"

    columns: dict[str, tuple[str, ...]] = {}
    for role in _KEYS["columns"]:
        found = names("columns", role)
        if found:
            columns[role] = found
    if "period" in columns and ({"start", "end", "date"} & set(columns)):
        problem("columns", "period", "a period column holds start and end: leave out start, end and date")
    if not ({"period", "start", "end"} & set(columns)):
        problem("columns", "", "names no time column: give period, start (and end), or end")
    if "date" in columns and not ({"start", "end"} & set(columns)):
        problem("columns", "date", "a date column goes with start and/or end time columns")
    energy_roles = [r for r in ("energy", "delivered", "received") if r in columns]
    if not energy_roles:
        problem("columns", "", "names no energy column: give energy, or delivered and/or received")
    elif "energy" in columns and len(energy_roles) > 1:
        problem("columns", "energy", "give either one energy column or delivered/received columns, not both")

    blocks: dict[str, tuple[str, ...]] = {}
    for channel in CHANNELS:
        found = names("blocks", channel)
        if found:
            blocks[channel] = found
    channel = text_value("energy", "channel", None, CHANNELS)
    if layout == "blocks":
        if not blocks:
            problem("blocks", "", "a blocks layout needs the label lines of its blocks: delivered and/or received")
        if "energy" not in columns:
            problem("columns", "energy", "a blocks layout has one energy column; its block's label says the channel")
        if channel is not None:
            problem("energy", "channel", "in a blocks layout each block's label says its channel")
    else:
        if "blocks" in doc:
            problem("", "blocks", "only a blocks layout has block labels; set layout = \"blocks\" or remove them")
        if "energy" in columns and channel is None:
            problem("energy", "channel", "say which channel the energy column is: delivered (to the premises) or "
                                         "received (from them: production)")
        if "energy" not in columns and channel is not None:
            problem("energy", "channel", "only a single energy column needs a channel")

    formats_value = get("time", "formats", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"])
    if isinstance(formats_value, str):
        formats_value = [formats_value]
    formats: tuple[str, ...] = ()
    if not isinstance(formats_value, list) or not formats_value or not all(
            isinstance(f, str) and "%" in f for f in formats_value):
        problem("time", "formats", "must be a list of strptime formats such as \"%Y-%m-%d %H:%M\"")
    else:
        formats = tuple(normalise(f) for f in formats_value)
        for f in formats:
            if not re.search(r"%[dj]", f) or not re.search(r"%[HI]", f):
                if "date" not in columns:
                    problem("time", "formats", f"{quoted(f)} needs a day (%d) and an hour (%H)")
    separator = normalise(text_value("time", "period_separator", "to") or "to")
    if not separator:
        problem("time", "period_separator", "must not be empty")
    timezone = text_value("time", "timezone", None)
    if timezone is not None:
        try:
            if len(timezone) > 64:
                raise ValueError(timezone)
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            problem("time", "timezone", f"{quoted(timezone)} is not a time zone name (e.g. America/New_York)")
            timezone = None
    ambiguous = text_value("time", "ambiguous", "refuse", AMBIGUOUS_RULES) or "refuse"
    minutes = get("time", "interval_minutes")
    if minutes is not None and (not isinstance(minutes, int) or isinstance(minutes, bool)
                                or not 1 <= minutes <= 60 * 24 * 92):
        problem("time", "interval_minutes", f"{minutes!r} is not a whole number of minutes from 1 to 132480")
        minutes = None
    header_within = get("time", "header_within", 100)
    if not isinstance(header_within, int) or isinstance(header_within, bool) or not 1 <= header_within <= 10_000:
        problem("time", "header_within", "must be a whole number of lines from 1 to 10000")
        header_within = 100
    if "start" in columns and "end" not in columns and minutes is None:
        problem("time", "interval_minutes", "rows with a start time only need their length in minutes")

    unit = text_value("energy", "unit", "header")
    if unit is not None and unit != "header" and unit.lower() not in UNIT_PLACES:
        problem("energy", "unit", f"{quoted(unit)} is not Wh, kWh, MWh or \"header\"")
        unit = "header"
    unit = unit if unit == "header" else {"wh": "Wh", "kwh": "kWh", "mwh": "MWh"}[(unit or "kwh").lower()]
    decimal = text_value("energy", "decimal", ".", (".", ",")) or "."
    cumulative = get("energy", "cumulative", False)
    if not isinstance(cumulative, bool):
        problem("energy", "cumulative", "must be true or false")
        cumulative = False
    reset = text_value("energy", "reset", "refuse", RESETS) or "refuse"
    rule = RegisterRule()
    if cumulative:
        if columns.get("start") or columns.get("period"):
            problem("energy", "cumulative", "a register is read at an instant: give its time as the end column "
                                            "only")
        limit_unit = "kWh" if unit == "header" else unit
        restart_below = modulus = 0
        if reset == "restart":
            restart_below = _register_value(get("energy", "restart_below"), limit_unit, decimal,
                                            lambda r: problem("energy", "restart_below", r))
        if reset == "rollover":
            modulus = _register_value(get("energy", "rollover_at"), limit_unit, decimal,
                                      lambda r: problem("energy", "rollover_at", r))
            if modulus == 0 and not any(e.field == "energy.rollover_at" for e in errors):
                problem("energy", "rollover_at", "must be more than 0")
        rule = RegisterRule(reset=reset, restart_below=restart_below, modulus=modulus)
        if unit == "header":
            problem("energy", "unit", "a register's profile names its unit (the reset values are written in it)")
    else:
        for key in ("reset", "restart_below", "rollover_at"):
            if get("energy", key) is not None:
                problem("energy", key, "only a cumulative register has resets; set cumulative = true or remove it")
    meter_keys = names("metadata", "meter") or ()
    if errors:
        raise ProfileInvalid(source, errors)
    return Profile(name=name, description=description, layout=layout, columns=columns, blocks=blocks,
                   formats=formats, period_separator=separator, timezone=timezone, ambiguous=ambiguous,
                   interval_minutes=minutes, header_within=header_within, unit=unit, decimal=decimal,
                   channel=channel, cumulative=cumulative, register=rule, meter_keys=meter_keys, source=text,
                   built_in=built_in)


def _register_value(value: Any, unit: str, decimal: str, problem) -> int:
    if value is None:
        problem(f"is missing; give it in {unit}, in quotes (e.g. \"1\")")
        return 0
    if not isinstance(value, str):
        problem(f"write it as text in quotes (e.g. \"{value}\"), so it is read exactly")
        return 0
    mwh, reason = energy_mwh(value, unit, decimal)
    if reason is not None:
        problem(reason)
        return 0
    if mwh < 0:
        problem("must not be negative")
        return 0
    return mwh
