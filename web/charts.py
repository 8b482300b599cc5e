"""Charts drawn on the server as inline SVG: geometry and the ``<svg>`` markup here (:meth:`Chart.svg`, one
string join: as a Jinja loop it cost about a third of the member dashboard's time), the figure around it in the
``chart`` macro of ``templates/partials/macros.html``.

No script and no resource from another site: the browser gets finished SVG shapes styled by the app's own
stylesheet (classes only, no style attributes, so the CSP needs no ``unsafe-inline``). Every chart has a
``<title>`` and ``<desc>`` and the page shows the same numbers in a data table beside it.

The efficiency pages' charts (:func:`savings_chart`, :func:`budget_chart`) are geometry only: plain dicts of
numbers and texts that their templates (``templates/efficiency``) draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from markupsafe import Markup, escape

from energy_coop import formatting

WIDTH = 640
HEIGHT = 260
LEFT = 56
RIGHT = 12
TOP = 26
BOTTOM = 40
#: The stylesheet's text size on a phone, in viewBox units (``.chart text`` under ``max-width: 30rem``): the 640-unit
#: chart is drawn about 350 px wide there, so 22 units read as about 12 px. Axis room and label spacing are reckoned
#: at this size, the larger of the two, so that nothing is clipped or overlaps at either width.
PHONE_TEXT = 22
#: Average advance of a digit or letter of the system sans-serif, as a fraction of the font size.
CHAR_W = 0.62


def text_width(text: str, size: float = PHONE_TEXT) -> float:
    """About how wide ``text`` is drawn at ``size`` (viewBox units)."""
    return len(text) * size * CHAR_W


def left_margin(labels: list[str], size: float = PHONE_TEXT, least: int = LEFT) -> int:
    """Room left of the plot for the widest y-axis label, its 6-unit gap and a few units of edge."""
    return max(least, math.ceil(max((text_width(t, size) for t in labels), default=0) + 10))


def hide_overflowing(xlabels: list[dict], key: str = "label", width: int = WIDTH) -> None:
    """Mark ``minor`` (hidden on a phone) a centred x label that would run past the chart's right edge there."""
    for x in xlabels:
        if x["x"] + text_width(x[key]) / 2 > width:
            x["minor"] = True


def phone_step(labels: list[str], slot: float, size: float = PHONE_TEXT) -> int:
    """Keep every how many-th x label on a phone so that neighbours do not overlap (slot: units per label)."""
    widest = max((text_width(t, size) for t in labels), default=0) + size * 0.5
    return max(1, math.ceil(widest / slot)) if slot > 0 else 1


@dataclass
class Chart:
    """Finished geometry of one chart in a ``WIDTH`` x ``HEIGHT`` viewBox."""

    ident: str
    title: str
    desc: str
    unit: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[dict] = field(default_factory=list)  # x, y, w, h, label, text, cls
    line: str = ""  # polyline points of the second series, "" when it has none
    points: list[dict] = field(default_factory=list)  # cx, cy, text
    yticks: list[dict] = field(default_factory=list)  # y, label
    xlabels: list[dict] = field(default_factory=list)  # x, label
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)
    baseline: float = 0.0
    left: int = LEFT  # room for the y-axis labels
    empty: bool = False
    _svg: Markup | None = field(default=None, repr=False, compare=False)

    def svg(self) -> Markup:
        """The chart as an accessible inline ``<svg>`` (title and description, a ``<title>`` per bar and point);
        every text is escaped, numbers are written as computed. Written once per chart (a chart is not changed
        after :func:`bar_chart` has drawn it)."""
        if self._svg is None:
            self._svg = self._write_svg()
        return self._svg

    def _write_svg(self) -> Markup:
        e = escape
        x1, x2 = self.left, self.width - RIGHT
        parts = [f'<svg viewBox="0 0 {self.width} {self.height}" role="img" '
                 f'aria-labelledby="{e(self.ident)}-title {e(self.ident)}-desc" focusable="false">',
                 f'<title id="{e(self.ident)}-title">{e(self.title)}</title>',
                 f'<desc id="{e(self.ident)}-desc">{e(self.desc)}</desc>', '<g class="grid">']
        parts += [f'<line x1="{x1}" x2="{x2}" y1="{t["y"]}" y2="{t["y"]}"></line>'
                  f'<text x="{x1 - 6}" y="{t["y"] + 4}" class="ylabel">{e(t["label"])}</text>' for t in self.yticks]
        parts.append(f'</g><line class="axis" x1="{x1}" x2="{x2}" y1="{self.baseline}" y2="{self.baseline}"></line>'
                     '<g class="bars">')
        parts += [f'<rect class="{b["cls"]}" x="{b["x"]}" y="{b["y"]}" width="{b["w"]}" height="{b["h"]}">'
                  f'<title>{e(b["text"])}</title></rect>' for b in self.bars]
        parts.append("</g>")
        if self.line:
            parts.append(f'<polyline class="line" points="{self.line}"></polyline>')
            parts += [f'<circle class="dot" cx="{p["cx"]}" cy="{p["cy"]}" r="3.5"><title>{e(p["text"])}</title>'
                      '</circle>' for p in self.points]
        parts.append('<g class="xlabels">')
        parts += [f'<text x="{x["x"]}" y="{self.height - 22}" class="xlabel{" minor" if x.get("minor") else ""}">'
                  f'{e(x["label"])}</text>' for x in self.xlabels]
        parts.append("</g></svg>")
        return Markup("".join(parts))


