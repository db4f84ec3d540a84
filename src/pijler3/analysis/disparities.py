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
- The GLM is fitted by Newton-Raphson with X'WX formed by counting (:func:`_newton`),
  which agrees with statsmodels' GLM to rounding (``tests/test_fast_paths.py``); should
  it not converge, statsmodels' GLM is fitted instead.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special

from pijler3.analysis import indicators
from pijler3.analysis.population import Prepared
from pijler3.analysis.survival import Z_975
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
NOT_A_FINDING = (indicators.UNKNOWN,)


def _population(df: pl.DataFrame, peildatum: dt.date, outcome: Outcome) -> pl.DataFrame:
    """Covariate categories and the outcome (0/1) of the indicator's population."""
    b = indicators.flags(indicators.base(df, peildatum), peildatum)
    specs = indicators.breakdown_specs(b, peildatum, COVARIATES)
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


def _patterns(prep: Prepared, outcome: Outcome) -> _Patterns:
    """Count the rows of the population per covariate pattern: one mixed-radix number per
    row from the breakdowns' category codes, then one ``np.unique``."""
    rows = prep.rows
    keep = (~rows["_exempt"] & rows[f"_closed_{outcome}"]).to_numpy()
    y = rows[f"_hit_{outcome}"].to_numpy()[keep].astype(np.int64)
    labels = tuple(prep.breakdowns[t].labels for t in COVARIATES)
    out: list[npt.NDArray[np.int64]] = []
    if np.prod([float(max(len(x), 1)) for x in labels]) < 2.0**62:
        key = np.zeros(rows.height, dtype=np.int64)
        for term, cats in zip(COVARIATES, labels, strict=True):
            key *= len(cats)
            key += prep.breakdowns[term].code
        distinct, inverse = np.unique(key[keep], return_inverse=True)
        for cats in reversed(labels):
            out.append(distinct % len(cats))
            distinct = distinct // len(cats)
        out.reverse()
    else:  # pragma: no cover - some 2**62 combinations of categories
        table = np.column_stack([prep.breakdowns[t].code[keep] for t in COVARIATES])
        rows_, inverse = np.unique(table, axis=0, return_inverse=True)
        out = [rows_[:, i] for i in range(len(labels))]
    inverse = inverse.ravel()
    n = np.bincount(inverse, minlength=len(out[0])).astype(np.int64)
    k = np.bincount(inverse, weights=y, minlength=len(out[0])).astype(np.int64)
    return _Patterns(labels, tuple(out), n, k)


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


@dataclass(frozen=True)
class _Dummies:
    """The dummy columns of the design without the matrix: for each covariate, the
    category index of every pattern and the design column of every category (-1 for the
    reference). Enough to form X'WX, X'r and X b by counting."""

    codes: tuple[npt.NDArray[np.int64], ...]
    columns: tuple[npt.NDArray[np.int64], ...]
    width: int  # columns of the design, the intercept included
    # The covariate of each entry of ``codes`` and its categories (by category index).
    terms: tuple[str, ...] = ()
    levels: tuple[tuple[str, ...], ...] = ()
    # For each pair of covariates (a before b), each pattern's cell of their a x b table:
    # the same in every Newton step, so formed once (and shared with :func:`_keep`).
    pair_cells: list[npt.NDArray[np.int64]] = field(default_factory=list, compare=False)

    def pairs(self) -> list[npt.NDArray[np.int64]]:
        if not self.pair_cells:
            for a, code_a in enumerate(self.codes):
                for code_b, col_b in zip(self.codes[a + 1 :], self.columns[a + 1 :], strict=True):
                    self.pair_cells.append(code_a * len(col_b) + code_b)
        return self.pair_cells


def _design(
    patterns: _Patterns,
) -> tuple[_Dummies, list[tuple[str, str, str]], dict[tuple[str, str], int]]:
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
        known = [c for c in cats if c not in (indicators.UNKNOWN, indicators.OTHER)]
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
    dummies = _Dummies(tuple(codes_), tuple(columns), width, tuple(terms), tuple(levels))
    return dummies, labels, sizes


