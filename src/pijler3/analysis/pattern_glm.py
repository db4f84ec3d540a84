"""The binomial GLM (logit link) of :mod:`pijler3.analysis.disparities`, fitted on
covariate patterns by counting.

The design is one intercept and treatment dummies of categorical covariates; the data
are the patterns (combinations of categories) with their trials and successes. X'WX,
X'r and X b are formed from each pattern's category indices (:class:`Dummies`) without
the design matrix; Newton's method on them gives statsmodels' GLM to rounding
(``tests/test_fast_paths.py``), which stays the reference and the fallback.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import special


@dataclass(frozen=True)
class Dummies:
    """The dummy columns of the design without the matrix: for each covariate, the
    category index of every pattern and the design column of every category (-1 for the
    reference). Enough to form X'WX, X'r and X b by counting."""

    codes: tuple[npt.NDArray[np.int64], ...]
    columns: tuple[npt.NDArray[np.int64], ...]
    width: int  # columns of the design, the intercept included
    # The covariate of each entry of ``codes`` and its categories (by category index).
    terms: tuple[str, ...] = ()
    levels: tuple[tuple[str, ...], ...] = ()
    # The covariates in groups and each pattern's cell of every pair of groups' table
    # (:func:`_groups`): the same in every Newton step, so formed once (and shared with
    # :func:`keep`, which keeps the codes).
    grouped: list[_Groups] = field(default_factory=list, compare=False)

    def groups(self) -> _Groups:
        if not self.grouped:
            self.grouped.append(_groups(self))
        return self.grouped[0]


# Patterns per step of :func:`margins`.
MARGIN_CHUNK = 4096
# The most cells of the table of two groups of covariates (a bincount's output, 2 MiB).
GROUP_CELLS = 1 << 18


@dataclass(frozen=True)
class _Groups:
    """Covariates (indices into :attr:`Dummies.codes`) gathered in a few groups whose
    combined categories make small tables: one pass over the patterns per pair of groups
    counts the weight of every pair of categories of their covariates at once."""

    members: list[list[int]]
    shapes: list[tuple[int, ...]]  # the categories of each member, per group
    # (g, h, each pattern's cell of the table of groups g < h); (0, 0, ...) for one group
    cells: list[tuple[int, int, npt.NDArray[np.int64]]]


def _groups(d: Dummies) -> _Groups:
    """The fewest groups (largest covariates first, each to the group with the fewest
    cells) whose pairwise tables have at most :data:`GROUP_CELLS` cells."""
    sizes = [len(c) for c in d.columns]
    order = sorted(range(len(sizes)), key=lambda t: (-sizes[t], t))
    members: list[list[int]] = [[t] for t in order]  # one covariate per group: always fits
    for count in range(1, len(order) + 1):
        trial: list[list[int]] = [[] for _ in range(count)]
        cells = [1] * count
        for t in order:
            g = min(range(count), key=lambda i: (cells[i], i))
            trial[g].append(t)
            cells[g] *= sizes[t]
        pairs = [cells[g] * cells[h] for g in range(count) for h in range(g + 1, count)]
        if max(pairs, default=cells[0]) <= GROUP_CELLS:
            members = trial
            break
    shapes = [tuple(sizes[t] for t in m) for m in members]
    codes: list[npt.NDArray[np.int64]] = []
    for m in members:
        code = np.zeros(len(d.codes[0]), dtype=np.int64)
        for t in m:
            code = code * sizes[t] + d.codes[t]
        codes.append(code)
    if len(members) == 1:
        return _Groups(members, shapes, [(0, 0, codes[0])])
    cells_ = []
    for g in range(len(members)):
        for h in range(g + 1, len(members)):
            cells_.append((g, h, codes[g] * int(np.prod(shapes[h])) + codes[h]))
    return _Groups(members, shapes, cells_)


def dense(d: Dummies) -> npt.NDArray[np.float64]:
    """The design matrix itself (for tests and the statsmodels fallback)."""
    n = len(d.codes[0]) if d.codes else 0
    x = np.zeros((n, d.width), order="F")
    x[:, 0] = 1.0
    for code, column in zip(d.codes, d.columns, strict=True):
        col = column[code]
        rows = np.flatnonzero(col >= 0)
        x[rows, col[rows]] = 1.0
    return x


def gram(d: Dummies, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """X'WX of the dummy design by counting: the weight of every pair of categories.

    The dense product costs n x k^2 operations in BLAS, and a multi-threaded BLAS slows
    down badly when the two cores are shared with polars or another process. Counting
    costs one pass over the patterns per pair of groups of covariates (:func:`_groups`,
    three passes for the nine covariates of a delivery) and is single-threaded; every
    entry is then a sum of the table's cells. With whole weights (the trials) the sums
    are exact, so the very matrix ``x.T @ (x * w)`` gives (``tests/test_fast_paths.py``).
    """
    gram = np.zeros((d.width, d.width))
    gram[0, 0] = weights.sum()
    groups = d.groups()
    # Per group: its members' table (summed over the other group of a pair's table).
    own: dict[int, npt.NDArray[np.float64]] = {}
    for g, h, cells in groups.cells:
        if g == h:
            size = int(np.prod(groups.shapes[g]))
            counted = np.bincount(cells, weights=weights, minlength=size)
            own[g] = counted.astype(np.float64).reshape(groups.shapes[g])
            continue
        shape = (*groups.shapes[g], *groups.shapes[h])
        table = np.bincount(cells, weights=weights, minlength=int(np.prod(shape))).reshape(shape)
        ng = len(groups.shapes[g])
        own.setdefault(g, table.sum(axis=tuple(range(ng, len(shape)))))
        own.setdefault(h, table.sum(axis=tuple(range(ng))))
        for i, a in enumerate(groups.members[g]):
            for j, b in enumerate(groups.members[h]):
                other = tuple(x for x in range(len(shape)) if x not in (i, ng + j))
                _put(gram, d, a, b, table.sum(axis=other))
    for g, mine in own.items():
        axes = range(mine.ndim)
        for i, a in enumerate(groups.members[g]):
            margin = mine.sum(axis=tuple(x for x in axes if x != i))
            col = d.columns[a]
            has = col >= 0
            gram[0, col[has]] = margin[has]
            gram[col[has], 0] = margin[has]
            gram[col[has], col[has]] = margin[has]
            for j in range(i + 1, mine.ndim):
                block = mine.sum(axis=tuple(x for x in axes if x not in (i, j)))
                _put(gram, d, a, groups.members[g][j], block)
    return gram


def _put(
    gram: npt.NDArray[np.float64], d: Dummies, a: int, b: int, block: npt.NDArray[np.float64]
) -> None:
    """The block of covariates a x b (categories x categories) into X'WX, both ways."""
    col_a, col_b = d.columns[a], d.columns[b]
    has_a, has_b = col_a >= 0, col_b >= 0
    block = block[np.ix_(has_a, has_b)]
    gram[np.ix_(col_a[has_a], col_b[has_b])] = block
    gram[np.ix_(col_b[has_b], col_a[has_a])] = block.T


