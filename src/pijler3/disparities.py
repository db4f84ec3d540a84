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
- The reference of each covariate is its largest remaining category (ties by code).
- A category whose dummy is a linear combination of others (for instance when the same
  rows are ``ONBEKEND`` on two fields) is not estimable and is left out of the table.
- The model is fitted on the covariate patterns (successes and trials per combination
  of categories), a binomial GLM (statsmodels) that gives the same estimates, standard
  errors and p-values as the row-level logistic regression, at a fraction of the memory;
  ``tests/test_disparities.py`` checks that against ``statsmodels.formula.api.logit``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import statsmodels.api as sm

from pijler3 import codes, indicators

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
}


def _population(df: pl.DataFrame, peildatum: dt.date, outcome: Outcome) -> pl.DataFrame:
    """Covariate categories and the outcome (0/1) of the indicator's population."""
    b = indicators.flags(indicators.base(df, peildatum), peildatum)
    specs = indicators.breakdown_specs(b, peildatum, COVARIATES)
    pop = b.filter(~pl.col("_exempt") & pl.col(f"_closed_{outcome}"))
    return pop.select(
        *[spec.expr.alias(spec.name) for spec in specs],
        pl.col(f"_hit_{outcome}").cast(pl.Int64).alias("_y"),
    )


def _drop_small(patterns: pl.DataFrame) -> pl.DataFrame:
    """Remove the rows of categories too small to estimate, until none is left."""
    while patterns.height:
        bad: list[pl.Expr] = []
        for term in COVARIATES:
            sizes = patterns.group_by(term).agg(pl.col("_n").sum(), pl.col("_k").sum())
            small = sizes.filter(
                (pl.col("_n") < MIN_CATEGORY_ROWS)
                | (pl.col("_k") == 0)
                | (pl.col("_k") == pl.col("_n"))
            )[term].to_list()
            if small:
                bad.append(pl.col(term).is_in(small))
        if not bad:
            break
        patterns = patterns.filter(~pl.any_horizontal(bad))
    return patterns


def _design(
    patterns: pl.DataFrame,
) -> tuple[npt.NDArray[np.float64], list[tuple[str, str, str]], dict[tuple[str, str], int]]:
    """Intercept and treatment dummies; the (term, category, reference) of each dummy."""
    columns: list[npt.NDArray[np.float64]] = [np.ones(patterns.height)]
    labels: list[tuple[str, str, str]] = []
    sizes: dict[tuple[str, str], int] = {}
    for term in COVARIATES:
        counts = (
            patterns.group_by(term)
            .agg(pl.col("_n").sum())
            .sort(["_n", term], descending=[True, False])
        )
        cats = counts[term].to_list()
        for cat, n in zip(cats, counts["_n"].to_list(), strict=True):
            sizes[(term, cat)] = int(n)
        if len(cats) < 2:
            continue
        reference = cats[0]
        values = patterns[term].to_numpy()
        for cat in _ordered(term, cats[1:]):
            columns.append((values == cat).astype(np.float64))
            labels.append((term, cat, reference))
    # Column-major: BLAS forms X'WX from it ten times faster than from row-major, and
    # statsmodels' IRLS is dominated by that product on a million rows.
    return np.asfortranarray(np.column_stack(columns)), labels, sizes


def _ordered(term: str, cats: list[str]) -> list[str]:
    """Categories in code-list order (then OVERIG, ONBEKEND), for a readable table."""
    listed = codes.codelist("nationaliteit" if term == "oudste_nationaliteit" else term).codes
    rank = {c: i for i, c in enumerate(listed)}
    last = {indicators.OTHER: len(listed), indicators.UNKNOWN: len(listed) + 1}
    return sorted(cats, key=lambda c: (last.get(c, rank.get(c, -1)), c))


def _estimable(x: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]) -> list[int]:
    """Columns kept greedily, left to right, while each adds to the rank."""
    gram = x.T @ np.asfortranarray(x * weights[:, None])
    keep: list[int] = []
    rank = 0
    for j in range(x.shape[1]):
        trial = [*keep, j]
        r = int(np.linalg.matrix_rank(gram[np.ix_(trial, trial)]))
        if r > rank:
            keep.append(j)
            rank = r
    return keep


