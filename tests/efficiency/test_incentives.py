"""The incentive rule: per kWh or per cent of cost, the cap per measure, the low-income bonus (no DB)."""

from __future__ import annotations

import pytest

from energy_coop.calc.efficiency.incentives import compute_incentive


def per_kwh(**kw):
    args = dict(rule="per_kwh", rate_micros_per_kwh=150_000, cost_cents=1_000_000, estimated_kwh_per_year=2_000,
                low_income=False)
    args.update(kw)
    return compute_incentive(**args)


def test_per_kwh_is_rate_times_annual_kwh():
    assert per_kwh().total_cents == 30_000  # 0.15 /kWh × 2000 kWh = 300.00


def test_per_kwh_rounds_half_to_even_to_the_cent():
    assert per_kwh(rate_micros_per_kwh=5_000, estimated_kwh_per_year=1).total_cents == 0  # 0.5 cent -> 0
    assert per_kwh(rate_micros_per_kwh=15_000, estimated_kwh_per_year=1).total_cents == 2  # 1.5 cents -> 2


def test_percent_of_cost_and_cap():
    inc = compute_incentive(rule="percent_of_cost", percent_bp=2_500, cost_cents=800_000,
                            estimated_kwh_per_year=0, low_income=False, cap_cents=150_000)
    assert (inc.base_cents, inc.capped_cents, inc.total_cents) == (200_000, 150_000, 150_000)


def test_low_income_bonus_on_top_of_the_cap():
    inc = per_kwh(cap_cents=20_000, low_income=True, low_income_bonus_bp=5_000)
    assert (inc.capped_cents, inc.bonus_cents, inc.total_cents) == (20_000, 10_000, 30_000)
    assert per_kwh(cap_cents=20_000, low_income=False, low_income_bonus_bp=5_000).total_cents == 20_000


def test_never_more_than_the_measure_cost():
    inc = per_kwh(cost_cents=25_000, low_income=True, low_income_bonus_bp=5_000)
    assert inc.total_cents == 25_000 and inc.cost_limited_cents == 20_000


@pytest.mark.parametrize("bad", [dict(cost_cents=-1), dict(estimated_kwh_per_year=-5), dict(cost_cents=10.5),
                                 dict(rate_micros_per_kwh=None), dict(rule="per_sqm")])
def test_bad_values_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        per_kwh(**bad)
