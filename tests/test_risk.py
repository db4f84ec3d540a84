"""Tests of the re-identification risk measures and the release gate (pijler3.analysis.risk)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycanon import anonymity

from pijler3.analysis import risk
from pijler3.contract import protocol
from pijler3.contract.errors import UserError

SENTINEL = "<NA>"


def rules(
    granularity: str = "month",
    *,
    action: str = "refuse",
    share: float = 0.05,
    mean: float = 0.10,
    k_report: int = 5,
) -> protocol.Risk:
    return protocol.Risk(action, granularity, share, mean, k_report)  # type: ignore[arg-type]


def pycanon_frame(df: pl.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns as pyCANON must see them: every null replaced by one sentinel value.

    pandas' groupby drops rows with a null key, so pyCANON would ignore them; our
    convention makes null its own category, which a sentinel reproduces exactly.
    """
    out = df.select(columns).with_columns(
        [
            pl.col(c).fill_null(-999_999)
            if df.schema[c].is_numeric()
            else pl.col(c).cast(pl.String).fill_null(SENTINEL)
            for c in columns
        ]
    )
    return out.to_pandas()


def assert_same_as_pycanon(
    df: pl.DataFrame, qis: list[str], sas: list[str], granularity: str = "day"
) -> risk.RiskReport:
    report = risk.measure(df, rules(granularity), qis, sas)
    prepared = risk.prepare(df, qis, sas, granularity)
    pdf = pycanon_frame(prepared, list(dict.fromkeys([*qis, *sas])))
    assert anonymity.k_anonymity(pdf, qis) == report.k
    for sa in sas:
        assert anonymity.l_diversity(pdf, qis, [sa]) == report.l_diversity[sa], sa
    if sas:
        assert anonymity.l_diversity(pdf, qis, sas) == min(report.l_diversity.values())
    return report


# --- A hand-made table where every measure is computed by hand -----------------------

HAND = pl.DataFrame(
    {
        "nat": ["SYR", "SYR", "SYR", "UKR", "UKR", None, None, "ERI"],
        "geslacht": ["M", "M", "M", "V", "V", "M", "M", "V"],
        "datum": [
            dt.date(2023, 1, 3),
            dt.date(2023, 1, 28),  # same month as the row above
            dt.date(2023, 1, 15),
            dt.date(2023, 2, 1),
            dt.date(2023, 2, 27),
            dt.date(2023, 3, 9),
            dt.date(2023, 3, 10),
            dt.date(2023, 3, 11),
        ],
        "plo": ["A", "B", "A", "A", "A", None, "B", "C"],
        "leefloon": [True, True, False, None, None, True, True, False],
    }
)
HAND_QIS = ["nat", "geslacht", "datum"]


def test_hand_table_every_measure_matches_the_hand_computation() -> None:
    """By month the classes are {SYR,M,jan}x3, {UKR,V,feb}x2, {null,M,mar}x2, {ERI,V,mar}x1."""
    report = risk.measure(HAND, rules("month", k_report=3), HAND_QIS, ["plo", "leefloon"])
    assert report.records == 8
    assert report.classes == 4
    assert report.k == 1
    assert report.sample_uniques == 1
    assert report.sample_unique_share == 1 / 8
    # Mean over records of 1/size: (3*(1/3) + 2*(1/2) + 2*(1/2) + 1*(1/1)) / 8 = 4/8.
    assert report.mean_risk == 4 / 8
    assert report.max_risk == 1.0
    # Classes below k_report=3: the two pairs and the unique, 5 records in 3 classes.
    assert report.records_below_k_report == 5
    assert report.classes_below_k_report == 3
    # plo: SYR-class {A,B}=2, UKR-class {A}=1, null-class {null,B}=2, ERI {C}=1 -> 1.
    # leefloon: {T,F}=2, {null}=1, {T}=1, {F}=1 -> 1.
    assert report.l_diversity == {"plo": 1, "leefloon": 1}
    # Without nat: {M,jan}x3 {V,feb}x2 {M,mar}x2 {V,mar}x1 -> the ERI record stays unique.
    # Without geslacht: {SYR,jan}x3 {UKR,feb}x2 {null,mar}x2 {ERI,mar}x1 -> stays unique.
    # Without datum: {SYR,M}x3 {UKR,V}x2 {null,M}x2 {ERI,V}x1 -> stays unique.
    assert report.contributions == (("nat", 0), ("geslacht", 0), ("datum", 0))


