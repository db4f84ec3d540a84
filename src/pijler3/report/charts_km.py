"""Kaplan-Meier charts: the cumulative share with an event (1 - survival) over the days
after the contract, with its pointwise 95% band and a reference line at 60 days.

One curve (the whole population) is one large panel. A breakdown is drawn as small
multiples: a panel per category, the category's curve and band in blue over the whole
population's curve in grey, all panels on the same scales, so that many groups can be
compared without a legend of nine colours. A category whose curve disclosure control
hides (fewer people than rule 4 allows from the start) keeps its panel, with the
suppression mark and the word "onderdrukt".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pijler3.contract import words
from pijler3.report.charts_axes import (
    BAND,
    BAND_LEGEND,
    GRID,
    GROUP_LEGEND,
    KM_AXIS,
    MUTED,
    PRIMARY,
    REFERENCE,
    SUPPRESSED_LEGEND,
    SUPPRESSED_MARK,
    Chart,
    LegendItem,
    attr,
    data_value,
    legend,
    legend_height,
    nice_step,
    nice_ticks,
    open_svg,
    share_max,
    supp_marker,
    text,
    text_width,
    tick_label,
)
from pijler3.report.fmt import fmt_int, fmt_pct

REFERENCE_DAY = 60  # the 60-day rule of the protocol


@dataclass(frozen=True)
class Curve:
    name: str
    points: Sequence[tuple[float, float]]  # (day, cumulative share 0..1)
    # (day, low, high) of the pointwise 95% band, on the same days; empty: no band.
    band: Sequence[tuple[float, float, float]] = ()


@dataclass(frozen=True)
class _Frame:
    """One panel's plotting area and scales."""

    x0: float
    y0: float
    w: float
    h: float
    x_max: float
    y_top: float

    def sx(self, d: float) -> float:
        return self.x0 + self.w * min(d, self.x_max) / self.x_max

    def sy(self, v: float) -> float:
        return self.y0 + self.h * (1 - min(v, self.y_top) / self.y_top)


