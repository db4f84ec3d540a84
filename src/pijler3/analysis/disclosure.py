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

The same rules guard the population sizes of the report's methodology section
(:func:`publish_counts`), with one implementation of rule 3 (:func:`complete_suppression`)
for both. The results are the privacy gate of the report: :class:`PublishedTable` and
:class:`PublishedCounts` can only be made by :func:`publish_indicators` and
:func:`publish_counts`, so a renderer that takes them can never be handed raw counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import InitVar, dataclass
from typing import Any, TypeVar

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
# The column types of the published table (DATA.md §4), for an empty one.
SCHEMA: Mapping[str, type[pl.DataType]] = dict(
    zip(
        COLUMNS,
        (
            pl.Date,
            pl.String,
            pl.String,
            pl.String,
            pl.Int64,
            pl.Int64,
            pl.Float64,
            pl.Float64,
            pl.Float64,
            pl.Boolean,
        ),
        strict=True,
    )
)

P = TypeVar("P", bound=Sequence[float])


def complete_suppression(counts: Sequence[int], hidden: list[bool], names: Sequence[str]) -> bool:
    """Rule 3 on one group of parts that add up to a shown total: when exactly one count
    is hidden, hide the smallest shown non-zero one too (ties by name, in code-point
    order), in ``hidden``. True if it hid one.

    The caller checks that the group's total is shown: a hidden total needs no
    complement.
    """
    if sum(hidden) != 1:
        return False
    candidates = [
        (counts[i], names[i], i) for i in range(len(counts)) if not hidden[i] and counts[i]
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
        if total_den and complete_suppression(dens, hide_den, cats):
            changed = True
        for i, h in enumerate(hide_den):
            if h and not hide_num[i]:
                hide_num[i] = True
        if total_num and complete_suppression(nums, hide_num, cats):
            changed = True
    return hide_den, hide_num


# A count of the indicator table: peildatum, indicator, breakdown, category, kind.
CellKey = tuple[dt.date, str, str, str, str]


def suppress(
    raw: pl.DataFrame, rules: Disclosure, extra: Collection[CellKey] = frozenset()
) -> pl.DataFrame:
    """The publishable indicator table (DATA.md §4) from the raw one.

    Hidden cells are null; ``suppressed`` is true exactly when the numerator is hidden.
    Row order is kept. ``censored`` and ``exempt`` of the raw table are not published.
    ``extra`` are the counts rule 6 hides on top of rules 1-3 (kind ``denominator`` or
    ``numerator``; a hidden denominator hides its whole row).
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
    if extra:
        for pos, peil, ind, bd, cat, _den, _num in rows.iter_rows():
            if (peil, ind, bd, cat, "denominator") in extra:
                hide_den[pos] = hide_num[pos] = True
            elif (peil, ind, bd, cat, "numerator") in extra:
                hide_num[pos] = True
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


# --- The report's privacy gate ----------------------------------------------------------

_PUBLISH_KEY = object()


class PublishedTable:
    """An indicator table after disclosure control (DATA.md §4 columns, nulls hidden).

    Only :func:`publish_indicators` makes one: the constructor refuses any other caller,
    so a renderer that takes a ``PublishedTable`` can never be handed raw counts.
    """

    __slots__ = ("_frame",)

    def __init__(self, frame: pl.DataFrame, key: object) -> None:
        if key is not _PUBLISH_KEY:
            raise TypeError("a PublishedTable comes from publish_indicators() only")
        if tuple(frame.columns) != COLUMNS:
            raise ValueError("a published table has exactly the columns of DATA.md §4")
        self._frame = frame

    @property
    def frame(self) -> pl.DataFrame:
        return self._frame

    def rows(self, indicator: str, breakdown: str, peildatum: dt.date) -> list[dict[str, Any]]:
        return self._frame.filter(
            (pl.col("indicator") == indicator)
            & (pl.col("breakdown") == breakdown)
            & (pl.col("peildatum") == peildatum)
        ).to_dicts()


def publish_indicators(
    raws: Sequence[pl.DataFrame], rules: Disclosure, extra: Collection[CellKey] = frozenset()
) -> PublishedTable:
    """Disclosure control of each delivery's raw table, concatenated in delivery order;
    ``extra`` as in :func:`suppress` (rule 6 across tables and deliveries)."""
    published = [suppress(raw, rules, extra) for raw in raws]
    frame = pl.concat(published, how="vertical") if published else pl.DataFrame(schema=dict(SCHEMA))
    return PublishedTable(frame, _PUBLISH_KEY)


@dataclass(frozen=True)
class PublishedCounts:
    """The population sizes behind the table after disclosure control; ``None`` is hidden.

    These are counts of persons, so the indicator table's rules apply to them too (rule 1
    with the protocol's ``min_numerator``, rule 3 where parts add up to a shown total,
    rule 5: zero is shown). Only :func:`publish_counts` makes one: the constructor refuses
    any other caller, so the template can never be handed the raw sizes.
    """

    rows: int | None
    base: int | None
    exempt: int | None
    registered: int | None
    contract_missing: int | None
    contract_before_start: int | None
    contract_after_peildatum: int | None
    censored: Mapping[str, int | None]
    after_peildatum: Mapping[str, int | None]
    key: InitVar[object] = None

    def __post_init__(self, key: object) -> None:
        if key is not _PUBLISH_KEY:
            raise TypeError("PublishedCounts come from publish_counts() only")


# The parts that add up to all rows of a delivery: in B, or out of it for one reason.
_ROW_PARTS = ("base", "contract_missing", "contract_before_start", "contract_after_peildatum")


def publish_counts(
    raw: Mapping[str, Any], rules: Disclosure, extra: Collection[str] = frozenset()
) -> PublishedCounts:
    """Disclosure control of :func:`pijler3.analysis.indicators.population_counts`.

    A count of 1 to ``min_numerator - 1`` is hidden; zero is shown. The delivery's row
    count is shown in the quality section anyway, so when exactly one of the parts that
    add up to it is hidden, the smallest shown non-zero part (ties by name) is hidden
    too, as rule 3 does within a breakdown; one pass settles a single group. ``extra``
    names the counts rule 6 hides on top (``base``, ``censored:werk_6m``, ...).
    """

    def small(n: int) -> bool:
        return 0 < n < rules.min_numerator

    def shown(n: int, name: str, hidden: bool = False) -> int | None:
        return None if hidden or small(n) or name in extra else n

    rows = int(raw["rows"])
    parts = [int(raw[k]) for k in _ROW_PARTS]
    hidden = [small(n) for n in parts]
    if not small(rows):
        complete_suppression(parts, hidden, _ROW_PARTS)
    part = {k: shown(n, k, h) for k, n, h in zip(_ROW_PARTS, parts, hidden, strict=True)}
    return PublishedCounts(
        rows=shown(rows, "rows"),
        base=part["base"],
        exempt=shown(int(raw["exempt"]), "exempt"),
        registered=shown(int(raw["registered"]), "registered"),
        contract_missing=part["contract_missing"],
        contract_before_start=part["contract_before_start"],
        contract_after_peildatum=part["contract_after_peildatum"],
        censored={
            str(k): shown(int(v), f"censored:{k}") for k, v in (raw.get("censored") or {}).items()
        },
        after_peildatum={
            str(k): shown(int(v), f"after_peildatum:{k}")
            for k, v in (raw.get("after_peildatum") or {}).items()
        },
        key=_PUBLISH_KEY,
    )
