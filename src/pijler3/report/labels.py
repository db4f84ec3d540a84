"""The Dutch words of the monitoring report: what each indicator is called and measures,
the one label of every column, the names of categories, consistency checks, quarantine
reasons and extracts, and the sentences that word risk breaches, expired deliveries and
the disclosure rules. Pure: strings and figures in, Dutch text out.

The words themselves are data (``data/labels-nl.toml``, read by
:mod:`pijler3.contract.words`); this module looks them up and fills them in, so that
every view and renderer reads its words here and one column or indicator never has two
names in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from pijler3.analysis import indicators, population
from pijler3.analysis.risk import RiskReport
from pijler3.contract import codes, words
from pijler3.contract.fmt import join_nl
from pijler3.contract.protocol import Disclosure, Risk
from pijler3.report.fmt import Unit, fmt_int, fmt_num, fmt_pct

__all__ = [
    "AFTER_PEILDATUM",
    "BREAKDOWN_NL",
    "CONSISTENCY_NL",
    "EXTRACT_NL",
    "FIELD_NL",
    "GRANULARITY_NL",
    "INDICATOR_TEXT",
    "QUARANTINE_NL",
    "REFERENCES",
    "REFERENCE_POINTS",
    "RISK_DRIVERS",
    "IndicatorText",
    "Reference",
    "category_nl",
    "cohort_tick",
    "consistency_label",
    "disclosure_rules_nl",
    "expired_note_nl",
    "field_label",
    "field_label_in_text",
    "in_text",
    "join_nl",
    "risk_breaches_nl",
]


@dataclass(frozen=True)
class IndicatorText:
    title: str
    short: str
    population: str
    success: str
    unit: Unit


def _indicator(name: str) -> IndicatorText:
    section = f"indicator.{name}"
    unit = words.word(section, "unit")
    if unit not in ("pct", "days", "count", "ratio"):
        raise words.WordsError(f"data/{words.FILE}: [{section}] unit {unit!r} is not a unit")
    title, short, population, success = (
        words.word(section, k) for k in ("title", "short", "population", "success")
    )
    return IndicatorText(title, short, population, success, cast(Unit, unit))


# Every indicator has its words; a missing one fails here, when the report is imported.
INDICATOR_TEXT: Mapping[str, IndicatorText] = {
    name: _indicator(name) for name in indicators.INDICATOR_IDS
}

# The published figures set beside an indicator, by indicator.
REFERENCES: Mapping[str, str] = words.table("reference")


@dataclass(frozen=True)
class Reference:
    """A published reference point with the figure of this report it matches
    (``indicator``, ``breakdown``, ``category``) and, in one plain sentence, how the two
    definitions differ. ``breakdown`` is empty for a reference that matches no figure of
    the report: it is shown apart."""

    indicator: str
    breakdown: str
    category: str
    value: str  # the reference's own figure, as its source wrote it
    text: str
    difference: str


def _reference_point(indicator: str) -> Reference:
    section = f"reference_match.{indicator}"
    breakdown, category, value, difference = (
        words.word(section, k) for k in ("breakdown", "category", "value", "difference")
    )
    return Reference(indicator, breakdown, category, value, REFERENCES[indicator], difference)


# Every reference point beside its matching figure (like with like), in file order.
REFERENCE_POINTS: tuple[Reference, ...] = tuple(
    _reference_point(i) for i in words.sections("reference_match")
)

# The one Dutch label of every column the report names: the fields of the protocol (art. 3)
# and the columns of the incoming extracts, direct identifiers included. Quality tables,
# the risk section, chart labels and breakdown titles all read it through
# :func:`field_label` (a table cell or heading) or :func:`field_label_in_text` (inside a
# sentence), so that one column never has two names. The protocol's own descriptions are
# longer than a table cell ("Regiobepaling in het cliëntvolgsysteem"); a test checks that
# every field and extract column of the shipped protocol has an entry.
FIELD_NL: Mapping[str, str] = words.table("field")


def _readable(name: str) -> str:
    """A column this table does not know yet still gets a readable, capitalised label."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


