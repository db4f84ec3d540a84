"""Section 7 of the report, data quality: the counts of each delivery's manifest as
tables (and a trend line from two deliveries on). The HTML page and the XLSX workbook's
quality sheet both lay out what :func:`quality_section` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pijler3.report import charts
from pijler3.report.data import MIN_LABEL_COUNT, QualitySummary, ReportData
from pijler3.report.fmt import fmt_date, fmt_int, fmt_pct
from pijler3.report.labels import EXTRACT_NL, QUARANTINE_NL, consistency_label, field_label
from pijler3.report.view import Cell, DataTable, DrawnCharts, Figure, TableRow

# By file in the order of the chain, then by the label people read.
_FILE_ORDER = {e: i for i, e in enumerate(EXTRACT_NL)}


def _row(header: str, values: Sequence[str]) -> TableRow:
    return TableRow(header, tuple(Cell(v) for v in values))


def _main_rows(qs: Sequence[QualitySummary]) -> list[TableRow]:
    """The overview: rows read, quarantined (per reason), kept, linked and the totals."""
    main = [
        _row("Rijen gelezen in het KBI-extract", [fmt_int(q.rows_read) for q in qs]),
        _row(
            "Rijen in quarantaine (geen geldig INSZ)",
            [fmt_int(q.quarantined_total) for q in qs],
        ),
    ]
    reasons = sorted({k for q in qs for k in q.quarantined})
    main += [
        _row(f"– {QUARANTINE_NL.get(k, k)}", [fmt_int(q.quarantined.get(k, 0)) for q in qs])
        for k in reasons
    ]
    main += [
        _row("Rijen in de monitoringdataset", [fmt_int(q.rows) for q in qs]),
        _row(
            "Gekoppeld met VDAB",
            [
                f"{fmt_int(q.matched)} ({fmt_pct(q.match_rate)})"
                if q.match_rate is not None
                else ""
                for q in qs
            ],
        ),
        _row("Dubbele VDAB-rijen opgelost", [fmt_int(q.duplicates_resolved) for q in qs]),
        _row("VDAB-acties van onbekend type", [fmt_int(q.actions_unknown_type) for q in qs]),
        _row(
            "Identificatoren verwijderd uit vrije tekst",
            [fmt_int(q.identifiers_removed) for q in qs],
        ),
        _row(
            "Zeldzame woorden en woorden met cijfers verwijderd uit vrije tekst",
            [fmt_int(q.words_removed) for q in qs],
        ),
        _row(
            "Ongeldige waarden (alle kolommen behalve INSZ)",
            [fmt_int(q.invalid_total) for q in qs],
        ),
        _row("Inconsistenties (alle controles)", [fmt_int(q.consistency_total) for q in qs]),
    ]
    return main


def _consistency_rows(qs: Sequence[QualitySummary]) -> list[TableRow]:
    checks = list(dict.fromkeys(k for q in qs for k in q.consistency))
    return [
        _row(consistency_label(k), [fmt_int(q.consistency.get(k, 0)) for q in qs]) for k in checks
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
            [fmt_int(getattr(q, counts).get((e, c), 0)) for q in qs],
        )
        for e, c in keys
    ]


def _side_by_side(latest_q: QualitySummary) -> list[TableRow]:
    """Missing and invalid counts of the latest delivery, per column of the extracts."""
    return [
        _row(
            f"{EXTRACT_NL.get(e, e)}: {field_label(c)}",
            [
                fmt_int(latest_q.missing.get((e, c), 0)),
                fmt_int(latest_q.invalid.get((e, c), 0)),
            ],
        )
        for e, c in _by_file(set(latest_q.missing) | set(latest_q.invalid))
    ]


def _empty_rows(qs: Sequence[QualitySummary]) -> list[TableRow]:
    empty_keys = [k for k in dict.fromkeys(k for q in qs for k in q.empty) if k]
    return [_row(field_label(k), [fmt_int(q.empty.get(k, 0)) for q in qs]) for k in empty_keys]


def _codes_table(data: ReportData) -> DataTable:
    """The invalid raw codes of the latest delivery, rare ones grouped as "overige"."""
    latest = data.latest.quality
    return DataTable(
        f"Niet-herkende codes, peildatum {fmt_date(data.latest.peildatum)} (codes die "
        f"minder dan {MIN_LABEL_COUNT} keer voorkomen, samen als ‘overige’)",
        ("Ruwe waarde", "Bestand", "Kolom", "Aantal"),
        tuple(
            TableRow(
                ic.label,
                (
                    Cell(EXTRACT_NL.get(ic.extract, ic.extract), numeric=False),
                    Cell(field_label(ic.column), numeric=False),
                    Cell(fmt_int(ic.count)),
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
            "Datakwaliteit per levering",
            "Lijndiagram van het aantal rijen in quarantaine, ongeldige waarden, "
            "inconsistenties en verwijderde identificatoren, per levering.",
            labels,
            [
                charts.Series("Quarantaine", [float(q.quarantined_total) for q in qs]),
                charts.Series("Ongeldige waarden", [float(q.invalid_total) for q in qs]),
                charts.Series("Inconsistenties", [float(q.consistency_total) for q in qs]),
                charts.Series(
                    "Identificatoren verwijderd",
                    [float(q.identifiers_removed or 0) for q in qs],
                ),
            ],
            unit="count",
            height=260,
        )
    )


def quality_section(data: ReportData, drawn: DrawnCharts) -> dict[str, Any]:
    """Section 7: the quality tables of every delivery, keyed as the template names them."""
    ds = data.deliveries
    labels = [fmt_date(d.peildatum) for d in ds]
    qs = [d.quality for d in ds]
    cols = ("Kenmerk", *labels)
    chart = _trend_chart(labels, qs, drawn)
    return {
        "main": DataTable("Overzicht per levering", cols, tuple(_main_rows(qs))),
        "consistency": DataTable(
            "Consistentiecontroles per levering", cols, tuple(_consistency_rows(qs))
        ),
        "columns": DataTable(
            f"Ontbrekende en ongeldige waarden per kolom van de extracten, peildatum "
            f"{fmt_date(ds[-1].peildatum)}",
            ("Bestand: kolom", "Ontbrekend (leeg)", "Ongeldig"),
            tuple(_side_by_side(ds[-1].quality)),
        ),
        "missing": DataTable(
            "Ontbrekende waarden per kolom en levering", cols, tuple(_per_delivery(qs, "missing"))
        ),
        "invalid": DataTable(
            "Ongeldige waarden per kolom en levering", cols, tuple(_per_delivery(qs, "invalid"))
        ),
        "empty": DataTable(
            "Leeg in de monitoringdataset (ontbrekend of ongeldig), per kolom",
            cols,
            tuple(_empty_rows(qs)),
        ),
        "codes": _codes_table(data),
        "dropped": [field_label(c) for c in ds[-1].quality.identifiers_dropped],
        "figure": Figure(chart, "Trend over de leveringen") if chart else None,
    }
