"""Indicators of INDICATORS.md on a hand-made delivery, checked against hand arithmetic.

The delivery is ``tests/data/indicators/small.csv`` (peildatum 2023-06-30). Every
expected number below is worked out in the comments from that file, not from the code.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl
import pytest

from pijler3.analysis import indicators, population
from pijler3.contract import codes, protocol

DATA = Path(__file__).parent / "data" / "indicators"
P = dt.date(2023, 6, 30)
Z = NormalDist().inv_cdf(0.975)
DTYPES = {"text": pl.String, "code": pl.String, "date": pl.Date, "bool": pl.Boolean}


def frame(columns: dict[str, list[Any]], peildatum: dt.date = P) -> pl.DataFrame:
    """A monitoring dataset (DATA.md §3) with the given columns and every other one empty."""
    proto = protocol.load()
    n = len(next(iter(columns.values())))
    data: dict[str, pl.Series] = {}
    for f in proto.fields:
        dtype = DTYPES[f.type]
        if f.name == "peildatum":
            data[f.name] = pl.Series(f.name, [peildatum] * n, dtype=pl.Date)
        elif f.name in columns:
            data[f.name] = pl.Series(f.name, columns[f.name], dtype=dtype, strict=False)
        else:
            data[f.name] = pl.Series(f.name, [None] * n, dtype=dtype)
    return pl.DataFrame(data).select(proto.field_names)


def small() -> pl.DataFrame:
    raw = pl.read_csv(DATA / "small.csv", comment_prefix="#", infer_schema=False)
    cols: dict[str, list[Any]] = {}
    for name in raw.columns:
        if name == "id":
            continue
        values = raw[name].to_list()
        if name.startswith("datum") or name.startswith("vdab_datum"):
            cols[name] = [dt.date.fromisoformat(v) if v else None for v in values]
        elif name in ("ocmw_leefloon",) or name.startswith("vdab_actie"):
            cols[name] = [None if v is None else v == "true" for v in values]
        else:
            cols[name] = values
    return frame(cols)


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return indicators.compute_raw(small(), P)


def row(raw: pl.DataFrame, indicator: str, breakdown: str = "totaal", category: str = "totaal"):
    found = raw.filter(
        (pl.col("indicator") == indicator)
        & (pl.col("breakdown") == breakdown)
        & (pl.col("category") == category)
    )
    assert found.height == 1
    return found.row(0, named=True)


def wilson_closed(k: int, n: int) -> tuple[float, float]:
    """Wilson score interval written out: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


def test_columns_and_types_are_those_of_the_raw_table(raw: pl.DataFrame) -> None:
    """compute_raw returns DATA.md §4's columns (without suppressed) plus censored, exempt."""
    assert dict(raw.schema) == dict(indicators.RAW_SCHEMA)
    assert raw["peildatum"].unique().to_list() == [P]
    assert raw["indicator"].unique(maintain_order=True).to_list() == list(indicators.INDICATOR_IDS)


def test_toeleiding_counts_b_and_ignores_a_referral_after_peildatum(raw: pl.DataFrame) -> None:
    """B = r1 r2 r3 r4 r5 r9 r10 r11 r12 (9): r6 before 2022-03-01, r7 after peildatum, r8
    without contract. Referred on or before peildatum: r1 r3 r5 r9 r11 (5); r10's referral
    date 2023-08-01 lies after peildatum and counts as missing."""
    r = row(raw, "toeleiding")
    assert (r["denominator"], r["numerator"]) == (9, 5)
    assert r["value"] == pytest.approx(5 / 9)
    low, high = wilson_closed(5, 9)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert (r["censored"], r["exempt"]) == (None, None)


