"""Who is reached worse: adjusted odds ratios for ``inschrijving_60d`` and ``werk_12m``.

A logistic regression of the outcome on the profile fields (INDICATORS.md, "Beyond the
table"), so that a difference between, say, regions is not just a difference in
education mix. Pure functions; the output is aggregated (one row per category).

Choices made where INDICATORS.md is silent:

- Population and outcome are exactly the indicator's: B minus E, window closed, success as
  in the table.
- A missing covariate is the category ``ONBEKEND`` (the row is kept); nationality is the
  delivery's top ten, ``OVERIG`` and ``ONBEKEND``, as in the table.
- Categories too small to estimate are left out of the model together with their rows:
  fewer than :data:`MIN_CATEGORY_ROWS` rows, or no successes, or no failures (which
  would make the odds ratio infinite or zero). This repeats until every remaining
  category qualifies, since dropping rows changes the other covariates' counts. The
  ``n`` column therefore only ever shows counts of at least ``MIN_CATEGORY_ROWS``.
- The reference of each covariate is its largest remaining *known* category (ties by
  code): never ``ONBEKEND`` nor the catch-all ``OVERIG``, unless nothing else is left.
- p-values are Holm-adjusted (statsmodels' ``multipletests``) per model over every
  category but ``ONBEKEND``; a *finding* has a Holm p below :data:`SIGNIFICANCE`.
  ``ONBEKEND`` is shown but never a finding (a missing value is no group).
- Beside each odds ratio, the adjusted percentage (predictive margin: the mean predicted
  probability with the category set for everyone) with a delta-method 95% interval, as
  statsmodels' ``get_prediction(which="mean", average=True)`` (``test_disparities.py``).
- A category whose dummy is a linear combination of others (for instance when the same
  rows are ``ONBEKEND`` on two fields) is not estimable and is left out of the table.
- The model is fitted on the covariate patterns (successes and trials per combination
  of categories), a binomial GLM that gives the same estimates, standard errors and
  p-values as the row-level logistic regression, at a fraction of the memory;
  ``tests/test_disparities.py`` checks that against ``statsmodels.formula.api.logit``.
- The GLM is fitted by Newton-Raphson with X'WX formed by counting
  (:mod:`pijler3.analysis.pattern_glm`), which agrees with statsmodels' GLM to rounding
  (``tests/test_fast_paths.py``); should it not converge, statsmodels' GLM is fitted
  instead. The patterns are counted with numpy from the category codes of
  :func:`pijler3.analysis.population.prepare`, which the report computes once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from pijler3.analysis import pattern_glm, population
from pijler3.analysis.population import Prepared
from pijler3.contract import codes, fmt, words

Outcome = Literal["inschrijving_60d", "werk_12m"]
OUTCOMES: tuple[Outcome, ...] = ("inschrijving_60d", "werk_12m")
COVARIATES = (
    "leeftijdscategorie",
    "geslacht",
    "scholingsniveau",
    "regio",
    "doelgroep",
    "verblijfsstatus",
    "oudste_nationaliteit",
    "trajecttype",
    "nt2_niveau",
)
MIN_CATEGORY_ROWS = 50
SIGNIFICANCE = 0.05

SCHEMA: Mapping[str, type[pl.DataType] | pl.DataType] = {
    "outcome": pl.String,
    "term": pl.String,
    "category": pl.String,
    "reference": pl.String,
    "odds_ratio": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "n": pl.Int64,
    "p_holm": pl.Float64,  # Holm-adjusted; null for ONBEKEND (never a finding)
    "finding": pl.Boolean,  # p_holm < SIGNIFICANCE, never for ONBEKEND
    "margin": pl.Float64,  # adjusted percentage of the category (0..1)
    "margin_low": pl.Float64,
    "margin_high": pl.Float64,
    "reference_margin": pl.Float64,  # adjusted percentage of the reference
    "reference_n": pl.Int64,
}
NOT_A_FINDING = (population.UNKNOWN,)


def _population(df: pl.DataFrame, peildatum: dt.date, outcome: Outcome) -> pl.DataFrame:
    """Covariate categories and the outcome (0/1) of the indicator's population."""
    b = population.flags(population.base(df, peildatum), peildatum)
    specs = population.breakdown_specs(b, peildatum, COVARIATES)
    pop = b.filter(~pl.col("_exempt") & pl.col(f"_closed_{outcome}"))
    return pop.select(
        *[spec.expr.alias(spec.name) for spec in specs],
        pl.col(f"_hit_{outcome}").cast(pl.Int64).alias("_y"),
    )


