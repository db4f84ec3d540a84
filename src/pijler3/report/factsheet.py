"""The fact sheet: a two-page A4 summary of the report, ``factsheet.html`` beside
``report.html`` (and ``factsheet.pdf``, printed by headless Chromium when it is installed).

Page 1 holds the answers to the protocol's three questions (those of the report's
first page, :func:`pijler3.report.answers.answers`), a caution that these are outcomes
and not measured effects of the policy, and the key figures with their intervals;
page 2 three charts: the key shares per cohort, the time to work and registration by
region. Like the report it is one self-contained page, offline, with
disclosure-controlled figures only.

The answers are a hook: :func:`render_factsheet` takes any list of Dutch sentences, and
:func:`default_answers` words the report's own figures when no other answers are given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from pijler3.contract import words
from pijler3.report import answers as first_page
from pijler3.report import chart_inputs, charts
from pijler3.report.data import ReportData
from pijler3.report.fmt import fmt_date
from pijler3.report.labels import BREAKDOWN_NL, INDICATOR_TEXT, cohort_tick, in_text
from pijler3.report.sections import TREND_INDICATORS, headline
from pijler3.report.view import bars

KEY_FIGURES = (
    "toeleiding",
    "inschrijving_60d",
    "werk_6m",
    "werk_12m",
    "inschrijving_mediaan_dagen",
    "werk_mediaan_dagen",
)
# A guard against a browser that hangs, not a performance limit.
PRINT_TIMEOUT_S = 120


def default_answers(data: ReportData) -> list[tuple[str, list[str]]]:
    """The report's answers to the protocol's three questions
    (:func:`pijler3.report.answers.answers`) as (question, sentences); the caution
    stands apart on the sheet, so it is left out here."""
    caution = words.word("answers", "caution")
    return [
        (a.question, [s for s in a.sentences if s != caution]) for a in first_page.answers(data)
    ]


def _charts(data: ReportData) -> list[dict[str, Any]]:
    """The fact sheet's charts with their titles (page 2)."""
    peil = data.latest.peildatum
    out: list[charts.Chart | None] = []
    rows = {i: data.table.rows(i, "cohort", peil) for i in TREND_INDICATORS}
    first = rows[TREND_INDICATORS[0]]
    out.append(
        charts.line_chart(
            "fs-cohorten",
            words.word("factsheet", "chart_cohorts"),
            words.sentence("factsheet", "desc_cohorts", peildatum=fmt_date(peil)),
            [cohort_tick(r["category"]) for r in first],
            [
                chart_inputs.cohort_series(
                    INDICATOR_TEXT[i].title, i, rows[i], peil, intervals=False
                )
                for i in TREND_INDICATORS
            ],
            width=800,
            height=270,
        )
    )
    total = data.curves["werk"]["totaal"].get("totaal", ())
    band = data.curve_bands.get("werk", {}).get("totaal", {}).get("totaal", ())
    out.append(
        charts.km_chart(
            "fs-km-werk",
            words.word("factsheet", "chart_km"),
            words.word("factsheet", "desc_km"),
            [charts.Curve(words.word("factsheet", "curve_total"), total, band)],
            x_max=max(365, data.km_max_day),
            width=800,
            height=270,
        )
    )
    ind, bd = "inschrijving_60d", "regio"
    (tot,) = data.table.rows(ind, "totaal", peil)
    bar_title = words.sentence(
        "factsheet",
        "title_bar",
        indicator=INDICATOR_TEXT[ind].title,
        breakdown=in_text(BREAKDOWN_NL[bd]),
    )
    out.append(
        charts.bar_chart(
            "fs-bar-regio",
            bar_title,
            words.sentence(
                "factsheet",
                "desc_bar",
                breakdown=in_text(BREAKDOWN_NL[bd]),
                peildatum=fmt_date(peil),
            ),
            bars(data.table.rows(ind, bd, peil), bd),
            unit=INDICATOR_TEXT[ind].unit,
            reference=None if tot["suppressed"] else tot["value"],
            width=800,
            label_width=200,
            v_max=chart_inputs.indicator_scale(data.table, ind),
        )
    )
    titles = (
        words.word("factsheet", "title_cohorts"),
        words.word("factsheet", "title_km"),
        bar_title,
    )
    return [{"title": t, "chart": c} for t, c in zip(titles, out, strict=True) if c is not None]


def render_factsheet(data: ReportData, answers: Sequence[str] | None = None) -> str:
    """The fact sheet's HTML; ``answers`` (one sentence or paragraph per question)
    replaces :func:`default_answers` when given."""
    peil = data.latest.peildatum
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: (
                resources.files("pijler3").joinpath("data", "templates", name).read_text("utf-8")
            )
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    drawn = _charts(data)
    figures: list[dict[str, Any]] = [headline(data, i, peil) for i in KEY_FIGURES]
    return env.get_template("factsheet.html.j2").render(
        d=data,
        peil=fmt_date(peil),
        deliveries=[fmt_date(x.peildatum) for x in data.deliveries],
        answers=[("", [a]) for a in answers] if answers is not None else default_answers(data),
        caution=words.word("answers", "caution"),
        figures=figures,
        charts=drawn,
        chart_count=len(drawn),
        hatch=charts.HATCH_DEFS,
    )


def chromium() -> str | None:
    """The headless Chromium on this machine, or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def sandbox_flags() -> list[str]:
    """Chromium keeps its sandbox, except when run as root, where it refuses to start
    with one (containers, CI): there it runs without, on our own page, offline."""
    return ["--no-sandbox"] if os.geteuid() == 0 else []


def print_pdf(html: Path, browser: str) -> bytes | None:
    """``html`` printed to PDF by headless Chromium (A4, from the page's CSS), offline
    and in a throwaway profile; None when the browser fails."""
    with tempfile.TemporaryDirectory(prefix="pijler3-print-") as tmp:
        pdf = Path(tmp) / "out.pdf"
        try:
            subprocess.run(
                [
                    browser,
                    "--headless=new",
                    *sandbox_flags(),
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--no-pdf-header-footer",
                    f"--user-data-dir={Path(tmp) / 'profile'}",
                    f"--print-to-pdf={pdf}",
                    html.resolve().as_uri(),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=PRINT_TIMEOUT_S,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if not pdf.exists() or not pdf.read_bytes().startswith(b"%PDF"):
            return None
        return pdf.read_bytes()
