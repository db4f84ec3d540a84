"""The fast paths of the indicators and the disparities give the straightforward results.

- Kaplan-Meier from counts per (time, status) is bit for bit statsmodels' ``SurvfuncRight``
  on one row per person: median, interval, curve, risk sets.
- The per-category fits of the table (one polars count, then counts per category) are
  those of :func:`survival.kaplan_meier` on each category's rows.
- The odds-ratio model formed by counting (X'WX, X'r, Xb without the design matrix) has the
  same X'WX as the dense product, and its Newton fit gives statsmodels' GLM estimates,
  intervals and p-values to rounding.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_indicators import frame

from pijler3.analysis import disparities, indicators, pattern_glm, population, survival
from pijler3.contract import codes


def _expand(
    times: list[int], events: list[int], censored: list[int]
) -> tuple[list[int], list[int]]:
    rows_t: list[int] = []
    rows_s: list[int] = []
    for t, e, c in zip(times, events, censored, strict=True):
        rows_t += [t] * (e + c)
        rows_s += [1] * e + [0] * c
    return rows_t, rows_s


def _same(a: survival.KaplanMeier, b: survival.KaplanMeier) -> None:
    # Dataclass equality compares floats with ==, so this is bit-for-bit (None for NaN).
    assert a == b


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400), st.integers(0, 30), st.integers(0, 30)
        ),  # (day, events, censored)
        min_size=0,
        max_size=40,
        unique_by=lambda x: x[0],
    )
)
def test_km_from_counts_is_bit_identical_to_statsmodels_on_rows(
    cells: list[tuple[int, int, int]],
) -> None:
    """Random tables of (day, events, censored), ties and zero counts included: the fit
    from counts equals SurvfuncRight on the expanded rows in every field."""
    cells = sorted(cells)
    times = [c[0] for c in cells]
    events = [c[1] for c in cells]
    censored = [c[2] for c in cells]
    rows_t, rows_s = _expand(times, events, censored)
    total = [e + c for e, c in zip(events, censored, strict=True)]
    _same(
        survival.kaplan_meier_counts(times, events, total),
        survival.kaplan_meier(rows_t, rows_s),
    )


@pytest.mark.parametrize(
    "cells",
    [
        [(0, 5, 0), (3, 5, 0)],  # everyone has the event: the curve reaches zero
        [(10, 0, 7), (20, 0, 3)],  # nobody has it: no median, no interval
        [(0, 1, 0)],  # one person
        [(5, 3, 0), (9, 0, 2), (12, 1, 1), (30, 4, 0)],  # median reached, interval open
    ],
)
def test_km_from_counts_edge_cases(cells: list[tuple[int, int, int]]) -> None:
    """Curves that reach zero, never drop, or hold one person give the same fit both ways."""
    times, events, censored = (list(x) for x in zip(*cells, strict=True))
    rows_t, rows_s = _expand(times, events, censored)
    total = [e + c for e, c in zip(events, censored, strict=True)]
    _same(
        survival.kaplan_meier_counts(times, events, total),
        survival.kaplan_meier(rows_t, rows_s),
    )


def test_table_fits_per_category_equal_fits_on_each_categorys_rows() -> None:
    """20,000 random rows in 7 categories (one tiny): the grouped fits of the table are
    kaplan_meier on each category's own rows, for both events."""
    rng = np.random.default_rng(7)
    n = 20_000
    cats = rng.choice(
        ["A", "B", "C", "D", "E", "F", "tiny"], size=n, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.0999, 0.0001]
    )
    pop = pl.DataFrame(
        {
            "grp": cats,
            "_time_inschrijving": rng.integers(0, 700, n),
            "_status_inschrijving": rng.random(n) < 0.6,
            "_time_werk": rng.integers(0, 50, n),
            "_status_werk": rng.random(n) < 0.3,
        }
    )
    fits = indicators._km_per_category(pop, pl.col("grp"), ("inschrijving", "werk"))
    for event in ("inschrijving", "werk"):
        assert set(fits[event]) == set(cats.tolist())
        for cat, fit in fits[event].items():
            part = pop.filter(pl.col("grp") == cat)
            ref = survival.kaplan_meier(
                part[f"_time_{event}"].to_numpy(), part[f"_status_{event}"].to_numpy()
            )
            _same(fit, ref)