def test_inschrijving_60d_window_exempt_and_registration_before_contract(raw: pl.DataFrame) -> None:
    """B minus E (r3 WERKT_AL, r4 GEEN_TOEGANG) = r1 r2 r5 r9 r10 r11 r12. Window closed when
    contract + 60 <= 2023-06-30, i.e. contract <= 2023-05-01: r5 (2023-06-01) is censored,
    r12 (2023-05-01) just closes. Successes: r1 (31 days), r2 (registered before the
    contract), r11 (exactly 60 days) = 3 of 6. r9 took 92 days; r10's registration lies
    after peildatum (missing); r12 never registered."""
    r = row(raw, "inschrijving_60d")
    assert (r["denominator"], r["numerator"], r["censored"], r["exempt"]) == (6, 3, 1, 2)
    assert r["value"] == pytest.approx(0.5)
    low, high = wilson_closed(3, 6)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_work_windows_of_182_and_365_days(raw: pl.DataFrame) -> None:
    """182 days before 2023-06-30 is 2022-12-30 and 365 days before is 2022-06-30, so only
    r9 (2022-03-01) and r10 (2022-06-30) have closed windows; the other 5 of B minus E are
    censored. r9 found work on 2023-01-01, 306 days after the contract: too late for 6
    months (182), in time for 12 months (365). r10 has no work."""
    r6 = row(raw, "werk_6m")
    assert (r6["denominator"], r6["numerator"], r6["censored"], r6["value"]) == (2, 0, 5, 0.0)
    r12 = row(raw, "werk_12m")
    assert (r12["denominator"], r12["numerator"], r12["censored"], r12["value"]) == (2, 1, 5, 0.5)


def km_by_hand(times: list[int], events: list[int]) -> tuple[list[int], list[float], list[float]]:
    """Product-limit estimate and Greenwood standard error at each event time."""
    out_t, out_s, out_se = [], [], []
    s, var = 1.0, 0.0
    for t in sorted(set(times)):
        n = sum(1 for x in times if x >= t)
        d = sum(e for x, e in zip(times, events, strict=True) if x == t)
        if d == 0:
            continue
        s *= 1 - d / n
        var += d / (n * (n - d)) if n > d else math.inf
        out_t.append(t)
        out_s.append(s)
        out_se.append(s * math.sqrt(var))
    return out_t, out_s, out_se


def median_by_hand(times: list[int], events: list[int]) -> tuple[float, float, float]:
    """Median = first time S(t) < 0.5 (statsmodels and SAS use the strict inequality);
    interval = event times where |g(S) - g(0.5)| / (g'(S)·se) <= z with g = log(-log),
    from the first such time to the event time after the last one (Brookmeyer-Crowley)."""
    ts, ss, ses = km_by_hand(times, events)
    median = next(t for t, s in zip(ts, ss, strict=True) if s < 0.5)

    def g(x: float) -> float:
        return math.log(-math.log(x))

    inside = []
    for i, (s, se) in enumerate(zip(ss, ses, strict=True)):
        if 0 < s < 1 and se > 0:
            r = (g(s) - g(0.5)) / ((-1 / (s * math.log(s))) * se)
            if abs(r) <= Z:
                inside.append(i)
    low = ts[inside[0]]
    high = ts[inside[-1] + 1] if inside[-1] + 1 < len(ts) else math.inf
    return median, low, high


# Days from contract to first registration for B minus E (r1 r2 r5 r9 r10 r11 r12):
# r1 31, r2 0 (before the contract), r5 9, r9 92, r11 60 are events; r10 (registration
# after peildatum) is censored at 2023-06-30 - 2022-06-30 = 365, r12 at 60.
REG_TIMES = [31, 0, 9, 92, 365, 60, 60]
REG_EVENTS = [1, 1, 1, 1, 0, 1, 0]


