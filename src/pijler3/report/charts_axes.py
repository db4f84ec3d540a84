"""The pieces every chart of the report is drawn with: colours, SVG text, nice axis ticks,
the legend and its swatches, and the rough text widths that keep labels apart.

Pure functions, SVG markup as strings. The chart kinds themselves are in
:mod:`pijler3.report.charts` (bars, lines, forest plot) and
:mod:`pijler3.report.charts_km` (Kaplan-Meier curves).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup, escape

from pijler3.contract import words
from pijler3.report.fmt import NBSP, Unit, fmt_int, fmt_num

SUPPRESSED = "x"


@dataclass(frozen=True)
class Chart:
    """A drawn chart: its id, SVG markup, and how many data marks it holds."""

    chart_id: str
    svg: Markup
    marks: int
    kind: str
    legend: tuple[tuple[str, str], ...] = field(default=())


# The Okabe-Ito palette, safe for the common colour-vision deficiencies, in the order
# that keeps neighbours most distinct; yellow is left out (unreadable on white) and
# black comes last.
PRIMARY = "#0072b2"
BAR = "#6fa8d6"  # a light blue, so that the dark interval whiskers stand out
REFERENCE = "#b45309"
MUTED = "#6b7280"
GRID = "#e5e7eb"
INK = "#1f2937"
BAND = "#0072b2"
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")

# The words inside the charts (data/labels-nl.toml, [chart]).
SUPPRESSED_LEGEND = words.word("chart", "suppressed_legend")
SUPPRESSED_MARK = words.word("chart", "suppressed_mark")
PROVISIONAL_LEGEND = words.word("chart", "provisional_legend")
PROVISIONAL_LABEL = words.word("chart", "provisional_label")
INTERVAL_LEGEND = words.word("chart", "interval")
BAND_LEGEND = words.word("chart", "band")
TOTAL_LABEL = words.word("chart", "total")
WHOLE_POPULATION = words.word("chart", "whole_population")
GROUP_LEGEND = words.word("chart", "group")
NO_FIGURE = words.word("chart", "no_figure")
KM_AXIS = words.word("chart", "km_axis")
SIGNIFICANT = words.word("chart", "significant")
NOT_SIGNIFICANT = words.word("chart", "not_significant")
LESS_OFTEN = words.word("chart", "less_often")
MORE_OFTEN = words.word("chart", "more_often")

CHAR_PX = 6.6  # a generous average width of a character of the 11-11.5 px chart text
TICK_CHAR_PX = CHAR_PX
TICK_GAP_PX = 10.0  # the least room between two tick labels
LEGEND_ROW = 18.0


def attr(x: float) -> str:
    """A coordinate for an SVG attribute: short, with a decimal point."""
    return f"{x:.1f}".removesuffix(".0")


def data_value(x: float) -> str:
    """A data value for ``data-value``: full precision, machine-readable."""
    return repr(float(x))


def text(
    x: float,
    y: float,
    words: str,
    *,
    anchor: str = "start",
    cls: str = "",
    size: float | None = None,
    tick: float | None = None,
) -> str:
    """An SVG text; ``tick`` is the value of a numeric axis tick (``data-tick``)."""
    extra = f' class="{cls}"' if cls else ""
    font = f' font-size="{attr(size)}"' if size else ""
    value = f' data-tick="{data_value(tick)}"' if tick is not None else ""
    return (
        f'<text x="{attr(x)}" y="{attr(y)}" text-anchor="{anchor}"{extra}{font}{value}>'
        f"{escape(words)}</text>"
    )


def text_width(words: str) -> float:
    return len(words) * CHAR_PX


def open_svg(
    chart_id: str, kind: str, title: str, desc: str, width: float, height: float, marks: int
) -> list[str]:
    return [
        f'<svg class="chart chart-{kind}" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'viewBox="0 0 {attr(width)} {attr(height)}" '
        f'width="{attr(width)}" height="{attr(height)}" '
        f'data-marks="{marks}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]


# --- Nice numbers ----------------------------------------------------------------------


def nice_step(span: float, most: int = 5) -> float:
    """The smallest step of 1, 2 or 5 x 10^k that covers ``span`` in at most ``most`` steps."""
    if span <= 0:
        return 1.0
    raw = span / most
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        step = m * 10.0**exp
        if step >= raw * (1 - 1e-9):
            return float(step)
    return float(10.0 ** (exp + 1))


def nice_max(x: float, most: int = 5) -> float:
    """An axis maximum at or above ``x`` that is a whole number of nice steps."""
    if x <= 0:
        return 1.0
    step = nice_step(x, most)
    return float(math.ceil(x / step - 1e-9) * step)


def nice_ticks(top: float, most: int = 5) -> list[float]:
    """0, step, 2 step, ... up to ``top`` (a :func:`nice_max`), steps of 1-2-5 x 10^k."""
    step = nice_step(top, most)
    count = round(top / step)
    return [round(step * i, 12) for i in range(count + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """The ticks of a log axis covering [lo, hi]: ..., 0,2, 0,5, 1, 2, 5, 10, ... (the
    1-2-5 sequence), from the largest at or below ``lo`` to the smallest at or above ``hi``."""
    exp = math.floor(math.log10(lo)) - 1
    seq: list[float] = []
    while not seq or seq[-1] < hi * (1 - 1e-9):
        seq += [round(m * 10.0**exp, 12) for m in (1, 2, 5)]
        exp += 1
    first = max(i for i, v in enumerate(seq) if v <= lo * (1 + 1e-9))
    last = min(i for i, v in enumerate(seq) if v >= hi * (1 - 1e-9))
    return seq[first : last + 1]


def share_max(x: float) -> float:
    """The axis maximum of a share: a nice number, never above 100 %."""
    return min(1.0, nice_max(x))


def tick_label(x: float, unit: Unit) -> str:
    if unit == "pct":
        return f"{fmt_num(x * 100, 0)}{NBSP}%"
    if unit == "ratio":
        return fmt_num(x, 2 if x < 1 else 1).rstrip("0").rstrip(",") if x % 1 else fmt_int(round(x))
    return fmt_int(round(x))


# The axis title of a unit, where a tick label does not carry it.
AXIS_UNIT: dict[str, str] = {
    "days": words.word("chart", "axis_days"),
    "count": words.word("chart", "axis_count"),
}


# --- Legend ------------------------------------------------------------------------------

Swatch = Literal[
    "line", "dashed", "point", "open", "supp", "band", "ref", "bar", "square", "opensquare", "none"
]


@dataclass(frozen=True)
class LegendItem:
    name: str
    colour: str
    swatch: Swatch = "line"


def swatch(kind: Swatch, x: float, y: float, colour: str) -> str:
    """A 14 x 10 legend key at (x, y) = its top-left corner."""
    cy = y + 5
    line = f'<path d="M{attr(x)} {attr(cy)}H{attr(x + 14)}" stroke="{colour}" '
    square = f'<rect x="{attr(x + 3)}" y="{attr(cy - 4)}" width="8" height="8" '
    box = f'<rect x="{attr(x)}" y="{attr(y)}" width="14" height="10" fill="{colour}"'
    keys: dict[str, str] = {
        "none": "",
        "line": line + 'stroke-width="2.5"/>',
        "dashed": line + 'stroke-width="2" stroke-dasharray="3 2"/>',
        "ref": f'<path d="M{attr(x + 7)} {attr(y - 1)}V{attr(y + 11)}" stroke="{colour}" '
        'stroke-width="1.5" stroke-dasharray="3 2"/>',
        "point": f'<circle cx="{attr(x + 7)}" cy="{attr(cy)}" r="3.5" fill="{colour}"/>',
        "open": f'<circle cx="{attr(x + 7)}" cy="{attr(cy)}" r="3.5" fill="#fff" '
        f'stroke="{colour}" stroke-width="1.6"/>',
        "square": square + f'fill="{colour}" stroke="{colour}" stroke-width="1.4"/>',
        "opensquare": square + f'fill="#fff" stroke="{colour}" stroke-width="1.4"/>',
        "band": box + ' fill-opacity="0.18"/>',
        "bar": box + "/>",
    }
    return keys[kind] if kind in keys else supp_marker(x + 7, cy, "", cls="supp-key")


def supp_marker(cx: float, cy: float, title: str, *, cls: str = "supp-mark") -> str:
    """The mark of a suppressed figure: a small hatched square with a grey edge."""
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<rect class="{cls}" x="{attr(cx - 5)}" y="{attr(cy - 5)}" width="10" '
        f'height="10" fill="url(#hatch)" stroke="{MUTED}" stroke-width="1">{tip}</rect>'
    )


def legend_rows(items: Sequence[LegendItem], span: float) -> list[list[LegendItem]]:
    """The items laid out left to right, a new row where the next would not fit."""
    rows: list[list[LegendItem]] = [[]]
    used = 0.0
    for item in items:
        w = 20 + text_width(item.name) + 14
        if rows[-1] and used + w > span:
            rows.append([])
            used = 0.0
        rows[-1].append(item)
        used += w
    return [r for r in rows if r]


def legend_height(items: Sequence[LegendItem], span: float) -> float:
    return LEGEND_ROW * len(legend_rows(items, span)) if items else 0.0


def legend(items: Sequence[LegendItem], x0: float, y0: float, span: float) -> list[str]:
    """The legend, rows of (swatch, name) from (x0, y0) = the top of its first row."""
    out: list[str] = ['<g class="legend-box">']
    for r, row in enumerate(legend_rows(items, span)):
        x = x0
        y = y0 + LEGEND_ROW * r
        for item in row:
            key = 0 if item.swatch == "none" else 20
            out.append(swatch(item.swatch, x, y + 2, item.colour))
            out.append(text(x + key, y + 11, item.name, cls="legend"))
            x += key + text_width(item.name) + 14
    out.append("</g>")
    return out


HATCH_DEFS = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false">'
    '<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="5" height="5" '
    'patternTransform="rotate(45)"><rect width="5" height="5" fill="#f3f4f6"/>'
    '<line x1="0" y1="0" x2="0" y2="5" stroke="#6b7280" stroke-width="1.6"/></pattern>'
    "</defs></svg>"
)