def nice_step(span: float, target_ticks: int = 4) -> float:
    """A round tick step (1, 2 or 5 x 10^n) giving about ``target_ticks`` ticks over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def _fmt(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def bar_chart(ident: str, title: str, desc: str, labels: list[str], values: list[float | None], *, unit: str,
              line_values: list[float | None] | None = None, bar_label: str = "", line_label: str = "",
              label_every: int = 1) -> Chart:
    """Bars for ``values`` (None = no bar) and, optionally, a line with markers for ``line_values``."""
    chart = Chart(ident, title, desc, unit)
    known = [v for v in values if v is not None] + [v for v in (line_values or []) if v is not None]
    if not labels or not known:
        chart.empty = True
        return chart
    low, high = min(0.0, min(known)), max(0.0, max(known))
    if high == low:
        high = low + 1
    step = nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(v: float) -> float:
        return round(TOP + (high - v) / (high - low) * plot_h, 2)

    chart.baseline = y_of(0.0)
    tick = low
    while tick <= high + step / 2:
        chart.yticks.append({"y": y_of(tick), "label": _fmt(tick)})
        tick += step
    chart.left = left = left_margin([t["label"] for t in chart.yticks])
    plot_w = WIDTH - left - RIGHT
    slot = plot_w / len(labels)
    shown = labels[::label_every]
    keep = label_every * phone_step(shown, slot * label_every)  # on a phone only every keep-th label shows
    bar_w = max(2.0, min(slot * 0.7, 48.0))
    for i, (label, v) in enumerate(zip(labels, values)):
        x = left + i * slot
        if i % label_every == 0:
            chart.xlabels.append({"x": round(x + slot / 2, 2), "label": label, "minor": i % keep != 0})
        if v is None:
            continue
        top, bottom = sorted((y_of(v), chart.baseline))
        chart.bars.append({"x": round(x + (slot - bar_w) / 2, 2), "y": top, "w": round(bar_w, 2),
                           "h": round(max(bottom - top, 0.5), 2), "label": label,
                           "text": f"{label}: {_fmt(v)} {unit}", "cls": "bar" if v >= 0 else "bar negative"})
    hide_overflowing(chart.xlabels)
    if line_values is not None:
        pts = []
        for i, (label, v) in enumerate(zip(labels, line_values)):
            if v is None:
                continue
            cx, cy = round(left + i * slot + slot / 2, 2), y_of(v)
            pts.append(f"{cx},{cy}")
            chart.points.append({"cx": cx, "cy": cy, "text": f"{label}: {_fmt(v)} {unit} forecast"})
        chart.line = " ".join(pts)
    if bar_label:
        chart.legend.append(("key-bar", bar_label))
    if line_label and chart.points:
        chart.legend.append(("key-line", line_label))
    return chart


def paired_bar_chart(ident: str, title: str, desc: str, labels: list[str], first: list[float],
                     second: list[float], *, unit: str, first_label: str, second_label: str) -> Chart:
    """Two bars side by side per label (``first`` left, ``second`` right; both non-negative), each bar's
    ``<title>`` naming its series, and a legend: a battery's energy charged and discharged per month."""
    chart = Chart(ident, title, desc, unit)
    if not labels or len(first) != len(labels) or len(second) != len(labels):
        chart.empty = True
        return chart
    high = max([0.0, *first, *second])
    if high <= 0:
        high = 1.0
    step = nice_step(high)
    high = math.ceil(high / step) * step
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(v: float) -> float:
        return round(TOP + (high - v) / high * plot_h, 2)

    chart.baseline = y_of(0.0)
    tick = 0.0
    while tick <= high + step / 2:
        chart.yticks.append({"y": y_of(tick), "label": _fmt(tick)})
        tick += step
    chart.left = left = left_margin([t["label"] for t in chart.yticks])
    plot_w = WIDTH - left - RIGHT
    slot = plot_w / len(labels)
    keep = phone_step(labels, slot)
    bar_w = max(2.0, min(slot * 0.36, 30.0))
    for i, label in enumerate(labels):
        x = left + i * slot
        chart.xlabels.append({"x": round(x + slot / 2, 2), "label": label, "minor": i % keep != 0})
        middle = x + slot / 2
        for offset, value, name, cls in ((-bar_w - 1, first[i], first_label, "bar first"),
                                         (1, second[i], second_label, "bar second")):
            top = y_of(max(value, 0.0))
            chart.bars.append({"x": round(middle + offset, 2), "y": top, "w": round(bar_w, 2),
                               "h": round(max(chart.baseline - top, 0.5), 2), "label": label,
                               "text": f"{label}: {name} {_fmt(value)} {unit}", "cls": cls})
    hide_overflowing(chart.xlabels)
    suffix = f" ({unit})" if unit else ""
    chart.legend = [("key-first", first_label + suffix), ("key-second", second_label + suffix)]
    return chart