def test_registration_median_matches_a_hand_product_limit(raw: pl.DataFrame) -> None:
    """S: t=0 6/7, t=9 5/7, t=31 4/7, t=60 3/7 (< 0.5) -> median 60 days; 5 events."""
    _, ss, _ = km_by_hand(REG_TIMES, REG_EVENTS)
    assert ss == pytest.approx([6 / 7, 5 / 7, 4 / 7, 3 / 7, 3 / 14])
    r = row(raw, "inschrijving_mediaan_dagen")
    assert (r["denominator"], r["numerator"], r["censored"], r["exempt"]) == (7, 5, 2, 2)
    median, low, high = median_by_hand(REG_TIMES, REG_EVENTS)
    assert median == 60 == r["value"]
    assert r["ci_low"] == low
    assert r["ci_high"] == (None if math.isinf(high) else high)


def test_work_median_and_a_median_that_is_not_reached(raw: pl.DataFrame) -> None:
    """Work, B minus E: r1 event at 120 days; r9 event at 306; censored r2 180, r5 29,
    r10 365, r11 90, r12 60 (its date 2023-08-01 lies after peildatum). S(120) = 3/4 with
    4 at risk, S(306) = 3/8 with 2 at risk -> median 306. Women (r2 r10 r11, r4 exempt)
    have no event: the median is not reached and value and interval are empty."""
    r = row(raw, "werk_mediaan_dagen")
    assert (r["denominator"], r["numerator"], r["value"]) == (7, 2, 306)
    v = row(raw, "werk_mediaan_dagen", "geslacht", "V")
    assert (v["denominator"], v["numerator"], v["value"], v["ci_low"], v["ci_high"]) == (
        3,
        0,
        None,
        None,
        None,
    )
    assert v["exempt"] == 1


def test_actions_population_is_registered_rows_of_b_including_exempt(raw: pl.DataFrame) -> None:
    """Registered on or before peildatum: r1 r2 r3 (exempt, included) r5 r9 r11 = 6; r10's
    registration lies after peildatum. Orientation: r1 r2 r11 (r10 is not counted) = 3;
    context r2 = 1; competence r9 = 1; applying r9 = 1. r5's empty actions are false."""
    expected = {
        "actie_orientatie": 3,
        "actie_context": 1,
        "actie_competentieversterking": 1,
        "actie_solliciteren": 1,
    }
    for indicator, numerator in expected.items():
        r = row(raw, indicator)
        assert (r["denominator"], r["numerator"]) == (6, numerator), indicator


def test_breakdown_categories_by_hand(raw: pl.DataFrame) -> None:
    """toeleiding by geslacht: M r1 r3 r9 r12 (4, referred 3), V r2 r4 r10 r11 (4, referred
    1), X r5 (1, 1), ONBEKEND 0 (listed with 0). By ocmw_leefloon: true r1 r5 r9, false r2
    r10 r11 r12, ONBEKEND r3 r4. By scholingsniveau an explicit ONBEKEND (r2) joins the
    missing one (r3). Cohorts 2022-Q1..2023-Q2, empty quarters listed with 0."""

    def table(breakdown: str) -> dict[str, tuple[int, int]]:
        part = raw.filter(
            (pl.col("indicator") == "toeleiding") & (pl.col("breakdown") == breakdown)
        )
        return {c: (d, n) for c, d, n in part.select("category", "denominator", "numerator").rows()}

    assert table("geslacht") == {"M": (4, 3), "V": (4, 1), "X": (1, 1), "ONBEKEND": (0, 0)}
    assert table("ocmw_leefloon") == {"true": (3, 3), "false": (4, 1), "ONBEKEND": (2, 1)}
    assert table("scholingsniveau") == {
        "LAAG": (2, 1),
        "MIDDEN": (3, 2),
        "HOOG": (2, 1),
        "ONBEKEND": (2, 1),
    }
    assert table("cohort") == {
        "2022-Q1": (1, 1),
        "2022-Q2": (1, 0),
        "2022-Q3": (0, 0),
        "2022-Q4": (0, 0),
        "2023-Q1": (4, 2),
        "2023-Q2": (3, 2),
    }
    # Nationalities in B: SYR 3, AFG 2, MAR 1, TUR 1 (tie broken by code), 2 missing.
    assert table("oudste_nationaliteit") == {
        "SYR": (3, 2),
        "AFG": (2, 2),
        "MAR": (1, 1),
        "TUR": (1, 0),
        "OVERIG": (0, 0),
        "ONBEKEND": (2, 0),
    }
    # A code-list breakdown lists every code of its list, so tables are stable.
    regio = raw.filter((pl.col("indicator") == "toeleiding") & (pl.col("breakdown") == "regio"))
    assert regio["category"].to_list() == [*codes.codelist("regio").codes, "ONBEKEND"]
    assert regio["denominator"].to_list() == [0] * 8 + [9]


