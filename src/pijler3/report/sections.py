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

from pijler3.analysis import population
from pijler3.contract import words
from pijler3.report import answers, chart_inputs, charts
from pijler3.report.data import KM_BREAKDOWNS, KM_EVENTS, KM_MEDIAN, ReportData
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
        shown = words.word("report.sections", "suppressed")
    elif value is None:
        shown = words.word("report.sections", "not_reached") if unit == "days" else "–"
    else:
        shown = fmt_pct(value) if unit == "pct" else fmt_days(value)
    ci = ""
    if not row["suppressed"] and row["ci_low"] is not None and row["ci_high"] is not None:
        ci = words.sentence(
            "report.sections",
            "ci_days" if unit == "days" else "ci",
            low=fmt_value(row["ci_low"], unit),
            high=fmt_value(row["ci_high"], unit),
        )
    n = (
        words.sentence(
            "report.sections",
            "n_share",
            numerator=fmt_int(row["numerator"]),
            denominator=fmt_int(row["denominator"]),
        )
        if unit == "pct" and not row["suppressed"]
        else words.sentence(
            "report.sections",
            "n_days",
            numerator=fmt_int(row["numerator"]),
            denominator=fmt_int(row["denominator"]),
        )
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
    for bd in population.BREAKDOWNS:
        if bd == "totaal":
            continue
        rows = data.table.rows(indicator, bd, peil)
        table = DataTable(
            words.sentence(
                "report.sections",
                "by_at",
                what=text.title,
                breakdown=in_text(BREAKDOWN_NL[bd]),
                peildatum=fmt_date(peil),
            ),
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
                words.sentence(
                    "report.sections", "by", what=text.title, breakdown=in_text(BREAKDOWN_NL[bd])
                ),
                words.sentence(
                    "report.sections",
                    "bar_description",
                    breakdown=in_text(BREAKDOWN_NL[bd]),
                    peildatum=fmt_date(peil),
                ),
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
            words.sentence("report.sections", "per_cohort", what=text.title),
            words.sentence(
                "report.sections",
                "cohort_description",
                short=text.short,
                peildatum=fmt_date(peil),
                note=chart_inputs.cohort_note(indicator, series, peil),
            ),
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
    return Figure(chart, words.word("report.sections", "cohort_caption"))


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
            words.sentence("report.sections", "per_delivery", what=text.title),
            words.sentence("report.sections", "trend_description", short=text.short),
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
        words.sentence("report.sections", "per_delivery", what=text.title),
        (words.word("report.sections", "peildatum"), *value_columns(indicator)[1:]),
        tuple(
            TableRow(fmt_date(d.peildatum), row_cells(r, text.unit))
            for d, r in zip(deliveries, rows, strict=True)
        ),
        sheet=indicator,
    )
    return Figure(chart, words.word("report.sections", "trend_caption"), table)


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
                words.word("report.sections", "key_per_delivery"),
                words.word("report.sections", "key_per_delivery_description"),
                labels,
                series,
                y_max=1.0,
            )
        )
        table = DataTable(
            words.word("report.sections", "key_per_delivery"),
            (words.word("report.sections", "peildatum"), *[INDICATOR_TEXT[i].title for i in props]),
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
        return Figure(chart, words.word("report.sections", "key_per_delivery_caption"), table)
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
            words.word("report.sections", "key_per_cohort"),
            words.sentence(
                "report.sections", "key_per_cohort_description", peildatum=fmt_date(peil)
            ),
            [cohort_tick(r["category"]) for r in cohort_rows[props[0]]],
            series,
            y_max=1.0,
        )
    )
    table = DataTable(
        words.word("report.sections", "key_per_cohort"),
        (words.word("report.sections", "cohort"), *[INDICATOR_TEXT[i].title for i in props]),
        tuple(
            TableRow(
                lab,
                tuple(
                    num_cell(
                        s.values[k],
                        "pct",
                        fmt_pct(s.values[k])
                        + (
                            words.word("chart.cohort", "provisional_cell")
                            if s.is_provisional(k)
                            else ""
                        ),
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
    return Figure(chart, words.word("report.sections", "key_per_cohort_caption"), table)


def km_section(data: ReportData, drawn: DrawnCharts) -> dict[str, Any]:
    """Section 3: a panel per breakdown with the Kaplan-Meier curve of each event: the
    whole population as one curve, a breakdown as small multiples over the total."""
    titles = {e: words.word("report.sections", f"km_title_{e}") for e in ("inschrijving", "werk")}
    x_max = {"inschrijving": 365, "werk": max(365, data.km_max_day)}
    panels = []
    for bd in (population.TOTAL, *KM_BREAKDOWNS):
        figs = []
        for event in KM_EVENTS:
            per = data.curves[event][bd]
            bands = data.curve_bands.get(event, {}).get(bd, {})
            curves = [
                charts.Curve(
                    category_nl(bd, cat)
                    if bd != "totaal"
                    else words.word("report.sections", "total"),
                    pts,
                    bands.get(cat, ()),
                )
                for cat, pts in per.items()
                if len(pts) > 1
            ]
            # A category without a curve: hidden by rule 4, or because the table hides its
            # population (data._curves), unless it has nobody at all.
            people = _curve_people(data, event, bd)
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
            what = words.word("report.sections", f"km_what_{event}")
            chart = drawn.add(
                charts.km_chart(
                    f"km-{event}-{bd}",
                    titles[event]
                    if bd == "totaal"
                    else words.sentence(
                        "report.sections",
                        "by",
                        what=titles[event],
                        breakdown=in_text(BREAKDOWN_NL[bd]),
                    ),
                    words.sentence(
                        "report.sections",
                        "km_description",
                        what=what,
                        panels="" if bd == "totaal" else words.word("report.sections", "km_panels"),
                        stop=words.sentence(
                            "report.sections",
                            "km_stop_hidden",
                            n=data.disclosure.km_min_at_risk,
                            names=join_nl(hidden),
                        )
                        if hidden
                        else words.sentence(
                            "report.sections", "km_stop", n=data.disclosure.km_min_at_risk
                        ),
                    ),
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


def _curve_people(data: ReportData, event: str, bd: str) -> dict[str, int | None]:
    """Per category of ``bd``: the population of its curve for ``event`` as the latest
    delivery's table publishes it (the median's denominator; None where hidden)."""
    rows = data.table.rows(KM_MEDIAN[event], bd, data.latest.peildatum)
    return {r["category"]: r["denominator"] for r in rows}


def km_table(data: ReportData, event: str, bd: str) -> DataTable:
    """The curves of one event and breakdown read off at fixed numbers of days."""
    days = (30, 60, 90, 182, 365, 730)
    per = data.curves[event][bd]
    # A category whose population the table hides has no curve (see data._curves).
    people = _curve_people(data, event, bd)
    rows = []
    for cat, pts in per.items():
        cells: list[Cell] = []
        if cat in people and people[cat] is None:
            rows.append(TableRow(category_nl(bd, cat), tuple(sup() for _ in days)))
            continue
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
    what = words.word("report.sections", f"km_table_{event}")
    return DataTable(
        words.sentence(
            "report.sections",
            "km_table_caption",
            what=what
            if bd == "totaal"
            else words.sentence(
                "report.sections", "by", what=what, breakdown=in_text(BREAKDOWN_NL[bd])
            ),
        ),
        (
            words.word("report.sections", "category"),
            *[words.sentence("report.sections", "day_column", n=fmt_int(d)) for d in days],
        ),
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
            words.word("report.sections", "risk_chart_title"),
            words.word("report.sections", "risk_chart_description"),
            [charts.Bar(field_label(f), float(n)) for f, n in contributions],
            unit="count",
            label_width=210,
        )
        if any(n > 0 for _, n in contributions)
        else None
    )
    table = DataTable(
        words.word("report.sections", "risk_table_caption"),
        words.words("report.sections", "risk_table_columns"),
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
        words.sentence(
            "report.sections", "risk_figures_caption", peildatum=fmt_date(data.latest.peildatum)
        ),
        words.words("report.sections", "risk_figures_columns"),
        (
            TableRow(
                words.word("report.sections", "risk_k"), (num_cell(r.k, "count", fmt_int(r.k)),)
            ),
            TableRow(
                words.word("report.sections", "risk_records"),
                (num_cell(r.records, "count", fmt_int(r.records)),),
            ),
            TableRow(
                words.word("report.sections", "risk_uniques"),
                (num_cell(r.sample_uniques, "count", fmt_int(r.sample_uniques)),),
            ),
            TableRow(
                words.word("report.sections", "risk_unique_share"),
                (num_cell(r.sample_unique_share, "pct", fmt_pct(r.sample_unique_share)),),
            ),
            TableRow(
                words.word("report.sections", "risk_mean"),
                (num_cell(r.mean_risk, "num3", fmt_num(r.mean_risk, 3)),),
            ),
            TableRow(
                words.word("report.sections", "risk_max"),
                (num_cell(r.max_risk, "num3", fmt_num(r.max_risk, 3)),),
            ),
            TableRow(
                words.sentence("report.sections", "risk_below_k", k=r.k_report),
                (num_cell(r.records_below_k_report, "count", fmt_int(r.records_below_k_report)),),
            ),
            TableRow(
                words.word("report.sections", "risk_classes"),
                (num_cell(r.classes, "count", fmt_int(r.classes)),),
            ),
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
        "figure": Figure(chart, words.word("report.sections", "risk_figure_caption"), table),
        "figures": figures,
        "breaches": breaches,
        "recorded": recorded,
        "action": action,
    }