def odds_ratios(df: pl.DataFrame, peildatum: dt.date, outcome: Outcome) -> pl.DataFrame:
    """Adjusted odds ratios with 95% intervals and Wald p-values, one row per category.

    Columns: ``outcome``, ``term`` (the profile field), ``category``, ``reference``,
    ``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``n`` (rows of that category in
    the model). Reference categories have no row of their own.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
    pop = _population(df, peildatum, outcome)
    patterns = pop.group_by(list(COVARIATES)).agg(
        pl.len().cast(pl.Int64).alias("_n"), pl.col("_y").sum().cast(pl.Int64).alias("_k")
    )
    patterns = _drop_small(patterns).sort(list(COVARIATES))
    empty = pl.DataFrame(schema=dict(SCHEMA))
    if patterns.height == 0:
        return empty
    x, labels, sizes = _design(patterns)
    trials = patterns["_n"].to_numpy().astype(np.float64)
    successes = patterns["_k"].to_numpy().astype(np.float64)
    keep = _estimable(x, trials)
    if len(keep) < 2:
        return empty
    x = np.asfortranarray(x[:, keep])
    kept = [labels[j - 1] for j in keep[1:]]
    endog = np.column_stack([successes, trials - successes])
    with warnings.catch_warnings():
        # Convergence and domain warnings are judged by the caller from the intervals;
        # they must not reach the log with figures from the data in them.
        warnings.simplefilter("ignore")
        model = sm.GLM(endog, x, family=sm.families.Binomial())
        # Newton-Raphson on the analytic Hessian, without statsmodels' IRLS warm-up: the
        # logistic log-likelihood is concave, so it converges from zero, and it avoids
        # the repeated least-squares solves and the final SVD that made the default IRLS
        # take 3x as long on a million rows. Estimates, standard errors and p-values are
        # the same (the Hessian of the canonical logit link is the IRLS information).
        fit = model.fit(method="newton", max_start_irls=0)
        if not fit.mle_retvals.get("converged", False):
            fit = model.fit()
    params = np.asarray(fit.params)[1:]
    ci = np.asarray(fit.conf_int(alpha=0.05))[1:]
    pvalues = np.asarray(fit.pvalues)[1:]
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
        }
        for i, (term, cat, ref) in enumerate(kept)
    ]
    return pl.DataFrame(rows, schema=dict(SCHEMA))


# --- Dutch summary ------------------------------------------------------------------------

_VERBS: Mapping[str, tuple[str, str]] = {
    # outcome -> (more often, less often)
    "inschrijving_60d": (
        "schrijven zich vaker binnen 60 dagen in dan",
        "schrijven zich minder vaak binnen 60 dagen in dan",
    ),
    "werk_12m": (
        "vinden vaker binnen 12 maanden werk dan",
        "vinden minder vaak binnen 12 maanden werk dan",
    ),
}

_GROUPS: Mapping[str, Mapping[str, str]] = {
    "geslacht": {"M": "mannen", "V": "vrouwen", "X": "personen met geslacht X"},
    "leeftijdscategorie": {
        "<18": "inburgeraars jonger dan 18 jaar",
        "65+": "inburgeraars van 65 jaar of ouder",
    },
    "scholingsniveau": {
        "LAAG": "laaggeschoolden",
        "MIDDEN": "middengeschoolden",
        "HOOG": "hooggeschoolden",
    },
    "regio": {
        "ANTWERPEN_STAD": "inburgeraars in Antwerpen (stad)",
        "GENT_STAD": "inburgeraars in Gent (stad)",
        "PROVINCIE_ANTWERPEN": "inburgeraars in de provincie Antwerpen",
        "LIMBURG": "inburgeraars in Limburg",
        "OOST_VLAANDEREN": "inburgeraars in Oost-Vlaanderen",
        "VLAAMS_BRABANT": "inburgeraars in Vlaams-Brabant",
        "WEST_VLAANDEREN": "inburgeraars in West-Vlaanderen",
        "BRUSSEL": "inburgeraars in Brussel",
    },
    "doelgroep": {
        "VERPLICHT": "verplichte inburgeraars",
        "RECHTHEBBEND": "rechthebbende inburgeraars",
        "ONBEPAALD": "inburgeraars met een onbepaalde doelgroep",
    },
    "verblijfsstatus": {
        "GEZINSHERENIGER": "gezinsherenigers",
        "ERKEND_VLUCHTELING": "erkende vluchtelingen",
        "SUBSIDIAIR_BESCHERMD": "subsidiair beschermden",
        "ARBEIDSMIGRANT": "arbeidsmigranten",
        "EU_BURGER": "EU-burgers",
        "STUDENT": "studenten",
        "TIJDELIJK_BESCHERMD": "tijdelijk beschermden",
        "REGULARISATIE": "geregulariseerden",
        "ANDERE": "inburgeraars met een andere verblijfsstatus",
    },
    "trajecttype": {
        "STANDAARD": "inburgeraars in een standaardtraject",
        "ALFA": "inburgeraars in een alfatraject",
        "INTENSIEF": "inburgeraars in een intensief traject",
        "MAATWERK": "inburgeraars in een maatwerktraject",
    },
    "nt2_niveau": {"GEEN": "inburgeraars zonder behaald NT2-niveau"},
}

_TERM_NAMES: Mapping[str, str] = {
    "leeftijdscategorie": "leeftijd",
    "geslacht": "geslacht",
    "scholingsniveau": "scholingsniveau",
    "regio": "regio",
    "doelgroep": "doelgroep",
    "verblijfsstatus": "verblijfsstatus",
    "oudste_nationaliteit": "nationaliteit",
    "trajecttype": "trajecttype",
    "nt2_niveau": "NT2-niveau",
}


def group_nl(term: str, category: str) -> str:
    """The Dutch name of a group, in lower case, e.g. ``vrouwen``, ``inburgeraars in Limburg``."""
    if category == indicators.UNKNOWN:
        return f"inburgeraars met onbekende {_TERM_NAMES.get(term, term)}"
    named = _GROUPS.get(term, {}).get(category)
    if named:
        return named
    if term == "leeftijdscategorie":
        return f"inburgeraars van {category} jaar"
    if term == "nt2_niveau":
        return f"inburgeraars met NT2-niveau {category}"
    if term == "oudste_nationaliteit":
        if category == indicators.OTHER:
            return "inburgeraars met een andere nationaliteit"
        return f"inburgeraars met nationaliteit {codes.country_name_nl(category)}"
    return f"inburgeraars met {_TERM_NAMES.get(term, term)} {category}"


def _number(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def summary_nl(table: pl.DataFrame, outcome: Outcome | None = None) -> str:
    """Dutch sentences naming every group that differs significantly (p < 0,05).

    The outcome is read from the table's ``outcome`` column unless given. Example:
    "Vrouwen schrijven zich minder vaak binnen 60 dagen in dan mannen (OR 0,71;
    95%-BI 0,64-0,79)."
    """
    if table.height == 0:
        return "Er zijn te weinig gegevens om groepen met elkaar te vergelijken."
    which = outcome or str(table["outcome"][0])
    more, less = _VERBS[which]
    sentences = []
    for row in table.filter(pl.col("p_value") < SIGNIFICANCE).iter_rows(named=True):
        group = group_nl(row["term"], row["category"])
        verb = more if row["odds_ratio"] > 1 else less
        sentences.append(
            f"{group[0].upper()}{group[1:]} {verb} {group_nl(row['term'], row['reference'])} "
            f"(OR {_number(row['odds_ratio'])}; 95%-BI {_number(row['ci_low'])}-"
            f"{_number(row['ci_high'])})."
        )
    if not sentences:
        return (
            "Na correctie voor de andere profielkenmerken verschilt geen enkele groep "
            "significant (p < 0,05) van haar referentiegroep."
        )
    return " ".join(sentences)
