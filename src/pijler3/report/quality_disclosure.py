"""Which data-quality counts the report hides (INDICATORS.md rules 5 and 6).

The quality section counts over a whole delivery: empty and invalid values per column,
the consistency checks, the rows linked at VDAB. Such a count bounds counts of the
indicator tables. The empty ``regio`` cells of a delivery are at least the persons of B
in the ``ONBEKEND`` category of ``regio`` (the rest are rows outside B), the
``leeftijd_onder_18`` check is at least B's ``<18``, the rows linked at VDAB at least
the registered. Beside a count that disclosure control hides, such a bound narrows it:
with one empty ``regio`` cell in a delivery, its hidden ``ONBEKEND`` count is 0 or 1.

So each quality count names the *places* it bounds: (quantity, breakdown, category) of
:mod:`pijler3.analysis.linked_tables`, in the same delivery. It is shown only when every
place it bounds is shown: a bound on known counts narrows nothing, because the other
unknowns of its relation (the empty cells outside B, or in quarantined rows) appear in
no published table. Otherwise it is hidden, and so is every figure it can be worked
back from: a total of which it is a part, its rate per 100 rows. Every quality count
bounds B's ``totaal`` (none can exceed the rows), so when that is hidden, in a delivery
of fewer persons than the threshold, the delivery's whole quality column is.

A hidden count is marked as such in its row. The rows of the invalid raw codes of a
hidden column are left out instead: a code's raw text is shown only for a code seen at
least 5 times, so its row alone would say that much. Left as it is: a column has a row
in the tables of missing and invalid values only when it has one, which says "at least
1"; that narrows a hidden count of B only when no row is outside B or in quarantine.

Quality counts are not linked across deliveries the way cohort counts are: they count a
whole extract, which grows and is corrected between deliveries, so an equal number in
two deliveries is not known to count the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

from pijler3.analysis import population
from pijler3.analysis.linked_tables import ROWS, TOTAL
from pijler3.report.quality_data import QualitySummary

Place = tuple[str, str, str]  # quantity, breakdown, category
K = TypeVar("K")


def _total(quantity: str) -> Place:
    return (quantity, TOTAL, TOTAL)


B_TOTAL = _total("B")
ROW_PLACES = frozenset({B_TOTAL, _total(ROWS)})

# The totaal counts whose persons a column's values decide (population.py defines them).
_COLUMN_TOTALS: dict[str, set[str]] = {
    # Without a valid contract date in the window a row is outside B.
    "datum_inburgeringscontract": {
        ROWS,
        "contract_missing",
        "contract_before_start",
        "contract_after_peildatum",
    },
    "datum_toeleiding_vdab": {"num:toeleiding"},
    "vdab_datum_eerste_inschrijving": {"R"},
    "plo_besluit": {"E", "BmE"},  # E: the exempting decisions
    **{f"vdab_actie_{a}": {"R", f"num:actie_{a}"} for a in population.ACTIONS},
}
for _ind, (_days, _column) in population.WINDOWS.items():
    _COLUMN_TOTALS.setdefault(_column, set()).add(f"num:{_ind}")
for _date in population.INDICATOR_DATES:
    _COLUMN_TOTALS.setdefault(_date, set()).add(f"late:{_date}")
# Extract columns that reach the dataset as another column.
_DATASET_COLUMN = {"geboortedatum": "leeftijdscategorie"}
# The consistency checks on two columns (extracts/quality.consistency) and the columns.
_CHECK_COLUMNS = {
    "contract_before_aanmelding": ("datum_inburgeringscontract",),
    "toeleiding_before_aanmelding": ("datum_toeleiding_vdab",),
    "uitstroom_before_inschrijving": ("datum_uitstroom_werk", "vdab_datum_eerste_inschrijving"),
}
AFTER_PEILDATUM = "_after_peildatum"
UNDER_18 = "leeftijd_onder_18"


def column_places(column: str) -> frozenset[Place]:
    """The places a count of one column's values bounds: B's ``ONBEKEND`` of the
    breakdown on the column, and the totaal counts the column decides."""
    if column.startswith("insz"):  # a row without a valid INSZ is quarantined
        return ROW_PLACES
    column = _DATASET_COLUMN.get(column, column)
    places = {B_TOTAL} | {_total(q) for q in _COLUMN_TOTALS.get(column, ())}
    if column in population.BREAKDOWNS and column != TOTAL:
        places.add(("B", column, population.UNKNOWN))
    return frozenset(places)


def check_places(check: str) -> frozenset[Place]:
    """The places a consistency check's count bounds."""
    if check == UNDER_18:
        return frozenset({B_TOTAL, ("B", "leeftijdscategorie", "<18")})
    if check.endswith(AFTER_PEILDATUM):
        return column_places(check.removesuffix(AFTER_PEILDATUM))
    return frozenset({B_TOTAL}).union(*(column_places(c) for c in _CHECK_COLUMNS.get(check, ())))