def xt(d: Dummies, r: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """X'r by counting."""
    out = np.zeros(d.width)
    out[0] = r.sum()
    for code, column in zip(d.codes, d.columns, strict=True):
        has = column >= 0
        out[column[has]] = np.bincount(code, weights=r, minlength=len(column))[has]
    return out


def xb(d: Dummies, beta: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """X b by look-up: the intercept plus each pattern's category coefficients."""
    padded = np.append(beta, 0.0)  # column -1 (the reference) reads this zero
    n = len(d.codes[0]) if d.codes else 0
    eta = np.full(n, beta[0])
    for code, column in zip(d.codes, d.columns, strict=True):
        eta += padded[column][code]
    return eta


def keep(d: Dummies, keep: list[int]) -> Dummies:
    """The design restricted to the columns ``keep`` (which start with the intercept)."""
    new = np.full(d.width + 1, -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    columns = tuple(new[c] for c in d.columns)
    return Dummies(d.codes, columns, len(keep), d.terms, d.levels, d.grouped)


def estimable(gram: npt.NDArray[np.float64]) -> list[int]:
    """Columns kept greedily, left to right, while each adds to the rank of X'WX.

    With the trials as weights every entry of X'WX is a sum of integers, exact in
    float64 whatever the order of summation, so :func:`gram` gives the very matrix
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
# scipy's norm.ppf(1 - 0.05 / 2), the bound of statsmodels' 95% intervals
# (tests/test_fast_paths.py holds it equal).
Z_975 = 1.959963984540054
TOLERANCE = 1e-8  # statsmodels' default for Newton's method: the largest change of a parameter


def newton(
    d: Dummies, successes: npt.NDArray[np.float64], trials: npt.NDArray[np.float64]
) -> Fit | None:
    """:func:`newton_cov` without the covariance."""
    got = newton_cov(d, successes, trials)
    return None if got is None else got[0]


def newton_cov(
    d: Dummies, successes: npt.NDArray[np.float64], trials: npt.NDArray[np.float64]
) -> tuple[Fit, npt.NDArray[np.float64]] | None:
    """The binomial GLM (logit link) by Newton-Raphson on the analytic Hessian, formed by
    counting; ``None`` when it does not converge (then statsmodels' IRLS decides).

    This is what ``sm.GLM(..., Binomial()).fit(method="newton", max_start_irls=0)`` does:
    start at zero, step by H^-1 g until no parameter changes by more than ``TOLERANCE``;
    then covariance inv(H) at the estimate (scale 1), Wald z, two-sided normal p-values,
    intervals estimate +- z_0.975 x standard error. Newton converges quadratically, so
    the estimate agrees with statsmodels' to rounding (``tests/test_fast_paths.py``).
    Returns the parameters, the intervals (k x 2) and the p-values, intercept first,
    and the covariance (which :func:`margins` needs too).
    """
    beta = np.zeros(d.width)
    with np.errstate(all="ignore"):
        for _ in range(MAX_ITERATIONS):
            mu = special.expit(xb(d, beta))
            hessian = gram(d, trials * mu * (1.0 - mu))
            score = xt(d, successes - trials * mu)
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
        mu = special.expit(xb(d, beta))
        try:
            cov = np.linalg.inv(gram(d, trials * mu * (1.0 - mu)))
        except np.linalg.LinAlgError:
            return None
        bse = np.sqrt(np.diag(cov))
        if not np.all(np.isfinite(bse)):
            return None
        q = Z_975  # statsmodels' norm.ppf(1 - 0.05 / 2)
        ci = np.column_stack([beta - q * bse, beta + q * bse])
        pvalues = special.ndtr(-np.abs(beta / bse)) * 2  # norm.sf(|z|) * 2, as scipy has it
    return (beta, ci, np.asarray(pvalues, dtype=np.float64)), cov


def fit_statsmodels(
    x: npt.NDArray[np.float64],
    successes: npt.NDArray[np.float64],
    trials: npt.NDArray[np.float64],
) -> Fit:
    """The same model with statsmodels: the reference for :func:`newton`, and its fallback."""
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


def margins(
    d: Dummies,
    beta: npt.NDArray[np.float64],
    trials: npt.NDArray[np.float64],
    cov: npt.NDArray[np.float64] | None = None,
) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Predictive margins of each (term, category) and their delta-method 95% intervals
    (covariance: the inverse Hessian at ``beta``). All categories of a term at once:
    category i replaces the term's contribution to the linear predictor by its
    coefficient; the gradient is X'r (X sparse) with the term's own columns replaced by
    the total of r (the intercept's row) at i's column. ``cov``: the inverse Hessian at
    ``beta`` when :func:`newton_cov` has it already."""
    # Imported here: only the margins need a sparse product (X' r for many r).
    from scipy import sparse

    eta = xb(d, beta)
    if cov is None:
        mu = special.expit(eta)
        cov = np.linalg.inv(gram(d, trials * mu * (1.0 - mu)))
    total = trials.sum()
    padded = np.append(beta, 0.0)  # column -1 (the reference) reads this zero
    n = len(trials)
    # X by patterns (each row: the intercept, then the dummies that are 1), transposed:
    # X' @ r then walks r once, pattern by pattern, adding each pattern's row into its
    # columns' sums (instead of walking r once per column of X).
    cols = np.zeros((n, 1 + len(d.codes)), dtype=np.int64)
    for t, (code, column) in enumerate(zip(d.codes, d.columns, strict=True)):
        cols[:, t + 1] = column[code]
    ones = cols >= 0
    indptr = np.concatenate([[0], np.cumsum(ones.sum(axis=1))])
    indices = cols[ones]
    x = sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, d.width))
    terms = list(zip(d.codes, d.columns, strict=True))
    sums = [np.zeros(len(column)) for _, column in terms]  # trials x p, per category
    grads = [np.zeros((d.width, len(column))) for _, column in terms]
    # A few thousand patterns at a time, so that the patterns x categories arrays stay
    # in the processor's cache (with buffers reused from term to term).
    most = max((len(c) for c in d.columns), default=0)
    buffers = [np.empty(MARGIN_CHUNK * most) for _ in range(3)]
    for lo in range(0, n, MARGIN_CHUNK):
        hi = min(lo + MARGIN_CHUNK, n)
        part, t_part = eta[lo:hi], trials[lo:hi]
        xt = x[lo:hi].T
        for (code, column), total_p, grad in zip(terms, sums, grads, strict=True):
            shift = padded[column]  # each category's coefficient
            shape = (hi - lo, len(column))
            p, r, rest = (b[: shape[0] * shape[1]].reshape(shape) for b in buffers)
            # p = 1 / (1 + exp(-base) exp(-shift)): one exp per pattern (expit per cell is slow)
            with np.errstate(over="ignore"):
                base = np.exp(shift[code[lo:hi]] - part)
                np.multiply(base[:, None], np.exp(-shift)[None, :], out=p)
                p += 1.0
                np.divide(1.0, p, out=p)
            total_p += t_part @ p
            np.multiply(t_part[:, None], p, out=r)  # r = trials p (1 - p)
            np.subtract(1.0, p, out=rest)
            r *= rest
            grad += xt @ r
    q = Z_975  # statsmodels' norm.ppf(1 - 0.05 / 2)
    out: dict[tuple[str, str], tuple[float, float, float]] = {}
    for (_, column), total_p, grad, term, cats in zip(
        terms, sums, grads, d.terms, d.levels, strict=True
    ):
        margin = total_p / total
        own = column >= 0
        grad[column[own], :] = 0.0
        grad[column[own], np.flatnonzero(own)] = grad[0][own]
        grad /= total
        se = np.sqrt(np.maximum(np.einsum("ik,ij,jk->k", grad, cov, grad), 0.0))
        for i, cat in enumerate(cats):
            m = float(margin[i])
            out[(term, cat)] = (m, m - q * float(se[i]), m + q * float(se[i]))
    return out