def _random_patterns(seed: int, n: int) -> disparities._Patterns:
    """Covariate patterns of random rows, with one category that only occurs with another
    (so that a dummy is a combination of others and must be dropped)."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i, term in enumerate(disparities.COVARIATES):
        k = 2 + (i % 4)
        data[term] = rng.choice([f"c{j}" for j in range(k)], size=n)
    # nt2_niveau "dup" exactly where trajecttype is "dup": collinear columns.
    dup = rng.random(n) < 0.1
    data["trajecttype"] = np.where(dup, "dup", data["trajecttype"])  # type: ignore[arg-type]
    data["nt2_niveau"] = np.where(dup, "dup", data["nt2_niveau"])  # type: ignore[arg-type]
    eta = -0.3 + 0.5 * (data["regio"] == "c1") - 0.4 * (data["geslacht"] == "c1")  # type: ignore[operator]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    frame = pl.DataFrame({**data, "_y": y})
    patterns = (
        frame.group_by(list(disparities.COVARIATES))
        .agg(pl.len().cast(pl.Int64).alias("_n"), pl.col("_y").sum().cast(pl.Int64).alias("_k"))
        .sort(list(disparities.COVARIATES))
    )
    labels = tuple(sorted(patterns[t].unique().to_list()) for t in disparities.COVARIATES)
    codes = tuple(
        patterns[t].cast(pl.Enum(cats)).to_physical().to_numpy().astype(np.int64)
        for t, cats in zip(disparities.COVARIATES, labels, strict=True)
    )
    return disparities._Patterns(
        labels, codes, patterns["_n"].to_numpy(), patterns["_k"].to_numpy()
    )


@pytest.mark.parametrize(("seed", "cells"), [(1, 1 << 18), (2, 1 << 18), (3, 256), (1, 64), (2, 1)])
def test_counted_design_products_equal_the_dense_ones(
    seed: int, cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """X'WX by counting equals x.T @ (x * w) exactly for integer weights (so the same
    columns are kept) and to rounding for real weights; X'r and Xb match too. The
    covariates are counted in one group, in a few, or one by one (``cells``)."""
    monkeypatch.setattr(pattern_glm, "GROUP_CELLS", cells)
    patterns = _random_patterns(seed, 30_000)
    d, _, _ = disparities._design(patterns)
    x = pattern_glm.dense(d)
    trials = patterns.n.astype(np.float64)
    assert np.array_equal(pattern_glm.gram(d, trials), x.T @ (x * trials[:, None]))
    keep = pattern_glm.estimable(pattern_glm.gram(d, trials))
    assert len(keep) == d.width - 1  # exactly the duplicated dummy is dropped
    kd = pattern_glm.keep(d, keep)
    groups = len(kd.groups().members)
    if cells == 1 << 18:
        assert groups == 1
    elif cells == 1:
        assert groups == len(kd.codes)
    else:
        assert 1 < groups < len(kd.codes)
    kx = pattern_glm.dense(kd)
    assert np.array_equal(kx, x[:, keep])
    rng = np.random.default_rng(seed)
    w = rng.random(len(trials))
    np.testing.assert_allclose(pattern_glm.gram(kd, w), kx.T @ (kx * w[:, None]), rtol=1e-12)
    np.testing.assert_allclose(pattern_glm.xt(kd, w - 0.5), kx.T @ (w - 0.5), rtol=1e-10, atol=1e-9)
    beta = rng.normal(size=kd.width)
    np.testing.assert_allclose(pattern_glm.xb(kd, beta), kx @ beta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counted_newton_fit_equals_statsmodels_glm(seed: int) -> None:
    """The Newton fit by counting gives statsmodels' GLM (Newton, as the module used to
    call it) estimates, intervals and p-values to 1e-9 relative."""
    patterns = _random_patterns(seed, 30_000)
    d, _, _ = disparities._design(patterns)
    trials = patterns.n.astype(np.float64)
    successes = patterns.k.astype(np.float64)
    kd = pattern_glm.keep(d, pattern_glm.estimable(pattern_glm.gram(d, trials)))
    fast = pattern_glm.newton(kd, successes, trials)
    assert fast is not None
    ref = pattern_glm.fit_statsmodels(pattern_glm.dense(kd), successes, trials)
    for a, b in zip(fast, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_counted_category_sums_equal_polars_group_by_sums() -> None:
    """Random flags (some missing) in 9 categories: the sums by counting rows per
    (category, combination of flags) equal polars' group-by of _aggregations()."""
    rng = np.random.default_rng(3)
    n = 50_000
    flag_names = ["_exempt", "_toeleiding", "_registered"]
    flag_names += [f"_closed_{i}" for i in population.WINDOWS]
    flag_names += [f"_hit_{i}" for i in population.WINDOWS]
    flag_names += [f"_actie_{a}" for a in population.ACTIONS]
    data: dict[str, object] = {"grp": rng.choice(list("ABCDEFGHI"), size=n)}
    for name in flag_names:
        values = (rng.random(n) < rng.random()).tolist()
        data[name] = [None if rng.random() < 0.05 else v for v in values]
    b = pl.DataFrame(data)
    labels, code = population.category_codes(b, pl.col("grp"))
    fast = indicators._category_sums(labels, code, indicators._signatures(b))
    ref = b.group_by(pl.col("grp").alias("_cat")).agg(indicators._aggregations()).sort("_cat")
    assert fast.equals(ref.select(fast.columns))


