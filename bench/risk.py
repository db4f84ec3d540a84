"""Benchmark of the re-identification risk measures (pijler3.analysis.risk) against pyCANON.

Generates a monitoring dataset with realistic distributions over the protocol's
quasi-identifiers and sensitive fields (numpy only, fixed seed), times ``risk.measure``
(the whole report: classes, uniques, risks, l-diversity and the contribution of every
quasi-identifier), and times pyCANON's ``k_anonymity`` and ``l_diversity`` on the same
data with nulls filled by a sentinel, as both tools must see the same categories.
Targets: the whole report under 10 s for 1 million rows; k-anonymity and l-diversity no
slower than pyCANON's.

    .venv/bin/python bench/risk.py                       # 1,000,000 rows, both tools
    .venv/bin/python bench/risk.py --pycanon-rows 100000  # pyCANON on the first 100,000
    .venv/bin/python bench/risk.py --realistic           # the threshold study (60,000 rows)

pyCANON loops over the equivalence classes in Python: on a million rows with mostly
unique records its l-diversity took about a minute on the development machine. Pass
``--pycanon-rows`` to time it on the first rows only; the output then says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time

import numpy as np
import polars as pl

from pijler3.analysis import risk
from pijler3.contract import protocol

AGE = ["<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
AGE_P = [0.02, 0.18, 0.38, 0.24, 0.11, 0.05, 0.02]
SEX = ["M", "V", "X"]
SEX_P = [0.52, 0.479, 0.001]
SCHOOL = ["LAAG", "MIDDEN", "HOOG", "ONBEKEND"]
SCHOOL_P = [0.35, 0.30, 0.25, 0.10]
REGION = [
    "ANTWERPEN_STAD",
    "GENT_STAD",
    "PROVINCIE_ANTWERPEN",
    "LIMBURG",
    "OOST_VLAANDEREN",
    "VLAAMS_BRABANT",
    "WEST_VLAANDEREN",
    "BRUSSEL",
]
REGION_P = [0.18, 0.09, 0.12, 0.10, 0.13, 0.11, 0.10, 0.17]
STATUS = [
    "GEZINSHERENIGER",
    "ERKEND_VLUCHTELING",
    "SUBSIDIAIR_BESCHERMD",
    "ARBEIDSMIGRANT",
    "EU_BURGER",
    "STUDENT",
    "TIJDELIJK_BESCHERMD",
    "REGULARISATIE",
    "ANDERE",
]
STATUS_P = [0.30, 0.20, 0.07, 0.08, 0.10, 0.03, 0.15, 0.02, 0.05]
# The 15 most frequent nationalities of integration contracts take about 70 %; the rest
# is a long tail of some 150 countries with Zipf-like frequencies.
TOP15 = [
    "SYR", "UKR", "AFG", "MAR", "TUR", "ERI", "PSE", "IRQ",
    "IND", "ROU", "POL", "BRA", "GIN", "SOM", "COD",
]  # fmt: skip
TOP15_SHARE = 0.70
TAIL = 150
PLO = [
    "TOELEIDING_VDAB",
    "WERKT_AL",
    "STUDEERT",
    "GEEN_TOEGANG_ARBEIDSMARKT",
    "TIJDELIJK_NIET_INZETBAAR",
    "ZELFSTANDIGE",
]
PLO_P = [0.55, 0.15, 0.08, 0.07, 0.12, 0.03]


def _choice(rng: np.random.Generator, values: list[str], p: list[float], n: int) -> np.ndarray:
    weights = np.asarray(p, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), n, p=weights / weights.sum())]


def _with_nulls(rng: np.random.Generator, values: np.ndarray, share: float) -> list[object]:
    out = values.tolist()
    for i in np.flatnonzero(rng.random(len(out)) < share):
        out[i] = None
    return out


def generate(rows: int, *, years: int = 3, seed: int = 20230920) -> pl.DataFrame:
    """A monitoring dataset of ``rows`` records over ``years`` years of contracts."""
    rng = np.random.default_rng(seed)
    top = (np.arange(1, 16) ** -0.6).tolist()
    top = [TOP15_SHARE * w / sum(top) for w in top]
    tail = (np.arange(1, TAIL + 1) ** -1.1).tolist()
    tail = [(1 - TOP15_SHARE) * w / sum(tail) for w in tail]
    nationalities = TOP15 + [f"T{i:03d}" for i in range(TAIL)]
    start = dt.date(2022, 3, 1)
    days = rng.integers(0, 365 * years, rows)
    contract = np.datetime64(start) + days.astype("timedelta64[D]")
    outflow = contract + rng.integers(30, 720, rows).astype("timedelta64[D]")
    has_outflow = rng.random(rows) < 0.35
    return (
        pl.DataFrame(
            {
                "leeftijdscategorie": _with_nulls(rng, _choice(rng, AGE, AGE_P, rows), 0.01),
                "geslacht": _choice(rng, SEX, SEX_P, rows),
                "scholingsniveau": _with_nulls(rng, _choice(rng, SCHOOL, SCHOOL_P, rows), 0.02),
                "oudste_nationaliteit": _with_nulls(
                    rng, _choice(rng, nationalities, top + tail, rows), 0.005
                ),
                "datum_inburgeringscontract": pl.Series(contract).cast(pl.Date),
                "regio": _choice(rng, REGION, REGION_P, rows),
                "verblijfsstatus": _with_nulls(rng, _choice(rng, STATUS, STATUS_P, rows), 0.01),
                "plo_besluit": _with_nulls(rng, _choice(rng, PLO, PLO_P, rows), 0.20),
                "ocmw_leefloon": rng.random(rows) < 0.25,
                "datum_uitstroom_werk": pl.Series(outflow).cast(pl.Date),
                "_outflow": has_outflow,
            },
            strict=False,
        )
        .with_columns(
            pl.when(pl.col("_outflow"))
            .then(pl.col("datum_uitstroom_werk"))
            .alias("datum_uitstroom_werk")
        )
        .drop("_outflow")
    )


def _pycanon_frame(df: pl.DataFrame, columns: list[str]) -> object:
    """The prepared columns as pandas, nulls as a sentinel category, for pyCANON."""
    return df.select(columns).with_columns(pl.all().cast(pl.String).fill_null("<NA>")).to_pandas()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pycanon-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--realistic", action="store_true", help="run the threshold study")
    args = parser.parse_args(argv)
    proto = protocol.load()
    rules = proto.risk
    qis, sas = list(proto.quasi_identifiers), list(proto.sensitive_fields)
    if args.realistic:
        return study(rules, qis, sas)

    df = generate(args.rows)
    t0 = time.perf_counter()
    report = risk.measure(df, rules, qis, sas)
    ours = time.perf_counter() - t0
    print(
        f"pijler3.analysis.risk.measure, {args.rows:,} rows, {len(qis)} quasi-identifiers, "
        f"{len(sas)} sensitive, dates by {rules.date_granularity}: {ours:.2f} s "
        f"(whole report incl. contributions; target < 10 s)"
    )
    print(
        f"  k={report.k} classes={report.classes:,} uniques={report.sample_uniques:,} "
        f"({report.sample_unique_share:.1%}) mean_risk={report.mean_risk:.3f} "
        f"l={report.l_diversity}"
    )

    from pycanon import anonymity  # test/bench-only dependency

    n = min(args.pycanon_rows or args.rows, args.rows)
    part = df.head(n)
    prepared = risk.prepare(part, qis, sas, rules.date_granularity)
    pdf = _pycanon_frame(prepared, [*qis, *sas])
    t0 = time.perf_counter()
    k_ours_report = risk.measure(part, rules, qis, sas)
    ours_n = time.perf_counter() - t0
    t0 = time.perf_counter()
    k_theirs = anonymity.k_anonymity(pdf, qis)
    t_k = time.perf_counter() - t0
    t0 = time.perf_counter()
    l_theirs = anonymity.l_diversity(pdf, qis, sas)
    t_l = time.perf_counter() - t0
    note = "" if n == args.rows else f" (pyCANON timed on the first {n:,} rows only)"
    print(f"same {n:,} rows{note}:")
    print(
        f"  pijler3.analysis.risk.measure (whole report):  {ours_n:8.2f} s  "
        f"k={k_ours_report.k} l={min(k_ours_report.l_diversity.values())}"
    )
    print(f"  pyCANON k_anonymity:                  {t_k:8.2f} s  k={k_theirs}")
    print(f"  pyCANON l_diversity (all sensitive):  {t_l:8.2f} s  l={l_theirs}")
    same = k_theirs == k_ours_report.k and l_theirs == min(k_ours_report.l_diversity.values())
    print(f"  identical k and l: {same}")

    # On the protocol's quasi-identifiers k and l are both 1, which a wrong count could
    # also give; a coarse set of quasi-identifiers gives large classes to compare too.
    coarse = ["leeftijdscategorie", "regio"]
    rep = risk.measure(part, rules, coarse, sas)
    t0 = time.perf_counter()
    k_c = anonymity.k_anonymity(pdf, coarse)
    l_c = {sa: anonymity.l_diversity(pdf, coarse, [sa]) for sa in sas}
    t_c = time.perf_counter() - t0
    same_c = k_c == rep.k and l_c == rep.l_diversity
    print(
        f"  coarse check on {', '.join(coarse)}: ours k={rep.k} l={rep.l_diversity}; "
        f"pyCANON k={k_c} l={l_c} ({t_c:.2f} s); identical: {same_c}"
    )
    return 0 if same and same_c else 1


def study(rules: protocol.Risk, qis: list[str], sas: list[str]) -> int:
    """Risk figures of a realistic delivery (20,000 contracts a year, 3 years).

    Shows how the date granularity, dropping a quasi-identifier, and grouping the long
    tail of nationalities into one category move the share of sample uniques and the
    mean risk, so that thresholds can be chosen against figures rather than guesses.
    """
    raw = generate(60_000, years=3)
    grouped = raw.with_columns(
        pl.when(pl.col("oudste_nationaliteit").is_in(TOP15))
        .then(pl.col("oudste_nationaliteit"))
        .otherwise(pl.lit("OVERIG"))
        .alias("oudste_nationaliteit")
    )
    date = "datum_inburgeringscontract"
    sets = {
        "all 7": qis,
        "without regio": [q for q in qis if q != "regio"],
        "without date": [q for q in qis if q != date],
        "without date, regio": [q for q in qis if q not in (date, "regio")],
        "age, sex, nationality, date": [
            "leeftijdscategorie",
            "geslacht",
            "oudste_nationaliteit",
            date,
        ],
    }
    print("Realistic delivery: 60,000 records (20,000 contracts a year, 3 years)")
    print(
        f"{'nationality':<13}{'dates':<9}{'quasi-identifiers':<29}{'k':>3}{'uniques':>9}"
        f"{'share':>8}{'mean':>7}{'<k_rep':>8}"
    )
    for nat_label, df in (("as coded", raw), ("top15+other", grouped)):
        for gran in ("day", "month", "quarter", "year"):
            r = dataclasses.replace(rules, date_granularity=gran)
            for label, q in sets.items():
                if gran == "day" and label != "all 7":
                    continue
                rep = risk.measure(df, r, q, sas)
                print(
                    f"{nat_label:<13}{gran:<9}{label:<29}{rep.k:>3}{rep.sample_uniques:>9,}"
                    f"{rep.sample_unique_share:>8.1%}{rep.mean_risk:>7.3f}"
                    f"{rep.records_below_k_report:>8,}"
                )
    rep = risk.measure(raw, rules, qis, sas)
    print(f"\nContributions at '{rules.date_granularity}' (as coded):", rep.contributions)
    print("Gate with the shipped [risk] section:")
    for line in risk.gate(rep, rules) or ["passes"]:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