def _dense(d: _Dummies) -> npt.NDArray[np.float64]:
    """The design matrix itself (for tests and the statsmodels fallback)."""
    n = len(d.codes[0]) if d.codes else 0
    x = np.zeros((n, d.width), order="F")
    x[:, 0] = 1.0
    for code, column in zip(d.codes, d.columns, strict=True):
        col = column[code]
        rows = np.flatnonzero(col >= 0)
        x[rows, col[rows]] = 1.0
    return x


def _gram(d: _Dummies, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """X'WX of the dummy design by counting: the weight of every pair of categories.

    The dense product costs n x k^2 operations in BLAS, and a multi-threaded BLAS slows
    down badly when the two cores are shared with polars or another process; counting
    costs n per pair of covariates and is single-threaded.
    """
    gram = np.zeros((d.width, d.width))
    gram[0, 0] = weights.sum()
    terms = list(zip(d.codes, d.columns, strict=True))
    cells = iter(d.pairs())
    for a, (code_a, col_a) in enumerate(terms):
        ka = len(col_a)
        has_a = col_a >= 0
        margin = np.bincount(code_a, weights=weights, minlength=ka)
        gram[0, col_a[has_a]] = margin[has_a]
        gram[col_a[has_a], 0] = margin[has_a]
        gram[col_a[has_a], col_a[has_a]] = margin[has_a]
        for _, col_b in terms[a + 1 :]:
            kb = len(col_b)
            has_b = col_b >= 0
            block = np.bincount(next(cells), weights=weights, minlength=ka * kb)
            block = block.reshape(ka, kb)[np.ix_(has_a, has_b)]
            gram[np.ix_(col_a[has_a], col_b[has_b])] = block
            gram[np.ix_(col_b[has_b], col_a[has_a])] = block.T
    return gram


def _xt(d: _Dummies, r: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """X'r by counting."""
    out = np.zeros(d.width)
    out[0] = r.sum()
    for code, column in zip(d.codes, d.columns, strict=True):
        has = column >= 0
        out[column[has]] = np.bincount(code, weights=r, minlength=len(column))[has]
    return out


def _xb(d: _Dummies, beta: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """X b by look-up: the intercept plus each pattern's category coefficients."""
    padded = np.append(beta, 0.0)  # column -1 (the reference) reads this zero
    n = len(d.codes[0]) if d.codes else 0
    eta = np.full(n, beta[0])
    for code, column in zip(d.codes, d.columns, strict=True):
        eta += padded[column][code]
    return eta


def _keep(d: _Dummies, keep: list[int]) -> _Dummies:
    """The design restricted to the columns ``keep`` (which start with the intercept)."""
    new = np.full(d.width + 1, -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    columns = tuple(new[c] for c in d.columns)
    return _Dummies(d.codes, columns, len(keep), d.terms, d.levels, d.pair_cells)


def _ordered(term: str, cats: list[str]) -> list[str]:
    """Categories in code-list order (then OVERIG, ONBEKEND), for a readable table."""
    listed = codes.codelist("nationaliteit" if term == "oudste_nationaliteit" else term).codes
    rank = {c: i for i, c in enumerate(listed)}
    last = {indicators.OTHER: len(listed), indicators.UNKNOWN: len(listed) + 1}
    return sorted(cats, key=lambda c: (last.get(c, rank.get(c, -1)), c))


def _estimable(gram: npt.NDArray[np.float64]) -> list[int]:
    """Columns kept greedily, left to right, while each adds to the rank of X'WX.

    With the trials as weights every entry of X'WX is a sum of integers, exact in
    float64 whatever the order of summation, so :func:`_gram` gives the very matrix
    ``x.T @ (x * w)`` gives and the same columns are kept.
    """
    keep: list[int] = []
    rank = 0
    for j in range(gram.shape[1]):
        trial = [*keep, j]
        r = int(np.linalg.matrix_rank(gram[np.ix_(trial, trial)]))
        if r > rank:
            keep.append(j)
            rank = r
    return keep


Fit = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
MAX_ITERATIONS = 100
TOLERANCE = 1e-8  # statsmodels' default for Newton's method: the largest change of a parameter


def _newton(
    d: _Dummies, successes: npt.NDArray[np.float64], trials: npt.NDArray[np.float64]
) -> Fit | None:
    """:func:`_newton_cov` without the covariance."""
    got = _newton_cov(d, successes, trials)
    return None if got is None else got[0]


def _newton_cov(
    d: _Dummies, successes: npt.NDArray[np.float64], trials: npt.NDArray[np.float64]
) -> tuple[Fit, npt.NDArray[np.float64]] | None:
    """The binomial GLM (logit link) by Newton-Raphson on the analytic Hessian, formed by
    counting; ``None`` when it does not converge (then statsmodels' IRLS decides).

    This is what ``sm.GLM(..., Binomial()).fit(method="newton", max_start_irls=0)`` does:
    start at zero, step by H^-1 g until no parameter changes by more than ``TOLERANCE``;
    then covariance inv(H) at the estimate (scale 1), Wald z, two-sided normal p-values,
    intervals estimate +- z_0.975 x standard error. Newton converges quadratically, so
    the estimate agrees with statsmodels' to rounding (``tests/test_fast_paths.py``).
    Returns the parameters, the intervals (k x 2) and the p-values, intercept first,
    and the covariance (which :func:`_margins` needs too).
    """
    beta = np.zeros(d.width)
    with np.errstate(all="ignore"):
        for _ in range(MAX_ITERATIONS):
            mu = special.expit(_xb(d, beta))
            hessian = _gram(d, trials * mu * (1.0 - mu))
            score = _xt(d, successes - trials * mu)
            try:
                step = np.linalg.solve(hessian, score)
            except np.linalg.LinAlgError:
                return None
            if not np.all(np.isfinite(step)):
                return None
            beta = beta + step
            if np.max(np.abs(step)) < TOLERANCE:
                break
        else:
            return None
        mu = special.expit(_xb(d, beta))
        try:
            cov = np.linalg.inv(_gram(d, trials * mu * (1.0 - mu)))
        except np.linalg.LinAlgError:
            return None
        bse = np.sqrt(np.diag(cov))
        if not np.all(np.isfinite(bse)):
            return None
        q = Z_975  # statsmodels' norm.ppf(1 - 0.05 / 2)
        ci = np.column_stack([beta - q * bse, beta + q * bse])
        pvalues = special.ndtr(-np.abs(beta / bse)) * 2  # norm.sf(|z|) * 2, as scipy has it
    return (beta, ci, np.asarray(pvalues, dtype=np.float64)), cov


def _fit_statsmodels(
    x: npt.NDArray[np.float64],
    successes: npt.NDArray[np.float64],
    trials: npt.NDArray[np.float64],
) -> Fit:
    """The same model with statsmodels: the reference for :func:`_newton`, and its fallback."""
    # Imported here: statsmodels.api takes seconds to import, and the report rarely
    # needs it (only when Newton's method does not converge).
    import statsmodels.api as sm

    endog = np.column_stack([successes, trials - successes])
    with warnings.catch_warnings():
        # Convergence and domain warnings are judged by the caller from the intervals;
        # they must not reach the log with figures from the data in them.
        warnings.simplefilter("ignore")
        model = sm.GLM(endog, np.asfortranarray(x), family=sm.families.Binomial())
        fit = model.fit(method="newton", max_start_irls=0)
        if not fit.mle_retvals.get("converged", False):
            fit = model.fit()
    return (
        np.asarray(fit.params, dtype=np.float64),
        np.asarray(fit.conf_int(alpha=0.05), dtype=np.float64),
        np.asarray(fit.pvalues, dtype=np.float64),
    )


def _margins(
    d: _Dummies,
    beta: npt.NDArray[np.float64],
    trials: npt.NDArray[np.float64],
    cov: npt.NDArray[np.float64] | None = None,
) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Predictive margins of each (term, category) and their delta-method 95% intervals
    (covariance: the inverse Hessian at ``beta``). All categories of a term at once:
    category i replaces the term's contribution to the linear predictor by its
    coefficient; the gradient is X'r (X sparse) with the term's own columns replaced by
    the total of r (the intercept's row) at i's column. ``cov``: the inverse Hessian at
    ``beta`` when :func:`_newton_cov` has it already."""
    # Imported here: only the margins need a sparse product (X' r for many r).
    from scipy import sparse

    eta = _xb(d, beta)
    if cov is None:
        mu = special.expit(eta)
        cov = np.linalg.inv(_gram(d, trials * mu * (1.0 - mu)))
    total = trials.sum()
    padded = np.append(beta, 0.0)  # column -1 (the reference) reads this zero
    n = len(trials)
    rows, cols = [np.arange(n)], [np.zeros(n, dtype=np.int64)]
    for code, column in zip(d.codes, d.columns, strict=True):
        col = column[code]
        rows.append(np.flatnonzero(col >= 0))
        cols.append(col[rows[-1]])
    r_, c_ = np.concatenate(rows), np.concatenate(cols)
    # X' as the transpose of X by patterns: X' @ r then walks r once, pattern by pattern,
    # adding each pattern's row into its columns' sums in pattern order (the very sums,
    # in the very order, of X' by columns, which would walk r once per column).
    xt = sparse.csr_matrix((np.ones(len(r_)), (r_, c_)), shape=(n, d.width)).T
    q = Z_975  # statsmodels' norm.ppf(1 - 0.05 / 2)
    out: dict[tuple[str, str], tuple[float, float, float]] = {}
    # Buffers for the patterns x categories arrays, reused from term to term.
    most = max((len(c) for c in d.columns), default=0)
    buffers = np.empty(n * most), np.empty(n * most), np.empty(n * most)
    for code, column, term, cats in zip(d.codes, d.columns, d.terms, d.levels, strict=True):
        shift = padded[column]  # each category's coefficient
        p, r, rest = (b[: n * len(column)].reshape(n, len(column)) for b in buffers)
        # p = 1 / (1 + exp(-base) exp(-shift)): one exp per pattern (expit per cell is slow)
        with np.errstate(over="ignore"):
            base = np.exp(shift[code] - eta)
            np.multiply(base[:, None], np.exp(-shift)[None, :], out=p)
            p += 1.0
            np.divide(1.0, p, out=p)
        margin = trials @ p / total
        np.multiply(trials[:, None], p, out=r)  # r = trials p (1 - p)
        np.subtract(1.0, p, out=rest)
        r *= rest
        grad = np.asarray(xt @ r)
        own = column >= 0
        grad[column[own], :] = 0.0
        grad[column[own], np.flatnonzero(own)] = grad[0][own]
        grad /= total
        se = np.sqrt(np.maximum(np.einsum("ik,ij,jk->k", grad, cov, grad), 0.0))
        for i, cat in enumerate(cats):
            m = float(margin[i])
            out[(term, cat)] = (m, m - q * float(se[i]), m + q * float(se[i]))
    return out


def holm(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Holm's step-down adjusted p-values: statsmodels' ``multipletests(method="holm")``
    written out (``tests/test_disparities.py`` checks it), without importing statsmodels."""
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


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
    row of their own. ``df`` may be the delivery's :func:`indicators.prepare` instead.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
    prep = df if isinstance(df, Prepared) else indicators.prepare(df, peildatum)
    patterns = _drop_small(_patterns(prep, outcome))
    empty = pl.DataFrame(schema=dict(SCHEMA))
    if len(patterns.n) == 0:
        return empty
    dummies, labels, sizes = _design(patterns)
    trials = patterns.n.astype(np.float64)
    successes = patterns.k.astype(np.float64)
    keep = _estimable(_gram(dummies, trials))
    if len(keep) < 2:
        return empty
    dummies = _keep(dummies, keep)
    kept = [labels[j - 1] for j in keep[1:]]
    newton = _newton_cov(dummies, successes, trials)
    fitted, cov = newton if newton is not None else (None, None)
    if fitted is None:
        fitted = _fit_statsmodels(_dense(dummies), successes, trials)
    margins = _margins(dummies, fitted[0], trials, cov)
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
    if category == indicators.UNKNOWN:
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
        if category == indicators.OTHER:
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