@dataclass(frozen=True)
class _Patterns:
    """The covariate patterns of the model's population: for each covariate the sorted
    categories (``labels``) and each pattern's index among them (``codes``); the rows
    (``n``) and successes (``k``) of every pattern. Patterns are in the order of their
    categories, covariate by covariate (the order a sort on the category texts gives)."""

    labels: tuple[list[str], ...]
    codes: tuple[npt.NDArray[np.int64], ...]
    n: npt.NDArray[np.int64]
    k: npt.NDArray[np.int64]

    def subset(self, keep: npt.NDArray[np.bool_]) -> _Patterns:
        codes_ = tuple(c[keep] for c in self.codes)
        return _Patterns(self.labels, codes_, self.n[keep], self.k[keep])


# Patterns are counted over the whole range of their numbers (no sort) when that range is
# at most this many times the rows: for 12 million rows, a few million combinations.
DENSE_PER_ROW = 4


def _patterns(prep: Prepared, outcome: Outcome) -> _Patterns:
    """Count the rows of the population per covariate pattern: one mixed-radix number per
    row from the breakdowns' category codes, counted by :func:`_count_keys`."""
    rows = prep.rows
    keep = (~rows["_exempt"] & rows[f"_closed_{outcome}"]).to_numpy()
    y = rows[f"_hit_{outcome}"].to_numpy()[keep].astype(np.int64)
    labels = tuple(prep.breakdowns[t].labels for t in COVARIATES)
    out: list[npt.NDArray[np.int64]] = []
    size = math.prod(max(len(x), 1) for x in labels)
    if size < 2**62:
        key = np.zeros(rows.height, dtype=np.int64)
        for term, cats in zip(COVARIATES, labels, strict=True):
            key *= len(cats)
            key += prep.breakdowns[term].code
        distinct, n, k = _count_keys(key[keep], y, size)
        for cats in reversed(labels):
            out.append(distinct % len(cats))
            distinct = distinct // len(cats)
        out.reverse()
    else:  # pragma: no cover - some 2**62 combinations of categories
        table = np.column_stack([prep.breakdowns[t].code[keep] for t in COVARIATES])
        rows_, inverse = np.unique(table, axis=0, return_inverse=True)
        out = [rows_[:, i] for i in range(len(labels))]
        n, k = _inverse_counts(inverse.ravel(), y, len(rows_))
    return _Patterns(labels, tuple(out), n, k)


Counted = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]


def _count_keys(key: npt.NDArray[np.int64], y: npt.NDArray[np.int64], size: int) -> Counted:
    """The distinct values of ``key`` (each in ``range(size)``), ascending, with how many
    rows and successes (``y``) each has.

    With ``np.unique`` (a sort) and counts over its inverse; but when ``size`` is at most
    ``DENSE_PER_ROW`` times the rows, by counting over the whole range, which needs no
    sort: the same numbers (``tests/test_fast_paths.py``), for 12 million rows 1 s less.
    """
    if 0 < size <= DENSE_PER_ROW * len(key):
        rows = np.bincount(key, minlength=size)
        distinct = np.flatnonzero(rows)
        hits = np.bincount(key, weights=y, minlength=size)[distinct]
        return distinct.astype(np.int64), rows[distinct].astype(np.int64), hits.astype(np.int64)
    distinct, inverse = np.unique(key, return_inverse=True)
    return (distinct, *_inverse_counts(inverse.ravel(), y, len(distinct)))


