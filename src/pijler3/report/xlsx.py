"""The XLSX renderer: the workbook ``report.xlsx``, one sheet per part. The only user of
xlsxwriter.

- ``Toelichting``: what the workbook holds and what ``x`` means;
- ``Indicatoren``: every row of ``indicators.csv`` (DATA.md §4), unformatted;
- one sheet per indicator: its rows formatted, with Dutch labels;
- ``Kwaliteit``: the data-quality tables of the report's section 7;
- ``Definities``: what each indicator measures, and the disclosure rules.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import polars as pl
import xlsxwriter

from pijler3.analysis import disclosure, indicators
from pijler3.report import charts
from pijler3.report.data import ReportData
from pijler3.report.fmt import fmt_date
from pijler3.report.labels import (
    BREAKDOWN_NL,
    INDICATOR_TEXT,
    category_nl,
    disclosure_rules_nl,
    expired_note_nl,
)
from pijler3.report.quality_section import quality_section
from pijler3.report.view import DataTable, DrawnCharts

# The keys of the quality section's tables, in the order the sheet lists them.
QUALITY_TABLES = ("main", "consistency", "columns", "missing", "invalid", "empty", "codes")


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
    _raw_sheet(wb, frame, f)
    for indicator in indicators.INDICATOR_IDS:
        _indicator_sheet(wb, frame, indicator, f)
    _quality_sheet(wb, data, f)
    _definitions_sheet(wb, data, f)
    wb.close()
    return buffer.getvalue()


def _info_sheet(wb: Any, data: ReportData, f: _Formats) -> None:
    info = wb.add_worksheet("Toelichting")
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 90)
    info.write(0, 0, "Monitoring derde pijler inburgering", f.title)
    lines = [
        ("Protocol", data.protocol_title),
        ("Laatste peildatum", fmt_date(data.latest.peildatum)),
        ("Leveringen", ", ".join(fmt_date(d.peildatum) for d in data.deliveries)),
        *(
            [("Niet opgenomen", expired_note_nl(data.expired_left_out))]
            if data.expired_left_out
            else []
        ),
        ("Gemaakt op", f"{data.generated_at:%d/%m/%Y %H:%M}"),
        ("x", "Onderdrukt: te kleine aantallen (statistische geheimhouding, zie Definities)."),
        ("Leeg", "Geen cijfer (niemand in de populatie, of een mediaan die niet bereikt is)."),
        ("Blad Indicatoren", "Alle rijen van indicators.csv (DATA.md §4), onopgemaakt."),
        ("Bladen per indicator", "Opgemaakt per uitsplitsing en categorie, alle leveringen."),
        ("Blad Kwaliteit", "Datakwaliteit per levering (art. 7 van het protocol)."),
        ("Blad Definities", "Wat elke indicator meet, en de regels voor kleine aantallen."),
    ]
    for i, (k, v) in enumerate(lines, start=2):
        info.write(i, 0, k, f.head if k == "x" else None)
        info.write(i, 1, v, f.wrap)


def _raw_sheet(wb: Any, frame: pl.DataFrame, f: _Formats) -> None:
    raw = wb.add_worksheet("Indicatoren")
    for j, name in enumerate(disclosure.COLUMNS):
        raw.write(0, j, name, f.head)
    for i, values in enumerate(frame.iter_rows(), start=1):
        for j, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, dt.date):
                raw.write_datetime(i, j, dt.datetime.combine(v, dt.time()), f.date)
            elif isinstance(v, bool):
                raw.write_string(i, j, "true" if v else "false")
            else:
                raw.write(i, j, v)
    raw.freeze_panes(1, 0)
    raw.autofilter(0, 0, frame.height, len(disclosure.COLUMNS) - 1)
    raw.set_column(0, 0, 11)
    raw.set_column(1, 3, 24)


def _indicator_sheet(wb: Any, frame: pl.DataFrame, indicator: str, f: _Formats) -> None:
    text = INDICATOR_TEXT[indicator]
    ws = wb.add_worksheet(indicator[:31])
    ws.write(0, 0, text.title, f.title)
    ws.write(1, 0, f"Populatie: {text.population} Succes: {text.success}")
    head = (
        "Peildatum",
        "Uitsplitsing",
        "Categorie",
        "Code",
        "Noemer",
        "Teller",
        "Mediaan (dagen)" if text.unit == "days" else "Aandeel",
        "95%-BI laag",
        "95%-BI hoog",
        "Onderdrukt",
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
    ws.write(i, 9, "ja" if r["suppressed"] else "nee")


def _quality_sheet(wb: Any, data: ReportData, f: _Formats) -> None:
    q = wb.add_worksheet("Kwaliteit")
    # The sheet shows the tables only; the trend chart drawn with them is left unused.
    qual = quality_section(data, DrawnCharts())
    r0 = 0
    q.write(r0, 0, "Datakwaliteit per levering", f.title)
    r0 += 2
    for key in QUALITY_TABLES:
        table: DataTable = qual[key]
        q.write(r0, 0, table.caption, f.head)
        r0 += 1
        for j, h in enumerate(table.columns):
            q.write(r0, j, h, f.head)
        r0 += 1
        for tr in table.rows:
            q.write(r0, 0, tr.header)
            for j, c in enumerate(tr.cells, start=1):
                q.write(r0, j, c.text)
            r0 += 1
        r0 += 1
    q.set_column(0, 0, 55)
    q.set_column(1, 12, 16)


def _definitions_sheet(wb: Any, data: ReportData, f: _Formats) -> None:
    dsh = wb.add_worksheet("Definities")
    dsh.set_column(0, 0, 30)
    dsh.set_column(1, 3, 60)
    dsh.write(0, 0, "Definities", f.title)
    for j, h in enumerate(("Indicator", "Naam", "Populatie (noemer)", "Succes (teller)")):
        dsh.write(2, j, h, f.head)
    for i, ind in enumerate(indicators.INDICATOR_IDS, start=3):
        t = INDICATOR_TEXT[ind]
        dsh.write(i, 0, ind)
        dsh.write(i, 1, t.title, f.wrap)
        dsh.write(i, 2, t.population, f.wrap)
        dsh.write(i, 3, t.success, f.wrap)
    first = 4 + len(indicators.INDICATOR_IDS)
    dsh.write(first, 0, "Statistische geheimhouding", f.head)
    for n, line in enumerate(disclosure_rules_nl(data.disclosure), start=first + 1):
        dsh.write(n, 1, line, f.wrap)