def test_a_category_with_nobody_has_empty_value_and_interval(raw: pl.DataFrame) -> None:
    """Denominator 0 gives numerator 0 and no proportion (not NaN)."""
    r = row(raw, "toeleiding", "geslacht", "ONBEKEND")
    assert (r["denominator"], r["numerator"], r["value"], r["ci_low"], r["ci_high"]) == (
        0,
        0,
        None,
        None,
        None,
    )


def test_top_ten_nationalities_ties_by_code_rest_overig() -> None:
    """Twelve nationalities: counts 12..1 except a tie; the top ten by count (ties by code)
    are listed, the two rarest go to OVERIG, missing to ONBEKEND."""
    natio = ["AAA"] * 0
    spec = [("NLD", 9), ("SYR", 9), ("AFG", 8), ("MAR", 7), ("TUR", 6), ("ERI", 5), ("IRQ", 4),
            ("UKR", 3), ("IRN", 3), ("PSE", 3), ("SOM", 2), ("GIN", 1)]  # fmt: skip
    for code, count in spec:
        natio += [code] * count
    natio += [None] * 4
    n = len(natio)
    df = frame(
        {"datum_inburgeringscontract": [dt.date(2023, 1, 1)] * n, "oudste_nationaliteit": natio}
    )
    raw = indicators.compute_raw(df, P)
    part = raw.filter(
        (pl.col("indicator") == "toeleiding") & (pl.col("breakdown") == "oudste_nationaliteit")
    )
    got = dict(part.select("category", "denominator").rows())
    assert list(got) == [
        "NLD",
        "SYR",
        "AFG",
        "MAR",
        "TUR",
        "ERI",
        "IRQ",
        "IRN",
        "PSE",
        "UKR",
        "OVERIG",
        "ONBEKEND",
    ]
    assert got["OVERIG"] == 3 and got["ONBEKEND"] == 4


def test_categories_add_up_to_totaal_for_every_indicator_and_breakdown() -> None:
    """On a random delivery, every breakdown's denominators, numerators, censored and
    exempt counts sum to the totaal row (INDICATORS.md: categories add up)."""
    df = random_delivery(3000, seed=7)
    raw = indicators.compute_raw(df, P)
    totals = raw.filter(pl.col("breakdown") == "totaal").select(
        "indicator", "denominator", "numerator", "censored", "exempt"
    )
    sums = (
        raw.filter(pl.col("breakdown") != "totaal")
        .group_by("indicator", "breakdown")
        .agg(pl.col("denominator", "numerator", "censored", "exempt").sum())
    )
    joined = sums.join(totals, on="indicator", suffix="_t")
    assert joined.height == len(indicators.INDICATOR_IDS) * (len(population.BREAKDOWNS) - 1)
    for kind in ("denominator", "numerator", "censored", "exempt"):
        diff = joined.filter(pl.col(kind) != pl.col(f"{kind}_t").fill_null(0))
        assert diff.height == 0, kind


