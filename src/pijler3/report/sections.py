"""The section views of the monitoring report: one function per section, each turning
:class:`~pijler3.report.data.ReportData` into what the template lays out (texts, tables
and charts), and adding the charts it draws to the page's
:class:`~pijler3.report.view.DrawnCharts`.

- :func:`headline`: one key figure of the summary (section 1);
- :func:`indicator_section`: an indicator by every breakdown (section 2), with its
  :func:`cohort_figure` and, from two deliveries on, its :func:`trend_figure`;
- :func:`km_section`: the Kaplan-Meier curves and their tables (section 3);
- :func:`trends_overview`: the key shares over deliveries and cohorts (section 4);
- the disparities models (section 5) are in :mod:`pijler3.report.groups_section`;
- :func:`risk_section`: the re-identification risk (section 6).

Data quality (section 7) is in :mod:`pijler3.report.quality_section`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pijler3.analysis import indicators
from pijler3.report import answers, chart_inputs, charts
from pijler3.report.data import KM_BREAKDOWNS, KM_EVENTS, ReportData
from pijler3.report.fmt import fmt_date, fmt_days, fmt_int, fmt_num, fmt_pct, fmt_value
from pijler3.report.labels import (
    BREAKDOWN_NL,
    GRANULARITY_NL,
    INDICATOR_TEXT,
    category_nl,
    cohort_tick,
    field_label,
    field_label_in_text,
    in_text,
    join_nl,
    risk_breaches_nl,
)
from pijler3.report.view import (
    Cell,
    DataTable,
    DrawnCharts,
    Figure,
    TableRow,
    bars,
    num_cell,
    row_cells,
    sup,
    value_columns,
)


def headline(data: ReportData, indicator: str, peildatum: dt.date) -> dict[str, Any]:
    """Section 1: one key figure of the whole population at ``peildatum``, worded."""
    (row,) = data.table.rows(indicator, "totaal", peildatum)
    text = INDICATOR_TEXT[indicator]
    unit = text.unit
    matched = answers.reference_for(data, indicator)
    value = None if row["suppressed"] else row["value"]
    if row["suppressed"]:
        shown = "onderdrukt"
    elif value is None:
        shown = "niet bereikt" if unit == "days" else "–"
    else:
        shown = fmt_pct(value) if unit == "pct" else fmt_days(value)
    ci = ""
    if not row["suppressed"] and row["ci_low"] is not None and row["ci_high"] is not None:
        ci = f"95%-BI {fmt_value(row['ci_low'], unit)} – {fmt_value(row['ci_high'], unit)}"
        if unit == "days":
            ci += " dagen"
    n = (
        f"{fmt_int(row['numerator'])} van {fmt_int(row['denominator'])} personen"
        if unit == "pct" and not row["suppressed"]
        else f"{fmt_int(row['denominator'])} personen, {fmt_int(row['numerator'])} waargenomen"
        if not row["suppressed"]
        else ""
    )
    return {
        "id": indicator,
        "title": text.title,
        "value": shown,
        "ci": ci,
        "n": n,
        # A reference point only beside the figure it matches (like with like).
        "reference": matched.reference.text if matched else "",
        "reference_match": matched.sentence if matched else "",
        "reference_difference": matched.reference.difference if matched else "",
        "suppressed": row["suppressed"],
    }


def indicator_section(data: ReportData, indicator: str, drawn: DrawnCharts) -> dict[str, Any]:
    """Section 2: one indicator of the latest delivery, a table per breakdown and a bar
    chart per breakdown (the cohorts as a line), with its trend over the deliveries."""
    text = INDICATOR_TEXT[indicator]
    peil = data.latest.peildatum
    (total,) = data.table.rows(indicator, "totaal", peil)
    reference = None if total["suppressed"] else total["value"]
    scale = chart_inputs.indicator_scale(data.table, indicator)
    figures: list[Figure] = []
    tables: list[DataTable] = []
    for bd in indicators.BREAKDOWNS:
        if bd == "totaal":
            continue
        rows = data.table.rows(indicator, bd, peil)
        table = DataTable(
            f"{text.title} naar {in_text(BREAKDOWN_NL[bd])}, peildatum {fmt_date(peil)}",
            value_columns(indicator),
            tuple(
                TableRow(category_nl(bd, r["category"]), chart_inputs.mark_cells(cells, mark))
                for r, cells, mark in zip(
                    rows,
                    [row_cells(r, text.unit) for r in rows],
                    chart_inputs.provisional_marks(indicator, bd, rows, peil),
                    strict=True,
                )
            ),
            sheet=indicator,
        )
        tables.append(table)
        if bd == "cohort":
            continue
        chart = drawn.add(
            charts.bar_chart(
                f"bar-{indicator}-{bd}",
                f"{text.title} naar {in_text(BREAKDOWN_NL[bd])}",
                f"Staafdiagram met 95%-betrouwbaarheidsintervallen per categorie van "
                f"{in_text(BREAKDOWN_NL[bd])}, peildatum {fmt_date(peil)}. De stippellijn "
                f"is het totaal. De cijfers staan in de tabel eronder.",
                bars(rows, bd),
                unit=text.unit,
                reference=reference,
                v_max=scale,
            )
        )
        figures.append(Figure(chart, BREAKDOWN_NL[bd]))
    cohort = cohort_figure(data, indicator, drawn, scale)
    trend = trend_figure(data, indicator, drawn, scale)
    return {
        "id": indicator,
        "text": text,
        "headline": headline(data, indicator, peil),
        "figures": figures,
        "tables": tables,
        "cohort": cohort,
        "trend": trend,
    }


def cohort_figure(
    data: ReportData, indicator: str, drawn: DrawnCharts, scale: float | None = None
) -> Figure:
    """The indicator per cohort (quarter of the contract) of the latest delivery, its
    provisional and suppressed cohorts marked (:mod:`pijler3.report.chart_inputs`)."""
    text = INDICATOR_TEXT[indicator]
    peil = data.latest.peildatum
    rows = data.table.rows(indicator, "cohort", peil)
    labels = [cohort_tick(r["category"]) for r in rows]
    series = chart_inputs.cohort_series(text.title, indicator, rows, peil)
    chart = drawn.add(
        charts.line_chart(
            f"cohort-{indicator}",
            f"{text.title} per cohort",
            f"Lijndiagram van {text.short} per kwartaal van het inburgeringscontract, "
            f"met 95%-betrouwbaarheidsintervallen, peildatum {fmt_date(peil)}. "
            + chart_inputs.cohort_note(indicator, series, peil),
            labels,
            [series],
            unit=text.unit,
            width=520,
            height=240,
            y_max=scale,
            notes=[chart_inputs.missing_note(indicator, rows)],
            legend_rows=2,
        )
    )
    return Figure(chart, "Per cohort (kwartaal van het contract)")


def trend_figure(
    data: ReportData, indicator: str, drawn: DrawnCharts, scale: float | None = None
) -> Figure | None:
    """The indicator's total per delivery; None for a single delivery."""
    deliveries = data.deliveries
    if len(deliveries) < 2:
        return None
    text = INDICATOR_TEXT[indicator]
    rows = [data.table.rows(indicator, "totaal", d.peildatum)[0] for d in deliveries]
    shown = [None if r["suppressed"] else r["value"] for r in rows]
    labels = [fmt_date(d.peildatum) for d in deliveries]
    chart = drawn.add(
        charts.line_chart(
            f"trend-{indicator}",
            f"{text.title} per levering",
            f"Lijndiagram van {text.short} voor de hele populatie, één punt per "
            "bewaarde levering (peildatum), met 95%-betrouwbaarheidsintervallen.",
            labels,
            [
                charts.Series(
                    text.title,
                    shown,
                    [
                        r["ci_low"] if v is not None else None
                        for v, r in zip(shown, rows, strict=True)
                    ],
                    [
                        r["ci_high"] if v is not None else None
                        for v, r in zip(shown, rows, strict=True)
                    ],
                    suppressed=[bool(r["suppressed"]) for r in rows],
                )
            ],
            unit=text.unit,
            width=520,
            height=240,
            y_max=scale,
            legend_rows=2,
        )
    )
    table = DataTable(
        f"{text.title} per levering",
        ("Peildatum", *value_columns(indicator)[1:]),
        tuple(
            TableRow(fmt_date(d.peildatum), row_cells(r, text.unit))
            for d, r in zip(deliveries, rows, strict=True)
        ),
        sheet=indicator,
    )
    return Figure(chart, "Per levering (peildatum)", table)


