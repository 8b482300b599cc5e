"""web.charts.paired_bar_chart: two labelled bars per month (a battery's charged and discharged energy)."""

from __future__ import annotations

from web.charts import paired_bar_chart


def test_two_bars_per_label_with_their_series_named_and_a_legend():
    chart = paired_bar_chart("bat", "Battery", "Charged and discharged", ["2024-01", "2024-02"], [30.0, 31.0],
                             [27.0, 27.9], unit="kWh", first_label="charged", second_label="discharged")
    assert [b["text"] for b in chart.bars] == ["2024-01: charged 30 kWh", "2024-01: discharged 27 kWh",
                                               "2024-02: charged 31 kWh", "2024-02: discharged 27.9 kWh"]
    assert [b["cls"] for b in chart.bars] == ["bar first", "bar second"] * 2
    assert chart.legend == [("key-first", "charged (kWh)"), ("key-second", "discharged (kWh)")]
    # every bar stands on the baseline and the taller value draws the taller bar
    assert all(round(b["y"] + b["h"], 2) == chart.baseline for b in chart.bars)
    assert chart.bars[2]["h"] > chart.bars[3]["h"]
    svg = str(chart.svg())
    assert "<title>2024-02: discharged 27.9 kWh</title>" in svg and "negative" not in svg


def test_no_months_draws_nothing():
    assert paired_bar_chart("bat", "t", "d", [], [], [], unit="kWh", first_label="a", second_label="b").empty
