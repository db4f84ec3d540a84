"""Kaplan-Meier fits for the median indicators and the curves, with statsmodels.

:func:`kaplan_meier` is statsmodels' ``SurvfuncRight`` on one row per person, with its
defaults: the median and its Brookmeyer-Crowley interval (cloglog), and the curve.
:func:`kaplan_meier_counts` gives the very same fit, bit for bit, from counts per day
(statsmodels again, with frequency weights), which is what the indicator table uses: a
delivery has a million rows but at most a few thousand distinct days, and every
breakdown category needs its own fit.

Where INDICATORS.md leaves a choice open: a Kaplan-Meier interval bound that statsmodels
reports as infinite (the interval runs past the last event) is left empty, like a median
the curve does not reach.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

if TYPE_CHECKING:
    from statsmodels.duration.survfunc import SurvfuncRight


@dataclass(frozen=True)
class KaplanMeier:
    """One Kaplan-Meier fit: the median and its interval (None when not reached), the curve."""

    n: int
    events: int
    median: float | None
    ci_low: float | None
    ci_high: float | None
    times: tuple[int, ...]
    survival: tuple[float, ...]
    at_risk: tuple[int, ...]
    # Greenwood's standard error of the survival at each time (NaN where undefined, so
    # left out of ==: NaN is never equal to itself).
    survival_se: tuple[float, ...] = field(default=(), compare=False)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def kaplan_meier(time: npt.ArrayLike, status: npt.ArrayLike) -> KaplanMeier:
    """statsmodels' ``SurvfuncRight`` with its defaults: median, Brookmeyer-Crowley interval.

    ``status`` is 1 for an observed event and 0 for a row censored at ``time``. This is the
    straightforward fit on one row per person; the table uses :func:`kaplan_meier_counts`,
    which gives the same numbers from counts (``tests/test_indicators.py`` checks that).
    """
    # Imported here: statsmodels takes a second to import (see kaplan_meier_counts).
    from statsmodels.duration.survfunc import SurvfuncRight

    # Whole days as integers: np.unique inside statsmodels sorts them faster than floats.
    t = np.asarray(time, dtype=np.int64)
    s = np.asarray(status, dtype=np.float64)
    if len(t) == 0:
        return KaplanMeier(0, 0, None, None, None, (), (), ())
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # A curve that reaches zero makes cloglog's log(0) warn; those times are simply
        # never inside the interval, which is the behaviour we want.
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = SurvfuncRight(t, s)
    return _summarise(fit, len(t), int(s.sum()))


def kaplan_meier_counts(
    time: npt.ArrayLike, events: npt.ArrayLike, total: npt.ArrayLike
) -> KaplanMeier:
    """The fit of :func:`kaplan_meier` from counts: at each distinct ``time`` (ascending,
    whole days), ``events`` observed events among ``total`` rows (the rest censored there).

    The counts go to ``SurvfuncRight`` as one row per (day, status) with its count as
    ``freq_weights``. That gives the curve, the risk sets and the events of the fit on
    rows exactly (the same integer sums, so the same floating-point numbers), but with
    weights statsmodels switches the curve's standard error from Greenwood's formula to
    Tsiatis', which changes ``quantile_ci``. So Greenwood's standard error, which the fit
    on rows uses, is put in its place (:func:`_greenwood_se`) before statsmodels' own
    ``quantile`` and ``quantile_ci`` are applied; ``tests/test_fast_paths.py`` checks
    that every number is bit for bit the one of the fit on rows.
    """
    days = np.asarray(time, dtype=np.int64)
    hits = np.asarray(events, dtype=np.int64)
    rows = np.asarray(total, dtype=np.int64)
    if len(days) == 0 or rows.sum() == 0:
        return KaplanMeier(0, 0, None, None, None, (), (), ())
    censored = rows - hits
    with_events, with_censored = hits > 0, censored > 0
    t = np.concatenate([days[with_events], days[with_censored]])
    status = np.concatenate([np.ones(with_events.sum()), np.zeros(with_censored.sum())])
    weights = np.concatenate([hits[with_events], censored[with_censored]]).astype(np.float64)
    # Imported here: statsmodels takes a second to import, which a step without a fit
    # (or a report without a delivery) does not need to pay.
    from statsmodels.duration.survfunc import SurvfuncRight

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = SurvfuncRight(t, status, freq_weights=weights)
        fit.surv_prob_se = _greenwood_se(fit.surv_prob, fit.n_risk, fit.n_events)
    return _summarise(fit, int(rows.sum()), int(hits.sum()))


def _greenwood_se(
    surv: npt.NDArray[np.float64], at_risk: npt.NDArray[np.int64], deaths: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Greenwood's standard error of a Kaplan-Meier curve, ``S(t) * sqrt(sum d / (n (n - d)))``.

    Written as statsmodels writes it for unweighted data, operation for operation, so
    that the numbers are the same to the last bit: undefined (NaN) from the first time
    everyone at risk has the event on, and NaN where the curve is zero.
    """
    n, d = at_risk, deaths
    term = d / np.clip(n * (n - d), 1e-12, np.inf).astype(np.float64)
    term[(n == d) | (n == 0)] = np.nan
    se: npt.NDArray[np.float64] = np.sqrt(np.cumsum(term))
    defined = np.isfinite(se) | (surv != 0)
    se[defined] *= surv[defined]
    se[~defined] = np.nan
    return se


