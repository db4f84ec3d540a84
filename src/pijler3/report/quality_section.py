"""Section 7 of the report, data quality: the counts of each delivery's manifest as
tables, and the main counts as rates per 100 rows beside them (deliveries grow, so only
rates show whether the sources improve), with a trend line of the rates from two
deliveries on. The HTML page and the XLSX workbook's quality sheet both lay out what
:func:`quality_section` returns; every count cell carries its number for the workbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pijler3.contract import words
from pijler3.report import charts
from pijler3.report.data import ReportData
from pijler3.report.fmt import fmt_date, fmt_int, fmt_num, fmt_pct
from pijler3.report.labels import EXTRACT_NL, QUARANTINE_NL, consistency_label, field_label
from pijler3.report.quality_data import MIN_LABEL_COUNT, QualitySummary
from pijler3.report.view import Cell, DataTable, DrawnCharts, Figure, TableRow, sup

# By file in the order of the chain, then by the label people read.
_FILE_ORDER = {e: i for i, e in enumerate(EXTRACT_NL)}


def _row(
    header: str, values: Sequence[int | None], hidden: Sequence[bool] | None = None
) -> TableRow:
    """A row of counts, one per delivery, each typed for the workbook; a count the
    report hides (``hidden``, see report.quality_disclosure) gets the suppression mark."""
    flags = hidden if hidden is not None else [False] * len(values)
    return TableRow(
        header,
        tuple(
            sup() if h else Cell(fmt_int(v), value=v, unit="count" if v is not None else "")
            for v, h in zip(values, flags, strict=True)
        ),
    )


def _hid(qs: Sequence[QualitySummary], name: str) -> list[bool]:
    """Per delivery: whether the report hides the count ``name``."""
    return [name in q.hidden for q in qs]


def _counted(qs: Sequence[QualitySummary], header: str, name: str) -> TableRow:
    """The row of one count of the summaries, by its name in report.quality_disclosure
    (which is the summary's attribute)."""
    return _row(header, [getattr(q, name) for q in qs], _hid(qs, name))


def _main_rows(qs: Sequence[QualitySummary]) -> list[TableRow]:
    """The overview: rows read, quarantined (per reason), kept, linked and the totals."""
    main = [
        _counted(qs, words.word("report.quality", "rows_read"), "rows_read"),
        _row(
            words.word("report.quality", "quarantined"),
            [q.quarantined_total for q in qs],
            _hid(qs, "quarantined"),
        ),
    ]
    reasons = sorted({k for q in qs for k in q.quarantined})
    main += [
        _row(
            f"– {QUARANTINE_NL.get(k, k)}",
            [q.quarantined.get(k, 0) for q in qs],
            _hid(qs, f"quarantined:{k}"),
        )
        for k in reasons
    ]
    main += [
        _counted(qs, words.word("report.quality", "rows"), "rows"),
        _counted(qs, words.word("report.quality", "matched"), "matched"),
        TableRow(
            words.word("report.quality", "match_rate"),
            tuple(
                sup()
                if "matched" in q.hidden
                else Cell(fmt_pct(q.match_rate), value=q.match_rate, unit="pct")
                for q in qs
            ),
        ),
        *(
            _counted(qs, words.word("report.quality", name), name)
            for name in (
                "duplicates_resolved",
                "actions_unknown_type",
                "identifiers_removed",
                "words_removed",
                "invalid_total",
                "consistency_total",
            )
        ),
    ]
    return main


def _consistency_rows(qs: Sequence[QualitySummary]) -> list[TableRow]:
    checks = list(dict.fromkeys(k for q in qs for k in q.consistency))
    return [
        _row(
            consistency_label(k),
            [q.consistency.get(k, 0) for q in qs],
            _hid(qs, f"consistency:{k}"),
        )
        for k in checks
    ]


def _by_file(keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(keys, key=lambda k: (_FILE_ORDER.get(k[0], len(_FILE_ORDER)), field_label(k[1])))


def _per_delivery(qs: Sequence[QualitySummary], counts: str) -> list[TableRow]:
    """One row per (extract, column) with a count in ``counts`` (``missing`` or
    ``invalid``), one column per delivery."""
    keys = _by_file({k for q in qs for k in getattr(q, counts)})
    return [
        _row(
            f"{EXTRACT_NL.get(e, e)}: {field_label(c)}",
            [getattr(q, counts).get((e, c), 0) for q in qs],
            _hid(qs, f"{counts}:{e}:{c}"),
        )
        for e, c in keys
    ]


def _side_by_side(latest_q: QualitySummary) -> list[TableRow]:
    """Missing and invalid counts of the latest delivery, per column of the extracts."""
    return [
        _row(
            f"{EXTRACT_NL.get(e, e)}: {field_label(c)}",
            [latest_q.missing.get((e, c), 0), latest_q.invalid.get((e, c), 0)],
            [f"{kind}:{e}:{c}" in latest_q.hidden for kind in ("missing", "invalid")],
        )
        for e, c in _by_file(set(latest_q.missing) | set(latest_q.invalid))
    ]


def _empty_rows(qs: Sequence[QualitySummary]) -> list[TableRow]:
    empty_keys = [k for k in dict.fromkeys(k for q in qs for k in q.empty) if k]
    return [
        _row(field_label(k), [q.empty.get(k, 0) for q in qs], _hid(qs, f"empty:{k}"))
        for k in empty_keys
    ]


def _codes_table(data: ReportData) -> DataTable:
    """The invalid raw codes of the latest delivery, rare ones grouped as "overige"."""
    latest = data.latest.quality
    return DataTable(
        words.sentence(
            "report.quality",
            "codes_caption",
            peildatum=fmt_date(data.latest.peildatum),
            n=MIN_LABEL_COUNT,
        ),
        words.words("report.quality", "codes_columns"),
        tuple(
            TableRow(
                ic.label,
                (
                    Cell(EXTRACT_NL.get(ic.extract, ic.extract), numeric=False),
                    Cell(field_label(ic.column), numeric=False),
                    Cell(fmt_int(ic.count), value=ic.count, unit="count"),
                ),
            )
            for ic in sorted(
                latest.invalid_codes,
                key=lambda ic: (
                    _FILE_ORDER.get(ic.extract, len(_FILE_ORDER)),
                    field_label(ic.column),
                    -ic.count,
                ),
            )
        ),
        "Kwaliteit",
    )


# The main quality counts shown as rates: (label, attribute of QualitySummary).
_RATES: tuple[tuple[str, str], ...] = tuple(
    (label, attr) for attr, label in words.table("report.quality.rate").items()
)


# The name of the count behind a rate, where it is not the attribute's own.
_RATE_COUNT = {"quarantined_total": "quarantined"}


def rate(q: QualitySummary, attr: str) -> float | None:
    """A count per 100 rows: quarantine per 100 rows read from the KBI extract (the rows
    it removes are not in the dataset), every other count per 100 rows of the dataset."""
    count: int | None = getattr(q, attr)
    base = q.rows_read if attr == "quarantined_total" else q.rows
    if count is None or not base:
        return None
    return 100.0 * count / base


def _fmt_rate(x: float | None) -> str:
    return "" if x is None else fmt_num(x, 2)


def _rates_table(labels: Sequence[str], qs: Sequence[QualitySummary]) -> DataTable:
    """The main counts per 100 rows, one column per delivery, and the change of the
    rate since the previous delivery (the trend), from two deliveries on."""
    trend = len(qs) >= 2
    rows = []
    for label, attr in _RATES:
        rates = [rate(q, attr) for q in qs]
        hidden = _hid(qs, _RATE_COUNT.get(attr, attr))
        cells = [
            sup() if h else Cell(_fmt_rate(r), value=r, unit="rate" if r is not None else "")
            for r, h in zip(rates, hidden, strict=True)
        ]
        if trend:
            a, b = rates[-2], rates[-1]
            d = None if a is None or b is None else b - a
            text = (
                ""
                if d is None
                else f"{'+' if d > 0 else '−' if d < 0 else '±'}{fmt_num(abs(d), 2)}"
            )
            hide = hidden[-2] or hidden[-1]
            cells.append(
                sup() if hide else Cell(text, value=d, unit="rate" if d is not None else "")
            )
        rows.append(
            TableRow(words.sentence("report.quality", "rate_row", label=label), tuple(cells))
        )
    return DataTable(
        words.word("report.quality", "rates_caption"),
        (
            words.word("report.quality", "feature"),
            *labels,
            *([words.word("report.quality", "trend_column")] if trend else []),
        ),
        tuple(rows),
        sheet="Kwaliteit",
    )


def _trend_chart(
    labels: Sequence[str], qs: Sequence[QualitySummary], drawn: DrawnCharts
) -> charts.Chart | None:
    """The quality counts over the deliveries; None for a single delivery."""
    if len(qs) < 2:
        return None
    return drawn.add(
        charts.line_chart(
            "quality-trend",
            words.word("report.quality", "trend_title"),
            words.word("report.quality", "trend_description"),
            labels,
            [
                charts.Series(
                    label,
                    [rate(q, attr) for q in qs],
                    suppressed=_hid(qs, _RATE_COUNT.get(attr, attr)),
                )
                for label, attr in _RATES[:4]
            ],
            unit="ratio",
            height=260,
        )
    )


def quality_section(data: ReportData, drawn: DrawnCharts) -> dict[str, Any]:
    """Section 7: the quality tables of every delivery, keyed as the template names them."""
    ds = data.deliveries
    labels = [fmt_date(d.peildatum) for d in ds]
    qs = [d.quality for d in ds]
    cols = (words.word("report.quality", "feature"), *labels)
    chart = _trend_chart(labels, qs, drawn)
    return {
        "main": DataTable(
            words.word("report.quality", "main_caption"), cols, tuple(_main_rows(qs)), "Kwaliteit"
        ),
        "rates": _rates_table(labels, qs),
        "consistency": DataTable(
            words.word("report.quality", "consistency_caption"),
            cols,
            tuple(_consistency_rows(qs)),
            "Kwaliteit",
        ),
        "columns": DataTable(
            words.sentence(
                "report.quality", "columns_caption", peildatum=fmt_date(ds[-1].peildatum)
            ),
            words.words("report.quality", "columns_columns"),
            tuple(_side_by_side(ds[-1].quality)),
            "Kwaliteit",
        ),
        "missing": DataTable(
            words.word("report.quality", "missing_caption"),
            cols,
            tuple(_per_delivery(qs, "missing")),
            "Kwaliteit",
        ),
        "invalid": DataTable(
            words.word("report.quality", "invalid_caption"),
            cols,
            tuple(_per_delivery(qs, "invalid")),
            "Kwaliteit",
        ),
        "empty": DataTable(
            words.word("report.quality", "empty_caption"),
            cols,
            tuple(_empty_rows(qs)),
            "Kwaliteit",
        ),
        "codes": _codes_table(data),
        "dropped": [field_label(c) for c in ds[-1].quality.identifiers_dropped],
        "figure": Figure(chart, words.word("report.quality", "figure_caption")) if chart else None,
    }
