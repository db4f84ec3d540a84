"""Inline SVG charts for the monitoring report (numbers are written by :mod:`.fmt`).

Pure functions: figures in, SVG markup out. No JavaScript, no external file, no font:
the text inherits the page's system font. Every chart is an ``<svg role="img">`` whose
``<title>`` and ``<desc>`` name it and say what it shows, and every data mark carries a
``data-value`` attribute, so that a browser test can check that each chart was drawn
with its data. Callers pass disclosure-controlled numbers only.

What a hurried reader must not misread is drawn, not only described:

- a suppressed figure is a hatched square (``class="supp-mark"``) where the figure would
  be, and the legend under the chart names it ("onderdrukt"); ``data-suppressed`` on the
  ``<svg>`` counts them;
- a provisional point (a cohort still inside its follow-up window) is an open circle on
  a dashed segment, in a shaded column labelled "voorlopig", with its legend entry;
  ``data-provisional`` counts them;
- axes have nice ticks (steps of 1, 2 or 5 x 10^k) and their unit ("%" on each tick,
  "dagen" or "aantal" as the axis title); callers pass one ``y_max`` for all the charts
  of one indicator, so that they share a scale;
- value labels are moved clear of the reference line and of each other.

The Kaplan-Meier charts are in :mod:`pijler3.report.charts_km`; the shared pieces
(palette, ticks, legend) in :mod:`pijler3.report.charts_axes`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pijler3.report.charts_axes import (
    AXIS_UNIT,
    BAR,
    GRID,
    INK,
    INTERVAL_LEGEND,
    LEGEND_ROW,
    MUTED,
    NO_FIGURE,
    PALETTE,
    PRIMARY,
    PROVISIONAL_LABEL,
    PROVISIONAL_LEGEND,
    REFERENCE,
    SUPPRESSED,
    SUPPRESSED_LEGEND,
    SUPPRESSED_MARK,
    TICK_CHAR_PX,
    TICK_GAP_PX,
    TOTAL_LABEL,
    WHOLE_POPULATION,
    Chart,
    LegendItem,
    attr,
    data_value,
    legend,
    legend_height,
    nice_max,
    nice_ticks,
    open_svg,
    share_max,
    supp_marker,
    text,
    text_width,
    tick_label,
)
from pijler3.report.charts_axes import HATCH_DEFS as _HATCH
from pijler3.report.charts_forest import ForestRow, forest_plot
from pijler3.report.charts_km import Curve, km_chart
from pijler3.report.fmt import Unit, fmt_value

__all__ = [
    "SUPPRESSED",
    "TICK_CHAR_PX",
    "WHOLE_POPULATION",
    "Bar",
    "Chart",
    "Curve",
    "ForestRow",
    "Series",
    "bar_chart",
    "forest_plot",
    "km_chart",
    "line_chart",
    "nice_max",
    "value_max",
]

HATCH_DEFS = Markup(_HATCH)


# --- Chart inputs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    suppressed: bool = False
    note: str = ""  # shown instead of a value when there is none ("geen personen")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    lows: Sequence[float | None] = ()
    highs: Sequence[float | None] = ()
    # Per point: hidden by disclosure control (drawn as a marker, never as a value) and
    # provisional (the follow-up of the cohort is still running).
    suppressed: Sequence[bool] = ()
    provisional: Sequence[bool] = ()

    def is_suppressed(self, i: int) -> bool:
        return i < len(self.suppressed) and self.suppressed[i]

    def is_provisional(self, i: int) -> bool:
        return i < len(self.provisional) and self.provisional[i]


def value_max(values: Sequence[float | None], unit: Unit) -> float:
    """The nice axis maximum for ``values`` (figures and interval bounds): the one scale
    that all charts of an indicator share."""
    highest = max((v for v in values if v is not None), default=0.0)
    return share_max(highest * 1.04) if unit == "pct" else nice_max(highest * 1.04)


def _svg_attrs(svg: list[str], suppressed: int, provisional: int = 0) -> None:
    """Count the suppressed and provisional points on the ``<svg>`` tag, for tests."""
    svg[0] = svg[0].replace(
        " data-marks=",
        f' data-suppressed="{suppressed}" data-provisional="{provisional}" data-marks=',
        1,
    )


# --- Horizontal bars with interval whiskers ---------------------------------------------


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    *,
    unit: Unit = "pct",
    reference: float | None = None,
    reference_label: str = TOTAL_LABEL,
    width: float = 520,
    label_width: float = 170,
    v_max: float | None = None,
) -> Chart | None:
    """Horizontal bars with 95% interval whiskers; None when there is nothing to draw."""
    drawn = [b for b in bars if b.value is not None and not b.suppressed]
    if not drawn:
        return None
    n_supp = sum(1 for b in bars if b.suppressed)
    # Room for the longest label (never clipped at the left edge), up to 40% of the width;
    # a longer one is shortened with an ellipsis (the bar's tooltip keeps it whole).
    label_width = min(max(label_width, max(text_width(b.label) for b in bars) + 14), width * 0.4)
    items: list[LegendItem] = []
    if any(b.low is not None for b in drawn):
        items.append(LegendItem(INTERVAL_LEGEND, INK, "line"))
    if reference is not None:
        items.append(LegendItem(reference_label, REFERENCE, "ref"))
    if n_supp:
        items.append(LegendItem(SUPPRESSED_LEGEND, MUTED, "supp"))
    row, top_pad = 22.0, 26.0
    axis_title = AXIS_UNIT.get(unit, "")
    legend_top = top_pad + row * len(bars) + (38 if axis_title else 26)
    height = legend_top + legend_height(items, width - 12) + 4
    plot_x0, plot_x1 = label_width, width - 62
    vmax = v_max or value_max(
        [*(b.value for b in drawn), *(b.high for b in drawn), reference], unit
    )

    def sx(v: float) -> float:
        return plot_x0 + (plot_x1 - plot_x0) * max(0.0, min(v, vmax)) / vmax

    out = open_svg(chart_id, "bar", title, desc, width, height, len(drawn))
    _svg_attrs(out, n_supp)
    axis_y = top_pad + row * len(bars)
    for t in nice_ticks(vmax, 5):
        x = sx(t)
        out.append(
            f'<line class="grid" x1="{attr(x)}" x2="{attr(x)}" y1="{attr(top_pad - 6)}" '
            f'y2="{attr(axis_y)}" stroke="{GRID}"/>'
        )
        out.append(text(x, axis_y + 16, tick_label(t, unit), anchor="middle", cls="tick", tick=t))
    if axis_title:
        out.append(
            text((plot_x0 + plot_x1) / 2, axis_y + 31, axis_title, anchor="middle", cls="axis")
        )
    ref_x = sx(reference) if reference is not None else None
    for i, b in enumerate(bars):
        out += _bar_row(b, top_pad + row * i, row, plot_x0, sx, ref_x, width, unit)
    if reference is not None and ref_x is not None:
        out += _reference(
            ref_x,
            f"{reference_label} {fmt_value(reference, unit)}",
            top_pad,
            axis_y,
            plot_x0,
            width,
        )
    out += legend(items, 6, legend_top, width - 12)
    out.append("</svg>")
    return Chart(chart_id, Markup("".join(out)), len(drawn), "bar")


def _fit_label(label: str, room: float) -> str:
    most = int(room // text_width("m"))
    return label if len(label) <= most else label[: max(1, most - 1)].rstrip(" ,") + "…"


def _bar_row(
    b: Bar,
    y: float,
    row: float,
    plot_x0: float,
    sx: Callable[[float], float],
    ref_x: float | None,
    width: float,
    unit: Unit,
) -> list[str]:
    """One bar: its label, the bar and its whisker and value, or the suppression mark."""
    cy = y + row / 2
    shown = _fit_label(b.label, plot_x0 - 14)
    out = [text(plot_x0 - 8, cy + 4, shown, anchor="end", cls="label")]
    if b.suppressed:
        out.append(supp_marker(plot_x0 + 7, cy, f"{b.label}: {SUPPRESSED_MARK}"))
        out.append(text(plot_x0 + 18, cy + 4, SUPPRESSED_MARK, cls="note"))
        return out
    if b.value is None:
        out.append(text(plot_x0 + 4, cy + 4, b.note or NO_FIGURE, cls="note"))
        return out
    x = sx(b.value)
    out.append(
        f'<rect class="bar mark" x="{attr(plot_x0)}" y="{attr(y + 4)}" '
        f'width="{attr(max(x - plot_x0, 1))}" height="{attr(row - 8)}" fill="{BAR}" '
        f'data-value="{data_value(b.value)}"><title>{escape(b.label)}: '
        f"{escape(fmt_value(b.value, unit))}</title></rect>"
    )
    if b.low is not None and b.high is not None:
        lo, hi = sx(b.low), sx(b.high)
        out.append(
            f'<path class="ci" d="M{attr(lo)} {attr(cy)}H{attr(hi)}'
            f"M{attr(lo)} {attr(cy - 4)}V{attr(cy + 4)}"
            f'M{attr(hi)} {attr(cy - 4)}V{attr(cy + 4)}" stroke="{INK}" '
            f'stroke-width="1.2" fill="none"/>'
        )
    label = fmt_value(b.value, unit)
    label_x = max(x, sx(b.high) if b.high is not None else x) + 6
    w = text_width(label)
    if ref_x is not None and label_x - 3 <= ref_x <= label_x + w + 3:
        label_x = ref_x + 5  # never across the reference line
    out.append(text(min(label_x, width - w - 2), cy + 4, label, cls="value"))
    return out


def _reference(
    ref_x: float, label: str, top_pad: float, axis_y: float, plot_x0: float, width: float
) -> list[str]:
    """The dashed line of the total and its label above the bars."""
    half = text_width(label) / 2
    return [
        f'<line class="ref" x1="{attr(ref_x)}" x2="{attr(ref_x)}" y1="{attr(top_pad - 10)}" '
        f'y2="{attr(axis_y)}" stroke="{REFERENCE}" stroke-dasharray="4 3" '
        f'stroke-width="1.5"/>',
        text(
            min(max(ref_x, plot_x0 - 40 + half), width - half - 2),
            top_pad - 13,
            label,
            anchor="middle",
            cls="ref-label",
        ),
    ]


# --- Lines over an ordered axis (cohorts, deliveries) ---------------------------------------


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: Unit = "pct",
    width: float = 720,
    height: float = 280,
    y_max: float | None = None,
    notes: Sequence[str] = (),
    legend_rows: int = 0,
) -> Chart | None:
    """Lines with points (and interval whiskers when given); None when nothing to draw.

    ``notes`` are legend lines without a key (why a point is missing);
    ``legend_rows`` reserves at least that many legend rows, so that charts side by side
    have plots of the same height.

    A suppressed point is a hatched marker on the x-axis; a provisional one an open
    circle reached by a dashed segment. The legend sits under the axis.
    """
    values = [v for s in series for v in [*s.values, *s.highs] if v is not None]
    marks = sum(1 for s in series for v in s.values if v is not None)
    if not marks:
        return None
    n_supp = sum(1 for s in series for i in range(len(x_labels)) if s.is_suppressed(i))
    n_prov = sum(
        1 for s in series for i, v in enumerate(s.values) if v is not None and s.is_provisional(i)
    )
    single = len(series) == 1
    colours = [PRIMARY if single else PALETTE[k % len(PALETTE)] for k in range(len(series))]
    items = _line_legend(series, colours, n_prov, n_supp)
    items += [LegendItem(n, MUTED, "none") for n in notes if n]
    left, right = 52.0, 16.0
    axis_title = AXIS_UNIT.get(unit, "")
    top = 26.0  # room for the unit or the "voorlopig" label, the same for every chart
    leg_h = max(legend_height(items, width - left - right), LEGEND_ROW * legend_rows)
    plot_bottom = height - 40 - (leg_h + 6 if leg_h else 0)
    vmax = y_max if y_max is not None else value_max(values, unit)
    n = len(x_labels)
    step = (width - left - right) / max(n, 1)

    def sx(i: int) -> float:
        return left + step * (i + 0.5)

    def sy(v: float) -> float:
        return top + (plot_bottom - top) * (1 - max(0.0, min(v, vmax)) / vmax)

    out = open_svg(chart_id, "line", title, desc, width, height, marks)
    _svg_attrs(out, n_supp, n_prov)
    if single and n_prov:
        out += _provisional_band(series[0], sx, step, top, plot_bottom)
    for t in nice_ticks(vmax, 5):
        y = sy(t)
        out.append(
            f'<line class="grid" x1="{attr(left)}" x2="{attr(width - right)}" '
            f'y1="{attr(y)}" y2="{attr(y)}" stroke="{GRID}"/>'
        )
        out.append(text(left - 6, y + 4, tick_label(t, unit), anchor="end", cls="tick", tick=t))
    out += [text(4, top - 12, axis_title, cls="axis")] if axis_title else []
    out += _x_ticks(x_labels, sx, step, plot_bottom + 18)
    for k, (s, colour) in enumerate(zip(series, colours, strict=True)):
        out += _series_lines(s, colour, sx, sy)
        out += _series_points(s, colour, sx, sy, x_labels, unit)
        for i in range(n):
            if s.is_suppressed(i):
                tip = f"{s.name}, {_one_line(x_labels[i])}: {SUPPRESSED_MARK}"
                out.append(supp_marker(sx(i), plot_bottom - 7 - 12 * k, tip))
    out += legend(items, left, height - leg_h - 2, width - left - right)
    out.append("</svg>")
    legend_pairs = tuple((s.name, c) for s, c in zip(series, colours, strict=True))
    return Chart(chart_id, Markup("".join(out)), marks, "line", legend_pairs)


def _line_legend(
    series: Sequence[Series], colours: Sequence[str], n_prov: int, n_supp: int
) -> list[LegendItem]:
    """The series (when more than one), then what the open and hatched marks mean."""
    items = (
        []
        if len(series) == 1
        else [LegendItem(s.name, c) for s, c in zip(series, colours, strict=True)]
    )
    if n_prov:
        items.append(LegendItem(PROVISIONAL_LEGEND, MUTED, "open"))
    if n_supp:
        items.append(LegendItem(SUPPRESSED_LEGEND, MUTED, "supp"))
    return items


def _provisional_band(
    s: Series, sx: Callable[[int], float], step: float, top: float, bottom: float
) -> list[str]:
    """A light column behind the provisional points of a single series, labelled."""
    idx = [i for i, v in enumerate(s.values) if v is not None and s.is_provisional(i)]
    x0, x1 = sx(min(idx)) - step / 2, sx(max(idx)) + step / 2
    label_x = max((x0 + x1) / 2, 52 + text_width(PROVISIONAL_LABEL) / 2)
    return [
        f'<rect class="provisional-band" x="{attr(x0)}" y="{attr(top)}" '
        f'width="{attr(x1 - x0)}" height="{attr(bottom - top)}" fill="#f3f4f6"/>',
        text(
            min(label_x, x1 + 8 - text_width(PROVISIONAL_LABEL) / 2),
            top - 4,
            PROVISIONAL_LABEL,
            anchor="middle",
            cls="note provisional-label",
        ),
    ]


def _series_lines(
    s: Series, colour: str, sx: Callable[[int], float], sy: Callable[[float], float]
) -> list[str]:
    """The lines of a series: solid between final points, dashed into a provisional
    one, broken where a value is missing or suppressed."""
    out: list[str] = []
    solid: list[list[tuple[float, float]]] = [[]]
    vals = list(s.values)
    for i, v in enumerate(vals):
        if v is None:
            solid.append([])
            continue
        nxt = vals[i + 1] if i + 1 < len(vals) else None
        if s.is_provisional(i):
            solid.append([])
        else:
            solid[-1].append((sx(i), sy(v)))
        if nxt is not None and (s.is_provisional(i) or s.is_provisional(i + 1)):
            out.append(
                f'<path class="line provisional" d="M{attr(sx(i))} {attr(sy(v))}'
                f'L{attr(sx(i + 1))} {attr(sy(nxt))}" fill="none" stroke="{colour}" '
                f'stroke-width="2" stroke-dasharray="5 4"/>'
            )
    for seg in solid:
        if len(seg) > 1:
            d = "M" + "L".join(f"{attr(x)} {attr(y)}" for x, y in seg)
            out.append(
                f'<path class="line" d="{d}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    return out


def _series_points(
    s: Series,
    colour: str,
    sx: Callable[[int], float],
    sy: Callable[[float], float],
    x_labels: Sequence[str],
    unit: Unit,
) -> list[str]:
    """The points of a series (the data marks), each with its interval when given."""
    out: list[str] = []
    for i, v in enumerate(s.values):
        if v is None:
            continue
        lo = s.lows[i] if i < len(s.lows) else None
        hi = s.highs[i] if i < len(s.highs) else None
        if lo is not None and hi is not None:
            out.append(
                f'<path class="ci" d="M{attr(sx(i))} {attr(sy(lo))}V{attr(sy(hi))}" '
                f'stroke="{colour}" stroke-opacity="0.55" stroke-width="1.2"/>'
            )
        provisional = s.is_provisional(i)
        fill = "#fff" if provisional else colour
        cls = "point mark provisional" if provisional else "point mark"
        note = f" ({PROVISIONAL_LABEL})" if provisional else ""
        out.append(
            f'<circle class="{cls}" cx="{attr(sx(i))}" cy="{attr(sy(v))}" r="3.4" '
            f'fill="{fill}" stroke="{colour}" stroke-width="1.6" data-value="{data_value(v)}">'
            f"<title>{escape(s.name)}, {escape(_one_line(x_labels[i]))}: "
            f"{escape(fmt_value(v, unit))}{note}</title></circle>"
        )
    return out


def _one_line(label: str) -> str:
    """A two-line tick label ("K1\\n2022") as one line for a tooltip ("2022 K1")."""
    first, _, second = label.partition("\n")
    return f"{second} {first}" if second else first


def _x_ticks(labels: Sequence[str], sx: Callable[[int], float], step: float, y: float) -> list[str]:
    """The labels under an ordered axis, never touching each other.

    A label may have a second line after a newline ("K1\\n2022"): the second line is
    written once per run of equal values, centred under the run, so that a year is not
    repeated under each of its quarters. First lines are thinned to every k-th label,
    with k chosen from the widest label, so that neighbours keep ``TICK_GAP_PX`` apart.
    """
    firsts = [label.partition("\n")[0] for label in labels]
    seconds = [label.partition("\n")[2] for label in labels]
    widest = max((text_width(f) for f in firsts), default=0.0)
    every = max(1, math.ceil((widest + TICK_GAP_PX) / step)) if step > 0 else 1
    out: list[str] = []
    for i, words in enumerate(firsts):
        if i % every == 0:
            out.append(text(sx(i), y, words, anchor="middle", cls="tick"))
    runs: list[tuple[str, int, int]] = []
    for i, words in enumerate(seconds):
        if runs and runs[-1][0] == words:
            runs[-1] = (words, runs[-1][1], i)
        else:
            runs.append((words, i, i))
    last_right = -math.inf
    for words, a, b in runs:
        if not words:
            continue
        x = (sx(a) + sx(b)) / 2
        half = text_width(words) / 2
        if x - half < last_right + TICK_GAP_PX:
            continue
        out.append(text(x, y + 14, words, anchor="middle", cls="tick"))
        last_right = x + half
    return out