def random_delivery(n: int, seed: int) -> pl.DataFrame:
    """A random delivery with missing values, exempt rows, censored rows and late dates."""
    rng = np.random.default_rng(seed)
    start = dt.date(2021, 12, 1)

    def dates(offset: np.ndarray, missing: float) -> list[dt.date | None]:
        return [
            None if rng.random() < missing else start + dt.timedelta(days=int(o)) for o in offset
        ]

    contract = rng.integers(0, (P - start).days + 60, n)
    cols: dict[str, list[Any]] = {
        "datum_inburgeringscontract": dates(contract, 0.02),
        "datum_toeleiding_vdab": dates(contract + rng.integers(-30, 500, n), 0.3),
        "vdab_datum_eerste_inschrijving": dates(contract + rng.integers(-30, 300, n), 0.3),
        "datum_uitstroom_werk": dates(contract + rng.integers(-10, 700, n), 0.5),
    }
    proto = protocol.load()
    for name in population.BREAKDOWNS:
        kind = population.KINDS[name]
        if kind == "code":
            choices = [*codes.codelist(name).codes, None]
            cols[name] = [choices[i] for i in rng.integers(0, len(choices), n)]
    natios = [
        "SYR",
        "AFG",
        "MAR",
        "TUR",
        "ERI",
        "UKR",
        "IRQ",
        "IRN",
        "PSE",
        "SOM",
        "GIN",
        "NLD",
        None,
    ]
    cols["oudste_nationaliteit"] = [natios[i] for i in rng.integers(0, len(natios), n)]
    for f in proto.fields:
        if f.type == "bool":
            cols[f.name] = [None if r < 0.1 else r < 0.5 for r in rng.random(n)]
    return frame(cols)


def test_km_curves_start_at_one_and_follow_the_product_limit() -> None:
    """The registration curve of the hand-made delivery, point by point."""
    curves = indicators.km_curves(small(), P, "inschrijving")
    assert list(curves) == ["totaal"]
    got = curves["totaal"]
    expected = [
        (0, 1.0, 7),
        (0, 6 / 7, 7),
        (9, 5 / 7, 6),
        (31, 4 / 7, 5),
        (60, 3 / 7, 4),
        (92, 3 / 14, 2),
    ]
    assert [(d, a) for d, _, a in got] == [(d, a) for d, _, a in expected]
    assert [s for _, s, _ in got] == pytest.approx([s for _, s, _ in expected])
    by_sex = indicators.km_curves(small(), P, "werk", "geslacht")
    assert by_sex["V"] == [(0, 1.0, 3)]  # three women, no event
    assert by_sex["ONBEKEND"] == []


def test_population_counts_by_hand() -> None:
    """12 rows; B 9, E 2, registered 6; r8 no contract, r6 before 2022-03-01, r7 after
    peildatum; censored as in the window tests; late dates in B: r10's referral and
    registration, r12's work."""
    assert indicators.population_counts(small(), P) == {
        "rows": 12,
        "base": 9,
        "exempt": 2,
        "registered": 6,
        "contract_missing": 1,
        "contract_before_start": 1,
        "contract_after_peildatum": 1,
        "censored": {"inschrijving_60d": 1, "werk_6m": 5, "werk_12m": 5},
        "after_peildatum": {
            "datum_toeleiding_vdab": 1,
            "vdab_datum_eerste_inschrijving": 1,
            "datum_uitstroom_werk": 1,
        },
    }


def test_an_empty_delivery_gives_zero_rows_not_an_error() -> None:
    """No one in B: every totaal row has denominator 0 and empty values."""
    df = frame({"datum_inburgeringscontract": [dt.date(2021, 1, 1)]})
    raw = indicators.compute_raw(df, P)
    tot = raw.filter(pl.col("breakdown") == "totaal")
    assert tot["denominator"].to_list() == [0] * len(indicators.INDICATOR_IDS)
    assert tot["value"].null_count() == len(indicators.INDICATOR_IDS)


def test_wilson_helper_equals_the_closed_formula() -> None:
    """Vectorised statsmodels Wilson equals the formula written out, for several cells."""
    ks, ns = [0, 1, 5, 37, 100], [10, 3, 9, 50, 100]
    low, high = indicators.wilson(ks, ns)
    for k, n, lo, hi in zip(ks, ns, low, high, strict=True):
        assert (lo, hi) == pytest.approx(wilson_closed(k, n))
