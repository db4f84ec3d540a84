"""The charts' honesty rules, on the SVG itself (the browser test checks the layout):
suppressed and provisional points drawn and named in the legend, nice ticks, which
cohorts are provisional, and the Kaplan-Meier band against its textbook formula."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from pijler3.report import chart_inputs, charts
from pijler3.report.charts_axes import log_ticks, nice_max, nice_ticks
from pijler3.report.data import _band


@pytest.mark.parametrize("top", [0.07, 0.38, 0.62, 0.97, 1.0, 12.0, 547.0, 1650.0, 38_000.0])
def test_ticks_step_by_one_two_or_five(top: float) -> None:
    """From 0 in equal steps of 1, 2 or 5 x 10^k, ending at or just above the maximum."""
    axis = nice_max(top)
    ticks = nice_ticks(axis)
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert ticks[0] == 0 and any(math.isclose(mantissa, m) for m in (1, 2, 5))
    assert all(math.isclose(b - a, step) for a, b in itertools.pairwise(ticks))
    assert ticks[-1] >= top and ticks[-1] - step < top and 3 <= len(ticks) <= 6


def test_log_ticks_are_the_one_two_five_sequence() -> None:
    assert log_ticks(0.31, 1.1) == [0.2, 0.5, 1.0, 2.0]
    assert log_ticks(0.9, 3.4) == [0.5, 1.0, 2.0, 5.0]


def test_cohort_ends_and_provisional_cohorts_by_hand() -> None:
    """Peildatum 30/09/2026. Registration within 60 days: 2026-Q3 ends 30/09, so its
    window closes after the peildatum; 2026-Q2 ends 30/06 + 60 = 29/08, final. Work
    within 182 days: 2026-Q1 ends 31/03 + 182 = 29/09, final; 2026-Q2 provisional.
    Without a window (referral) only the newest cohort."""
    assert chart_inputs.cohort_end("2022-Q4") == dt.date(2022, 12, 31)
    assert chart_inputs.cohort_end("2024-Q1") == dt.date(2024, 3, 31)
    assert chart_inputs.cohort_end("onbekend") is None
    peil = dt.date(2026, 9, 30)
    cats = ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert chart_inputs.provisional("inschrijving_60d", cats, peil) == [F, F, F, T]
    assert chart_inputs.provisional("werk_6m", cats, peil) == [F, F, T, T]
    assert chart_inputs.provisional("werk_12m", cats, peil) == [T, T, T, T]
    assert chart_inputs.provisional("toeleiding", cats, peil) == [F, F, F, T]


T, F = True, False


def test_km_band_is_the_log_minus_log_interval() -> None:
    """The band of 1 - S from statsmodels' Greenwood standard error, checked against
    the textbook log(-log) interval exp(-exp(log(-log S) -/+ z se / (S log S)))."""
    rng = np.random.default_rng(5)
    time = rng.integers(1, 200, 300)
    status = (rng.random(300) < 0.7).astype(float)
    fit = SurvfuncRight(time, status)
    z = 1.959963984540054
    for s, se in list(zip(fit.surv_prob, fit.surv_prob_se, strict=True))[5:-5:20]:
        low, high = _band(float(s), float(se))
        theta = math.log(-math.log(s))
        w = z * se / (s * math.log(s))
        s_lo, s_hi = math.exp(-math.exp(theta - w)), math.exp(-math.exp(theta + w))
        assert (low, high) == pytest.approx((1 - max(s_lo, s_hi), 1 - min(s_lo, s_hi)))
        assert low <= 1 - s <= high
    assert _band(1.0, 0.0) == (0.0, 0.0)


def _bars(label: str = "B") -> list[charts.Bar]:
    return [
        charts.Bar("A", 0.42, 0.40, 0.44),
        charts.Bar(label, None, suppressed=True),
        charts.Bar("C", 0.40, 0.30, 0.45),
    ]


def test_bar_chart_draws_and_names_a_suppressed_bar() -> None:
    chart = charts.bar_chart("b", "t", "d", _bars(), reference=0.46)
    assert chart is not None
    assert chart.svg.count('class="supp-mark"') == 1
    assert 'data-suppressed="1"' in chart.svg
    assert "onderdrukt (kleine aantallen)</text>" in chart.svg
    no_supp = charts.bar_chart("b", "t", "d", [_bars()[0]], reference=0.46)
    assert no_supp is not None and "supp-mark" not in no_supp.svg
    assert "onderdrukt" not in no_supp.svg


def test_value_label_never_crosses_the_total_line() -> None:
    """Bar C ends (with its whisker) just left of the total: its label starts right of it."""
    chart = charts.bar_chart("b", "t", "d", _bars(), reference=0.46, v_max=1.0)
    assert chart is not None
    ref_x = float(re.search(r'class="ref" x1="([\d.]+)"', chart.svg).group(1))  # type: ignore[union-attr]
    label_x = float(re.search(r'<text x="([\d.]+)"[^>]*class="value">40,0', chart.svg).group(1))  # type: ignore[union-attr]
    assert label_x > ref_x


def test_line_chart_marks_provisional_and_suppressed_points() -> None:
    series = charts.Series(
        "s",
        [0.5, None, 0.52, 0.3],
        suppressed=[False, True, False, False],
        provisional=[False, False, False, True],
    )
    chart = charts.line_chart("l", "t", "d", ["a", "b", "c", "d"], [series])
    assert chart is not None
    assert chart.svg.count('class="supp-mark"') == 1
    assert chart.svg.count('class="point mark provisional"') == 1
    assert chart.svg.count('class="line provisional"') == 1  # the segment from c to d
    assert "voorlopig (opvolging loopt nog)</text>" in chart.svg
    assert "onderdrukt (kleine aantallen)</text>" in chart.svg
    assert 'class="note provisional-label">voorlopig</text>' in chart.svg


def test_km_chart_keeps_a_panel_for_a_suppressed_group() -> None:
    curve = charts.Curve("A", [(0, 0.0), (10, 0.3), (90, 0.6)], [(0, 0, 0), (10, 0.2, 0.4)])
    chart = charts.km_chart("k", "t", "d", [curve], x_max=365, suppressed=["B"])
    assert chart is not None
    assert chart.svg.count('class="supp-mark"') == 1
    assert 'class="band"' in chart.svg and "60 dagen</text>" in chart.svg
    assert "onderdrukt (kleine aantallen)</text>" in chart.svg