# The share indicators of the trends section, one line each.
TREND_INDICATORS = ("toeleiding", "inschrijving_60d", "werk_6m", "werk_12m")


def trends_overview(data: ReportData, drawn: DrawnCharts) -> list[Figure]:
    """Section 4: the key shares over the deliveries (from two on) and over the cohorts."""
    by_delivery = _trend_by_delivery(data, drawn)
    by_cohort = _trend_by_cohort(data, drawn)
    return [by_delivery, by_cohort] if by_delivery else [by_cohort]


def _trend_by_delivery(data: ReportData, drawn: DrawnCharts) -> Figure | None:
    """The key shares per delivery; None for a single delivery."""
    props = TREND_INDICATORS
    if len(data.deliveries) >= 2:
        labels = [fmt_date(d.peildatum) for d in data.deliveries]
        series = []
        for ind in props:
            rs = [data.table.rows(ind, "totaal", d.peildatum)[0] for d in data.deliveries]
            series.append(
                charts.Series(
                    INDICATOR_TEXT[ind].title,
                    [None if r["suppressed"] else r["value"] for r in rs],
                    suppressed=[bool(r["suppressed"]) for r in rs],
                )
            )
        chart = drawn.add(
            charts.line_chart(
                "trend-leveringen",
                "Kernindicatoren per levering",
                "Lijndiagram van toeleiding, inschrijving binnen 60 dagen en uitstroom "
                "naar werk binnen 6 en 12 maanden, één punt per bewaarde levering.",
                labels,
                series,
                y_max=1.0,
            )
        )
        table = DataTable(
            "Kernindicatoren per levering",
            ("Peildatum", *[INDICATOR_TEXT[i].title for i in props]),
            tuple(
                TableRow(
                    lab,
                    tuple(
                        num_cell(s.values[k], "pct", fmt_pct(s.values[k]))
                        if s.values[k] is not None
                        else sup()
                        for s in series
                    ),
                )
                for k, lab in enumerate(labels)
            ),
            sheet="Trends",
        )
        return Figure(chart, "Over de leveringen heen", table)
    return None


