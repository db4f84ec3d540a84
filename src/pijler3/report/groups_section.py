"""Section 5 of the report, who is reached worse: per outcome, the adjusted odds ratios
of :mod:`pijler3.analysis.disparities` as a forest plot and a table, each with its
Holm-adjusted p-value and the adjusted percentages (predictive margins) of the group and
of its reference, the largest known group, named. ``ONBEKEND`` is shown but never a
finding. The HTML page and the workbook's sheet both lay out :func:`odds_section`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pijler3.analysis import disparities
from pijler3.contract import words
from pijler3.report import charts
from pijler3.report.data import ReportData
from pijler3.report.fmt import fmt_int, fmt_num, fmt_pct
from pijler3.report.labels import BREAKDOWN_NL, INDICATOR_TEXT, category_nl, in_text, join_nl
from pijler3.report.view import Cell, DataTable, DrawnCharts, Figure, TableRow, num_cell, sup


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0,001" if p < 0.001 else fmt_num(p, 3)


def odds_table(title: str, table: pl.DataFrame) -> DataTable:
    """The odds ratios of one model, each with its Holm-adjusted p-value and the adjusted
    percentages of the group and of its reference (the largest known group)."""
    rows = []
    for r in table.iter_rows(named=True):
        group = category_nl(r["term"], r["category"])
        if r["category"] in disparities.NOT_A_FINDING:
            group += " (geen bevinding)"
        rows.append(
            TableRow(
                group,
                (
                    Cell(BREAKDOWN_NL.get(r["term"], r["term"]), numeric=False),
                    Cell(category_nl(r["term"], r["reference"]), numeric=False),
                    num_cell(r["odds_ratio"], "ratio", fmt_num(r["odds_ratio"], 2)),
                    Cell(
                        f"{fmt_num(r['ci_low'], 2)} – {fmt_num(r['ci_high'], 2)}",
                        unit="ratio",
                        interval=(r["ci_low"], r["ci_high"]),
                    ),
                    num_cell(r["p_value"], "p", _p(r["p_value"])),
                    num_cell(r["p_holm"], "p", _p(r["p_holm"])),
                    num_cell(r["margin"], "pct", fmt_pct(r["margin"])),
                    Cell(
                        f"{fmt_pct(r['margin_low'])} – {fmt_pct(r['margin_high'])}",
                        unit="pct",
                        interval=(r["margin_low"], r["margin_high"]),
                    ),
                    num_cell(r["reference_margin"], "pct", fmt_pct(r["reference_margin"])),
                    # Hidden beside a hidden denominator (report.data._hide_group_sizes).
                    num_cell(r["n"], "count", fmt_int(r["n"])) if r["n"] is not None else sup(),
                    Cell("ja" if r["finding"] else "nee", numeric=False),
                ),
            )
        )
    return DataTable(
        f"Odds ratio's en gecorrigeerde aandelen: {in_text(title)}",
        (
            "Groep",
            "Kenmerk",
            "Referentiegroep",
            "OR",
            "95%-BI OR",
            "p",
            "p (Holm)",
            "Gecorrigeerd aandeel",
            "95%-BI aandeel",
            "Gecorrigeerd aandeel referentie",
            "Personen",
            "Bevinding",
        ),
        tuple(rows),
        sheet="Odds ratio's",
    )


def _references_nl(table: pl.DataFrame) -> str:
    """The reference group of each profile field, named, with its size."""
    refs = table.unique(["term"], keep="first", maintain_order=True)
    return join_nl(
        [
            f"{in_text(BREAKDOWN_NL.get(r['term'], r['term']))}: "
            f"{category_nl(r['term'], r['reference'])} ({fmt_int(r['reference_n'])} personen)"
            for r in refs.iter_rows(named=True)
        ]
    )


def odds_section(data: ReportData, drawn: DrawnCharts) -> list[dict[str, Any]]:
    """Section 5: per outcome, the adjusted odds ratios as a forest plot and a table,
    with the summary sentences and the strongest findings (Holm-adjusted p < 0,05;
    ``ONBEKEND`` shown but never a finding)."""
    out = []
    for outcome, res in data.odds.items():
        title = INDICATOR_TEXT[outcome].title
        rows = [
            charts.ForestRow(
                f"{BREAKDOWN_NL.get(r['term'], r['term'])} (referentie: "
                f"{category_nl(r['term'], r['reference'])})",
                category_nl(r["term"], r["category"]),
                r["odds_ratio"],
                r["ci_low"],
                r["ci_high"],
                bool(r["finding"]),
            )
            for r in res.table.iter_rows(named=True)
        ]
        chart = drawn.add(
            charts.forest_plot(
                f"forest-{outcome}",
                f"Gecorrigeerde odds ratio's: {in_text(title)}",
                words.word("groups", "forest_desc"),
                rows,
            )
        )
        findings = res.table.filter(pl.col("finding")) if res.table.height else res.table
        strongest = (
            findings.with_columns(pl.col("odds_ratio").log().abs().alias("_size"))
            .sort("_size", descending=True)
            .head(3)
            .drop("_size")
        )
        out.append(
            {
                "outcome": outcome,
                "title": title,
                "summary": res.summary,
                "sentences": _sentences(res.summary),
                "top": _sentences(disparities.summary_nl(strongest, res.outcome))
                if strongest.height
                else [],
                "significant": findings.height,
                "tested": res.table.filter(
                    ~pl.col("category").is_in(list(disparities.NOT_A_FINDING))
                ).height,
                "references": _references_nl(res.table) if res.table.height else "",
                "figure": Figure(chart, title, odds_table(title, res.table)),
                "n": res.table.height,
            }
        )
    return out


def _sentences(text: str) -> list[str]:
    """The sentences of :func:`disparities.summary_nl`, one per group, for a list."""
    parts = [p.strip() for p in text.split(").")]
    return [p + ")." if not p.endswith(".") else p for p in parts if p]
