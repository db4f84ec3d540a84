"""The XLSX renderer: the workbook ``report.xlsx``, the file to open in Excel: every table
of the report, numbers as numbers and dates as dates. The only user of xlsxwriter.

- ``Toelichting``: what the workbook holds and what ``x`` means;
- ``Antwoorden``, ``Veranderd``, ``Referentiepunten``: the first page;
- ``Indicatoren``: every row of ``indicators.csv`` (DATA.md §4) with the Dutch names
  beside the codes;
- one sheet per indicator: its rows formatted, with Dutch labels;
- ``Trends``, ``Overleving`` (Kaplan-Meier tables), ``Odds ratio's`` (with the adjusted
  percentages), ``Risico`` and ``Kwaliteit`` (counts and rates per 100 rows): the tables
  of the page's sections 4 to 7, written from the same views (:func:`_tables_sheet`);
  an interval becomes two cells, low and high;
- ``Definities``: what each indicator measures, and the disclosure rules.

Each table of the HTML page names its sheet (``data-sheet``), and the tests check that
every one exists here.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import polars as pl
import xlsxwriter

from pijler3.analysis import disclosure, indicators, population
from pijler3.contract import words
from pijler3.report import answers, charts
from pijler3.report.data import KM_BREAKDOWNS, KM_EVENTS, ReportData
from pijler3.report.groups_section import odds_table
from pijler3.report.labels import (
    BREAKDOWN_NL,
    INDICATOR_TEXT,
    category_nl,
    disclosure_rules_nl,
    expired_note_nl,
)
from pijler3.report.quality_section import quality_section
from pijler3.report.sections import km_table, risk_section, trends_overview
from pijler3.report.view import Cell, DataTable, DrawnCharts

# The keys of the quality section's tables, in the order the sheet lists them.
QUALITY_TABLES = (
    "main",
    "rates",
    "consistency",
    "columns",
    "missing",
    "invalid",
    "empty",
    "codes",
)
# The number format of each unit of a typed cell (view.Cell.unit).
NUMBER_FORMATS = {
    "pct": "0.0%",
    "count": "#,##0",
    "days": "0",
    "ratio": "0.00",
    "num3": "0.000",
    "p": "0.0000",
    "rate": "0.00",
}


@dataclass(frozen=True)
class _Formats:
    """The cell formats of one workbook (xlsxwriter formats belong to their workbook)."""

    title: Any
    head: Any
    date: Any
    int: Any
    pct: Any
    days: Any
    supp: Any
    wrap: Any
    caption: Any
    head_date: Any
    stamp: Any
    units: dict[str, Any]


def _formats(wb: Any) -> _Formats:
    return _Formats(
        title=wb.add_format({"bold": True, "font_size": 14}),
        head=wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"}),
        date=wb.add_format({"num_format": "dd/mm/yyyy"}),
        int=wb.add_format({"num_format": "#,##0"}),
        pct=wb.add_format({"num_format": "0.0%"}),
        days=wb.add_format({"num_format": "0"}),
        supp=wb.add_format({"font_color": "#4b5563", "bg_color": "#e5e7eb", "align": "right"}),
        wrap=wb.add_format({"text_wrap": True, "valign": "top"}),
        caption=wb.add_format({"bold": True}),
        stamp=wb.add_format({"num_format": "dd/mm/yyyy hh:mm", "align": "left"}),
        head_date=wb.add_format(
            {"bold": True, "bottom": 1, "valign": "top", "num_format": "dd/mm/yyyy"}
        ),
        units={u: wb.add_format({"num_format": n}) for u, n in NUMBER_FORMATS.items()},
    )


def render_xlsx(data: ReportData) -> bytes:
    """The indicator rows (DATA.md §4), a formatted sheet per indicator, quality and
    definitions. Suppressed cells show ``x`` on grey, explained on the first sheet."""
    buffer = io.BytesIO()
    # A label typed by someone ("=HYPERLINK(...)", "=1+1") must stay text: formulas and
    # links are never made from strings, in this or any workbook pijler3 writes.
    wb = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    f = _formats(wb)
    frame = data.table.frame
    _info_sheet(wb, data, f)
    _answers_sheet(wb, data, f)
    changed = answers.changes(data)
    _tables_sheet(
        wb, "Veranderd", answers.change_note(data), [answers.change_table(data, changed)], f
    )
    _tables_sheet(wb, "Referentiepunten", "", [answers.reference_table(data)], f)
    _raw_sheet(wb, frame, f)
    for indicator in indicators.INDICATOR_IDS:
        _indicator_sheet(wb, frame, indicator, f)
    # The views draw charts too; the workbook keeps the tables only.
    trends = [fig.table for fig in trends_overview(data, DrawnCharts()) if fig.table]
    _tables_sheet(wb, "Trends", words.word("report.xlsx", "trends_title"), trends, f)
    km = [km_table(data, e, bd) for bd in (population.TOTAL, *KM_BREAKDOWNS) for e in KM_EVENTS]
    _tables_sheet(wb, "Overleving", words.word("report.xlsx", "km_title"), km, f)
    odds = [odds_table(INDICATOR_TEXT[o].title, res.table) for o, res in data.odds.items()]
    _tables_sheet(wb, "Odds ratio's", words.word("report.xlsx", "odds_title"), odds, f)
    risk = risk_section(data, DrawnCharts())
    risk_tables = [risk["figures"], risk["figure"].table] if risk else []
    _tables_sheet(wb, "Risico", words.word("report.xlsx", "risk_title"), risk_tables, f)
    qual = quality_section(data, DrawnCharts())
    _tables_sheet(
        wb,
        "Kwaliteit",
        words.word("report.xlsx", "quality_title"),
        [qual[k] for k in QUALITY_TABLES],
        f,
    )
    _definitions_sheet(wb, data, f)
    wb.close()
    return buffer.getvalue()


def _info_sheet(wb: Any, data: ReportData, f: _Formats) -> None:
    info = wb.add_worksheet("Toelichting")
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 90)
    info.write(0, 0, words.word("report.xlsx", "info_title"), f.title)
    lines: list[tuple[str, str | dt.date | dt.datetime | tuple[dt.date, ...]]] = [
        (words.word("report.xlsx", "protocol"), data.protocol_title),
        (words.word("report.xlsx", "latest"), data.latest.peildatum),
        (words.word("report.xlsx", "deliveries"), tuple(d.peildatum for d in data.deliveries)),
        *(
            [(words.word("report.xlsx", "expired"), expired_note_nl(data.expired_left_out))]
            if data.expired_left_out
            else []
        ),
        (words.word("report.xlsx", "generated"), data.generated_at.replace(tzinfo=None)),
        # What a cell shows and what each sheet holds.
        *words.table("report.xlsx.info").items(),
    ]
    for i, (k, v) in enumerate(lines, start=2):
        info.write(i, 0, k, f.head if k == "x" else None)
        if isinstance(v, dt.datetime):
            info.write_datetime(i, 1, v, f.stamp)
        days = v if isinstance(v, tuple) else (v,) if type(v) is dt.date else ()
        for j, day in enumerate(days, start=1):
            info.write_datetime(i, j, dt.datetime.combine(day, dt.time()), f.date)
        if isinstance(v, str):
            info.write_string(i, 1, v, f.wrap)


def _raw_sheet(wb: Any, frame: pl.DataFrame, f: _Formats) -> None:
    raw = wb.add_worksheet("Indicatoren")
    names = words.words("report.xlsx", "raw_names")
    width = len(disclosure.COLUMNS)
    for j, name in enumerate((*disclosure.COLUMNS, *names)):
        raw.write(0, j, name, f.head)
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        raw.write_string(i, width, INDICATOR_TEXT[rec["indicator"]].title)
        raw.write_string(i, width + 1, BREAKDOWN_NL[rec["breakdown"]])
        raw.write_string(i, width + 2, category_nl(rec["breakdown"], rec["category"]))
    for i, values in enumerate(frame.select(disclosure.COLUMNS).iter_rows(), start=1):
        for j, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, dt.date):
                raw.write_datetime(i, j, dt.datetime.combine(v, dt.time()), f.date)
            elif isinstance(v, bool):
                raw.write_string(i, j, "true" if v else "false")
            elif isinstance(v, str):
                raw.write_string(i, j, v)
            else:
                raw.write_number(i, j, v)
    raw.freeze_panes(1, 0)
    raw.autofilter(0, 0, frame.height, width + len(names) - 1)
    raw.set_column(0, 0, 11)
    raw.set_column(1, 3, 24)
    raw.set_column(width, width + 2, 30)


def _indicator_sheet(wb: Any, frame: pl.DataFrame, indicator: str, f: _Formats) -> None:
    text = INDICATOR_TEXT[indicator]
    ws = wb.add_worksheet(indicator[:31])
    ws.write(0, 0, text.title, f.title)
    ws.write(
        1,
        0,
        words.sentence(
            "report.xlsx", "indicator_note", population=text.population, success=text.success
        ),
    )
    head = words.words(
        "report.xlsx", "indicator_columns_days" if text.unit == "days" else "indicator_columns"
    )
    for j, h in enumerate(head):
        ws.write(3, j, h, f.head)
    sub = frame.filter(pl.col("indicator") == indicator)
    vfmt = f.days if text.unit == "days" else f.pct
    for i, rec in enumerate(sub.iter_rows(named=True), start=4):
        _indicator_row(ws, i, rec, vfmt, f)
    ws.freeze_panes(4, 0)
    ws.autofilter(3, 0, 3 + sub.height, len(head) - 1)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 2, 26)
    ws.set_column(3, 3, 22)
    ws.set_column(4, 9, 12)


def _indicator_row(ws: Any, i: int, r: dict[str, Any], vfmt: Any, f: _Formats) -> None:
    """Row ``i`` of an indicator's sheet: labels, then the counts and the value, each
    shown, hidden (``x`` on grey) or empty."""
    ws.write_datetime(i, 0, dt.datetime.combine(r["peildatum"], dt.time()), f.date)
    ws.write(i, 1, BREAKDOWN_NL[r["breakdown"]])
    ws.write(i, 2, category_nl(r["breakdown"], r["category"]))
    ws.write(i, 3, r["category"])
    for j, (key, fmt) in enumerate(
        (
            ("denominator", f.int),
            ("numerator", f.int),
            ("value", vfmt),
            ("ci_low", vfmt),
            ("ci_high", vfmt),
        ),
        start=4,
    ):
        value = r[key]
        hidden = r["suppressed"] if key != "denominator" else value is None
        if hidden:
            ws.write_string(i, j, charts.SUPPRESSED, f.supp)
        elif value is not None:
            ws.write_number(i, j, value, fmt)
    ws.write(
        i,
        9,
        words.word("report.xlsx", "suppressed_yes")
        if r["suppressed"]
        else words.word("report.xlsx", "suppressed_no"),
    )


def _answers_sheet(wb: Any, data: ReportData, f: _Formats) -> None:
    ws = wb.add_worksheet("Antwoorden")
    ws.set_column(0, 0, 42)
    ws.set_column(1, 1, 110)
    ws.write(0, 0, words.word("report.xlsx", "answers_title"), f.title)
    r = 2
    for a in answers.answers(data):
        for i, line in enumerate(a.sentences):
            ws.write(r, 0, a.question if i == 0 else "", f.caption)
            ws.write(r, 1, line, f.wrap)
            r += 1
        r += 1


def _write_cell(ws: Any, r: int, j: int, c: Cell, f: _Formats) -> int:
    """Cell ``c`` at (r, j), typed; returns the number of columns written (2 for an
    interval)."""
    fmt = f.units.get(c.unit)
    if c.suppressed:
        ws.write_string(r, j, charts.SUPPRESSED, f.supp)
        if c.interval is not None:
            ws.write_string(r, j + 1, charts.SUPPRESSED, f.supp)
            return 2
        return 1
    if c.interval is not None:
        for k, v in enumerate(c.interval):
            if v is not None:
                ws.write_number(r, j + k, v, fmt)
        return 2
    if isinstance(c.value, dt.date):
        ws.write_datetime(r, j, dt.datetime.combine(c.value, dt.time()), f.date)
    elif c.value is not None:
        ws.write_number(r, j, c.value, fmt)
    elif c.text:
        ws.write_string(r, j, c.text)
    return 1


def _label(ws: Any, r: int, c: int, text: str, fmt: Any, f: _Formats) -> None:
    """A header or row label; one that is a date (a delivery's peildatum) as a date."""
    try:
        day = dt.datetime.strptime(text, "%d/%m/%Y")
    except ValueError:
        ws.write_string(r, c, text, fmt)
    else:
        ws.write_datetime(r, c, day, f.head_date if fmt is f.head else f.date)


def _tables_sheet(wb: Any, name: str, title: str, tables: list[DataTable], f: _Formats) -> None:
    """One sheet of DataTables, each under its caption; an interval column becomes two
    (low, high)."""
    ws = wb.add_worksheet(name)
    ws.write(0, 0, name, f.title)
    r = 1
    if title:
        ws.write(1, 0, title)
        r = 2
    r += 1
    for table in tables:
        ws.write(r, 0, table.caption, f.caption)
        r += 1
        split = [
            any(row.cells[j].interval is not None for row in table.rows if j < len(row.cells))
            for j in range(len(table.columns) - 1)
        ]
        ws.write(r, 0, table.columns[0], f.head)
        col = 1
        for j, head in enumerate(table.columns[1:]):
            if split[j]:
                ws.write(r, col, words.sentence("report.xlsx", "low", head=head), f.head)
                ws.write(r, col + 1, words.sentence("report.xlsx", "high", head=head), f.head)
                col += 2
            else:
                _label(ws, r, col, head, f.head, f)
                col += 1
        r += 1
        for row in table.rows:
            _label(ws, r, 0, row.header, None, f)
            col = 1
            for j, c in enumerate(row.cells):
                used = _write_cell(ws, r, col, c, f)
                col += max(used, 2 if split[j] else 1)
            r += 1
        r += 1
    ws.set_column(0, 0, 48)
    ws.set_column(1, 16, 15)


def _definitions_sheet(wb: Any, data: ReportData, f: _Formats) -> None:
    dsh = wb.add_worksheet("Definities")
    dsh.set_column(0, 0, 30)
    dsh.set_column(1, 3, 60)
    dsh.write(0, 0, words.word("report.xlsx", "definitions_title"), f.title)
    for j, h in enumerate(words.words("report.xlsx", "definitions_columns")):
        dsh.write(2, j, h, f.head)
    for i, ind in enumerate(indicators.INDICATOR_IDS, start=3):
        t = INDICATOR_TEXT[ind]
        dsh.write(i, 0, ind)
        dsh.write(i, 1, t.title, f.wrap)
        dsh.write(i, 2, t.population, f.wrap)
        dsh.write(i, 3, t.success, f.wrap)
    first = 4 + len(indicators.INDICATOR_IDS)
    dsh.write(first, 0, words.word("report.xlsx", "disclosure_title"), f.head)
    for n, line in enumerate(disclosure_rules_nl(data.disclosure), start=first + 1):
        dsh.write(n, 1, line, f.wrap)
