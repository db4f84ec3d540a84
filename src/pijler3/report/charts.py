"""Inline SVG charts for the monitoring report (numbers are written by :mod:`.fmt`).

Pure functions: figures in, SVG markup out. No JavaScript, no external file, no font:
the text inherits the page's system font. Every chart is an ``<svg role="img">`` whose
``<title>`` and ``<desc>`` name it and say what it shows, and every data mark carries a
``data-value`` attribute, so that a browser test can check that each chart was drawn
with its data. Callers pass disclosure-controlled numbers only; a suppressed figure is
passed as ``None`` with ``suppressed=True`` and is drawn as a marked gap, never as a
value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from pijler3.report.fmt import NBSP, Unit, fmt_int, fmt_num, fmt_pct, fmt_value

SUPPRESSED = "x"

# A sober palette: one blue for single-series charts, then muted, distinguishable hues
# (after Okabe-Ito, darkened for contrast on white).
PRIMARY = "#2b5c8a"
BAR = "#6f97c0"  # lighter than PRIMARY, so that the dark interval whiskers stand out
REFERENCE = "#b45309"
MUTED = "#6b7280"
GRID = "#e5e7eb"
INK = "#1f2937"
PALETTE = (
    "#2b5c8a",
    "#c27c0e",
    "#2f855a",
    "#b83b5e",
    "#6b4fa0",
    "#2c8c99",
    "#8a5a2b",
    "#7c8a1f",
    "#c05299",
    "#4b5563",
    "#d97706",
    "#1e3a5f",
    "#9f1239",
    "#065f46",
    "#a16207",
    "#3730a3",
)


def _attr(x: float) -> str:
    """A coordinate for an SVG attribute: short, with a decimal point."""
    return f"{x:.1f}".removesuffix(".0")


def _data(x: float) -> str:
    """A data value for ``data-value``: full precision, machine-readable."""
    return repr(float(x))


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


@dataclass(frozen=True)
class Curve:
    name: str
    points: Sequence[tuple[float, float]]  # (day, cumulative share 0..1)


@dataclass(frozen=True)
class ForestRow:
    group: str
    label: str
    value: float
    low: float
    high: float
    significant: bool


@dataclass(frozen=True)
class Chart:
    """A drawn chart: its id, SVG markup, and how many data marks it holds."""

    chart_id: str
    svg: Markup
    marks: int
    kind: str
    legend: tuple[tuple[str, str], ...] = field(default=())


def _open(
    chart_id: str, kind: str, title: str, desc: str, width: float, height: float, marks: int
) -> list[str]:
    return [
        f'<svg class="chart chart-{kind}" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'viewBox="0 0 {_attr(width)} {_attr(height)}" '
        f'width="{_attr(width)}" height="{_attr(height)}" '
        f'data-marks="{marks}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    cls: str = "",
    size: float | None = None,
) -> str:
    extra = f' class="{cls}"' if cls else ""
    font = f' font-size="{_attr(size)}"' if size else ""
    return (
        f'<text x="{_attr(x)}" y="{_attr(y)}" text-anchor="{anchor}"{extra}{font}>'
        f"{escape(text)}</text>"
    )


def nice_max(x: float) -> float:
    """The smallest 1-2-2.5-5 x 10^k at or above ``x`` (for an axis maximum)."""
    if x <= 0:
        return 1.0
    exp = math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exp >= x - 1e-12:
            return float(m * 10**exp)
    return float(10 ** (exp + 1))


def _ticks(top: float, count: int = 5) -> list[float]:
    step = top / count
    return [step * i for i in range(count + 1)]


def _tick_label(x: float, unit: Unit) -> str:
    if unit == "pct":
        return f"{fmt_num(x * 100, 0)}{NBSP}%"
    if unit == "ratio":
        return fmt_num(x, 2 if x < 1 else 1)
    return fmt_int(round(x))


# --- Horizontal bars with interval whiskers ---------------------------------------------


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    *,
    unit: Unit = "pct",
    reference: float | None = None,
    reference_label: str = "totaal",
    width: float = 520,
    label_width: float = 170,
) -> Chart | None:
    """Horizontal bars with 95% interval whiskers; None when there is nothing to draw."""
    drawn = [b for b in bars if b.value is not None and not b.suppressed]
    if not drawn:
        return None
    row, top_pad, bottom_pad = 22.0, 26.0, 26.0
    height = top_pad + row * len(bars) + bottom_pad
    plot_x0, plot_x1 = label_width, width - 62
    if unit == "pct":
        vmax = 1.0
    else:
        highest = max(max(b.value or 0, b.high or 0) for b in drawn)
        vmax = nice_max(max(highest, reference or 0) * 1.05)

    def sx(v: float) -> float:
        return plot_x0 + (plot_x1 - plot_x0) * max(0.0, min(v, vmax)) / vmax

    out = _open(chart_id, "bar", title, desc, width, height, len(drawn))
    axis_y = top_pad + row * len(bars)
    for t in _ticks(vmax, 4 if unit == "pct" else 5):
        x = sx(t)
        out.append(
            f'<line class="grid" x1="{_attr(x)}" x2="{_attr(x)}" y1="{_attr(top_pad - 6)}" '
            f'y2="{_attr(axis_y)}" stroke="{GRID}"/>'
        )
        out.append(_text(x, axis_y + 16, _tick_label(t, unit), anchor="middle", cls="tick"))
    for i, b in enumerate(bars):
        y = top_pad + row * i
        cy = y + row / 2
        out.append(_text(plot_x0 - 8, cy + 4, b.label, anchor="end", cls="label"))
        if b.suppressed:
            out.append(
                f'<rect class="supp" x="{_attr(plot_x0)}" y="{_attr(y + 4)}" width="14" '
                f'height="{_attr(row - 8)}" fill="url(#hatch)" stroke="{MUTED}" '
                f'stroke-width="0.5"/>'
            )
            out.append(_text(plot_x0 + 20, cy + 4, "onderdrukt", cls="note"))
            continue
        if b.value is None:
            out.append(_text(plot_x0 + 4, cy + 4, b.note or "geen cijfer", cls="note"))
            continue
        x = sx(b.value)
        out.append(
            f'<rect class="bar mark" x="{_attr(plot_x0)}" y="{_attr(y + 4)}" '
            f'width="{_attr(max(x - plot_x0, 1))}" height="{_attr(row - 8)}" fill="{BAR}" '
            f'data-value="{_data(b.value)}"><title>{escape(b.label)}: '
            f"{escape(fmt_value(b.value, unit))}</title></rect>"
        )
        if b.low is not None and b.high is not None:
            lo, hi = sx(b.low), sx(b.high)
            out.append(
                f'<path class="ci" d="M{_attr(lo)} {_attr(cy)}H{_attr(hi)}'
                f"M{_attr(lo)} {_attr(cy - 4)}V{_attr(cy + 4)}"
                f'M{_attr(hi)} {_attr(cy - 4)}V{_attr(cy + 4)}" stroke="{INK}" '
                f'stroke-width="1.2" fill="none"/>'
            )
        label_x = max(x, sx(b.high) if b.high is not None else x) + 6
        out.append(_text(label_x, cy + 4, fmt_value(b.value, unit), cls="value"))
    if reference is not None:
        x = sx(reference)
        out.append(
            f'<line class="ref" x1="{_attr(x)}" x2="{_attr(x)}" y1="{_attr(top_pad - 10)}" '
            f'y2="{_attr(axis_y)}" stroke="{REFERENCE}" stroke-dasharray="4 3" '
            f'stroke-width="1.5"/>'
        )
        out.append(
            _text(
                x,
                top_pad - 13,
                f"{reference_label} {fmt_value(reference, unit)}",
                anchor="middle",
                cls="ref-label",
            )
        )
    out.append("</svg>")
    return Chart(chart_id, Markup("".join(out)), len(drawn), "bar")


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
) -> Chart | None:
    """Lines with points (and interval whiskers when given); None when nothing to draw."""
    values = [v for s in series for v in [*s.values, *s.highs] if v is not None]
    marks = sum(1 for s in series for v in s.values if v is not None)
    if not marks:
        return None
    left, right, bottom = 52.0, 16.0, 46.0
    top = (
        30.0 + 18 * math.ceil(len(series) / _per_row(series, width - 68))
        if len(series) > 1
        else 20.0
    )
    vmax = y_max if y_max is not None else nice_max(max(values) * 1.08)
    if unit == "pct" and y_max is None:
        vmax = min(1.0, nice_max(max(values) * 1.08))
    n = len(x_labels)
    step = (width - left - right) / max(n, 1)

    def sx(i: int) -> float:
        return left + step * (i + 0.5)

    def sy(v: float) -> float:
        return top + (height - top - bottom) * (1 - max(0.0, min(v, vmax)) / vmax)

    out = _open(chart_id, "line", title, desc, width, height, marks)
    for t in _ticks(vmax, 4):
        y = sy(t)
        out.append(
            f'<line class="grid" x1="{_attr(left)}" x2="{_attr(width - right)}" '
            f'y1="{_attr(y)}" y2="{_attr(y)}" stroke="{GRID}"/>'
        )
        out.append(_text(left - 6, y + 4, _tick_label(t, unit), anchor="end", cls="tick"))
    out += _x_ticks(x_labels, sx, step, height - bottom + 18)
    legend: list[tuple[str, str]] = []
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)] if len(series) > 1 else PRIMARY
        legend.append((s.name, colour))
        out += _series_lines(s, colour, sx, sy)
        out += _series_points(s, colour, sx, sy, x_labels, unit)
    out += _legend(legend, left, 18, width - left - right)
    out.append("</svg>")
    return Chart(chart_id, Markup("".join(out)), marks, "line", tuple(legend))


def _series_lines(
    s: Series, colour: str, sx: Callable[[int], float], sy: Callable[[float], float]
) -> list[str]:
    """The lines of a series, broken where a value is missing."""
    out: list[str] = []
    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(s.values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((sx(i), sy(v)))
    for seg in segments:
        if len(seg) > 1:
            d = "M" + "L".join(f"{_attr(x)} {_attr(y)}" for x, y in seg)
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
                f'<path class="ci" d="M{_attr(sx(i))} {_attr(sy(lo))}V{_attr(sy(hi))}" '
                f'stroke="{colour}" stroke-opacity="0.55" stroke-width="1.2"/>'
            )
        out.append(
            f'<circle class="point mark" cx="{_attr(sx(i))}" cy="{_attr(sy(v))}" r="3.2" '
            f'fill="{colour}" data-value="{_data(v)}"><title>{escape(s.name)}, '
            f"{escape(_one_line(x_labels[i]))}: {escape(fmt_value(v, unit))}</title></circle>"
        )
    return out


TICK_CHAR_PX = 6.6  # a generous average width of a character of the 11 px tick labels
TICK_GAP_PX = 10.0  # the least room between two tick labels


def _text_width(text: str) -> float:
    return len(text) * TICK_CHAR_PX


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
    widest = max((_text_width(f) for f in firsts), default=0.0)
    every = max(1, math.ceil((widest + TICK_GAP_PX) / step)) if step > 0 else 1
    out: list[str] = []
    for i, text in enumerate(firsts):
        if i % every == 0:
            out.append(_text(sx(i), y, text, anchor="middle", cls="tick"))
    runs: list[tuple[str, int, int]] = []
    for i, text in enumerate(seconds):
        if runs and runs[-1][0] == text:
            runs[-1] = (text, runs[-1][1], i)
        else:
            runs.append((text, i, i))
    last_right = -math.inf
    for text, a, b in runs:
        if not text:
            continue
        x = (sx(a) + sx(b)) / 2
        half = _text_width(text) / 2
        if x - half < last_right + TICK_GAP_PX:
            continue
        out.append(_text(x, y + 14, text, anchor="middle", cls="tick"))
        last_right = x + half
    return out


def _per_row(items: Sequence[Series] | Sequence[Curve], span: float) -> int:
    longest = max((len(i.name) for i in items), default=1)
    return max(1, min(4, int(span // (longest * 6.5 + 30))))


def _legend(items: Sequence[tuple[str, str]], x0: float, y0: float, span: float) -> list[str]:
    if len(items) < 2:
        return []
    out: list[str] = []
    # As many entries per row as the longest name allows (about 6.5 px per character).
    longest = max(len(name) for name, _ in items)
    per_row = max(1, min(4, int(span // (longest * 6.5 + 30))))  # as _per_row
    col = span / per_row
    for i, (name, colour) in enumerate(items):
        x = x0 + col * (i % per_row)
        y = y0 + 18 * (i // per_row)
        out.append(
            f'<rect x="{_attr(x)}" y="{_attr(y - 9)}" width="12" height="4" '
            f'fill="{colour}" rx="1"/>'
        )
        out.append(_text(x + 17, y - 4, name, cls="legend"))
    return out


# --- Kaplan-Meier: cumulative share over time --------------------------------------------


def step_chart(
    chart_id: str,
    title: str,
    desc: str,
    curves: Sequence[Curve],
    *,
    x_max: float,
    x_label: str = "dagen na het inburgeringscontract",
    width: float = 720,
    height: float = 320,
) -> Chart | None:
    """Step curves of a cumulative share (1 - Kaplan-Meier survival); None when empty."""
    drawn = [c for c in curves if len(c.points) > 1]
    if not drawn:
        return None
    left, right, bottom = 52.0, 16.0, 46.0
    top = (
        30.0 + 18 * math.ceil(len(drawn) / _per_row(drawn, width - 68)) if len(drawn) > 1 else 20.0
    )
    x_max = max(x_max, 1.0)
    y_top = min(1.0, nice_max(max(y for c in drawn for _, y in c.points) * 1.05))

    def sx(d: float) -> float:
        return left + (width - left - right) * min(d, x_max) / x_max

    def sy(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / y_top)

    out = _open(chart_id, "km", title, desc, width, height, len(drawn))
    for t in _ticks(y_top, 4):
        y = sy(t)
        out.append(
            f'<line class="grid" x1="{_attr(left)}" x2="{_attr(width - right)}" '
            f'y1="{_attr(y)}" y2="{_attr(y)}" stroke="{GRID}"/>'
        )
        out.append(_text(left - 6, y + 4, _tick_label(t, "pct"), anchor="end", cls="tick"))
    x_step = nice_max(x_max / 6)
    d = 0.0
    while d <= x_max + 1e-9:
        out.append(
            _text(sx(d), height - bottom + 18, fmt_int(round(d)), anchor="middle", cls="tick")
        )
        d += x_step
    out.append(_text((left + width - right) / 2, height - 8, x_label, anchor="middle", cls="axis"))
    legend: list[tuple[str, str]] = []
    for k, c in enumerate(drawn):
        colour = PALETTE[k % len(PALETTE)] if len(drawn) > 1 else PRIMARY
        legend.append((c.name, colour))
        path = [f"M{_attr(sx(c.points[0][0]))} {_attr(sy(c.points[0][1]))}"]
        for day, share in c.points[1:]:
            path.append(f"H{_attr(sx(day))}V{_attr(sy(share))}")
        last_day, last_share = c.points[-1]
        out.append(
            f'<path class="curve mark" d="{"".join(path)}" fill="none" stroke="{colour}" '
            f'stroke-width="2" data-value="{_data(last_share)}" data-series="{escape(c.name)}">'
            f"<title>{escape(c.name)}: {escape(fmt_pct(last_share))} na "
            f"{escape(fmt_int(round(last_day)))} dagen</title></path>"
        )
    out += _legend(legend, left, 18, width - left - right)
    out.append("</svg>")
    return Chart(chart_id, Markup("".join(out)), len(drawn), "km", tuple(legend))


# --- Forest plot of odds ratios ------------------------------------------------------------


def forest_plot(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[ForestRow],
    *,
    width: float = 720,
    label_width: float = 250,
) -> Chart | None:
    """Odds ratios with 95% intervals on a log scale, grouped; None when there are none."""
    if not rows:
        return None
    lines: list[tuple[str, ForestRow | None]] = []
    group = None
    for r in rows:
        if r.group != group:
            lines.append((r.group, None))
            group = r.group
        lines.append((r.label, r))
    row, top, bottom = 19.0, 14.0, 40.0
    height = top + row * len(lines) + bottom
    lo = min(min(r.low for r in rows), 0.9)
    hi = max(max(r.high for r in rows), 1.1)
    lo_t = 2.0 ** math.floor(math.log2(lo))
    hi_t = 2.0 ** math.ceil(math.log2(hi))
    x0, x1 = label_width, width - 70

    def sx(v: float) -> float:
        return x0 + (x1 - x0) * (math.log(v) - math.log(lo_t)) / (math.log(hi_t) - math.log(lo_t))

    out = _open(chart_id, "forest", title, desc, width, height, len(rows))
    axis_y = top + row * len(lines)
    t = lo_t
    while t <= hi_t * 1.0001:
        x = sx(t)
        out.append(
            f'<line class="grid" x1="{_attr(x)}" x2="{_attr(x)}" y1="{_attr(top)}" '
            f'y2="{_attr(axis_y)}" stroke="{GRID}"/>'
        )
        out.append(_text(x, axis_y + 16, _tick_label(t, "ratio"), anchor="middle", cls="tick"))
        t *= 2
    one = sx(1.0)
    out.append(
        f'<line class="ref" x1="{_attr(one)}" x2="{_attr(one)}" y1="{_attr(top)}" '
        f'y2="{_attr(axis_y)}" stroke="{INK}" stroke-width="1"/>'
    )
    out.append(
        _text(one - 6, axis_y + 32, "◀ minder vaak", anchor="end", cls="axis")
        + _text(one + 6, axis_y + 32, "vaker ▶", cls="axis")
    )
    for i, (label, maybe) in enumerate(lines):
        cy = top + row * i + row / 2
        if maybe is None:
            out.append(_text(8, cy + 4, label, cls="group"))
            continue
        r = maybe
        out.append(_text(x0 - 8, cy + 4, label, anchor="end", cls="label"))
        colour = PRIMARY if r.significant else MUTED
        out.append(
            f'<path class="ci" d="M{_attr(sx(r.low))} {_attr(cy)}H{_attr(sx(r.high))}" '
            f'stroke="{colour}" stroke-width="1.4"/>'
        )
        fill = colour if r.significant else "#ffffff"
        out.append(
            f'<rect class="point mark" x="{_attr(sx(r.value) - 4)}" y="{_attr(cy - 4)}" '
            f'width="8" height="8" fill="{fill}" stroke="{colour}" stroke-width="1.4" '
            f'data-value="{_data(r.value)}"><title>{escape(label)}: OR '
            f"{escape(fmt_num(r.value, 2))} ({escape(fmt_num(r.low, 2))}–"
            f"{escape(fmt_num(r.high, 2))})</title></rect>"
        )
        out.append(_text(x1 + 8, cy + 4, fmt_num(r.value, 2), cls="value"))
    out.append("</svg>")
    return Chart(chart_id, Markup("".join(out)), len(rows), "forest")


HATCH_DEFS = Markup(
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false">'
    '<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="5" height="5" '
    'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="#9ca3af" '
    'stroke-width="2"/></pattern></defs></svg>'
)
