"""The pieces the section views are made of: table cells, rows and tables, figures, and
the list of charts drawn so far, which each view adds its charts to (the page states how
many it holds). Pure: published rows in, view objects out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pijler3.contract import words
from pijler3.report import charts
from pijler3.report.fmt import Unit, fmt_int, fmt_value
from pijler3.report.labels import INDICATOR_TEXT, category_nl


@dataclass(frozen=True)
class Cell:
    """A table cell as the page writes it (``text``) and, for the workbook, the typed
    figure behind it: ``value`` (a number or a date, with ``unit`` saying how it is
    formatted), or an ``interval`` (low, high), which the workbook writes as two cells."""

    text: str
    suppressed: bool = False
    numeric: bool = True
    value: float | int | dt.date | None = None
    unit: str = ""  # "pct", "days", "count", "ratio", "num3", "p", "rate" or "" (text)
    interval: tuple[float | None, float | None] | None = None


@dataclass(frozen=True)
class TableRow:
    header: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class DataTable:
    caption: str
    columns: tuple[str, ...]  # the first names the row-header column
    rows: tuple[TableRow, ...]
    # The sheet of report.xlsx that holds this table's figures (the page names it).
    sheet: str = ""


@dataclass(frozen=True)
class Figure:
    chart: charts.Chart | None
    caption: str
    table: DataTable | None = None
    empty_note: str = words.word("report.view", "empty_note")


def sup() -> Cell:
    """A cell that disclosure control hid."""
    return Cell(charts.SUPPRESSED, suppressed=True)


def num_cell(value: float | int | None, unit: str, text: str) -> Cell:
    """A figure written as ``text`` on the page and typed in the workbook; "–" if None."""
    return Cell(text if value is not None else "–", value=value, unit=unit)


def row_cells(row: Mapping[str, Any], unit: Unit) -> tuple[Cell, ...]:
    """The four cells of a published row: denominator, numerator, value, interval."""
    den, num = row["denominator"], row["numerator"]
    if row["suppressed"]:
        den_cell = sup() if den is None else Cell(fmt_int(den), value=den, unit="count")
        return (den_cell, sup(), sup(), sup())
    value = row["value"]
    ci = (
        f"{fmt_value(row['ci_low'], unit)} – {fmt_value(row['ci_high'], unit)}"
        if row["ci_low"] is not None and row["ci_high"] is not None
        else ""
    )
    shown = fmt_value(value, unit) if value is not None else "–"
    return (
        Cell(fmt_int(den), value=den, unit="count"),
        Cell(fmt_int(num), value=num, unit="count"),
        Cell(shown, value=value, unit=unit),
        Cell(ci, unit=unit, interval=(row["ci_low"], row["ci_high"])),
    )


def value_columns(indicator: str) -> tuple[str, ...]:
    """The column names of an indicator's table: a share or a median in days."""
    unit = INDICATOR_TEXT[indicator].unit
    if unit == "days":
        return words.words("report.view", "columns_days")
    return words.words("report.view", "columns_share")


def bars(rows: Sequence[Mapping[str, Any]], breakdown: str) -> list[charts.Bar]:
    """The bars of a breakdown's published rows: suppressed, empty or a value."""
    bars = []
    for r in rows:
        label = category_nl(breakdown, r["category"])
        if r["suppressed"]:
            bars.append(charts.Bar(label, None, suppressed=True))
        elif r["denominator"] == 0:
            bars.append(charts.Bar(label, None, note=words.word("report.view", "nobody")))
        elif r["value"] is None:
            bars.append(
                charts.Bar(label, None, note=words.word("report.view", "median_not_reached"))
            )
        else:
            bars.append(charts.Bar(label, r["value"], r["ci_low"], r["ci_high"]))
    return bars


class DrawnCharts:
    """The charts drawn so far, in the order the views drew them.

    Shared by the section views of one page: each view passes a chart it drew through
    :meth:`add`, so that the page can say how many charts it holds.
    """

    def __init__(self) -> None:
        self.charts: list[charts.Chart] = []

    def add(self, chart: charts.Chart | None) -> charts.Chart | None:
        """Count ``chart`` (a chart with nothing to draw is None and not counted)."""
        if chart is not None:
            self.charts.append(chart)
        return chart

    def __len__(self) -> int:
        return len(self.charts)