def _trend_by_cohort(data: ReportData, drawn: DrawnCharts) -> Figure:
    """The key shares per cohort of the latest delivery."""
    props = TREND_INDICATORS
    peil = data.latest.peildatum
    cohort_rows = {ind: data.table.rows(ind, "cohort", peil) for ind in props}
    labels = [category_nl("cohort", r["category"]) for r in cohort_rows[props[0]]]
    series = [
        chart_inputs.cohort_series(
            INDICATOR_TEXT[ind].title, ind, cohort_rows[ind], peil, intervals=False
        )
        for ind in props
    ]
    chart = drawn.add(
        charts.line_chart(
            "trend-cohorten",
            "Kernindicatoren per cohort",
            f"Lijndiagram van de kernindicatoren per kwartaal van het "
            f"inburgeringscontract, peildatum {fmt_date(peil)}. Open rondjes op een "
            "stippellijn zijn voorlopige cohorten (de opvolging loopt nog); een gearceerd "
            "blokje op de as is een onderdrukt cijfer.",
            [cohort_tick(r["category"]) for r in cohort_rows[props[0]]],
            series,
            y_max=1.0,
        )
    )
    table = DataTable(
        "Kernindicatoren per cohort",
        ("Cohort", *[INDICATOR_TEXT[i].title for i in props]),
        tuple(
            TableRow(
                lab,
                tuple(
                    num_cell(
                        s.values[k],
                        "pct",
                        fmt_pct(s.values[k]) + (" (voorlopig)" if s.is_provisional(k) else ""),
                    )
                    if s.values[k] is not None
                    else (sup() if cohort_rows[props[j]][k]["suppressed"] else Cell("–"))
                    for j, s in enumerate(series)
                ),
            )
            for k, lab in enumerate(labels)
        ),
        sheet="Trends",
    )
    return Figure(chart, "Per cohort (laatste levering)", table)


