"""Adjusted odds ratios (INDICATORS.md, "Who is reached worse") on simulated deliveries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
import statsmodels.formula.api as smf

from pijler3.analysis import disparities
from pijler3.contract import codes, protocol

P = dt.date(2024, 6, 30)
DTYPES = {"text": pl.String, "code": pl.String, "date": pl.Date, "bool": pl.Boolean}
REGIONS = codes.codelist("regio").codes


def frame(columns: dict[str, list[Any]]) -> pl.DataFrame:
    """A monitoring dataset (DATA.md §3) with the given columns and every other one empty."""
    proto = protocol.load()
    n = len(next(iter(columns.values())))
    data = {}
    for f in proto.fields:
        dtype = DTYPES[f.type]
        if f.name == "peildatum":
            data[f.name] = pl.Series(f.name, [P] * n, dtype=pl.Date)
        else:
            data[f.name] = pl.Series(f.name, columns.get(f.name, [None] * n), dtype=dtype)
    return pl.DataFrame(data).select(proto.field_names)


def simulate(n: int, seed: int, region_or: float, women_or: float = 1.0) -> pl.DataFrame:
    """Registrations within 60 days with a planted odds ratio for LIMBURG (against
    ANTWERPEN_STAD, the largest region) and optionally for women; other fields random
    and without effect. Every contract is old enough for the 60-day window to be closed."""
    rng = np.random.default_rng(seed)
    weights = np.array([0.3, 0.1, 0.1, 0.15, 0.1, 0.1, 0.1, 0.05])
    region = rng.choice(len(REGIONS), n, p=weights)
    sex = rng.choice(["M", "V"], n, p=[0.55, 0.45])
    school = rng.choice(["LAAG", "MIDDEN", "HOOG"], n)
    logit = -0.2 + np.where(region == REGIONS.index("LIMBURG"), np.log(region_or), 0.0)
    logit += np.where(sex == "V", np.log(women_or), 0.0)
    success = rng.random(n) < 1 / (1 + np.exp(-logit))
    contract = [dt.date(2023, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 300, n)]
    registration = [
        c + dt.timedelta(days=int(d)) if s else None
        for c, s, d in zip(contract, success, rng.integers(0, 61, n), strict=True)
    ]
    # Some missing regions (ONBEKEND) and a handful of X (too few to estimate).
    region_codes: list[str | None] = [REGIONS[i] for i in region]
    for i in rng.choice(n, n // 50, replace=False):
        region_codes[i] = None
    sex_codes: list[str] = list(sex)
    for i in range(12):
        sex_codes[i] = "X"
    return frame(
        {
            "datum_inburgeringscontract": contract,
            "vdab_datum_eerste_inschrijving": registration,
            "regio": region_codes,
            "geslacht": sex_codes,
            "scholingsniveau": list(school),
        }
    )


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    return disparities.odds_ratios(simulate(20_000, 11, 0.5, 0.7), P, "inschrijving_60d")


def test_planted_odds_ratio_is_recovered_and_named_in_dutch(planted: pl.DataFrame) -> None:
    """OR 0.5 for Limburg and 0.7 for women, n=20k: both 95% intervals contain the
    planted value, both are significant, and the Dutch summary names both groups."""
    limburg = planted.filter((pl.col("term") == "regio") & (pl.col("category") == "LIMBURG")).row(
        0, named=True
    )
    assert limburg["reference"] == "ANTWERPEN_STAD"
    assert limburg["ci_low"] < 0.5 < limburg["ci_high"]
    assert limburg["p_value"] < 0.05
    women = planted.filter(pl.col("term") == "geslacht").row(0, named=True)
    assert (women["category"], women["reference"]) == ("V", "M")
    assert women["ci_low"] < 0.7 < women["ci_high"]
    text = disparities.summary_nl(planted)
    assert (
        "Inburgeraars in Limburg schrijven zich minder vaak binnen 60 dagen in dan "
        "inburgeraars in Antwerpen (stad) (gecorrigeerd " in text
    )
    assert "Vrouwen schrijven zich minder vaak binnen 60 dagen in dan mannen (gecorrigeerd " in text
    assert limburg["finding"] and limburg["p_holm"] < 0.05


def test_regions_without_effect_are_rarely_named(planted: pl.DataFrame) -> None:
    """Regions other than Limburg have OR 1: at 95% confidence, at most one of the seven
    may exclude 1 by chance (for this seed exactly one does, Brussel)."""
    others = planted.filter((pl.col("term") == "regio") & ~pl.col("category").is_in(["LIMBURG"]))
    assert others.height == len(REGIONS) - 2 + 1  # minus reference and Limburg, plus ONBEKEND
    assert ((others["ci_low"] > 1) | (others["ci_high"] < 1)).sum() <= 1


def test_small_categories_are_left_out_and_missing_is_onbekend(planted: pl.DataFrame) -> None:
    """Twelve people with geslacht X are below MIN_CATEGORY_ROWS: no X row. The rows
    without a region are estimated as ONBEKEND. Every n shown is at least the minimum."""
    sex = planted.filter(pl.col("term") == "geslacht")["category"].to_list()
    assert sex == ["V"]
    assert "ONBEKEND" in planted.filter(pl.col("term") == "regio")["category"].to_list()
    assert planted["n"].min() >= disparities.MIN_CATEGORY_ROWS  # type: ignore[operator]


def test_grouped_fit_equals_row_level_logistic_regression() -> None:
    """The covariate-pattern GLM gives the same odds ratios, intervals and p-values as
    statsmodels' row-level logit with the same reference categories."""
    df = simulate(4_000, 5, 0.6)
    table = disparities.odds_ratios(df, P, "inschrijving_60d")
    rows = disparities._population(df, P, "inschrijving_60d").filter(pl.col("geslacht") != "X")
    pdf = rows.select("_y", "regio", "geslacht", "scholingsniveau").to_pandas()
    ref = {
        t: table.filter(pl.col("term") == t)["reference"][0]
        for t in ("regio", "geslacht", "scholingsniveau")
    }
    formula = "_y ~ " + " + ".join(f"C({t}, Treatment('{r}'))" for t, r in ref.items())
    fit = smf.logit(formula, data=pdf).fit(disp=False)
    for r in table.iter_rows(named=True):
        name = f"C({r['term']}, Treatment('{r['reference']}'))[T.{r['category']}]"
        assert r["odds_ratio"] == pytest.approx(np.exp(fit.params[name]), rel=1e-6)
        assert r["ci_low"] == pytest.approx(np.exp(fit.conf_int().loc[name, 0]), rel=1e-6)
        assert r["p_value"] == pytest.approx(fit.pvalues[name], rel=1e-5, abs=1e-12)


