"""What the efficiency admin forms type, read into the values the services take (SPEC section 8).

Each ``*_values`` function reads ``request.form`` and returns the service's keyword arguments, or raises a
:class:`RefusedError` naming every field it cannot read (the service then checks the values' rules). The
parsers turn text into values in the unit the service stores: a date, integer cents (typed as ``1234.50``),
basis points (typed as a percentage), whole numbers within the database's BIGINT, text on one line.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from flask import request

from energy_coop.errors import RefusedError, RowError
from energy_coop.units import DECIMAL_TEXT, UnitError, parse_cents, parse_rate

#: The largest whole number the database stores (BIGINT); PostgreSQL refuses a larger one with an error.
_LARGEST = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ------------------------------------------------------------------------------------------------- parsers


def field(name: str) -> str:
    """The form field ``name`` as typed, trimmed ("" when absent)."""
    return (request.form.get(name) or "").strip()


def parsed_field(name: str, parse: Callable[[str], Any], errors: list[RowError], *,
                 required: bool = True) -> Any:
    """The form field ``name`` read through ``parse`` (text -> value, in the unit ``parse`` gives: a date,
    cents, basis points...; it raises ``ValueError``, such as :class:`UnitError`, whose text is the reason).
    A blank field is ``None`` ("is required" when ``required``); a value ``parse`` refuses is ``None`` too,
    with the reason added to ``errors`` under the field's name. A number too large for exact decimal
    arithmetic (``1e999999999``) is refused the same way, not left to crash the request."""
    raw = field(name)
    if not raw:
        if required:
            errors.append(RowError("", name, "is required"))
        return None
    try:
        return parse(raw)
    except ValueError as exc:  # UnitError is a ValueError
        errors.append(RowError("", name, str(exc)))
        return None
    except ArithmeticError:  # decimal.Overflow, OverflowError
        errors.append(RowError("", name, f"{raw[:40]!r} is far too large a number"))
        return None


def date(raw: str) -> dt.date:
    """``2024-05-01`` -> a date."""
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date like 2024-05-01") from None


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


def whole_number(raw: str) -> int:
    """``123`` -> 123; ASCII digits only (int() would also read "١٢٣", "１２３" and "1_000")."""
    try:
        if not _WHOLE_NUMBER.fullmatch(raw):
            raise ValueError
        value = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a whole number") from None
    if abs(value) > _LARGEST:
        raise ValueError(f"{raw[:40]!r} is far too large a number")
    return value


def one_line(raw: str) -> str:
    """Text on one line (a name, an address); control characters are refused (PostgreSQL cannot store NUL)."""
    if _CONTROL.search(raw):
        raise ValueError("contains a line break or a control character; type it on one line")
    return raw


def lines(raw: str) -> str:
    """Text that may run over several lines (an audit's findings); other control characters are refused."""
    if _CONTROL_BUT_LINES.search(raw):
        raise ValueError("contains a control character that is not a line break or a tab")
    return raw


def cents(raw: str) -> int:
    """An amount typed as ``1234.50`` -> integer cents (123450), never negative."""
    value = parse_cents(raw)
    if value < 0:
        raise ValueError(f"{raw} is negative; an amount here is 0 or more")
    return value


def percent_bp(raw: str) -> int:
    """A percentage typed as ``30`` or ``12.5`` -> basis points (3000, 1250), exact to 0.01 %."""
    try:
        if not DECIMAL_TEXT.fullmatch(raw):  # ASCII digits only: Decimal() would read "١٢"
            raise InvalidOperation
        value = Decimal(raw) * 100
        if not value.is_finite() or value != value.to_integral_value():
            raise InvalidOperation
        return int(value)
    except (InvalidOperation, ValueError):
        raise ValueError(f"{raw!r} is not a percentage with at most two decimals") from None


def _refuse(message: str, errors: list[RowError]) -> None:
    if errors:
        raise RefusedError(message, errors)


# --------------------------------------------------------------------------------------------------- forms


def programme_values() -> dict[str, Any]:
    """A new incentive programme: budget, cap [typed as 1234.50 -> cents], rate per kWh (``per_kwh`` rule),
    percentage of cost and low-income bonus [typed as percentages -> basis points], dates."""
    errors: list[RowError] = []
    rule = field("rule")
    rate = None
    if rule == "per_kwh":
        try:
            rate = parse_rate(field("rate_per_kwh"))
        except UnitError as exc:
            errors.append(RowError("", "rate_per_kwh", str(exc)))
    values = dict(code=field("code"), name=field("name"),
                  budget_cents=parsed_field("budget", parse_cents, errors),
                  rule=rule, rate_micros_per_kwh=rate,
                  percent_bp=parsed_field("percent", percent_bp, errors)
                  if rule == "percent_of_cost" else None,
                  cap_cents=parsed_field("cap", parse_cents, errors, required=False),
                  low_income_bonus_bp=parsed_field("bonus", percent_bp, errors, required=False) or 0,
                  eligible_member_types=request.form.getlist("eligible_member_types"),
                  opens_on=parsed_field("opens_on", date, errors),
                  closes_on=parsed_field("closes_on", date, errors))
    _refuse("the programme was not created", errors)
    return values


def premises_values() -> dict[str, Any]:
    """A member's building: floor area [m²], year built, heating fuel, time zone and meter (left blank: not
    given, so the service links the member's own consumption meter)."""
    errors: list[RowError] = []
    values = {"member_number": parsed_field("member_number", one_line, errors),
              "address": parsed_field("address", one_line, errors),
              "floor_area_m2": parsed_field("floor_area_m2", whole_number, errors),
              "year_built": parsed_field("year_built", whole_number, errors, required=False),
              "heating_fuel": field("heating_fuel"),
              "timezone": parsed_field("timezone", one_line, errors)}
    meter_code = parsed_field("meter_code", one_line, errors, required=False)
    if meter_code is not None:
        values["meter_code"] = meter_code
    _refuse("the premises were not registered", errors)
    return values


def audit_values() -> dict[str, Any]:
    """An energy audit of a building: date, auditor, ASHRAE level 1-3, findings."""
    errors: list[RowError] = []
    values = {"audit_date": parsed_field("audit_date", date, errors),
              "auditor_name": parsed_field("auditor_name", one_line, errors),
              "auditor_credential": parsed_field("auditor_credential", one_line, errors, required=False),
              "ashrae_level": parsed_field("ashrae_level", whole_number, errors),
              "findings": parsed_field("findings", lines, errors, required=False) or ""}
    _refuse("the audit was not recorded", errors)
    return values


def measure_values() -> dict[str, Any]:
    """A proposed measure: its audit, cost [typed as 1234.50 -> cents], estimated savings [whole kWh/year],
    useful life [years]."""
    errors: list[RowError] = []
    values = {"audit_id": parsed_field("audit_id", whole_number, errors),
              "category": field("category"),
              "description": parsed_field("description", one_line, errors),
              "cost_cents": parsed_field("cost", cents, errors),
              "estimated_kwh_per_year": parsed_field("estimated_kwh_per_year", whole_number, errors),
              "useful_life_years": parsed_field("useful_life_years", whole_number, errors)}
    _refuse("the measure was not proposed", errors)
    return values


def premises_corrections(premises_id: int) -> dict[str, Any]:
    """A building's corrections: every field optional (None: left blank, keep the stored value)."""
    errors: list[RowError] = []
    typed = {"address": parsed_field("address", one_line, errors, required=False),
             "floor_area_m2": parsed_field("floor_area_m2", whole_number, errors, required=False),
             "year_built": parsed_field("year_built", whole_number, errors, required=False),
             "heating_fuel": field("heating_fuel") or None,
             "timezone": parsed_field("timezone", one_line, errors, required=False),
             "meter_code": parsed_field("meter_code", one_line, errors, required=False)}
    _refuse(f"premises {premises_id} were not changed", errors)
    return typed


#: Form field -> the measure's figure it types (the cost is typed as 1234.50 and stored in cents).
MEASURE_FIELDS = {"cost": "cost_cents"}


def measure_corrections(measure_id: int) -> dict[str, Any]:
    """A measure's corrected figures, every one optional (None: left blank, keep the stored value)."""
    errors: list[RowError] = []
    typed = {"category": field("category") or None,
             "description": parsed_field("description", one_line, errors, required=False),
             "cost_cents": parsed_field("cost", cents, errors, required=False),
             "estimated_kwh_per_year": parsed_field("estimated_kwh_per_year", whole_number, errors,
                                                    required=False),
             "useful_life_years": parsed_field("useful_life_years", whole_number, errors, required=False)}
    _refuse(f"measure {measure_id} was not changed", errors)
    return typed


def as_typed(exc: RefusedError, names: dict[str, str]) -> RefusedError:
    """The service's refusal with its field names as the form shows them (``cost_cents`` -> ``cost``)."""
    errors = [RowError(e.where, names.get(e.field, e.field), e.reason) for e in exc.errors]
    return type(exc)(exc.message, errors)


def award_values() -> dict[str, Any]:
    """An award: the programme's code, the measure, the day it is awarded."""
    errors: list[RowError] = []
    measure_id = parsed_field("measure_id", whole_number, errors)
    awarded_on = parsed_field("awarded_on", date, errors)
    _refuse("no award was made", errors)
    return {"programme_code": field("programme"), "measure_id": measure_id, "awarded_on": awarded_on}


def status_values(measure_id: int) -> dict[str, Any]:
    """A measure's new status, with its date (installed, verified) or reason (discarded)."""
    errors: list[RowError] = []
    on = parsed_field("on", date, errors, required=False)
    _refuse(f"measure {measure_id} was not changed", errors)
    return {"status": field("status"), "on": on, "reason": field("reason") or None}


def payment_values() -> dict[str, Any]:
    """A payment against an award: amount [typed as 1234.50 -> cents], the day paid, a reference."""
    errors: list[RowError] = []
    amount = parsed_field("amount", parse_cents, errors)
    paid_on = parsed_field("paid_on", date, errors)
    _refuse("no payment was recorded", errors)
    return {"amount_cents": amount, "paid_on": paid_on, "reference": field("reference") or None}