def test_hand_table_by_day_every_record_is_unique_but_the_date_drives_it() -> None:
    """By day all 8 dates differ, so all 8 records are unique; without the date only 1 is."""
    report = risk.measure(HAND, rules("day"), HAND_QIS, ["plo"])
    assert (report.k, report.classes, report.sample_uniques) == (1, 8, 8)
    assert report.mean_risk == 1.0
    assert report.contributions[0] == ("datum", 7)
    assert dict(report.contributions) == {"datum": 7, "nat": 0, "geslacht": 0}
    assert report.mean_risk_contributions[0] == ("datum", (8 - 4) / 8)


def test_hand_table_l_diversity_counts_null_as_a_value() -> None:
    """The class {null,M,mar} has plo values {null, B}: two distinct values, not one."""
    only = HAND.filter(pl.col("nat").is_null())
    report = risk.measure(only, rules("month"), HAND_QIS, ["plo"])
    assert report.classes == 1
    assert report.k == 2
    assert report.l_diversity == {"plo": 2}


def test_null_in_a_quasi_identifier_is_its_own_category() -> None:
    """Two records with a missing nationality form one class of 2, not two uniques."""
    df = pl.DataFrame({"nat": [None, None, "SYR"], "g": ["M", "M", "M"]})
    report = risk.measure(df, rules(), ["nat", "g"], [])
    assert (report.classes, report.k, report.sample_uniques) == (2, 1, 1)


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [
        ("day", [dt.date(2023, 5, 17), dt.date(2024, 12, 31), None]),
        ("month", [dt.date(2023, 5, 1), dt.date(2024, 12, 1), None]),
        ("quarter", [dt.date(2023, 4, 1), dt.date(2024, 10, 1), None]),
        ("year", [dt.date(2023, 1, 1), dt.date(2024, 1, 1), None]),
    ],
)
def test_dates_enter_at_the_protocol_granularity(
    granularity: str, expected: list[dt.date | None]
) -> None:
    """Dates are truncated to the first day of their month, quarter or year; day is as is."""
    df = pl.DataFrame({"d": [dt.date(2023, 5, 17), dt.date(2024, 12, 31), None]})
    assert risk.prepare(df, ["d"], [], granularity)["d"].to_list() == expected


def test_datetime_columns_are_truncated_too() -> None:
    """A date-time quasi-identifier is truncated like a date."""
    df = pl.DataFrame({"d": [dt.datetime(2023, 5, 17, 13, 5), dt.datetime(2023, 5, 2, 8)]})
    report = risk.measure(df, rules("month"), ["d"], [])
    assert (report.classes, report.k) == (1, 2)


def test_sensitive_dates_enter_at_the_granularity() -> None:
    """Two outflow dates in the same month are one value for l-diversity by month."""
    df = pl.DataFrame(
        {"g": ["M", "M"], "uit": [dt.date(2023, 5, 1), dt.date(2023, 5, 30)]},
    )
    assert risk.measure(df, rules("month"), ["g"], ["uit"]).l_diversity == {"uit": 1}
    assert risk.measure(df, rules("day"), ["g"], ["uit"]).l_diversity == {"uit": 2}


def test_mean_and_max_risk_are_those_of_one_over_each_records_class_size() -> None:
    """Per-record risk by hand: 1/3 for the SYR January class, 1 for the ERI record, and
    so on; the measured mean and maximum risk are their mean and maximum."""
    by_hand = [1 / 3, 1 / 3, 1 / 3, 1 / 2, 1 / 2, 1 / 2, 1 / 2, 1.0]
    report = risk.measure(HAND, rules("month"), HAND_QIS, [])
    assert sum(by_hand) / len(by_hand) == report.mean_risk
    assert max(by_hand) == report.max_risk


def test_empty_dataset_has_no_classes_and_passes_the_gate() -> None:
    """An empty dataset gives zero counts, not a division by zero."""
    report = risk.measure(HAND.head(0), rules(), HAND_QIS, ["plo"])
    assert (report.records, report.k, report.classes, report.sample_uniques) == (0, 0, 0, 0)
    assert report.mean_risk == 0.0
    assert risk.gate(report, rules()) == []


def test_no_quasi_identifiers_makes_the_whole_dataset_one_class() -> None:
    """Without quasi-identifiers every record is in one class of the dataset's size."""
    report = risk.measure(HAND, rules(), [], ["plo"])
    assert (report.classes, report.k, report.sample_uniques) == (1, 8, 0)
    assert report.l_diversity == {"plo": 4}  # A, B, C and null


