"""How much an incentive programme pays for one measure: exact integer arithmetic, no database.

The rule, in order (every rounding is half to even, to the cent, exactly):

1. base: ``per_kwh`` → rate [1e-6 currency/kWh] × estimated annual savings [kWh/year] (one year's savings);
   ``percent_of_cost`` → cost [cents] × percent [bp] / 10 000;
2. capped per measure at ``cap_cents`` when the programme has a cap;
3. plus, for a low-income member, the bonus: capped amount × ``low_income_bonus_bp`` / 10 000 (the bonus comes on
   top of the cap, so the cap never eats a low-income member's bonus);
4. never more than the measure's cost: an incentive pays for a retrofit, it is not income.
"""

from __future__ import annotations

from dataclasses import dataclass

from energy_coop.units import round_half_even

BP_SCALE = 10_000  # basis points in 1
MICROS_PER_CENT = 10_000  # 1e-6 currency units in a cent


@dataclass(frozen=True)
class Incentive:
    """The computed incentive [cents]: ``total_cents = capped_cents + bonus_cents - cost_limited_cents``."""

    base_cents: int
    capped_cents: int
    bonus_cents: int
    cost_limited_cents: int
    total_cents: int

    def as_dict(self) -> dict[str, int]:
        return {"base_cents": self.base_cents, "capped_cents": self.capped_cents, "bonus_cents": self.bonus_cents,
                "cost_limited_cents": self.cost_limited_cents, "total_cents": self.total_cents}


def _int(value: object, name: str) -> int:
    if type(value) is not int:  # noqa: E721 - bool and float are refused on purpose
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def compute_incentive(*, rule: str, cost_cents: int, estimated_kwh_per_year: int, low_income: bool,
                      rate_micros_per_kwh: int | None = None, percent_bp: int | None = None,
                      cap_cents: int | None = None, low_income_bonus_bp: int = 0) -> Incentive:
    """The incentive [cents] for a measure costing ``cost_cents`` [cents] that saves ``estimated_kwh_per_year``
    [kWh/year], under a programme rule (see the module doc).

    >>> compute_incentive(rule="per_kwh", rate_micros_per_kwh=150_000, cost_cents=500_000,
    ...                   estimated_kwh_per_year=3_000, low_income=True, cap_cents=40_000,
    ...                   low_income_bonus_bp=2_500).as_dict()
    {'base_cents': 45000, 'capped_cents': 40000, 'bonus_cents': 10000, 'cost_limited_cents': 0, 'total_cents': 50000}
    """
    _int(cost_cents, "cost_cents")
    _int(estimated_kwh_per_year, "estimated_kwh_per_year")
    _int(low_income_bonus_bp, "low_income_bonus_bp")
    if rule == "per_kwh":
        rate = _int(rate_micros_per_kwh, "rate_micros_per_kwh")
        base = round_half_even(rate * estimated_kwh_per_year, MICROS_PER_CENT)
    elif rule == "percent_of_cost":
        bp = _int(percent_bp, "percent_bp")
        base = round_half_even(cost_cents * bp, BP_SCALE)
    else:
        raise ValueError(f"unknown incentive rule {rule!r}")
    capped = base if cap_cents is None else min(base, _int(cap_cents, "cap_cents"))
    bonus = round_half_even(capped * low_income_bonus_bp, BP_SCALE) if low_income else 0
    limited = max(0, capped + bonus - cost_cents)
    return Incentive(base_cents=base, capped_cents=capped, bonus_cents=bonus, cost_limited_cents=limited,
                     total_cents=capped + bonus - limited)
