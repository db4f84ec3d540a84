"""Disclosure control (INDICATORS.md rules 1-5 and its "Precisely" paragraph).

Each test builds a raw table designed to trigger one rule and states the exact pattern
of hidden cells it expects. Thresholds are the shipped protocol's: numerator 1-4 hidden,
denominator 1-9 hidden, curves while >= 10 at risk.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pijler3.analysis import disclosure, indicators
from pijler3.contract import protocol

RULES = protocol.load().disclosure
P = dt.date(2024, 6, 30)


def table(cells: list[tuple[str, int, int]], indicator: str = "toeleiding") -> pl.DataFrame:
    """A raw table: a totaal row (the sums) and one breakdown with the given categories."""
    den_t = sum(d for _, d, _ in cells)
    num_t = sum(n for _, _, n in cells)
    rows = [("totaal", "totaal", den_t, num_t)] + [("regio", c, d, n) for c, d, n in cells]
    return pl.DataFrame(
        {
            "peildatum": [P] * len(rows),
            "indicator": [indicator] * len(rows),
            "breakdown": [r[0] for r in rows],
            "category": [r[1] for r in rows],
            "denominator": [r[2] for r in rows],
            "numerator": [r[3] for r in rows],
            "value": [r[3] / r[2] if r[2] else None for r in rows],
            "ci_low": [0.0] * len(rows),
            "ci_high": [1.0] * len(rows),
            "censored": [None] * len(rows),
            "exempt": [None] * len(rows),
        },
        schema=dict(indicators.RAW_SCHEMA),
    )


def pattern(out: pl.DataFrame) -> dict[str, tuple[bool, bool]]:
    """Per category: (denominator hidden, numerator hidden)."""
    return {
        c: (d is None, n is None)
        for c, d, n in out.select("category", "denominator", "numerator").rows()
    }


def test_output_has_exactly_the_columns_of_data_md_section_4() -> None:
    """suppress drops censored/exempt and adds suppressed, in DATA.md §4 order."""
    out = disclosure.suppress(table([("A", 50, 20), ("B", 50, 20)]), RULES)
    assert out.columns == list(disclosure.COLUMNS)
    assert out["suppressed"].dtype == pl.Boolean


def test_rule1_numerator_1_to_4_hides_value_and_interval_not_denominator() -> None:
    """A numerator of 3 is hidden with value and interval; another of 4 too (two hidden,
    so rule 3 needs nothing more); a numerator of 5 stays."""
    out = disclosure.suppress(table([("A", 50, 3), ("B", 50, 4), ("C", 50, 5)]), RULES)
    a = out.filter(pl.col("category") == "A").row(0, named=True)
    assert (a["denominator"], a["numerator"], a["value"], a["ci_low"], a["ci_high"]) == (
        50,
        None,
        None,
        None,
        None,
    )
    assert a["suppressed"] is True
    assert pattern(out) == {
        "totaal": (False, False),
        "A": (False, True),
        "B": (False, True),
        "C": (False, False),
    }


def test_rule2_small_denominator_hides_the_whole_row() -> None:
    """Denominators 7 and 9 are hidden with everything in their rows (two hidden, so rule 3
    needs nothing more); 10 is shown."""
    out = disclosure.suppress(table([("A", 7, 6), ("B", 9, 0), ("C", 10, 6)]), RULES)
    assert pattern(out) == {
        "totaal": (False, False),
        "A": (True, True),
        "B": (True, True),
        "C": (False, False),
    }
    b = out.filter(pl.col("category") == "B").row(0, named=True)
    assert b["value"] is None and b["suppressed"] is True


def test_rule5_zero_is_shown_even_as_a_denominator() -> None:
    """A denominator of 0 (below 10) and a numerator of 0 are shown: zero discloses nothing."""
    out = disclosure.suppress(table([("A", 0, 0), ("B", 40, 0), ("C", 40, 12)]), RULES)
    assert pattern(out) == {
        "totaal": (False, False),
        "A": (False, False),
        "B": (False, False),
        "C": (False, False),
    }
    assert out.filter(pl.col("category") == "A")["suppressed"].to_list() == [False]


def test_rule3_numerators_hide_the_next_smallest_non_zero() -> None:
    """A's numerator 3 is hidden alone; D's 0 is skipped (zero is shown), so C's 8, the
    smallest non-zero shown numerator, is hidden too. Denominators are untouched."""
    out = disclosure.suppress(
        table([("A", 50, 3), ("B", 40, 10), ("C", 30, 8), ("D", 20, 0)]), RULES
    )
    assert pattern(out) == {
        "totaal": (False, False),
        "A": (False, True),
        "B": (False, False),
        "C": (False, True),
        "D": (False, False),
    }


def test_rule3_ties_are_broken_by_category_code_in_code_point_order() -> None:
    """'a' and 'B' both have numerator 8; 'B' < 'a' in code points, so 'B' is hidden."""
    out = disclosure.suppress(table([("Z", 50, 2), ("a", 40, 8), ("B", 30, 8)]), RULES)
    assert pattern(out) == {
        "totaal": (False, False),
        "Z": (False, True),
        "a": (False, False),
        "B": (False, True),
    }


def test_rule3_denominators_then_numerators() -> None:
    """A's denominator 8 is hidden (rule 2) and with it its numerator 6. Rule 3 on
    denominators hides the smallest non-zero other one, B's 50, so B's whole row goes;
    then two numerators are hidden and C stays visible."""
    out = disclosure.suppress(table([("A", 8, 6), ("B", 50, 0), ("C", 60, 20)]), RULES)
    assert pattern(out) == {
        "totaal": (False, False),
        "A": (True, True),
        "B": (True, True),
        "C": (False, False),
    }
    assert out.filter(pl.col("category") == "B")["suppressed"].to_list() == [True]


def test_rule3_does_not_run_while_the_totaal_count_is_hidden() -> None:
    """totaal's numerator is 4 (hidden), so the lone hidden numerator of A needs no partner:
    B's numerator 0 and its denominator stay. The denominators are all shown."""
    out = disclosure.suppress(table([("A", 30, 4), ("B", 30, 0)]), RULES)
    assert pattern(out) == {"totaal": (False, True), "A": (False, True), "B": (False, False)}


