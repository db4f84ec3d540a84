"""What the section views hand to the charts, decided in one place: which cohorts are
still provisional, the one value scale of an indicator, a cohort series with its
suppressed and provisional points, and the sentence that says so.

A cohort (the quarter in which the contract was signed) is *provisional* at a peildatum
when some of its members have not yet had the whole follow-up of the indicator:

- an indicator with a window of ``w`` days (:data:`pijler3.analysis.population.WINDOWS`)
  counts only those whose window closed, so a cohort is provisional while the end of its
  quarter plus ``w`` days lies after the peildatum (its figure rests on its earliest
  contracts only); a cohort of which nobody's window closed has no figure at all;
- an indicator without a window (referral, the medians) has its newest cohort
  provisional: its members had at most one quarter to get there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pijler3.analysis import population
from pijler3.analysis.disclosure import PublishedTable
from pijler3.contract import words
from pijler3.report import charts
from pijler3.report.fmt import fmt_date
from pijler3.report.labels import INDICATOR_TEXT
from pijler3.report.view import Cell


def cohort_end(category: str) -> dt.date | None:
    """The last day of a cohort's quarter ("2022-Q2" -> 30/06/2022); None for another label."""
    year, sep, quarter = category.partition("-Q")
    if not sep or not year.isdigit() or quarter not in ("1", "2", "3", "4"):
        return None
    q = int(quarter)
    first_next = dt.date(int(year) + (1 if q == 4 else 0), 1 if q == 4 else 3 * q + 1, 1)
    return first_next - dt.timedelta(days=1)


def provisional(indicator: str, categories: Sequence[str], peildatum: dt.date) -> list[bool]:
    """Per cohort category: is its figure at ``peildatum`` provisional (module docstring)?"""
    window = population.WINDOWS.get(indicator)
    if window is None:
        ends = [cohort_end(c) for c in categories]
        newest = max((e for e in ends if e is not None), default=None)
        return [e is not None and e == newest for e in ends]
    days = window[0]
    out = []
    for c in categories:
        end = cohort_end(c)
        out.append(end is not None and end + dt.timedelta(days=days) > peildatum)
    return out


def provisional_marks(
    indicator: str, breakdown: str, rows: Sequence[Mapping[str, Any]], peildatum: dt.date
) -> list[str]:
    """ " (voorlopig)" after each provisional cohort with a figure, for a table's row
    header; empty strings for another breakdown."""
    if breakdown != "cohort":
        return [""] * len(rows)
    flags = provisional(indicator, [r["category"] for r in rows], peildatum)
    return [
        words.word("chart.cohort", "provisional_cell")
        if flag and r["value"] is not None and not r["suppressed"]
        else ""
        for flag, r in zip(flags, rows, strict=True)
    ]


def mark_cells(cells: tuple[Cell, ...], mark: str) -> tuple[Cell, ...]:
    """A table row's cells with ``mark`` after its figure (the third cell: denominator,
    numerator, figure, interval), the typed value unchanged."""
    if not mark:
        return cells
    return (*cells[:2], replace(cells[2], text=cells[2].text + mark), *cells[3:])


def indicator_scale(table: PublishedTable, indicator: str) -> float:
    """The one axis maximum of every chart of ``indicator``: its bars, its cohorts and its
    deliveries, from all its published figures and interval bounds."""
    rows = table.frame.filter(
        (table.frame["indicator"] == indicator) & ~table.frame["suppressed"]
    ).select("value", "ci_high")
    values = [*rows["value"].to_list(), *rows["ci_high"].to_list()]
    return charts.value_max(values, INDICATOR_TEXT[indicator].unit)


def cohort_series(
    name: str,
    indicator: str,
    rows: Sequence[Mapping[str, Any]],
    peildatum: dt.date,
    *,
    intervals: bool = True,
) -> charts.Series:
    """The published cohort rows of ``indicator`` as a chart series: suppressed points
    marked, provisional ones flagged, empty cohorts (no one's window closed) left out."""
    shown = [None if r["suppressed"] or not r["denominator"] else r["value"] for r in rows]
    return charts.Series(
        name,
        shown,
        [None if v is None else r["ci_low"] for v, r in zip(shown, rows, strict=True)]
        if intervals
        else (),
        [None if v is None else r["ci_high"] for v, r in zip(shown, rows, strict=True)]
        if intervals
        else (),
        suppressed=[bool(r["suppressed"]) for r in rows],
        provisional=provisional(indicator, [r["category"] for r in rows], peildatum),
    )


def missing_note(indicator: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """A legend line for the cohorts that have no point and are not suppressed, saying
    why; empty when every cohort has a point or a suppression mark."""
    missing = [
        r for r in rows if not r["suppressed"] and (not r["denominator"] or r["value"] is None)
    ]
    if not missing:
        return ""
    window = population.WINDOWS.get(indicator)
    if window is not None and any(not r["denominator"] for r in missing):
        return words.sentence("chart.cohort", "missing_window", days=window[0])
    if INDICATOR_TEXT[indicator].unit == "days":
        return words.word("chart.cohort", "missing_median")
    return words.word("chart.cohort", "missing_nobody")


def cohort_note(indicator: str, series: charts.Series, peildatum: dt.date) -> str:
    """The sentences of a cohort chart's description about what it marks, so that the
    description never contradicts the drawing."""
    parts: list[str] = []
    peil = fmt_date(peildatum)
    n_prov = sum(
        1 for i, v in enumerate(series.values) if v is not None and series.is_provisional(i)
    )
    window = population.WINDOWS.get(indicator)
    if n_prov and window is not None:
        parts.append(
            words.sentence("chart.cohort", "provisional_window_one", peildatum=peil, days=window[0])
            if n_prov == 1
            else words.sentence(
                "chart.cohort",
                "provisional_window_many",
                n=n_prov,
                peildatum=peil,
                days=window[0],
            )
        )
    elif n_prov:
        parts.append(words.word("chart.cohort", "provisional_newest"))
    n_supp = sum(1 for i in range(len(series.values)) if series.is_suppressed(i))
    if n_supp:
        parts.append(
            words.word("chart.cohort", "suppressed_one")
            if n_supp == 1
            else words.sentence("chart.cohort", "suppressed_many", n=n_supp)
        )
    n_missing = sum(
        1 for i, v in enumerate(series.values) if v is None and not series.is_suppressed(i)
    )
    if n_missing and window is not None:
        parts.append(
            words.sentence("chart.cohort", "no_point_window", peildatum=peil, days=window[0])
        )
    elif n_missing:
        parts.append(words.word("chart.cohort", "no_point_other"))
    return " ".join(parts)
