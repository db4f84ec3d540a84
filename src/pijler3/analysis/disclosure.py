"""Disclosure control of the indicator table and the Kaplan-Meier curves (INDICATORS.md).

Pure functions: the raw table of :func:`pijler3.analysis.indicators.compute_raw` and the protocol's
thresholds in, the publishable table out. The rules, in the order they run:

1. A numerator of 1 .. ``min_numerator - 1`` is hidden, with ``value`` and the interval.
2. A denominator of 1 .. ``min_denominator - 1`` is hidden with its whole row. A
   denominator of 0 is shown (rule 5: zero discloses nothing), so a category nobody is in
   stays visible as 0 even though 0 is below ``min_denominator``.
3. Within one indicator and breakdown, no hidden count may be derivable from ``totaal``
   and the other categories. Denominators first, then numerators, each only while the
   ``totaal`` row's count of that kind is shown: when exactly one category's count is
   hidden, the smallest non-zero count of the same kind among the categories still shown
   is hidden too (ties by category code in code-point order). Hiding a denominator hides
   its whole row, so the numerator pass runs after it, and both passes repeat until
   nothing changes.
4. A curve is kept only where at least ``km_min_at_risk`` people are still at risk.

When exactly one count is hidden and no shown category has a non-zero count of that
kind, nothing more is hidden: the counts then cannot be completed without hiding a zero,
which rule 5 forbids. That case cannot arise from rules 1-2 alone (the hidden count
would then equal the ``totaal`` count, which rules 1-2 would have hidden as well), and
the property test in ``tests/test_disclosure.py`` checks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import polars as pl

from pijler3.contract.protocol import Disclosure

TOTAL = "totaal"
COLUMNS = (
    "peildatum",
    "indicator",
    "breakdown",
    "category",
    "denominator",
    "numerator",
    "value",
    "ci_low",
    "ci_high",
    "suppressed",
)

P = TypeVar("P", bound=Sequence[float])


def _rule3(counts: list[int], hidden: list[bool], cats: list[str]) -> bool:
    """Hide the smallest shown non-zero count when exactly one is hidden; True if it did."""
    if sum(hidden) != 1:
        return False
    candidates = [
        (counts[i], cats[i], i) for i in range(len(counts)) if not hidden[i] and counts[i]
    ]
    if not candidates:
        return False
    _, _, pick = min(candidates)
    hidden[pick] = True
    return True


def _group_masks(
    dens: list[int],
    nums: list[int],
    cats: list[str],
    total_den: bool,
    total_num: bool,
    rules: Disclosure,
) -> tuple[list[bool], list[bool]]:
    """Hidden denominators and numerators of one indicator x breakdown (not ``totaal``)."""
    hide_den = [0 < d < rules.min_denominator for d in dens]
    hide_num = [h or 0 < n < rules.min_numerator for h, n in zip(hide_den, nums, strict=True)]
    changed = True
    while changed:
        changed = False
        if total_den and _rule3(dens, hide_den, cats):
            changed = True
        for i, h in enumerate(hide_den):
            if h and not hide_num[i]:
                hide_num[i] = True
        if total_num and _rule3(nums, hide_num, cats):
            changed = True
    return hide_den, hide_num


def suppress(raw: pl.DataFrame, rules: Disclosure) -> pl.DataFrame:
    """The publishable indicator table (DATA.md §4) from the raw one.

    Hidden cells are null; ``suppressed`` is true exactly when the numerator is hidden.
    Row order is kept. ``censored`` and ``exempt`` of the raw table are not published.
    """
    rows = raw.select(
        "peildatum", "indicator", "breakdown", "category", "denominator", "numerator"
    ).with_row_index("_pos")
    hide_den = [False] * rows.height
    hide_num = [False] * rows.height
    # Rules 1-2 for the totaal rows, which rule 3 never touches.
    totals: dict[tuple[object, str], tuple[bool, bool]] = {}
    for pos, peil, ind, bd, _cat, den, num in rows.iter_rows():
        if bd == TOTAL:
            hd = 0 < den < rules.min_denominator
            hn = hd or 0 < num < rules.min_numerator
            hide_den[pos], hide_num[pos] = hd, hn
            totals[(peil, ind)] = (not hd, not hn)
    groups = rows.filter(pl.col("breakdown") != TOTAL).group_by(
        ["peildatum", "indicator", "breakdown"], maintain_order=True
    )
    for (peil, ind, _bd), group in groups:
        den_shown, num_shown = totals.get((peil, str(ind)), (False, False))
        hd, hn = _group_masks(
            group["denominator"].to_list(),
            group["numerator"].to_list(),
            group["category"].to_list(),
            den_shown,
            num_shown,
            rules,
        )
        for pos, a, b in zip(group["_pos"].to_list(), hd, hn, strict=True):
            hide_den[pos], hide_num[pos] = a, b
    den_mask = pl.Series("_hd", hide_den, dtype=pl.Boolean)
    num_mask = pl.Series("_hn", hide_num, dtype=pl.Boolean)
    out = raw.with_columns(den_mask, num_mask)

    def blank(column: str, mask: str) -> pl.Expr:
        return pl.when(pl.col(mask)).then(None).otherwise(pl.col(column)).alias(column)

    return out.with_columns(
        blank("denominator", "_hd"),
        *[blank(c, "_hn") for c in ("numerator", "value", "ci_low", "ci_high")],
        pl.col("_hn").alias("suppressed"),
    ).select(COLUMNS)


def truncate_curve(points: Sequence[P], rules: Disclosure) -> list[P]:
    """Rule 4: the points of a curve while at least ``km_min_at_risk`` are at risk.

    A point is ``(day, survival, at_risk)``. The number at risk never grows along a
    curve, so this keeps a leading part of it and drops the rest.
    """
    out: list[P] = []
    for point in points:
        if point[2] < rules.km_min_at_risk:
            break
        out.append(point)
    return out