def _table(**overrides: list[Any]) -> pl.DataFrame:
    base: dict[str, list[Any]] = {
        "outcome": ["inschrijving_60d", "inschrijving_60d"],
        "term": ["geslacht", "regio"],
        "category": ["V", "LIMBURG"],
        "reference": ["M", "ANTWERPEN_STAD"],
        "odds_ratio": [0.71, 1.1],
        "ci_low": [0.64, 0.9],
        "ci_high": [0.79, 1.3],
        "p_value": [0.0001, 0.3],
        "n": [5000, 800],
        "p_holm": [0.0002, 0.3],
        "finding": [True, False],
        "margin": [0.551, 0.65],
        "margin_low": [0.54, 0.6],
        "margin_high": [0.56, 0.7],
        "reference_margin": [0.62, 0.6],
        "reference_n": [6000, 4000],
    }
    base.update(overrides)
    return pl.DataFrame(base, schema=dict(disparities.SCHEMA))


def test_summary_sentence_format() -> None:
    """The sentence of the brief, with decimal commas and the adjusted percentages;
    rows that are not findings (after Holm) are not named."""
    table = _table()
    assert disparities.summary_nl(table) == (
        "Vrouwen schrijven zich minder vaak binnen 60 dagen in dan mannen "
        "(gecorrigeerd 55,1\u00a0% tegenover 62,0\u00a0%; OR 0,71; 95%-BI 0,64–0,79)."
    )
    werk = _table(outcome=["werk_12m"] * 2, finding=[True, True])
    assert disparities.summary_nl(werk) == (
        "Vrouwen vinden minder vaak binnen 12 maanden werk dan mannen (gecorrigeerd "
        "55,1\u00a0% tegenover 62,0\u00a0%; OR 0,71; 95%-BI 0,64–0,79). "
        "Inburgeraars in Limburg vinden vaker binnen 12 maanden werk dan inburgeraars in "
        "Antwerpen (stad) (gecorrigeerd 65,0\u00a0% tegenover 60,0\u00a0%; OR 1,10; "
        "95%-BI 0,90–1,30)."
    )
    none = _table(finding=[False, False])
    assert "geen enkele groep" in disparities.summary_nl(none)


