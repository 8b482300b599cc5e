"""Charts on a phone (390 px wide): the y-axis labels fit left of the plot and the x labels that stay visible do not
overlap, at the phone text size the stylesheet sets (``.chart text`` 22 units under ``max-width: 30rem``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from web.charts import WIDTH, bar_chart, paired_bar_chart, savings_chart, text_width

MONTHS = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)]


def _fits(chart) -> None:
    for tick in chart.yticks:  # anchored at its end, 6 units left of the plot
        assert chart.left - 6 - text_width(tick["label"]) >= 0, (tick, chart.left)
    shown = [x for x in chart.xlabels if not x["minor"]]
    assert shown and shown[0] == chart.xlabels[0]
    for a, b in zip(shown, shown[1:]):  # centred labels: half of each plus a gap between the centres
        assert b["x"] - a["x"] >= (text_width(a["label"]) + text_width(b["label"])) / 2, (a, b)
    assert shown[-1]["x"] + text_width(shown[-1]["label"]) / 2 <= WIDTH  # not cut at the right edge


def test_a_year_of_months_keeps_every_other_or_third_label_on_a_phone():
    c = bar_chart("c", "t", "d", MONTHS[:12], [1_250_000.0] * 12, unit="kWh")
    assert [x["label"] for x in c.xlabels if not x["minor"]] == MONTHS[:12:3]
    assert len(c.xlabels) == 12  # the desktop still shows them all
    assert c.yticks[-1]["label"] == "1,500,000" and c.left == 133  # 9 characters of about 13.6 units, and 10
    _fits(c)


def test_three_labels_all_show_and_small_numbers_keep_the_narrow_margin():
    c = bar_chart("c", "t", "d", ["Jan", "Feb", "Mar"], [1.0, 2.0, 3.0], unit="kWh")
    assert [x["minor"] for x in c.xlabels] == [False, False, False] and c.left == 56
    _fits(c)


@given(n=st.integers(1, 36), high=st.floats(0.01, 5e9, allow_nan=False), every=st.integers(1, 4))
def test_any_bar_chart_fits_a_phone(n, high, every):
    values = [high * (i + 1) / n for i in range(n)]
    c = bar_chart("c", "t", "d", MONTHS[:n], values, unit="kWh", line_values=values[::-1], label_every=every)
    _fits(c)
    assert all(c.left <= b["x"] and b["x"] + b["w"] <= WIDTH for b in c.bars)


@given(n=st.integers(1, 36), high=st.integers(1, 10**9))
def test_any_paired_chart_fits_a_phone(n, high):
    c = paired_bar_chart("c", "t", "d", MONTHS[:n], [float(high)] * n, [high / 2] * n, unit="kWh",
                         first_label="charged", second_label="discharged")
    _fits(c)


@given(n=st.integers(2, 36), top=st.integers(1, 10**8))
def test_the_savings_chart_has_room_for_its_ticks_and_thins_its_months(n, top):
    half = n // 2
    result = {"status": "measured",
              "baseline_months": [{"month": m, "actual_kwh": top, "predicted_kwh": top} for m in MONTHS[:half]],
              "months": [{"month": m, "actual_kwh": top // 2, "adjusted_baseline_kwh": top} for m in MONTHS[half:n]]}
    g = savings_chart(result)
    for t in g["ticks"]:
        assert g["pad_l"] - 4 - text_width(t["text"]) >= 0
    shown = [x for x in g["labels"] if not x["minor"]]
    assert shown and all(b["x"] - a["x"] >= text_width(a["text"]) for a, b in zip(shown, shown[1:]))
    assert all(x["x"] + text_width(x["text"]) / 2 <= g["w"] for x in shown)