def km_chart(
    chart_id: str,
    title: str,
    desc: str,
    curves: Sequence[Curve],
    *,
    x_max: float,
    total: Curve | None = None,
    suppressed: Sequence[str] = (),
    x_label: str = KM_AXIS,
    width: float = 720,
    height: float = 300,
) -> Chart | None:
    """The curves of a breakdown (small multiples) or of the whole population (one panel);
    None when there is nothing to draw."""
    drawn = [c for c in curves if len(c.points) > 1]
    if not drawn:
        return None
    x_max = max(x_max, 1.0)
    highest = max(
        [y for c in drawn for _, y in c.points]
        + [h for c in drawn for _, _, h in c.band]
        + ([y for _, y in total.points] if total else [])
    )
    y_top = share_max(highest * 1.04)
    single = len(drawn) == 1 and not suppressed
    items = [LegendItem(drawn[0].name if single else GROUP_LEGEND, PRIMARY, "line")]
    if any(c.band for c in drawn):
        items.append(LegendItem(BAND_LEGEND, BAND, "band"))
    if total is not None and not single:
        items.append(LegendItem(total.name, MUTED, "line"))
    items.append(
        LegendItem(words.sentence("chart", "reference_day", days=REFERENCE_DAY), REFERENCE, "ref")
    )
    if suppressed:
        items.append(LegendItem(SUPPRESSED_LEGEND, MUTED, "supp"))
    leg_h = legend_height(items, width - 16)
    out: list[str] = []
    if single:
        frame = _Frame(52, 22, width - 52 - 16, height - 22 - 48, x_max, y_top)
        out += _panel(frame, drawn[0], None, big=True)
        out.append(
            text(
                frame.x0 + frame.w / 2,
                frame.y0 + frame.h + 38,
                x_label,
                anchor="middle",
                cls="axis",
            )
        )
        legend_y = height
        height += leg_h
    else:
        cols = 3
        pw, ph = width / cols, 172.0
        names = [*(c.name for c in drawn), *suppressed]
        rows = math.ceil(len(names) / cols)
        height = ph * rows + 30 + leg_h
        by_name = {c.name: c for c in drawn}
        for k, name in enumerate(names):
            px, py = pw * (k % cols), ph * (k // cols)
            frame = _Frame(px + 44, py + 24, pw - 44 - 14, ph - 24 - 40, x_max, y_top)
            out.append(text(px + 44, py + 14, _fit(name, pw - 50), cls="panel-title"))
            curve = by_name.get(name)
            if curve is None:
                out += _suppressed_panel(frame, name)
            else:
                out += _panel(frame, curve, total, big=False)
        out.append(text(width / 2, ph * rows + 14, x_label, anchor="middle", cls="axis"))
        legend_y = ph * rows + 26
    svg = open_svg(chart_id, "km", title, desc, width, height, len(drawn))
    svg[0] = svg[0].replace(
        " data-marks=", f' data-suppressed="{len(suppressed)}" data-provisional="0" data-marks=', 1
    )
    svg += out
    svg += legend(items, 8, legend_y, width - 16)
    svg.append("</svg>")
    return Chart(chart_id, Markup("".join(svg)), len(drawn), "km", ((items[0].name, PRIMARY),))


def _fit(name: str, room: float) -> str:
    """A panel title shortened with an ellipsis to the room it has."""
    most = int(room // text_width("m"))
    return name if len(name) <= most else name[: max(1, most - 1)] + "…"


def _axes(f: _Frame, *, big: bool) -> list[str]:
    out: list[str] = []
    for t in nice_ticks(f.y_top, 5 if big else 2):
        y = f.sy(t)
        out.append(
            f'<line class="grid" x1="{attr(f.x0)}" x2="{attr(f.x0 + f.w)}" '
            f'y1="{attr(y)}" y2="{attr(y)}" stroke="{GRID}"/>'
        )
        out.append(text(f.x0 - 5, y + 4, tick_label(t, "pct"), anchor="end", cls="tick", tick=t))
    step = nice_step(f.x_max, 6 if big else 4)
    d = 0.0
    while d <= f.x_max + 1e-9:
        out.append(
            text(f.sx(d), f.y0 + f.h + 15, fmt_int(round(d)), anchor="middle", cls="tick", tick=d)
        )
        d += step
    x60 = f.sx(REFERENCE_DAY)
    out.append(
        f'<line class="ref" x1="{attr(x60)}" x2="{attr(x60)}" y1="{attr(f.y0)}" '
        f'y2="{attr(f.y0 + f.h)}" stroke="{REFERENCE}" stroke-width="1.2" '
        f'stroke-dasharray="4 3"/>'
    )
    return out


def _steps(points: Sequence[tuple[float, float]], f: _Frame) -> str:
    path = [f"M{attr(f.sx(points[0][0]))} {attr(f.sy(points[0][1]))}"]
    for day, share in points[1:]:
        path.append(f"H{attr(f.sx(day))}V{attr(f.sy(share))}")
    return "".join(path)


def _band(band: Sequence[tuple[float, float, float]], f: _Frame) -> str:
    """The band between the step functions of its lows and highs."""
    upper = _steps([(d, h) for d, _, h in band], f)
    lower: list[str] = []
    rev = list(reversed(band))
    for (d, lo, _), (d_prev, _, _) in zip(rev, [*rev[1:], rev[-1]], strict=True):
        lower.append(f"L{attr(f.sx(d))} {attr(f.sy(lo))}H{attr(f.sx(d_prev))}")
    return upper + "".join(lower) + "Z"


def _panel(f: _Frame, c: Curve, total: Curve | None, *, big: bool) -> list[str]:
    out = _axes(f, big=big)
    if c.band:
        out.append(
            f'<path class="band" d="{_band(c.band, f)}" fill="{BAND}" fill-opacity="0.18" '
            f'stroke="none"/>'
        )
    if total is not None and len(total.points) > 1:
        out.append(
            f'<path class="curve-total" d="{_steps(total.points, f)}" fill="none" '
            f'stroke="{MUTED}" stroke-width="1.3"/>'
        )
    last_day, last_share = c.points[-1]
    out.append(
        f'<path class="curve mark" d="{_steps(c.points, f)}" fill="none" stroke="{PRIMARY}" '
        f'stroke-width="{2 if big else 1.8}" data-value="{data_value(last_share)}" '
        f'data-series="{escape(c.name)}"><title>{escape(c.name)}: {escape(fmt_pct(last_share))} '
        f"na {escape(fmt_int(round(last_day)))} dagen</title></path>"
    )
    return out


def _suppressed_panel(f: _Frame, name: str) -> list[str]:
    return [
        f'<rect x="{attr(f.x0)}" y="{attr(f.y0)}" width="{attr(f.w)}" height="{attr(f.h)}" '
        f'fill="none" stroke="{GRID}"/>',
        supp_marker(f.x0 + f.w / 2 - 38, f.y0 + f.h / 2, f"{name}: {SUPPRESSED_MARK}"),
        text(f.x0 + f.w / 2 - 28, f.y0 + f.h / 2 + 4, SUPPRESSED_MARK, cls="note"),
    ]
