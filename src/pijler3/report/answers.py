"""The first page of the report: short Dutch answers to the protocol's three questions
(is the policy carried out, do newcomers find work, which groups are reached worse),
what changed since the previous delivery, and each published reference point beside the
figure of this report that matches it.

Every figure comes from the published, disclosure-controlled table
(:class:`~pijler3.analysis.disclosure.PublishedTable`) or the disparities models; never
from raw counts. The sentences are the ``[answers]`` and ``[changes]`` of
``data/labels-nl.toml``, the references its ``[reference_match]``
(:data:`~pijler3.report.labels.REFERENCE_POINTS`). The fact sheet and the HTML page
both read :func:`answers` and :func:`changes`.

Change since the previous delivery: the difference of the two published shares with a
Newcombe (hybrid score) 95% interval, statsmodels'
``confint_proportions_2indep(method="newcomb")``; a change is meaningful when its
interval does not hold 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from pijler3.analysis import disparities, population
from pijler3.contract import words
from pijler3.report.data import ReportData
from pijler3.report.fmt import NBSP, fmt_date, fmt_num, fmt_pct
from pijler3.report.labels import INDICATOR_TEXT, REFERENCE_POINTS, Reference, in_text
from pijler3.report.view import Cell, DataTable, TableRow

# The shares that answer the first two questions, and whose change is tested.
POLICY = ("toeleiding", "inschrijving_60d")
OUTCOMES = ("werk_6m", "werk_12m")
CHANGED = (*POLICY, *OUTCOMES)
MAX_GROUPS = 2  # groups named per outcome on the first page (the strongest findings)


@dataclass(frozen=True)
class Answer:
    """One of the three questions, answered in short sentences; ``anchor`` is the
    section of the page that backs it."""

    key: str
    question: str
    sentences: tuple[str, ...]
    anchor: str


@dataclass(frozen=True)
class Change:
    """One share at the previous and the latest delivery, and their difference."""

    indicator: str
    before: float | None
    after: float | None
    diff: float | None  # after - before, as a share (0.035 = 3,5 procentpunt)
    low: float | None
    high: float | None
    meaningful: bool | None
    sentence: str


@dataclass(frozen=True)
class MatchedReference:
    """A reference point with the figure of the latest delivery it is set beside."""

    reference: Reference
    group: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    sentence: str


def _ci(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return words.word("answers", "no_interval")
    return f"95%-BI {fmt_pct(low)} – {fmt_pct(high)}"


def _total(data: ReportData, indicator: str, at: Any = None) -> Mapping[str, Any]:
    (row,) = data.table.rows(indicator, population.TOTAL, at or data.latest.peildatum)
    return row


def _share_sentence(row: Mapping[str, Any], indicator: str) -> str:
    if row["suppressed"] or row["value"] is None:
        return words.sentence(
            "answers", "suppressed", what=in_text(INDICATOR_TEXT[indicator].title)
        )
    return words.sentence(
        "answers", indicator, value=fmt_pct(row["value"]), ci=_ci(row["ci_low"], row["ci_high"])
    )


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _group_sentences(data: ReportData) -> tuple[str, ...]:
    """The strongest unfavourable findings per outcome, with adjusted percentages."""
    out: list[str] = []
    for outcome, res in data.odds.items():
        table = res.table
        what = in_text(INDICATOR_TEXT[outcome].title)
        if table.height == 0:
            out.append(words.sentence("answers", "too_few", what=INDICATOR_TEXT[outcome].title))
            continue
        found = table.filter(pl.col("finding"))
        worse = (
            found.filter(pl.col("odds_ratio") < 1)
            .with_columns(pl.col("odds_ratio").log().abs().alias("_size"))
            .sort("_size", descending=True)
        )
        out.append(
            words.sentence(
                "answers",
                "groups_count",
                what=INDICATOR_TEXT[outcome].title,
                n=found.height,
                total=table.filter(
                    ~pl.col("category").is_in(list(disparities.NOT_A_FINDING))
                ).height,
                less=worse.height,
            )
        )
        if worse.height == 0:
            out.append(words.sentence("answers", "no_group", what=what))
        for row in worse.head(MAX_GROUPS).iter_rows(named=True):
            out.append(
                words.sentence(
                    "answers",
                    "group",
                    clause=disparities.comparison_nl(row),
                    value=fmt_pct(row["margin"]),
                    ci=_ci(row["margin_low"], row["margin_high"]),
                    reference=fmt_pct(row["reference_margin"]),
                )
            )
    return tuple(out)


def _shares(data: ReportData, which: tuple[str, ...]) -> tuple[str, ...]:
    """The sentences of the totals of ``which``, then the group figures that a reference
    point is set beside (74 % beside the verplicht group)."""
    out = [_share_sentence(_total(data, i), i) for i in which]
    for m in matched_references(data)[0]:
        beside_group = m.reference.breakdown != population.TOTAL
        if m.reference.indicator in which and beside_group and m.value is not None:
            out.append(
                words.sentence(
                    "answers",
                    "reference",
                    group=m.group,
                    value=fmt_pct(m.value),
                    ci=_ci(m.ci_low, m.ci_high),
                    reference=m.reference.value,
                )
            )
    return tuple(out)


def answers(data: ReportData) -> tuple[Answer, ...]:
    """The three questions of the protocol, each answered with its figures and 95%
    intervals from the latest delivery; the second ends with the caution that these are
    outcomes, not measured effects of the policy."""
    return (
        Answer(
            "uitgevoerd",
            words.word("answers.question", "uitgevoerd"),
            _shares(data, POLICY),
            "ind-toeleiding",
        ),
        Answer(
            "werkt",
            words.word("answers.question", "werkt"),
            (*_shares(data, OUTCOMES), words.word("answers", "caution")),
            "ind-werk_12m",
        ),
        Answer(
            "groepen",
            words.word("answers.question", "groepen"),
            _group_sentences(data),
            "verschillen",
        ),
    )


def _points(diff: float, unit: bool = True) -> str:
    """A difference of shares in procentpunt, signed, "±0,0" when it rounds to zero."""
    shown = fmt_num(abs(diff) * 100, 1)
    sign = "±" if shown == "0,0" else "+" if diff > 0 else "−"
    return f"{sign}{shown}{NBSP}procentpunt" if unit else f"{sign}{shown}"


def _change(indicator: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> Change:
    title = INDICATOR_TEXT[indicator].title
    usable = all(
        not r["suppressed"] and r["denominator"] and r["numerator"] is not None
        for r in (before, after)
    )
    if not usable:
        return Change(
            indicator,
            None,
            None,
            None,
            None,
            None,
            None,
            words.sentence("changes", "missing", title=title),
        )
    # Imported here: statsmodels takes a second to import, and only a report of two or
    # more deliveries needs it.
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(
        after["numerator"],
        after["denominator"],
        before["numerator"],
        before["denominator"],
        method="newcomb",
        compare="diff",
    )
    p1 = after["numerator"] / after["denominator"]
    p0 = before["numerator"] / before["denominator"]
    diff = p1 - p0
    meaningful = not (low <= 0.0 <= high)
    kind = "same" if not meaningful else "up" if diff > 0 else "down"
    ci = f"95%-BI {_points(float(low), unit=False)} tot {_points(float(high))}"
    sentence = words.sentence(
        "changes",
        "same" if kind == "same" else "up" if kind == "up" else "down",
        title=title,
        before=fmt_pct(p0),
        after=fmt_pct(p1),
        diff=_points(diff),
        ci=ci,
    )
    return Change(
        indicator, p0, p1, diff, float(low), float(high), meaningful, _first_upper(sentence)
    )


def changes(data: ReportData) -> tuple[Change, ...]:
    """The key shares of the previous and the latest delivery and their difference;
    empty for a single delivery."""
    if len(data.deliveries) < 2:
        return ()
    before, after = data.deliveries[-2].peildatum, data.deliveries[-1].peildatum
    return tuple(_change(i, _total(data, i, before), _total(data, i, after)) for i in CHANGED)


def change_note(data: ReportData) -> str:
    """How the changes are computed (or why there are none)."""
    if len(data.deliveries) < 2:
        return words.word("changes", "single")
    return words.sentence(
        "changes",
        "method",
        before=fmt_date(data.deliveries[-2].peildatum),
        after=fmt_date(data.deliveries[-1].peildatum),
    )


def change_table(data: ReportData, rows: tuple[Change, ...]) -> DataTable:
    """The changes as a table (shown with the sentences, and as a sheet of the workbook)."""
    labels = (
        (fmt_date(data.deliveries[-2].peildatum), fmt_date(data.latest.peildatum))
        if len(data.deliveries) >= 2
        else ("Vorige", "Laatste")
    )
    return DataTable(
        words.word("changes", "caption"),
        ("Indicator", *labels, "Verschil", "95%-BI verschil", "Betekenisvol"),
        tuple(
            TableRow(
                INDICATOR_TEXT[c.indicator].title,
                (
                    Cell(fmt_pct(c.before), value=c.before, unit="pct"),
                    Cell(fmt_pct(c.after), value=c.after, unit="pct"),
                    Cell(_points(c.diff) if c.diff is not None else "–", value=c.diff, unit="pct"),
                    Cell(
                        f"{_points(c.low, unit=False)} tot {_points(c.high)}"
                        if c.low is not None and c.high is not None
                        else "–",
                        unit="pct",
                        interval=(c.low, c.high),
                    ),
                    Cell(
                        "–" if c.meaningful is None else "ja" if c.meaningful else "nee",
                        numeric=False,
                    ),
                ),
            )
            for c in rows
        ),
        sheet="Veranderd",
    )


def matched_references(data: ReportData) -> tuple[list[MatchedReference], list[Reference]]:
    """Each reference point with the latest delivery's figure of the same indicator and
    group; the references that match no figure, apart."""
    matched: list[MatchedReference] = []
    apart: list[Reference] = []
    for ref in REFERENCE_POINTS:
        if not ref.breakdown:
            apart.append(ref)
            continue
        rows = data.table.rows(ref.indicator, ref.breakdown, data.latest.peildatum)
        row = next((r for r in rows if r["category"] == ref.category), None)
        group = (
            words.word("answers", "all_persons")
            if ref.breakdown == population.TOTAL
            else disparities.group_nl(ref.breakdown, ref.category)
        )
        if row is None or row["suppressed"] or row["value"] is None:
            value = low = high = None
            shown = words.word("answers", "not_shown")
        else:
            value, low, high = row["value"], row["ci_low"], row["ci_high"]
            shown = fmt_pct(value)
        sentence = words.sentence(
            "answers", "reference_match", group=group, value=shown, ci=_ci(low, high)
        )
        matched.append(MatchedReference(ref, group, value, low, high, sentence))
    return matched, apart


def reference_for(data: ReportData, indicator: str) -> MatchedReference | None:
    """The reference point set beside ``indicator``'s summary card, if any."""
    matched, _ = matched_references(data)
    return next((m for m in matched if m.reference.indicator == indicator), None)


