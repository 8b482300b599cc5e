"""How a refusal names the place of each problem (energy_coop.errors.RowError), as volunteers read it."""

from __future__ import annotations

import pytest

from energy_coop.errors import RowError


@pytest.mark.parametrize("error, text", [
    (RowError("line 12", "kwh", "is not a number"), "line 12, column kwh: is not a number"),
    (RowError("UsagePoint 'x', IntervalReading 3", "value", "is negative"),
     "UsagePoint 'x', IntervalReading 3, value: is negative"),
    (RowError("file", "", "is empty"), "is empty"),
    (RowError("file", "header", "has no meter_code"), "header: has no meter_code"),
    (RowError("", "cost", "is negative"), "cost: is negative"),  # a form field: no stray ", " before it
    (RowError("--amount", "", "is not a number"), "--amount: is not a number"),
    (RowError("", "", "nothing to change"), "nothing to change"),
])
def test_each_problem_names_its_place(error, text):
    assert str(error) == text
