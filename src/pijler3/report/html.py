"""The HTML renderer: the report's one self-contained Dutch page (inline CSS and SVG, no
network), laid out by the Jinja template ``data/templates/report.html.j2`` from the
section views of :mod:`pijler3.report.sections`. The only user of Jinja.
"""

from __future__ import annotations

from importlib import resources

import jinja2

from pijler3.analysis import disparities, indicators, population
from pijler3.report import answers, charts
from pijler3.report.data import ReportData
from pijler3.report.fmt import fmt_count, fmt_date, fmt_days, fmt_int, fmt_num, fmt_pct
from pijler3.report.groups_section import odds_section
from pijler3.report.labels import (
    BREAKDOWN_NL,
    INDICATOR_TEXT,
    disclosure_audit_nl,
    disclosure_earlier_nl,
    disclosure_rules_nl,
    expired_note_nl,
    field_label,
    in_text,
    join_nl,
    quality_hidden_nl,
)
from pijler3.report.quality_data import MIN_LABEL_COUNT
from pijler3.report.quality_section import quality_section
from pijler3.report.sections import (
    headline,
    indicator_section,
    km_section,
    risk_section,
    trends_overview,
)
from pijler3.report.view import DrawnCharts

FORMAT = "pijler3-report/1"
HEADLINE = (
    "toeleiding",
    "inschrijving_60d",
    "werk_12m",
    "inschrijving_mediaan_dagen",
    "werk_mediaan_dagen",
)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "int": fmt_int,
            "pct": fmt_pct,
            "num": fmt_num,
            "date": fmt_date,
            "days": fmt_days,
            "in_text": in_text,
            "count": fmt_count,
        }
    )
    return env


def _load_template(name: str) -> str:
    return resources.files("pijler3").joinpath("data", "templates", name).read_text("utf-8")


def render_html(data: ReportData) -> str:
    """The report page: every section's view, laid out by the template."""
    drawn = DrawnCharts()
    peil = data.latest.peildatum
    # Each view adds the charts it draws to drawn, which the page counts.
    headlines = [headline(data, i, peil) for i in HEADLINE]
    sections = [indicator_section(data, i, drawn) for i in indicators.INDICATOR_IDS]
    trends = trends_overview(data, drawn)
    km = km_section(data, drawn)
    odds = odds_section(data, drawn)
    risk = risk_section(data, drawn)
    qual = quality_section(data, drawn)
    changed = answers.changes(data)
    template = _environment().get_template("report.html.j2")
    return template.render(
        d=data,
        peil=peil,
        headline=headlines,
        sections=sections,
        trends=trends,
        km=km,
        odds=odds,
        risk=risk,
        quality=qual,
        answers=answers.answers(data),
        changes=changed,
        change_note=answers.change_note(data),
        change_table=answers.change_table(data, changed),
        references=answers.reference_table(data),
        chart_count=len(drawn),
        hatch=charts.HATCH_DEFS,
        breakdown_nl=BREAKDOWN_NL,
        breakdown_text=join_nl(
            [in_text(BREAKDOWN_NL[b]) for b in population.BREAKDOWNS if b != "totaal"]
        ),
        indicator_text=INDICATOR_TEXT,
        indicator_ids=indicators.INDICATOR_IDS,
        breakdowns=population.BREAKDOWNS,
        field_nl=field_label,
        populations=data.populations,
        format=FORMAT,
        disclosure_rules=disclosure_rules_nl(data.disclosure),
        disclosure_audit=disclosure_audit_nl(data.disclosure_audit, data.disclosure),
        disclosure_earlier=disclosure_earlier_nl(data.disclosure_audit),
        quality_hidden_text=quality_hidden_nl(data.quality_hidden),
        expired_note=expired_note_nl(data.expired_left_out) if data.expired_left_out else "",
        min_numerator=data.disclosure.min_numerator,
        min_or_rows=disparities.MIN_CATEGORY_ROWS,
        min_label=MIN_LABEL_COUNT,
    )