# ------------------------------------------------------------------------------------ efficiency programme
# Geometry only (dicts of numbers and texts): the efficiency templates draw these themselves.

SAVINGS_W, SAVINGS_H, PAD_L, PAD_B, PAD_T = 640, 220, 48, 28, 10


def savings_chart(result: dict[str, Any]) -> dict[str, Any] | None:
    """Geometry of the monthly chart: metered kWh (bars) against the baseline model (outline bars) before and
    after installation; a dashed line marks the installation."""
    if result.get("status") != "measured":
        return None
    months = [(m["month"], m["actual_kwh"], m["predicted_kwh"], False) for m in result["baseline_months"]]
    months += [(m["month"], m["actual_kwh"], m["adjusted_baseline_kwh"], True) for m in result["months"]]
    if not months:
        return None
    top = max(max(a, b) for _, a, b, _ in months) or 1
    tick_texts = [f"{round(top * f):,}" for f in (0, 0.5, 1)]
    pad_l = left_margin(tick_texts, least=PAD_L)
    inner_w, inner_h = SAVINGS_W - pad_l - 8, SAVINGS_H - PAD_B - PAD_T
    slot = inner_w / len(months)
    every = max(1, len(months) // 8)
    keep = every * phone_step([m[0] for m in months[::every]], slot * every)
    bars, labels, divider = [], [], None
    for i, (month, actual, model, after) in enumerate(months):
        x = pad_l + i * slot
        h_model, h_actual = inner_h * model / top, inner_h * actual / top
        bars.append({"x": round(x + slot * 0.1, 1), "y": round(PAD_T + inner_h - h_model, 1),
                     "w": round(slot * 0.8, 1), "h": round(max(h_model, 0), 1), "kind": "model",
                     "title": f"{month}: baseline model {model} kWh"})
        bars.append({"x": round(x + slot * 0.25, 1), "y": round(PAD_T + inner_h - h_actual, 1),
                     "w": round(slot * 0.5, 1), "h": round(max(h_actual, 0), 1),
                     "kind": "after" if after else "before", "title": f"{month}: metered {actual} kWh"})
        if i % every == 0:
            labels.append({"x": round(x + slot / 2, 1), "text": month, "minor": i % keep != 0})
        if after and divider is None:
            divider = round(x, 1)
    hide_overflowing(labels, key="text", width=SAVINGS_W)
    ticks = [{"y": round(PAD_T + inner_h - inner_h * f, 1), "text": text}
             for f, text in zip((0, 0.5, 1), tick_texts)]
    return {"w": SAVINGS_W, "h": SAVINGS_H, "bars": bars, "labels": labels, "ticks": ticks,
            "divider": divider, "base_y": PAD_T + inner_h, "label_y": SAVINGS_H - 8, "pad_l": pad_l,
            "top": PAD_T}


def budget_chart(programmes: list[dict[str, Any]], money: Callable[[int], str] = formatting.money
                 ) -> dict[str, Any] | None:
    """Geometry of one horizontal bar per programme: paid, awarded-not-paid and left of the budget [cents];
    ``money`` writes the amounts of the bars' titles (the request's Formatter)."""
    if not programmes:
        return None
    row_h, label_w, bar_w = 30, 140, 460
    rows = []
    for i, p in enumerate(programmes):
        budget = p["budget_cents"] or 1
        paid_w = bar_w * p["paid_cents"] / budget
        awarded_w = bar_w * (p["awarded_cents"] - p["paid_cents"]) / budget
        rows.append({"y": i * row_h + 6, "label": p["code"], "label_y": i * row_h + 21,
                     "paid_w": round(paid_w, 1), "awarded_x": round(label_w + paid_w, 1),
                     "awarded_w": round(awarded_w, 1), "left_x": round(label_w + paid_w + awarded_w, 1),
                     "left_w": round(bar_w - paid_w - awarded_w, 1),
                     "title": f"{p['code']}: budget {money(p['budget_cents'])}, awarded "
                              f"{money(p['awarded_cents'])} (paid {money(p['paid_cents'])}), left "
                              f"{money(p['left_cents'])}"})
    return {"w": label_w + bar_w + 10, "h": len(rows) * row_h + 8, "x": label_w, "rows": rows, "bar_h": 20}