def km_section(data: ReportData, drawn: DrawnCharts) -> dict[str, Any]:
    """Section 3: a panel per breakdown with the Kaplan-Meier curve of each event: the
    whole population as one curve, a breakdown as small multiples over the total."""
    titles = {"inschrijving": "Tijd tot inschrijving bij VDAB", "werk": "Tijd tot werk"}
    x_max = {"inschrijving": 365, "werk": max(365, data.km_max_day)}
    median_of = {"inschrijving": "inschrijving_mediaan_dagen", "werk": "werk_mediaan_dagen"}
    peil = data.latest.peildatum
    panels = []
    for bd in (indicators.TOTAL, *KM_BREAKDOWNS):
        figs = []
        for event in KM_EVENTS:
            per = data.curves[event][bd]
            bands = data.curve_bands.get(event, {}).get(bd, {})
            curves = [
                charts.Curve(
                    category_nl(bd, cat) if bd != "totaal" else "Totaal", pts, bands.get(cat, ())
                )
                for cat, pts in per.items()
                if len(pts) > 1
            ]
            # A category without a curve: hidden by rule 4 unless it has nobody at all.
            people = {
                r["category"]: r["denominator"] for r in data.table.rows(median_of[event], bd, peil)
            }
            hidden = [
                category_nl(bd, cat)
                for cat, pts in per.items()
                if len(pts) <= 1 and bd != "totaal" and people.get(cat) != 0
            ]
            total_pts = data.curves[event]["totaal"].get("totaal", ())
            limit = (
                x_max[event]
                if event == "werk"
                else min(x_max[event], max((c.points[-1][0] for c in curves), default=1))
            )
            what = "bij VDAB ingeschreven" if event == "inschrijving" else "aan het werk"
            chart = drawn.add(
                charts.km_chart(
                    f"km-{event}-{bd}",
                    f"{titles[event]}"
                    + ("" if bd == "totaal" else f" naar {in_text(BREAKDOWN_NL[bd])}"),
                    f"Kaplan–Meier-curve: het geschatte aandeel dat {what} is, per "
                    "aantal dagen na het inburgeringscontract, met de 95%-betrouwbaarheids"
                    "band en een verticale stippellijn op 60 dagen. "
                    + (
                        ""
                        if bd == "totaal"
                        else "Eén paneel per groep, met de hele populatie in grijs. "
                    )
                    + "Een curve stopt waar "
                    f"minder dan {data.disclosure.km_min_at_risk} personen nog "
                    "opgevolgd worden" + (f"; onderdrukt: {join_nl(hidden)}." if hidden else "."),
                    curves,
                    x_max=limit,
                    total=charts.Curve(charts.WHOLE_POPULATION, total_pts)
                    if bd != "totaal"
                    else None,
                    suppressed=hidden,
                )
            )
            figs.append(Figure(chart, titles[event], km_table(data, event, bd)))
        panels.append({"breakdown": bd, "title": BREAKDOWN_NL[bd], "figures": figs})
    return {"panels": panels}