def _summarise(fit: SurvfuncRight, n: int, events: int) -> KaplanMeier:
    """Median, interval and curve of a fit, with statsmodels' defaults."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        median = fit.quantile(0.5)
        low, high = fit.quantile_ci(0.5)
    reached = np.isfinite(median)
    return KaplanMeier(
        n=n,
        events=events,
        median=float(median) if reached else None,
        ci_low=_finite(low) if reached else None,
        ci_high=_finite(high) if reached else None,
        times=tuple(int(x) for x in fit.surv_times),
        survival=tuple(float(x) for x in fit.surv_prob),
        at_risk=tuple(int(x) for x in fit.n_risk),
        survival_se=tuple(float(x) for x in fit.surv_prob_se),
    )


# Per event: each row's cell of a (day x status) table (2 x its day since the earliest,
# plus 1 for an observed event), the number of days spanned and the earliest day.
EventTimes = Mapping[str, tuple[npt.NDArray[np.int64], int, int]]


def event_times(population: pl.DataFrame, events: Sequence[str]) -> EventTimes:
    """The columns ``_time_<event>`` and ``_status_<event>`` of ``population`` as
    :data:`EventTimes`, read once for every breakdown's fits."""
    out = {}
    for event in events:
        time = population[f"_time_{event}"].to_numpy().astype(np.int64)
        status = population[f"_status_{event}"].to_numpy().astype(np.int64)
        first = int(time.min()) if len(time) else 0
        span = int(time.max()) - first + 1 if len(time) else 0
        out[event] = ((time - first) * 2 + status, span, first)
    return out


def fits_from_codes(
    labels: Sequence[str], code: npt.NDArray[np.int64], times: EventTimes
) -> dict[str, dict[str, KaplanMeier]]:
    """KM fits per event and category, from counts per (category, day, status).

    Each row's category is given as an index into ``labels``. Each row is counted once
    into a (category x day x status) table, and each category's fit is
    :func:`kaplan_meier_counts` on its days with anyone, instead of sorting its rows: the
    same numbers as :func:`kaplan_meier` on the rows (see ``tests/test_fast_paths.py``),
    in a fraction of the time. A label without rows gets no fit.
    """
    out: dict[str, dict[str, KaplanMeier]] = {event: {} for event in times}
    for event, (day_status, span, first) in times.items():
        if len(day_status) == 0:
            continue
        cell = code * (span * 2) + day_status
        counts = np.bincount(cell, minlength=len(labels) * span * 2).reshape(len(labels), span, 2)
        total = counts.sum(axis=2)
        for i, label in enumerate(labels):
            days = np.flatnonzero(total[i])
            if len(days) == 0:
                continue
            hits = counts[i, days, 1]
            out[event][label] = kaplan_meier_counts(days + first, hits, total[i, days])
    return out


def fits_per_category(
    population: pl.DataFrame,
    labels: list[str],
    code: npt.NDArray[np.int64],
    events: Sequence[str],
) -> dict[str, dict[str, KaplanMeier]]:
    """:func:`fits_from_codes` of the rows of ``population``, which holds the columns
    ``_time_<event>`` and ``_status_<event>``."""
    if population.height == 0:
        return {event: {} for event in events}
    return fits_from_codes(labels, code, event_times(population, events))