def test_rule3_is_applied_per_breakdown_and_per_indicator() -> None:
    """Two indicators in one table: each is controlled on its own."""
    both = pl.concat(
        [
            table([("A", 50, 3), ("B", 40, 10), ("C", 30, 8)], "toeleiding"),
            table([("A", 50, 20), ("B", 40, 10), ("C", 30, 8)], "actie_context"),
        ]
    )
    out = disclosure.suppress(both, RULES)
    first = pattern(out.filter(pl.col("indicator") == "toeleiding"))
    second = pattern(out.filter(pl.col("indicator") == "actie_context"))
    assert first == {
        "totaal": (False, False),
        "A": (False, True),
        "B": (False, False),
        "C": (False, True),
    }
    assert all(v == (False, False) for v in second.values())
    assert out.height == both.height
    assert out["category"].to_list() == both["category"].to_list()  # order kept


def test_truncate_curve_keeps_points_while_enough_are_at_risk() -> None:
    """Rule 4: points with at least 10 at risk are kept, the rest of the curve is dropped."""
    points = [(0, 1.0, 30), (5, 0.9, 30), (9, 0.6, 10), (14, 0.5, 9), (20, 0.2, 12)]
    assert disclosure.truncate_curve(points, RULES) == [(0, 1.0, 30), (5, 0.9, 30), (9, 0.6, 10)]
    assert disclosure.truncate_curve([(0, 1.0, 9)], RULES) == []


