"""The forest plot of the disparities models: adjusted odds ratios with their 95%
intervals on a log scale, grouped by profile characteristic, with a legend that says
what a filled and an open square mean."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pijler3.report.charts_axes import (
    GRID,
    INK,
    LESS_OFTEN,
    MORE_OFTEN,
    MUTED,
    NOT_SIGNIFICANT,
    PRIMARY,
    SIGNIFICANT,
    Chart,
    LegendItem,
    attr,
    data_value,
    legend,
    legend_height,
    log_ticks,
    open_svg,
    text,
    tick_label,
)
from pijler3.report.fmt import fmt_num


@dataclass(frozen=True)
class ForestRow:
    group: str
    label: str
    value: float
    low: float
    high: float
    significant: bool


def forest_plot(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[ForestRow],
    *,
    width: float = 720,
    label_width: float = 250,
    significant_label: str = SIGNIFICANT,
    other_label: str = NOT_SIGNIFICANT,
) -> Chart | None:
    """Odds ratios with 95% intervals on a log scale, grouped; None when there are none.
    The legend under the axis says what a filled and an open square mean."""
    if not rows:
        return None
    lines: list[tuple[str, ForestRow | None]] = []
    group = None
    for r in rows:
        if r.group != group:
            lines.append((r.group, None))
            group = r.group
        lines.append((r.label, r))
    items = [
        LegendItem(significant_label, PRIMARY, "square"),
        LegendItem(other_label, MUTED, "opensquare"),
    ]
    row, top = 19.0, 14.0
    axis_y = top + row * len(lines)
    height = axis_y + 44 + legend_height(items, width - 16) + 4
    ticks = log_ticks(min(min(r.low for r in rows), 0.9), max(max(r.high for r in rows), 1.1))
    lo_t, hi_t = ticks[0], ticks[-1]
    x0, x1 = label_width, width - 70

    def sx(v: float) -> float:
        return x0 + (x1 - x0) * (math.log(v) - math.log(lo_t)) / (math.log(hi_t) - math.log(lo_t))

    out = open_svg(chart_id, "forest", title, desc, width, height, len(rows))
    out[0] = out[0].replace(
        " data-marks=", ' data-suppressed="0" data-provisional="0" data-marks=', 1
    )
    for t in ticks:
        x = sx(t)
        out.append(
            f'<line class="grid" x1="{attr(x)}" x2="{attr(x)}" y1="{attr(top)}" '
            f'y2="{attr(axis_y)}" stroke="{GRID}"/>'
        )
        out.append(
            text(x, axis_y + 16, tick_label(t, "ratio"), anchor="middle", cls="tick", tick=t)
        )
    one = sx(1.0)
    out.append(
        f'<line class="ref" x1="{attr(one)}" x2="{attr(one)}" y1="{attr(top)}" '
        f'y2="{attr(axis_y)}" stroke="{INK}" stroke-width="1"/>'
    )
    out.append(
        text(one - 6, axis_y + 32, LESS_OFTEN, anchor="end", cls="axis")
        + text(one + 6, axis_y + 32, MORE_OFTEN, cls="axis")
    )
    for i, (label, maybe) in enumerate(lines):
        cy = top + row * i + row / 2
        if maybe is None:
            out.append(text(8, cy + 4, label, cls="group"))
            continue
        r = maybe
        out.append(text(x0 - 8, cy + 4, label, anchor="end", cls="label"))
        colour = PRIMARY if r.significant else MUTED
        out.append(
            f'<path class="ci" d="M{attr(sx(r.low))} {attr(cy)}H{attr(sx(r.high))}" '
            f'stroke="{colour}" stroke-width="1.4"/>'
        )
        fill = colour if r.significant else "#ffffff"
        out.append(
            f'<rect class="point mark" x="{attr(sx(r.value) - 4)}" y="{attr(cy - 4)}" '
            f'width="8" height="8" fill="{fill}" stroke="{colour}" stroke-width="1.4" '
            f'data-value="{data_value(r.value)}"><title>{escape(label)}: OR '
            f"{escape(fmt_num(r.value, 2))} ({escape(fmt_num(r.low, 2))}–"
            f"{escape(fmt_num(r.high, 2))})</title></rect>"
        )
        out.append(text(x1 + 8, cy + 4, fmt_num(r.value, 2), cls="value"))
    out += legend(items, 8, axis_y + 44, width - 16)
    out.append("</svg>")
    return Chart(chart_id, Markup("".join(out)), len(rows), "forest")