def test_holm_adjusted_p_values_match_statsmodels_and_onbekend_is_never_a_finding() -> None:
    """Holm's correction over every category but ONBEKEND, computed independently here
    with statsmodels' multipletests on the unadjusted p-values of the table; ONBEKEND
    rows have no adjusted p-value and are never a finding, however small their p."""
    from statsmodels.stats.multitest import multipletests

    table = disparities.odds_ratios(simulate(20_000, 11, 0.5, 0.7), P, "inschrijving_60d")
    known = table.filter(pl.col("category") != "ONBEKEND")
    expected = multipletests(known["p_value"].to_numpy(), method="holm")[1]
    np.testing.assert_allclose(known["p_holm"].to_numpy(), expected, rtol=1e-12)
    assert (known["finding"] == (known["p_holm"] < 0.05)).all()
    # Holm is stricter: never smaller than the raw p-value.
    assert (known["p_holm"] >= known["p_value"]).all()
    unknown = table.filter(pl.col("category") == "ONBEKEND")
    assert unknown.height >= 1
    assert unknown["p_holm"].null_count() == unknown.height
    assert not unknown["finding"].any()


def test_onbekend_with_a_planted_effect_is_shown_but_not_counted() -> None:
    """Missing regions with a strong planted effect: the ONBEKEND row is in the table with
    its odds ratio and a tiny raw p-value, but neither a finding nor named in the summary."""
    df = simulate(6_000, 3, 1.0)
    rng = np.random.default_rng(3)
    regio = df["regio"].to_list()
    reg = df["vdab_datum_eerste_inschrijving"].to_list()
    contract = df["datum_inburgeringscontract"].to_list()
    for i in rng.choice(len(regio), 600, replace=False):
        regio[i] = None
        reg[i] = contract[i] + dt.timedelta(days=5)  # always registered: OR far above 1
    df = df.with_columns(
        pl.Series("regio", regio, dtype=pl.String),
        pl.Series("vdab_datum_eerste_inschrijving", reg, dtype=pl.Date),
    )
    table = disparities.odds_ratios(df, P, "inschrijving_60d")
    unknown = table.filter(pl.col("category") == "ONBEKEND").row(0, named=True)
    assert unknown["p_value"] < 1e-6 and unknown["odds_ratio"] > 2
    assert unknown["finding"] is False
    assert "onbekende regio" not in disparities.summary_nl(table)


def test_reference_is_the_largest_known_group_never_overig_or_onbekend() -> None:
    """When ONBEKEND is the largest region, the reference is still the largest known one."""
    df = simulate(4_000, 8, 1.0)
    regio = [None if i % 3 == 0 else r for i, r in enumerate(df["regio"].to_list())]
    df = df.with_columns(pl.Series("regio", regio, dtype=pl.String))
    table = disparities.odds_ratios(df, P, "inschrijving_60d").filter(pl.col("term") == "regio")
    assert set(table["reference"]) == {"ANTWERPEN_STAD"}
    assert "ONBEKEND" in table["category"].to_list()