# A breakdown is named by its field's label; only the two that are not fields need one.
BREAKDOWN_NL: Mapping[str, str] = {
    bd: words.table("breakdown").get(bd) or FIELD_NL.get(bd) or _readable(bd)
    for bd in population.BREAKDOWNS
}


def field_label(name: str) -> str:
    """The Dutch label of a column, capitalised, for a table cell, axis or heading."""
    return BREAKDOWN_NL.get(name) or FIELD_NL.get(name) or _readable(name)


def in_text(label: str) -> str:
    """A capitalised label as it reads inside a sentence: the first letter in lower case,
    unless the first word is an abbreviation ("VDAB-actie", "OCMW-leefloon", "INSZ")."""
    first = label.split(" ", 1)[0].split("-", 1)[0]
    if len(first) > 1 and first.isupper():
        return label
    return label[:1].lower() + label[1:]


def field_label_in_text(name: str) -> str:
    """The Dutch label of a column inside a sentence ("datum inburgeringscontract")."""
    return in_text(field_label(name))


CONSISTENCY_NL: Mapping[str, str] = {
    k: v for k, v in words.table("consistency").items() if k != "after_peildatum"
}

AFTER_PEILDATUM = "_after_peildatum"


def consistency_label(check: str) -> str:
    """The Dutch name of a consistency check; a date column after the peildatum that has
    no name of its own is named by its column's label."""
    if check in CONSISTENCY_NL:
        return CONSISTENCY_NL[check]
    if check.endswith(AFTER_PEILDATUM):
        field = field_label(check.removesuffix(AFTER_PEILDATUM))
        return words.sentence("consistency", "after_peildatum", field=field)
    return check


QUARANTINE_NL: Mapping[str, str] = words.table("quarantine")
EXTRACT_NL: Mapping[str, str] = words.table("extract")


# The categories every breakdown has (total, unknown, other), and the categories of a
# code list whose label is not their code in sentence case.
_CATEGORY_ANY: Mapping[str, str] = words.table("category.any")
_CATEGORY_NL: Mapping[str, Mapping[str, str]] = {
    bd: words.table(f"category.{bd}") for bd in words.sections("category") if bd != "any"
}
_QUARTER = words.word("grammar", "quarter")


def category_nl(breakdown: str, category: str) -> str:
    """The Dutch label of a category for people (the code stays in the CSV)."""
    common = _CATEGORY_ANY.get(category)
    if common:
        return common
    if breakdown == "oudste_nationaliteit":
        return codes.country_name_nl(category)
    if breakdown == "cohort":
        return category.replace("-Q", f" {_QUARTER}")
    if breakdown == "leeftijdscategorie":
        return words.sentence("grammar", "years", range=category.replace("-", "–"))
    named = _CATEGORY_NL.get(breakdown, {}).get(category)
    if named:
        return named
    if breakdown == "ocmw_leefloon":
        return category
    text = category.replace("_", " ").lower()
    return text[:1].upper() + text[1:]


def cohort_tick(category: str) -> str:
    """A cohort as a two-line axis label, quarter over year ("2022-Q2" -> "K2\\n2022"), so
    that the year is written once under its quarters and the labels never collide."""
    year, sep, quarter = category.partition("-Q")
    if not sep:
        return category_nl("cohort", category)
    return f"{_QUARTER}{quarter}\n{year}"


GRANULARITY_NL: Mapping[str, str] = words.table("granularity")
RISK_DRIVERS = 3  # as many quasi-identifiers as the gate's own message names