def test_a_missing_column_is_a_user_error_naming_it() -> None:
    """A quasi-identifier the dataset lacks is refused with its name, not a KeyError."""
    with pytest.raises(UserError, match="'regio'"):
        risk.measure(HAND, rules(), ["nat", "regio"], [])


def test_report_is_json_and_carries_no_value_of_a_record() -> None:
    """to_dict() is JSON-able and holds counts and field names only, never a cell value."""
    report = risk.measure(HAND, rules(), HAND_QIS, ["plo", "leefloon"])
    text = json.dumps(report.to_dict())
    assert json.loads(text)["format"] == risk.FORMAT
    for value in ("SYR", "UKR", "ERI", "2023-01", '"A"', '"B"'):
        assert value not in text


# --- k and l identical to pyCANON on generated shapes ---------------------------------


def shape(name: str, n: int, seed: int) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Generated datasets of several shapes; returns (frame, quasi-identifiers, sensitive)."""
    rng = np.random.default_rng(seed)

    def cat(k: int, p: Any = None) -> list[str]:
        return [f"c{i}" for i in rng.choice(k, n, p=p)]

    if name == "few_qis":
        df = pl.DataFrame({"a": cat(3), "s": cat(4)})
        return df, ["a"], ["s"]
    if name == "many_qis":
        cols = {f"q{i}": cat(3) for i in range(7)}
        return pl.DataFrame({**cols, "s": cat(5), "t": cat(2)}), list(cols), ["s", "t"]
    if name == "skewed":
        zipf = np.arange(1, 41, dtype=float) ** -1.5
        df = pl.DataFrame({"nat": cat(40, zipf / zipf.sum()), "g": cat(2, [0.9, 0.1]), "s": cat(3)})
        return df, ["nat", "g"], ["s"]
    if name == "all_unique":
        df = pl.DataFrame({"id": np.arange(n), "g": cat(2), "s": cat(3)})
        return df, ["id", "g"], ["s"]
    if name == "all_identical":
        df = pl.DataFrame({"a": ["x"] * n, "b": [1] * n, "s": cat(4)})
        return df, ["a", "b"], ["s"]
    if name == "with_nulls":
        a = [None if r < 0.2 else v for r, v in zip(rng.random(n), cat(4), strict=True)]
        s = [None if r < 0.3 else v for r, v in zip(rng.random(n), cat(3), strict=True)]
        b = [
            None if r < 0.1 else int(v)
            for r, v in zip(rng.random(n), rng.integers(0, 3, n), strict=True)
        ]
        df = pl.DataFrame(
            {"a": a, "b": b, "s": s},
            schema_overrides={"a": pl.String, "b": pl.Int64, "s": pl.String},
        )
        return df, ["a", "b"], ["s"]
    if name == "numeric":
        df = pl.DataFrame(
            {
                "x": rng.integers(0, 5, n),
                "y": rng.integers(0, 4, n).astype(float),
                "s": rng.integers(0, 3, n),
            }
        )
        return df, ["x", "y"], ["s"]
    if name == "dates":
        day = np.datetime64("2022-03-01") + rng.integers(0, 730, n).astype("timedelta64[D]")
        df = pl.DataFrame({"d": pl.Series(day).cast(pl.Date), "g": cat(2), "s": cat(3)})
        return df, ["d", "g"], ["s"]
    raise AssertionError(name)


SHAPES = [
    "few_qis",
    "many_qis",
    "skewed",
    "all_unique",
    "all_identical",
    "with_nulls",
    "numeric",
    "dates",
]


@pytest.mark.parametrize("name", SHAPES)
@pytest.mark.parametrize("n", [50, 2000])
def test_k_and_l_are_identical_to_pycanon(name: str, n: int) -> None:
    """k-anonymity and l-diversity equal pyCANON's on each generated shape and size."""
    df, qis, sas = shape(name, n, seed=n)
    assert_same_as_pycanon(df, qis, sas)


@pytest.mark.parametrize("granularity", ["day", "month", "quarter", "year"])
def test_k_and_l_are_identical_to_pycanon_at_every_date_granularity(granularity: str) -> None:
    """With a date quasi-identifier, pyCANON on the prepared columns agrees at each granularity."""
    df, qis, sas = shape("dates", 3000, seed=7)
    report = assert_same_as_pycanon(df, qis, sas, granularity)
    if granularity == "year":
        assert report.k > 1  # two years x two sexes over 3000 rows: no small classes