def test_normal_quantiles_equal_scipy() -> None:
    """The constants and the normal tail the counted GLM uses equal scipy's own."""
    from scipy import special
    from scipy.stats import norm

    assert norm.ppf(1 - 0.05 / 2) == pattern_glm.Z_975
    z = np.random.default_rng(5).normal(scale=4, size=500)
    assert np.array_equal(special.ndtr(-np.abs(z)) * 2, norm.sf(np.abs(z)) * 2)


COUNTRIES = ["SY", "AF", "MA", "UA", "TR", "ER", "SO", "IQ", "IR", "PS", "NL", "BE"]


def test_known_category_codes_equal_the_distinct_categories_of_the_rows() -> None:
    """prepare() numbers each breakdown's rows by its fixed categories (no search for the
    distinct ones); mapped through the labels, each row gets the category that the
    breakdown's own expression gives, for every breakdown, with missing values, a code
    list's own ONBEKEND, and a code outside the code list (which takes the slow path)."""
    rng = np.random.default_rng(11)
    n = 5_000
    start = np.datetime64("2022-03-01")
    data: dict[str, object] = {
        "datum_inburgeringscontract": (start + rng.integers(0, 1300, n)).astype("datetime64[D]"),
        "oudste_nationaliteit": rng.choice([*COUNTRIES, None], n),
        "ocmw_leefloon": rng.choice([True, False, None], n),
        "plo_besluit": rng.choice(["WERKT_AL", "STUDEERT", None], n),
    }
    for name, kind in population.KINDS.items():
        if kind == "code":
            listed = list(codes.codelist(name).codes)
            data[name] = rng.choice([*listed, None], n)
    data["scholingsniveau"] = rng.choice(["LAAG", "ONBEKEND", None], n)
    data["regio"] = rng.choice(["LIMBURG", "NIET_IN_DE_LIJST", None], n)  # takes the slow path
    peildatum = dt.date(2025, 9, 30)
    columns = pl.DataFrame(data).with_columns(pl.col("datum_inburgeringscontract").cast(pl.Date))
    b = frame(columns.to_dict(as_series=False), peildatum)
    prep = population.prepare(b, peildatum)
    for spec in population.breakdown_specs(b, peildatum):
        # with_columns: a literal category (totaal) fills every row
        expected = b.with_columns(spec.expr.alias("_c"))["_c"].to_list()
        got = prep.breakdowns[spec.name]
        assert [got.labels[i] for i in got.code] == expected, spec.name
        assert got.labels == sorted(got.labels)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 1)), max_size=60),
    st.integers(41, 400),
)
def test_patterns_counted_over_their_range_are_the_distinct_ones_counted(
    rows: list[tuple[int, int]], size: int
) -> None:
    """Both ways of counting the patterns' numbers (over their whole range when it is
    small next to the rows, else through np.unique) give each distinct number, ascending,
    with its rows and successes, as a plain count does."""
    key = np.array([k for k, _ in rows], dtype=np.int64)
    y = np.array([v for _, v in rows], dtype=np.int64)
    distinct = sorted({k for k, _ in rows})
    n = [sum(1 for k, _ in rows if k == d) for d in distinct]
    hits = [sum(v for k, v in rows if k == d) for d in distinct]
    dense = 0 < size <= disparities.DENSE_PER_ROW * len(rows)
    for range_ in (size, 10**15):  # the second: always through np.unique
        got = disparities._count_keys(key, y, range_)
        assert [g.tolist() for g in got] == [distinct, n, hits], (range_, dense)
        assert all(g.dtype == np.int64 for g in got)


def test_patterns_from_category_codes_equal_a_polars_group_by_of_the_rows() -> None:
    """The covariate patterns counted with numpy from prepare()'s category codes are, in
    the same order, polars' group-by of the model's rows sorted by the category texts
    (how they were formed before), with the same rows and successes."""
    from test_disparities import P, simulate

    df = simulate(8_000, 3, 0.7, 0.9)
    prep = population.prepare(df, P)
    for outcome in disparities.OUTCOMES:
        got = disparities._patterns(prep, outcome)
        ref = (
            disparities._population(df, P, outcome)
            .group_by(list(disparities.COVARIATES))
            .agg(pl.len().alias("_n"), pl.col("_y").sum().alias("_k"))
            .sort(list(disparities.COVARIATES))
        )
        assert ref.height > 50
        for term, labels, code in zip(disparities.COVARIATES, got.labels, got.codes, strict=True):
            assert [labels[i] for i in code] == ref[term].to_list()
        assert got.n.tolist() == ref["_n"].to_list()
        assert got.k.tolist() == ref["_k"].to_list()
