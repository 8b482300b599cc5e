"""Server-drawn charts: the geometry of bars and line, and markup that escapes every text."""

from __future__ import annotations

import re

from web.charts import HEIGHT, LEFT, TOP, WIDTH, bar_chart, nice_step


def test_bars_stand_on_the_baseline_in_proportion():
    c = bar_chart("c", "Credits", "desc", ["Jan", "Feb", "Mar"], [10.0, None, 20.0], unit="kWh")
    assert c.yticks[0]["label"] == "0" and c.yticks[-1]["label"] == "20"
    assert [b["label"] for b in c.bars] == ["Jan", "Mar"]  # None: no bar
    jan, mar = c.bars
    assert mar["h"] == round(2 * jan["h"], 2) and jan["y"] + jan["h"] == c.baseline == mar["y"] + mar["h"]
    assert c.baseline == HEIGHT - 40 and mar["y"] == TOP  # 20 reaches the top of the plot
    assert LEFT <= jan["x"] < mar["x"] + mar["w"] <= WIDTH
    assert jan["text"] == "Jan: 10 kWh"


def test_an_empty_chart_says_so():
    assert bar_chart("c", "t", "d", [], [], unit="").empty
    assert bar_chart("c", "t", "d", ["a"], [None], unit="").empty


def test_tick_steps_are_round():
    assert [nice_step(s) for s in (1, 7, 40, 95, 1234)] == [0.5, 2, 10, 50, 500]


def test_the_svg_escapes_every_text_and_draws_each_bar_and_point():
    evil = '<script>alert("x")</script>'
    c = bar_chart("prod-A&B", evil, evil, [evil, "2"], [1.0, 2.0], unit="kWh", line_values=[1.5, None],
                  bar_label="metered", line_label="forecast")
    svg = str(c.svg())
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert 'aria-labelledby="prod-A&amp;B-title prod-A&amp;B-desc"' in svg
    assert len(re.findall(r"<rect ", svg)) == 2 and len(re.findall(r"<circle ", svg)) == 1
    assert svg.startswith('<svg viewBox="0 0 640 260" role="img"') and svg.endswith("</g></svg>")
    assert c.legend == [("key-bar", "metered"), ("key-line", "forecast")]