def _inverse_counts(
    inverse: npt.NDArray[np.intp], y: npt.NDArray[np.int64], size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rows and successes per value, from each row's index among the values."""
    n = np.bincount(inverse, minlength=size).astype(np.int64)
    k = np.bincount(inverse, weights=y, minlength=size).astype(np.int64)
    return n, k


def _drop_small(patterns: _Patterns) -> _Patterns:
    """Remove the rows of categories too small to estimate, until none is left."""
    while len(patterns.n):
        bad = np.zeros(len(patterns.n), dtype=np.bool_)
        for code, cats in zip(patterns.codes, patterns.labels, strict=True):
            size = np.bincount(code, weights=patterns.n, minlength=len(cats))
            hits = np.bincount(code, weights=patterns.k, minlength=len(cats))
            small = (size > 0) & ((size < MIN_CATEGORY_ROWS) | (hits == 0) | (hits == size))
            bad |= small[code]
        if not bad.any():
            break
        patterns = patterns.subset(~bad)
    return patterns


def _design(
    patterns: _Patterns,
) -> tuple[pattern_glm.Dummies, list[tuple[str, str, str]], dict[tuple[str, str], int]]:
    """Intercept and treatment dummies; the (term, category, reference) of each dummy."""
    codes_: list[npt.NDArray[np.int64]] = []
    columns: list[npt.NDArray[np.int64]] = []
    terms: list[str] = []
    levels: list[tuple[str, ...]] = []
    labels: list[tuple[str, str, str]] = []
    sizes: dict[tuple[str, str], int] = {}
    width = 1
    for term, code, names in zip(COVARIATES, patterns.codes, patterns.labels, strict=True):
        size = np.bincount(code, weights=patterns.n, minlength=len(names)).astype(np.int64)
        # The categories present, largest first, ties by category (names are sorted).
        order = sorted(np.flatnonzero(size > 0).tolist(), key=lambda i: (-int(size[i]), i))
        cats = [names[i] for i in order]
        for i in order:
            sizes[(term, names[i])] = int(size[i])
        if len(cats) < 2:
            continue
        known = [c for c in cats if c not in (population.UNKNOWN, population.OTHER)]
        reference = known[0] if known else cats[0]
        index = {c: i for i, c in enumerate(cats)}
        recode = np.full(len(names), -1, dtype=np.int64)
        recode[order] = np.arange(len(order))
        codes_.append(recode[code])
        column = np.full(len(cats), -1, dtype=np.int64)
        for cat in _ordered(term, [c for c in cats if c != reference]):
            column[index[cat]] = width
            width += 1
            labels.append((term, cat, reference))
        columns.append(column)
        terms.append(term)
        levels.append(tuple(cats))
    dummies = pattern_glm.Dummies(tuple(codes_), tuple(columns), width, tuple(terms), tuple(levels))
    return dummies, labels, sizes


def _ordered(term: str, cats: list[str]) -> list[str]:
    """Categories in code-list order (then OVERIG, ONBEKEND), for a readable table."""
    listed = codes.codelist("nationaliteit" if term == "oudste_nationaliteit" else term).codes
    rank = {c: i for i, c in enumerate(listed)}
    last = {population.OTHER: len(listed), population.UNKNOWN: len(listed) + 1}
    return sorted(cats, key=lambda c: (last.get(c, rank.get(c, -1)), c))


def holm(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Holm's step-down adjusted p-values: statsmodels' ``multipletests(method="holm")``."""
    # Imported here: statsmodels takes a second to import (see indicators.wilson).
    from statsmodels.stats.multitest import multipletests

    adjusted: npt.NDArray[np.float64] = multipletests(p, alpha=SIGNIFICANCE, method="holm")[1]
    return adjusted


def _holm(table: pl.DataFrame) -> pl.DataFrame:
    """The Holm-adjusted p-values over the rows that can be findings, and ``finding``."""
    can = ~pl.col("category").is_in(list(NOT_A_FINDING))
    p = table.filter(can)["p_value"].to_numpy()
    adjusted = holm(p) if len(p) else p
    it = iter(adjusted.tolist())
    column = [next(it) if c not in NOT_A_FINDING else None for c in table["category"]]
    return table.with_columns(pl.Series("p_holm", column, dtype=pl.Float64)).with_columns(
        (pl.col("p_holm") < SIGNIFICANCE).fill_null(False).alias("finding")
    )


def odds_ratios(df: pl.DataFrame | Prepared, peildatum: dt.date, outcome: Outcome) -> pl.DataFrame:
    """Adjusted odds ratios with 95% intervals and Wald p-values, one row per category.

    Columns: ``outcome``, ``term`` (the profile field), ``category``, ``reference``,
    ``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``n`` (rows of that category in
    the model), ``p_holm`` and ``finding`` (Holm's correction; never for ``ONBEKEND``),
    ``margin`` with ``margin_low``/``margin_high`` (the adjusted percentage) and the
    reference's ``reference_margin`` and ``reference_n``. Reference categories have no
    row of their own. ``df`` may be the delivery's :func:`population.prepare` instead.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
    prep = df if isinstance(df, Prepared) else population.prepare(df, peildatum)
    patterns = _drop_small(_patterns(prep, outcome))
    empty = pl.DataFrame(schema=dict(SCHEMA))
    if len(patterns.n) == 0:
        return empty
    dummies, labels, sizes = _design(patterns)
    trials = patterns.n.astype(np.float64)
    successes = patterns.k.astype(np.float64)
    keep = pattern_glm.estimable(pattern_glm.gram(dummies, trials))
    if len(keep) < 2:
        return empty
    dummies = pattern_glm.keep(dummies, keep)
    kept = [labels[j - 1] for j in keep[1:]]
    newton = pattern_glm.newton_cov(dummies, successes, trials)
    fitted, cov = newton if newton is not None else (None, None)
    if fitted is None:
        fitted = pattern_glm.fit_statsmodels(pattern_glm.dense(dummies), successes, trials)
    margins = pattern_glm.margins(dummies, fitted[0], trials, cov)
    params, ci, pvalues = (v[1:] for v in fitted)
    rows = [
        {
            "outcome": outcome,
            "term": term,
            "category": cat,
            "reference": ref,
            "odds_ratio": float(np.exp(params[i])),
            "ci_low": float(np.exp(ci[i, 0])),
            "ci_high": float(np.exp(ci[i, 1])),
            "p_value": float(pvalues[i]),
            "n": sizes[(term, cat)],
            "p_holm": None,
            "finding": False,
            "margin": margins[(term, cat)][0],
            "margin_low": margins[(term, cat)][1],
            "margin_high": margins[(term, cat)][2],
            "reference_margin": margins[(term, ref)][0],
            "reference_n": sizes[(term, ref)],
        }
        for i, (term, cat, ref) in enumerate(kept)
    ]
    return _holm(pl.DataFrame(rows, schema=dict(SCHEMA)))


# --- Dutch summary ------------------------------------------------------------------------

# The words of the summary are data (data/labels-nl.toml, [disparities]).
_VERBS: Mapping[str, tuple[str, str]] = {
    o: (words.word(f"disparities.verb.{o}", "more"), words.word(f"disparities.verb.{o}", "less"))
    for o in OUTCOMES
}

_GROUPS: Mapping[str, Mapping[str, str]] = {
    term: words.table(f"disparities.group.{term}") for term in words.sections("disparities.group")
}

_TERM_NAMES: Mapping[str, str] = words.table("disparities.term")


_HET_WORDS = frozenset(words.words("disparities", "het_words"))


def group_nl(term: str, category: str) -> str:
    """The Dutch name of a group, in lower case, e.g. ``vrouwen``, ``inburgeraars in Limburg``."""
    if category == population.UNKNOWN:
        name = _TERM_NAMES.get(term, term)
        # "onbekend geslacht" (het-woord), "onbekende regio" (de-woord).
        adjective = words.word("disparities", "unknown_het" if name in _HET_WORDS else "unknown_de")
        return words.sentence("disparities", "group_unknown", adjective=adjective, term=name)
    named = _GROUPS.get(term, {}).get(category)
    if named:
        return named
    if term == "leeftijdscategorie":
        return words.sentence("disparities", "group_age", range=category.replace("-", "–"))
    if term == "nt2_niveau":
        return words.sentence("disparities", "group_nt2", level=category)
    if term == "oudste_nationaliteit":
        if category == population.OTHER:
            return words.word("disparities", "group_other_nationality")
        return words.sentence(
            "disparities", "group_nationality", country=codes.country_name_nl(category)
        )
    return words.sentence(
        "disparities", "group_other", term=_TERM_NAMES.get(term, term), category=category
    )


def _number(x: float) -> str:
    return fmt.fmt_num(x, 2)


def comparison_nl(row: Mapping[str, Any]) -> str:
    """A row of :func:`odds_ratios` as a Dutch clause, e.g. "Vrouwen schrijven zich
    minder vaak binnen 60 dagen in dan mannen"."""
    more, less = _VERBS[row["outcome"]]
    group = group_nl(row["term"], row["category"])
    return words.sentence(
        "disparities",
        "comparison",
        group=f"{group[0].upper()}{group[1:]}",
        verb=more if row["odds_ratio"] > 1 else less,
        reference=group_nl(row["term"], row["reference"]),
    )


def summary_nl(table: pl.DataFrame, outcome: Outcome | None = None) -> str:
    """Dutch sentences naming every finding: a known group whose Holm-adjusted p-value
    is below 0,05 (``ONBEKEND`` never is one).

    The outcome is read from the table's ``outcome`` column unless given. Example:
    "Vrouwen schrijven zich minder vaak binnen 60 dagen in dan mannen (gecorrigeerd
    55,1 % tegenover 62,0 %; OR 0,71; 95%-BI 0,64–0,79)."
    """
    if table.height == 0:
        return words.word("disparities", "too_few")
    which = outcome or str(table["outcome"][0])
    sentences = []
    for row in table.filter(pl.col("finding")).iter_rows(named=True):
        adjusted = (
            words.sentence(
                "disparities",
                "adjusted",
                margin=fmt.fmt_pct(row["margin"]),
                reference_margin=fmt.fmt_pct(row["reference_margin"]),
            )
            if row["margin"] is not None and row["reference_margin"] is not None
            else ""
        )
        sentences.append(
            words.sentence(
                "disparities",
                "finding",
                comparison=comparison_nl({**row, "outcome": which}),
                adjusted=adjusted,
                odds_ratio=_number(row["odds_ratio"]),
                ci_low=_number(row["ci_low"]),
                ci_high=_number(row["ci_high"]),
            )
        )
    if not sentences:
        return words.word("disparities", "no_finding")
    return " ".join(sentences)