def _reference_model(n: int, seed: int) -> tuple[pl.DataFrame, Any, str]:
    """The odds table of a simulated delivery, its rows as pandas for statsmodels, and
    the formula of the same model with the table's reference categories."""
    df = simulate(n, seed, 0.6, 0.8)
    table = disparities.odds_ratios(df, P, "inschrijving_60d")
    rows = disparities._population(df, P, "inschrijving_60d").filter(pl.col("geslacht") != "X")
    pdf = rows.select("_y", "regio", "geslacht", "scholingsniveau").to_pandas()
    terms = ("regio", "geslacht", "scholingsniveau")
    ref = {t: table.filter(pl.col("term") == t)["reference"][0] for t in terms}
    formula = "_y ~ " + " + ".join(f"C({t}, Treatment('{r}'))" for t, r in ref.items())
    return table, pdf, formula


def test_predictive_margins_match_statsmodels_get_prediction() -> None:
    """The adjusted percentages are statsmodels' average predictions: the row-level logit
    is fitted here independently, every person gets the category, and
    ``get_prediction(which="mean", average=True)`` gives the mean and its interval."""
    table, pdf, formula = _reference_model(4_000, 5)
    fit = smf.logit(formula, data=pdf).fit(disp=False)
    for r in table.iter_rows(named=True):
        for cat, want in ((r["category"], "margin"), (r["reference"], "reference_margin")):
            counter = pdf.assign(**{r["term"]: cat})
            pred = fit.get_prediction(counter, which="mean", average=True)
            assert r[want] == pytest.approx(float(np.asarray(pred.predicted).ravel()[0]), rel=1e-6)
            if want == "margin":
                low, high = np.asarray(pred.conf_int()).ravel()[:2]
                assert r["margin_low"] == pytest.approx(low, rel=1e-5)
                assert r["margin_high"] == pytest.approx(high, rel=1e-5)


def test_empty_population_gives_an_empty_table() -> None:
    """No one with a closed window: an empty table with the documented columns."""
    df = frame({"datum_inburgeringscontract": [P]})
    out = disparities.odds_ratios(df, P, "werk_12m")
    assert out.height == 0 and dict(out.schema) == dict(disparities.SCHEMA)
    assert disparities.summary_nl(out).startswith("Er zijn te weinig gegevens")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("scholingsniveau", "inburgeraars met onbekend scholingsniveau"),
        ("geslacht", "inburgeraars met onbekend geslacht"),
        ("regio", "inburgeraars met onbekende regio"),
        ("verblijfsstatus", "inburgeraars met onbekende verblijfsstatus"),
    ],
)
def test_unknown_groups_take_the_right_adjective(term: str, expected: str) -> None:
    """Dutch inflects the adjective by the noun's gender: het-words take "onbekend"."""
    assert expected == disparities.group_nl(term, "ONBEKEND")


def test_pattern_fit_equals_a_glm_on_the_rows_to_1e_8() -> None:
    """The fit on covariate patterns (successes and trials per combination of
    categories, fitted by counting) against statsmodels' binomial GLM on one row per
    person with the same reference categories: odds ratios, intervals, p-values and the
    adjusted percentages with their intervals agree to 1e-8 relative."""
    import statsmodels.api as sm

    table, pdf, formula = _reference_model(6_000, 8)
    fit = smf.glm(formula, data=pdf, family=sm.families.Binomial()).fit(tol=1e-14)
    ci = fit.conf_int()
    for r in table.iter_rows(named=True):
        name = f"C({r['term']}, Treatment('{r['reference']}'))[T.{r['category']}]"
        assert r["odds_ratio"] == pytest.approx(np.exp(fit.params[name]), rel=1e-8)
        assert r["ci_low"] == pytest.approx(np.exp(ci.loc[name, 0]), rel=1e-8)
        assert r["ci_high"] == pytest.approx(np.exp(ci.loc[name, 1]), rel=1e-8)
        assert r["p_value"] == pytest.approx(fit.pvalues[name], rel=1e-8)
        counter = pdf.assign(**{r["term"]: r["category"]})
        pred = fit.get_prediction(counter, which="mean", average=True)
        low, high = np.asarray(pred.conf_int()).ravel()[:2]
        assert r["margin"] == pytest.approx(float(np.asarray(pred.predicted).ravel()[0]), rel=1e-8)
        assert r["margin_low"] == pytest.approx(low, rel=1e-8)
        assert r["margin_high"] == pytest.approx(high, rel=1e-8)