def test_shapes_cover_both_extremes() -> None:
    """The all-unique shape has k = 1 and the all-identical shape has k = n, so both ends
    of the comparison are exercised."""
    assert assert_same_as_pycanon(*shape("all_unique", 300, 1)).k == 1
    assert assert_same_as_pycanon(*shape("all_identical", 300, 1)).k == 300


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None]),
            st.integers(0, 2),
            st.sampled_from(["x", "y", "z", None]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_k_and_l_match_pycanon_on_arbitrary_small_tables(
    rows: list[tuple[str | None, int, str | None]],
) -> None:
    """For any small table with nulls, k and l equal pyCANON's with nulls as a sentinel."""
    df = pl.DataFrame(rows, schema={"q": pl.String, "r": pl.Int64, "s": pl.String}, orient="row")
    assert_same_as_pycanon(df, ["q", "r"], ["s"])


@pytest.mark.parametrize("name", ["many_qis", "skewed", "with_nulls", "dates"])
def test_contributions_equal_uniques_lost_when_each_qi_is_left_out(name: str) -> None:
    """Each contribution equals the uniques of the full set minus those without that QI."""
    df, qis, sas = shape(name, 1500, seed=3)
    report = risk.measure(df, rules("month"), qis, sas)
    for q, lost in report.contributions:
        without = risk.measure(df, rules("month"), [x for x in qis if x != q], sas)
        assert lost == report.sample_uniques - without.sample_uniques, q
    counts = [n for _, n in report.contributions]
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize("name", SHAPES)
def test_the_packed_key_gives_the_same_report_as_grouping_on_the_columns(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """measure packs the quasi-identifiers into one 64-bit key; grouping on the columns
    themselves (the path taken when they do not fit) must give the identical report."""
    df, qis, sas = shape(name, 2000, seed=11)
    packed = risk.measure(df, rules("month"), qis, sas)
    monkeypatch.setattr(risk, "_key_and_masks", lambda data, qis: None)
    assert risk.measure(df, rules("month"), qis, sas) == packed


def test_quasi_identifiers_wider_than_64_bits_are_grouped_on_the_columns() -> None:
    """Codes that do not fit one 64-bit key (and types without a code) take the general
    path, whose report is still right: here every record is unique."""
    n = 300
    rng = np.random.default_rng(5)
    wide = {f"w{i}": rng.integers(0, 1 << 20, n) + (np.arange(n) << 21) for i in range(4)}
    df = pl.DataFrame(wide)
    qis = list(wide)
    data = risk.prepare(df, qis, [], "day")
    assert risk._key_and_masks(data, qis) is None
    assert risk._key_and_masks(data.with_columns(pl.col("w0").cast(pl.Float64)), ["w0"]) is None
    assert risk._key_and_masks(data, ["w0"]) is not None
    extremes = pl.DataFrame({"x": [-(2**63), 2**63 - 1, 0, 0]})
    assert risk._key_and_masks(extremes, ["x"]) is None
    assert risk.measure(extremes, rules("day"), ["x"], []).sample_uniques == 2
    report = risk.measure(df, rules("day"), qis, [])
    assert (report.k, report.classes, report.sample_uniques) == (1, n, n)


# --- The gate -------------------------------------------------------------------------

QIS = [
    "leeftijdscategorie",
    "geslacht",
    "scholingsniveau",
    "oudste_nationaliteit",
    "datum_inburgeringscontract",
    "regio",
    "verblijfsstatus",
]


def safe_dataset(n: int = 2000) -> pl.DataFrame:
    """Records in a few large classes: every class has at least 100 records."""
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 8, n)
    return pl.DataFrame(
        {
            "leeftijdscategorie": ["25-34"] * n,
            "geslacht": ["M" if g % 2 else "V" for g in groups],
            "scholingsniveau": ["MIDDEN"] * n,
            "oudste_nationaliteit": ["SYR" if g < 4 else "UKR" for g in groups],
            "datum_inburgeringscontract": [dt.date(2023, 1 + (g // 2) % 2, 10) for g in groups],
            "regio": ["BRUSSEL"] * n,
            "verblijfsstatus": ["ERKEND_VLUCHTELING"] * n,
            "plo_besluit": [["TOELEIDING_VDAB", "WERKT_AL"][i % 2] for i in range(n)],
        }
    )


def failing_dataset() -> pl.DataFrame:
    """The safe dataset plus 300 records of rare nationalities, each in its own month and
    age category: the nationality, age and month single them out."""
    safe = safe_dataset()
    rare = 300
    return pl.concat(
        [
            safe,
            pl.DataFrame(
                {
                    "leeftijdscategorie": [["45-54", "55-64", "65+"][i % 3] for i in range(rare)],
                    "geslacht": ["M"] * rare,
                    "scholingsniveau": ["MIDDEN"] * rare,
                    "oudste_nationaliteit": [f"R{i % 100:02d}" for i in range(rare)],
                    "datum_inburgeringscontract": [
                        dt.date(2022 + (i // 100), 1 + i % 12, 5) for i in range(rare)
                    ],
                    "regio": ["BRUSSEL"] * rare,
                    "verblijfsstatus": ["ERKEND_VLUCHTELING"] * rare,
                    "plo_besluit": ["WERKT_AL"] * rare,
                }
            ),
        ]
    )


def test_a_safe_dataset_passes_the_gate() -> None:
    """Large classes only: no uniques, low mean risk, no breach, and no error on refuse."""
    report = risk.measure(safe_dataset(), rules(), QIS, ["plo_besluit"])
    assert report.sample_uniques == 0
    assert report.k >= 100
    assert risk.gate(report, rules()) == []
    assert risk.enforce(report, rules(action="refuse")) == []


def test_a_dataset_of_rare_combinations_fails_naming_the_driving_qis() -> None:
    """Rare nationality x age x month: both rules breach and the messages name those QIs."""
    report = risk.measure(failing_dataset(), rules(), QIS, ["plo_besluit"])
    assert report.sample_uniques == 300
    breaches = risk.gate(report, rules())
    assert len(breaches) == 2
    uniques, mean = breaches
    assert "risk.max_sample_unique_share" in uniques
    assert "300 of 2,300 records (13.0%)" in uniques
    assert "risk.max_mean_risk" in mean
    # Nationality alone makes the rare records unique, so leaving it out merges them
    # into classes of age x month; leaving out age or month keeps them unique.
    assert report.contributions[0][0] == "oudste_nationaliteit"
    assert "driven by oudste_nationaliteit" in uniques
    for untouched in ("geslacht", "regio", "verblijfsstatus", "scholingsniveau"):
        assert untouched not in uniques.split("driven by")[1]


def test_refuse_raises_an_error_naming_the_qis_and_thresholds() -> None:
    """With action = refuse the gate raises RiskGateError, a UserError, naming QIs and keys."""
    report = risk.measure(failing_dataset(), rules(), QIS, ["plo_besluit"])
    with pytest.raises(risk.RiskGateError) as caught:
        risk.enforce(report, rules(action="refuse"))
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    assert "oudste_nationaliteit" in message
    assert "risk.max_sample_unique_share" in message
    assert "risk.max_mean_risk" in message
    assert len(caught.value.breaches) == 2


def test_warn_returns_the_breaches_to_record_instead_of_raising() -> None:
    """With action = warn the breaches come back as warnings and nothing is raised."""
    report = risk.measure(failing_dataset(), rules(), QIS, ["plo_besluit"])
    warnings = risk.enforce(report, rules(action="warn"))
    assert warnings == risk.gate(report, rules())
    assert len(warnings) == 2


def test_gate_messages_carry_no_value_of_a_record() -> None:
    """The gate speaks of fields, counts and thresholds, never of a nationality or a date."""
    report = risk.measure(failing_dataset(), rules(), QIS, ["plo_besluit"])
    text = " ".join(risk.gate(report, rules()))
    for value in ("R00", "R42", "SYR", "UKR", "45-54", "2022-", "BRUSSEL"):
        assert value not in text


def test_thresholds_are_strict_upper_bounds() -> None:
    """A share exactly at the maximum passes; a share above it fails."""
    df = pl.DataFrame({"q": ["a", "b", "b", "c", "c"]})  # 1 unique in 5 = 20 %, 3 classes
    report = risk.measure(df, rules(), ["q"], [])
    assert risk.gate(report, rules(share=0.20, mean=0.60)) == []
    assert len(risk.gate(report, rules(share=0.19, mean=0.60))) == 1
    assert len(risk.gate(report, rules(share=0.20, mean=0.59))) == 1


def test_the_shipped_protocol_names_the_fields_measure_needs() -> None:
    """The protocol's quasi-identifiers and sensitive fields are the ones the tests assume."""
    proto = protocol.load()
    assert list(proto.quasi_identifiers) == QIS
    assert set(proto.sensitive_fields) == {"plo_besluit", "ocmw_leefloon", "datum_uitstroom_werk"}
    assert proto.risk.date_granularity in ("day", "month", "quarter", "year")