def km_table(data: ReportData, event: str, bd: str) -> DataTable:
    """The curves of one event and breakdown read off at fixed numbers of days."""
    days = (30, 60, 90, 182, 365, 730)
    per = data.curves[event][bd]
    rows = []
    for cat, pts in per.items():
        cells = []
        for day in days:
            if not pts or pts[-1][0] < day:
                cells.append(Cell("–"))
                continue
            share = 0.0
            for d, s in pts:
                if d > day:
                    break
                share = s
            cells.append(num_cell(share, "pct", fmt_pct(share)))
        rows.append(TableRow(category_nl(bd, cat), tuple(cells)))
    what = "Tijd tot inschrijving" if event == "inschrijving" else "Tijd tot werk"
    return DataTable(
        f"{what}{'' if bd == 'totaal' else ' naar ' + in_text(BREAKDOWN_NL[bd])}: geschat "
        "aandeel na zoveel dagen (– : niet meer te tonen, te weinig personen)",
        ("Categorie", *[f"{fmt_int(d)} dagen" for d in days]),
        tuple(rows),
        sheet="Overleving",
    )


def risk_section(data: ReportData, drawn: DrawnCharts) -> dict[str, Any] | None:
    """Section 6: the latest delivery's re-identification risk from its manifest, the
    contribution of each quasi-identifier and the protocol's thresholds it exceeds;
    None when the manifest holds no risk figures."""
    if data.risk is None:
        return None
    r = data.risk.report
    contributions = list(r.contributions)
    mean_drop = dict(r.mean_risk_contributions)
    chart = drawn.add(
        charts.bar_chart(
            "risk-contributions",
            "Bijdrage van elk quasi-identificerend kenmerk aan de uniciteit",
            "Staafdiagram: per kenmerk het aantal records dat niet meer uniek is als "
            "dat kenmerk wordt weggelaten.",
            [charts.Bar(field_label(f), float(n)) for f, n in contributions],
            unit="count",
            label_width=210,
        )
        if any(n > 0 for _, n in contributions)
        else None
    )
    table = DataTable(
        "Bijdrage aan de uniciteit per kenmerk",
        ("Kenmerk", "Unieke records minder zonder dit kenmerk", "Daling gemiddeld risico"),
        tuple(
            TableRow(
                field_label(f),
                (
                    num_cell(n, "count", fmt_int(n)),
                    num_cell(mean_drop.get(f, 0.0), "num3", fmt_num(mean_drop.get(f, 0.0), 3)),
                ),
            )
            for f, n in contributions
        ),
        sheet="Risico",
    )
    figures = DataTable(
        f"Kerncijfers van de risicotoets, peildatum {fmt_date(data.latest.peildatum)}",
        ("Maat", "Waarde"),
        (
            TableRow("k-anonimiteit (kleinste klasse)", (num_cell(r.k, "count", fmt_int(r.k)),)),
            TableRow("Records", (num_cell(r.records, "count", fmt_int(r.records)),)),
            TableRow(
                "Unieke records", (num_cell(r.sample_uniques, "count", fmt_int(r.sample_uniques)),)
            ),
            TableRow(
                "Aandeel unieke records",
                (num_cell(r.sample_unique_share, "pct", fmt_pct(r.sample_unique_share)),),
            ),
            TableRow("Gemiddeld risico", (num_cell(r.mean_risk, "num3", fmt_num(r.mean_risk, 3)),)),
            TableRow("Maximaal risico", (num_cell(r.max_risk, "num3", fmt_num(r.max_risk, 3)),)),
            TableRow(
                f"Records in klassen kleiner dan {r.k_report}",
                (num_cell(r.records_below_k_report, "count", fmt_int(r.records_below_k_report)),),
            ),
            TableRow("Klassen", (num_cell(r.classes, "count", fmt_int(r.classes)),)),
        ),
        sheet="Risico",
    )
    rules = data.risk_rules
    breaches = risk_breaches_nl(r, rules) if rules is not None else []
    recorded = len(data.risk.warnings)
    action = rules.action if rules is not None else data.risk.action
    return {
        "r": r,
        "granularity": GRANULARITY_NL.get(r.date_granularity, ""),
        "qis": join_nl([field_label_in_text(q) for q in r.quasi_identifiers]),
        "l_div": join_nl(
            [f"{field_label_in_text(k)} {fmt_int(v)}" for k, v in r.l_diversity.items()]
        ),
        "figure": Figure(chart, "Bijdrage aan de uniciteit", table),
        "figures": figures,
        "breaches": breaches,
        "recorded": recorded,
        "action": action,
    }