def items(q: QualitySummary) -> dict[str, frozenset[Place]]:
    """Every count of one delivery's quality summary, by name, and the places it bounds.

    Names: ``rows``, ``rows_read``, ``quarantined`` and ``quarantined:REASON``,
    ``missing:EXTRACT:COLUMN``, ``invalid:EXTRACT:COLUMN``, ``empty:COLUMN``,
    ``code:EXTRACT:COLUMN:LABEL``, ``consistency:CHECK``, ``matched`` (with the match
    rate), and the counts no indicator shares (``identifiers_removed`` and so on).
    """
    out: dict[str, frozenset[Place]] = {
        "rows": ROW_PLACES,
        "rows_read": ROW_PLACES,
        "quarantined": ROW_PLACES,
        "matched": column_places("vdab_datum_eerste_inschrijving")
        | column_places("datum_uitstroom_werk"),
    }
    for name in (
        "duplicates_resolved",
        "actions_unknown_type",
        "identifiers_removed",
        "words_removed",
    ):
        out[name] = frozenset({B_TOTAL})
    out |= {f"quarantined:{reason}": ROW_PLACES for reason in q.quarantined}
    out |= {f"missing:{e}:{c}": column_places(c) for e, c in q.missing}
    out |= {f"invalid:{e}:{c}": column_places(c) for e, c in q.invalid}
    out |= {f"empty:{column}": column_places(column) for column in q.empty}
    for c in q.invalid_codes:
        out[f"code:{c.extract}:{c.column}:{c.label}"] = column_places(c.column)
    out |= {f"consistency:{check}": check_places(check) for check in q.consistency}
    return out


def hidden_items(q: QualitySummary, hidden: Iterable[Place]) -> frozenset[str]:
    """The counts of ``q`` to hide, given the places hidden in its delivery."""
    hidden = set(hidden)
    return frozenset(name for name, places in items(q).items() if places & hidden)


def _keep(
    counts: Mapping[K, int | None], name: Callable[[K], str], hide: frozenset[str]
) -> dict[K, int | None]:
    return {k: None if name(k) in hide else v for k, v in counts.items()}


def protect(q: QualitySummary, hidden: Iterable[Place]) -> QualitySummary:
    """``q`` with every count to hide set to None and named in ``hidden``. The totals
    and rates are then None too: they are worked out from the parts."""
    hide = hidden_items(q, hidden)
    if not hide:
        return q

    def one(name: str, value: int | None) -> int | None:
        return None if name in hide else value

    return replace(
        q,
        rows_read=one("rows_read", q.rows_read),
        rows=one("rows", q.rows),
        quarantined=_keep(q.quarantined, lambda r: f"quarantined:{r}", hide),
        identifiers_removed=one("identifiers_removed", q.identifiers_removed),
        match_rate=None if "matched" in hide else q.match_rate,
        matched=one("matched", q.matched),
        duplicates_resolved=one("duplicates_resolved", q.duplicates_resolved),
        actions_unknown_type=one("actions_unknown_type", q.actions_unknown_type),
        consistency=_keep(q.consistency, lambda k: f"consistency:{k}", hide),
        missing=_keep(q.missing, lambda k: f"missing:{k[0]}:{k[1]}", hide),
        invalid=_keep(q.invalid, lambda k: f"invalid:{k[0]}:{k[1]}", hide),
        # A hidden code is left out, not marked: its raw text is shown only for a code
        # seen at least MIN_LABEL_COUNT times, so its row would tell that much.
        invalid_codes=tuple(
            c for c in q.invalid_codes if f"code:{c.extract}:{c.column}:{c.label}" not in hide
        ),
        empty=_keep(q.empty, lambda c: f"empty:{c}", hide),
        words_removed=one("words_removed", q.words_removed),
        hidden=hide | _totals(q, hide),
    )


def _totals(q: QualitySummary, hide: frozenset[str]) -> set[str]:
    """The totals that hide with a part (each is the sum of its parts)."""
    out = set()
    if any(f"quarantined:{r}" in hide for r in q.quarantined):
        out.add("quarantined")
    if any(f"invalid:{e}:{c}" in hide for e, c in q.invalid if not c.startswith("insz")):
        out.add("invalid_total")
    if any(f"consistency:{k}" in hide for k in q.consistency):
        out.add("consistency_total")
    return out