cells = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda t: (t[0], min(t[0], t[1]))),
    min_size=2,
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(cells)
def test_no_hidden_count_can_be_derived_from_totaal_and_the_others(
    pairs: list[tuple[int, int]],
) -> None:
    """Property: whenever totaal's count of a kind is shown, 0 or at least 2 categories
    have that kind hidden; every cell rules 1-2 name is hidden; zeros stay shown;
    suppressed is exactly 'numerator hidden'; a hidden denominator hides its numerator."""
    raw = table([(f"C{i:02d}", d, n) for i, (d, n) in enumerate(pairs)])
    out = disclosure.suppress(raw, RULES)
    total = out.filter(pl.col("breakdown") == "totaal").row(0, named=True)
    cats = out.filter(pl.col("breakdown") != "totaal")
    hidden_den = cats["denominator"].null_count()
    hidden_num = cats["numerator"].null_count()
    if total["denominator"] is not None:
        assert hidden_den != 1
    if total["numerator"] is not None:
        assert hidden_num != 1
    for (raw_d, raw_n), r in zip(pairs, cats.iter_rows(named=True), strict=True):
        if 0 < raw_d < RULES.min_denominator:
            assert r["denominator"] is None
        if 0 < raw_n < RULES.min_numerator:
            assert r["numerator"] is None
        if raw_d == 0:
            assert r["denominator"] == 0
        if r["denominator"] is None:
            assert r["numerator"] is None
        assert r["suppressed"] == (r["numerator"] is None)
        if r["numerator"] is None:
            assert r["value"] is None and r["ci_low"] is None and r["ci_high"] is None


# --- The report's privacy gate ----------------------------------------------------------


def test_published_table_only_comes_from_disclosure_control() -> None:
    """Renderers take a PublishedTable, and nothing but publish_indicators can make one."""
    frame = pl.DataFrame(schema=dict(disclosure.SCHEMA))
    with pytest.raises(TypeError):
        disclosure.PublishedTable(frame, object())


def test_population_counts_follow_the_disclosure_rules() -> None:
    """Rule 1 hides 1-4, rule 5 shows 0, and rule 3 hides a second part of the rows when
    exactly one part is hidden (the row total is shown in the quality section)."""
    rules = RULES
    raw = {
        "rows": 120,
        "base": 90,
        "exempt": 2,
        "registered": 60,
        "contract_missing": 3,
        "contract_before_start": 27,
        "contract_after_peildatum": 0,
        "censored": {"werk_6m": 1, "werk_12m": 40},
        "after_peildatum": {"datum_uitstroom_werk": 0},
    }
    got = disclosure.publish_counts(raw, rules)
    assert got.exempt is None
    assert got.contract_missing is None
    assert got.contract_before_start is None  # the smallest shown non-zero part (rule 3)
    assert got.contract_after_peildatum == 0
    assert got.base == 90
    assert got.rows == 120
    assert got.censored == {"werk_6m": None, "werk_12m": 40}
    assert got.after_peildatum == {"datum_uitstroom_werk": 0}


def test_published_counts_only_come_from_disclosure_control() -> None:
    """PublishedCounts cannot be made by hand, so raw sizes never reach the template."""
    with pytest.raises(TypeError):
        disclosure.PublishedCounts(1, 2, 3, 4, 5, 6, 7, {}, {})


parts = st.lists(st.integers(0, 30), min_size=4, max_size=4)


@settings(max_examples=300, deadline=None)
@given(parts)
def test_population_counts_and_indicator_tables_share_rule_3(counts: list[int]) -> None:
    """The population counts hide the same parts as the indicator table hides of a
    breakdown with the same numerators (rule 3 has one implementation): the four parts of
    a delivery's rows, as categories named like the parts, each with a large denominator
    so that only the numerator rules act."""
    names = ("base", "contract_missing", "contract_before_start", "contract_after_peildatum")
    raw = {"rows": sum(counts), "exempt": 0, "registered": 0}
    raw.update(zip(names, counts, strict=True))
    counted = disclosure.publish_counts(raw, RULES)
    from_counts = {n: getattr(counted, n) is None for n in names}
    out = disclosure.suppress(
        table([(n, 1000, c) for n, c in zip(names, counts, strict=True)]), RULES
    )
    from_table = {c: hidden for c, (_, hidden) in pattern(out).items() if c != "totaal"}
    assert from_table == from_counts