def reference_table(data: ReportData) -> DataTable:
    """Every reference point, its matching figure and the difference in definitions."""
    matched, apart = matched_references(data)
    rows = [
        TableRow(
            INDICATOR_TEXT[m.reference.indicator].title,
            (
                Cell(m.reference.text, numeric=False),
                Cell(m.group, numeric=False),
                Cell(fmt_pct(m.value) if m.value is not None else "–", value=m.value, unit="pct"),
                Cell(_ci(m.ci_low, m.ci_high), unit="pct", interval=(m.ci_low, m.ci_high)),
                Cell(m.reference.difference, numeric=False),
            ),
        )
        for m in matched
    ]
    rows += [
        TableRow(
            words.word("answers", "no_match"),
            (
                Cell(ref.text, numeric=False),
                Cell("–", numeric=False),
                Cell("–"),
                Cell("–", unit="pct", interval=(None, None)),
                Cell(ref.difference, numeric=False),
            ),
        )
        for ref in apart
    ]
    return DataTable(
        words.word("answers", "reference_caption"),
        (
            "Indicator",
            "Referentiepunt",
            "Groep",
            "Cijfer dit rapport",
            "95%-BI",
            "Verschil in afbakening",
        ),
        tuple(rows),
        sheet="Referentiepunten",
    )