def _drivers(items: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """The (field, amount) pairs of a contribution list with a positive amount, largest
    first, at most ``RISK_DRIVERS``."""
    pairs = sorted((p for p in items if p[1] > 0), key=lambda p: -p[1])
    return pairs[:RISK_DRIVERS]


def _why(drivers: list[str]) -> str:
    if not drivers:
        return words.word("risk", "combination")
    return words.sentence("risk", "because", drivers=join_nl(drivers))


def risk_breaches_nl(r: RiskReport, rules: Risk) -> list[str]:
    """The risk thresholds of the protocol that the measured figures exceed, in Dutch.

    Worded from the numbers of the delivery's risk report and the protocol's
    thresholds, not translated from the English lines the publication step recorded
    (those stay in the manifest and the audit log for the people who run the chain).
    """
    out: list[str] = []
    records, uniques, share = r.records, r.sample_uniques, r.sample_unique_share
    if share > rules.max_sample_unique_share:
        granularity = GRANULARITY_NL.get(r.date_granularity, "")
        by_uniques = [
            words.sentence(
                "risk",
                "uniques_first_driver" if i == 0 else "uniques_driver",
                field=field_label_in_text(f),
                n=fmt_int(round(n)),
            )
            for i, (f, n) in enumerate(_drivers(r.contributions))
        ]
        out.append(
            words.sentence(
                "risk",
                "uniques",
                uniques=fmt_int(uniques),
                records=fmt_int(records),
                share=fmt_pct(share),
                verb=words.word("risk", "verb_one" if uniques == 1 else "verb_many"),
                granularity=(
                    words.sentence("risk", "granularity", granularity=granularity)
                    if granularity
                    else ""
                ),
                maximum=fmt_pct(rules.max_sample_unique_share),
                why=_why(by_uniques),
            )
        )
    if r.mean_risk > rules.max_mean_risk:
        by_risk = [
            words.sentence(
                "risk",
                "mean_first_driver" if i == 0 else "mean_driver",
                field=field_label_in_text(f),
                x=fmt_num(x, 3),
            )
            for i, (f, x) in enumerate(_drivers(r.mean_risk_contributions))
        ]
        out.append(
            words.sentence(
                "risk",
                "mean",
                risk=fmt_num(r.mean_risk, 3),
                maximum=fmt_num(rules.max_mean_risk, 3),
                why=_why(by_risk),
            )
        )
    return out


def expired_note_nl(n: int) -> str:
    """The header's note on deliveries past their retention date that were left out."""
    return words.sentence("expired", "one" if n == 1 else "many", n=fmt_int(n))


def disclosure_rules_nl(rules: Disclosure) -> list[str]:
    """The disclosure rules of INDICATORS.md in Dutch, with the protocol's thresholds."""
    return words.sentences(
        "disclosure",
        "rules",
        max_hidden=rules.min_numerator - 1,
        min_denominator=rules.min_denominator,
        km_min_at_risk=rules.km_min_at_risk,
    )


def disclosure_audit_nl(audit: Mapping[str, object], rules: Disclosure) -> str:
    """The disclosure audit (INDICATORS.md rules 6-7) in Dutch: what each rule hid and the
    narrowest range left, from :func:`pijler3.analysis.disclosure_publish.summary`."""
    if not audit:
        return ""

    def n(key: str) -> str:
        value = audit.get(key)
        return fmt_int(value) if isinstance(value, int) else "?"

    narrow = audit.get("narrowest_range")
    left = (
        words.sentence(
            "disclosure",
            "audit_narrowest",
            width=fmt_num(narrow, 0 if float(narrow).is_integer() else 1),
        )
        if isinstance(narrow, int | float)
        else words.word("disclosure", "audit_unbounded")
    )
    return words.sentence(
        "disclosure",
        "audit",
        min_numerator=rules.min_numerator,
        min_denominator=rules.min_denominator,
        cells=n("cells"),
        rules12=n("hidden_rules12"),
        rule3=n("hidden_rule3"),
        rule6=n("hidden_rule6"),
        left=left,
    )


def disclosure_earlier_nl(audit: Mapping[str, object]) -> str:
    """What earlier reports showed and this one takes into account, in Dutch; empty for a
    document written before the store kept that record."""
    reports = audit.get("earlier_reports")
    if not isinstance(reports, int):
        return ""
    if not reports:
        return words.word("disclosure", "audit_first")
    known = audit.get("hidden_earlier")
    return words.sentence(
        "disclosure",
        "audit_earlier",
        reports=fmt_int(reports),
        known=fmt_int(known) if isinstance(known, int) else "?",
    )


def quality_hidden_nl(n: int) -> str:
    """How many data-quality counts the report hides because they bound a hidden count."""
    if n == 0:
        return words.word("disclosure", "quality_hidden_none")
    key = "quality_hidden_one" if n == 1 else "quality_hidden_many"
    return words.sentence("disclosure", key, n=fmt_int(n))
