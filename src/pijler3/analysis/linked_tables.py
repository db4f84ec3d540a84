"""Everything about to be published, as linked tables of counts (INDICATORS.md rule 6).

**The model.** A :class:`Cell` is one published count (delivery, table, breakdown,
category, kind) or one count that is never published but ties published ones together
(``E`` and the censored per category: ``published`` is false). Cells that must hold the
same number share a *variable*:

- the denominators of indicators with the same population (``toeleiding`` = B; the two
  medians = B minus E; the four ``actie_*`` = the registered) within a delivery;
- the same cell (quantity, breakdown, category) in two deliveries whose raw count is the
  same: an attacker may assume an old cohort did not change, so we assume every
  unchanged count is known to be unchanged (stronger than "stable cohorts only");
- the population counts of the report (B, E, the registered, the censored) and the
  ``totaal`` rows of the indicator table they equal.

The constraints over the variables (rule 6): the categories of every breakdown add up to
``totaal``; ``0 <= numerator <= denominator``; ``B = E + (B - E)`` and ``B - E =
denominator of a windowed indicator + its censored`` per category; and the rows of a
delivery are B plus the rows outside B for each reason.

"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from pijler3.analysis import disclosure, population
from pijler3.contract.protocol import Disclosure

TOTAL = population.TOTAL
POPULATION = "populatie"  # the table of population counts of the report
NUMERATOR, DENOMINATOR, COUNT = "numerator", "denominator", "count"
ROWS = "rows"

# Rules that hid a cell, for the methods section and the audit log.
SHOWN, RULE12, RULE3, RULE6 = 0, 12, 3, 6

# The quantity behind each indicator's denominator (shared populations share it).
DEN_QUANTITY: Mapping[str, str] = {
    "toeleiding": "B",
    "inschrijving_60d": "den:inschrijving_60d",
    "werk_6m": "den:werk_6m",
    "werk_12m": "den:werk_12m",
    "inschrijving_mediaan_dagen": "BmE",
    "werk_mediaan_dagen": "BmE",
    **{f"actie_{a}": "R" for a in population.ACTIONS},
}
# Population counts of the report (indicators.population_counts) and their quantities.
POPULATION_QUANTITY: Mapping[str, str] = {
    "rows": ROWS,
    "base": "B",
    "exempt": "E",
    "registered": "R",
    "contract_missing": "contract_missing",
    "contract_before_start": "contract_before_start",
    "contract_after_peildatum": "contract_after_peildatum",
}
ROW_PARTS = ("B", "contract_missing", "contract_before_start", "contract_after_peildatum")


@dataclass(frozen=True)
class Cell:
    """One count of the linked tables.

    ``quantity`` names what is counted (``B``, ``BmE``, ``num:werk_6m``, ...); cells of the
    same delivery, quantity, breakdown and category are one number. ``var`` is the
    variable the cell is (shared with equal cells, see the module docstring). ``raw`` is
    the true count (``None`` when the audit is re-run from published output).
    """

    peildatum: dt.date
    table: str
    breakdown: str
    category: str
    kind: str
    quantity: str
    var: int
    raw: int | None
    published: bool = True


@dataclass(frozen=True)
class Constraint:
    """``sum(coef * var) == 0`` (``equal``) or ``<= 0``."""

    terms: tuple[tuple[int, float], ...]
    equal: bool


@dataclass
class LinkedTables:
    cells: list[Cell]
    constraints: list[Constraint]
    n_vars: int
    thresholds: Mapping[str, int]
    # Per cell: the cell index of the numerator in its row (denominator cells only).
    row_numerator: dict[int, int] = field(default_factory=dict)
    var_cells: list[list[int]] = field(default_factory=list)
    var_threshold: list[int] = field(default_factory=list)
    var_constraints: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.var_cells = [[] for _ in range(self.n_vars)]
        self.var_threshold = [0] * self.n_vars
        for i, c in enumerate(self.cells):
            self.var_cells[c.var].append(i)
            if c.published:
                t = self.thresholds[c.kind]
                self.var_threshold[c.var] = max(self.var_threshold[c.var], t)
        self.var_constraints = [[] for _ in range(self.n_vars)]
        for k, con in enumerate(self.constraints):
            for v, _ in con.terms:
                self.var_constraints[v].append(k)


def thresholds(rules: Disclosure) -> dict[str, int]:
    return {
        NUMERATOR: rules.min_numerator,
        DENOMINATOR: rules.min_denominator,
        COUNT: rules.min_numerator,
    }


# --- Building the model -------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """A cell before it has a variable: its place, and what makes two cells the same."""

    peildatum: dt.date
    table: str
    breakdown: str
    category: str
    kind: str
    quantity: str
    raw: int | None
    published: bool
    same: object  # cells with equal quantity/breakdown/category and equal ``same`` merge


def _indicator_specs(raw: pl.DataFrame) -> list[_Spec]:
    out: list[_Spec] = []
    cols = ("peildatum", "indicator", "breakdown", "category", "denominator", "numerator")
    extra = [c for c in ("censored", "exempt") if c in raw.columns]
    for row in raw.select(*cols, *extra).iter_rows(named=True):
        peil, ind, bd, cat = row["peildatum"], row["indicator"], row["breakdown"], row["category"]
        den, num = int(row["denominator"]), int(row["numerator"])
        out.append(_Spec(peil, ind, bd, cat, DENOMINATOR, DEN_QUANTITY[ind], den, True, den))
        out.append(_Spec(peil, ind, bd, cat, NUMERATOR, f"num:{ind}", num, True, num))
        # The unpublished parts that tie the published denominators together.
        if ind in population.WINDOWS and row.get("censored") is not None:
            n = int(row["censored"])
            out.append(_Spec(peil, ind, bd, cat, COUNT, f"cens:{ind}", n, False, n))
        if ind == "inschrijving_mediaan_dagen" and row.get("exempt") is not None:
            n = int(row["exempt"])
            out.append(_Spec(peil, ind, bd, cat, COUNT, "E", n, False, n))
    return out


def _population_specs(peil: dt.date, counts: Mapping[str, object]) -> list[_Spec]:
    out: list[_Spec] = []
    for key, quantity in POPULATION_QUANTITY.items():
        if key in counts:
            n = _int(counts[key])
            out.append(_Spec(peil, POPULATION, TOTAL, key, COUNT, quantity, n, True, n))
    for group, prefix in (("censored", "cens:"), ("after_peildatum", "late:")):
        sub = counts.get(group)
        if isinstance(sub, Mapping):
            for name, value in sub.items():
                n = _int(value)
                out.append(
                    _Spec(
                        peil, POPULATION, TOTAL, f"{group}:{name}", COUNT, prefix + name, n, True, n
                    )
                )
    return out


# One pass over every kind of published table, each adding its cells and equations;
# the kinds are listed side by side on purpose, so that none is forgotten.
def _assemble(specs: Sequence[_Spec], rules: Disclosure) -> LinkedTables:  # noqa: C901, PLR0912
    """Variables for the cells and the constraints of rule 6 between them."""
    var_of: dict[tuple[str, str, str, object], int] = {}
    per_delivery: dict[tuple[dt.date, str, str, str], int] = {}
    cells: list[Cell] = []
    for s in specs:
        # A population count is its quantity's totaal (base is B's totaal, and so on).
        cat = TOTAL if s.table == POPULATION else s.category
        where = (s.peildatum, s.quantity, s.breakdown, cat)
        if where in per_delivery:
            var = per_delivery[where]
        else:
            key = (s.quantity, s.breakdown, cat, s.same)
            var = var_of.setdefault(key, len(var_of))
            per_delivery[where] = var
        cells.append(
            Cell(
                s.peildatum,
                s.table,
                s.breakdown,
                s.category,
                s.kind,
                s.quantity,
                var,
                s.raw,
                s.published,
            )
        )
    constraints: list[Constraint] = []
    seen: set[tuple[tuple[tuple[int, float], ...], bool]] = set()

    def add(terms: Iterable[tuple[int | None, float]], equal: bool) -> None:
        got = [(v, c) for v, c in terms]
        if any(v is None for v, _ in got):
            return
        merged: dict[int, float] = {}
        for v, c in got:
            assert v is not None
            merged[v] = merged.get(v, 0.0) + c
        norm = tuple(sorted((v, c) for v, c in merged.items() if c != 0.0))
        if norm and (norm, equal) not in seen:
            seen.add((norm, equal))
            constraints.append(Constraint(norm, equal))

    by_delivery: dict[dt.date, dict[tuple[str, str, str], int]] = {}
    for (peil, q, bd, cat), var in per_delivery.items():
        by_delivery.setdefault(peil, {})[(q, bd, cat)] = var
    for m in by_delivery.values():
        groups: dict[tuple[str, str], list[int]] = {}
        places: dict[tuple[str, str], None] = {}
        for (q, bd, cat), var in m.items():
            if bd != TOTAL:
                groups.setdefault((q, bd), []).append(var)
            places[(bd, cat)] = None
        # Categories add up to totaal.
        for (q, _bd), vars_ in groups.items():
            add([(m.get((q, TOTAL, TOTAL)), 1.0), *[(v, -1.0) for v in vars_]], True)
        for bd, cat in places:
            at = {q: v for (q, b, c), v in m.items() if b == bd and c == cat}
            add([(at.get("B"), 1.0), (at.get("E"), -1.0), (at.get("BmE"), -1.0)], True)
            for w in population.WINDOWS:
                bme, den, cens = at.get("BmE"), at.get(f"den:{w}"), at.get(f"cens:{w}")
                add([(bme, 1.0), (den, -1.0), (cens, -1.0)], True)
            for ind, dq in DEN_QUANTITY.items():
                add([(at.get(f"num:{ind}"), 1.0), (at.get(dq), -1.0)], False)
        parts = [m.get((q, TOTAL, TOTAL)) for q in ROW_PARTS]
        add([(m.get((ROWS, TOTAL, TOTAL)), 1.0), *[(v, -1.0) for v in parts]], True)
    tables = LinkedTables(cells, constraints, len(var_of), thresholds(rules))
    index = {
        (c.peildatum, c.table, c.breakdown, c.category, c.kind): i for i, c in enumerate(cells)
    }
    for i, c in enumerate(cells):
        if c.kind == DENOMINATOR:
            j = index.get((c.peildatum, c.table, c.breakdown, c.category, NUMERATOR))
            if j is not None:
                tables.row_numerator[i] = j
    return tables


@dataclass(frozen=True)
class DeliveryCounts:
    """The raw counts of one delivery about to be published: the indicator table of
    :func:`pijler3.analysis.indicators.compute_raw` and, when the report shows them, the
    population counts of :func:`pijler3.analysis.indicators.population_counts`."""

    raw: pl.DataFrame
    populations: Mapping[str, object] | None = None


def build(deliveries: Sequence[DeliveryCounts], rules: Disclosure) -> LinkedTables:
    """The linked tables of everything about to be published, from the raw counts."""
    specs: list[_Spec] = []
    for d in deliveries:
        specs += _indicator_specs(d.raw)
        if d.populations is not None and d.raw.height:
            peil = d.raw["peildatum"][0]
            specs += _population_specs(peil, d.populations)
    return _assemble(specs, rules)


# --- What earlier reports published ---------------------------------------------------------

# A count a report showed, as later reports compare it: its quantity, breakdown and
# category (a population count's category is ``totaal``, as in its variable) and value.
Shown = tuple[str, str, str, int]
# A count a report hid: its delivery, quantity, breakdown and category (no value).
Withheld = tuple[dt.date, str, str, str]


@dataclass(frozen=True)
class Earlier:
    """What earlier reports published (:meth:`pijler3.analysis.store.Store.earlier`):
    the counts they showed and the counts they hid.

    Whoever kept an earlier report reads it beside a new one. So a count it showed is
    known (:func:`earlier_values`), and a count it hid of a delivery still held stays
    hidden (:func:`earlier_hidden`): the equations of the earlier report, whose hidden
    counts may rest on it, stay in the reader's hands after a purge, when the model no
    longer holds them. An old delivery's figures thus stay as its first report showed
    them.
    """

    shown: frozenset[Shown] = frozenset()
    withheld: frozenset[Withheld] = frozenset()


def place_category(c: Cell) -> str:
    """The category of a cell's place: a population count's is ``totaal``, as in its
    variable (the base is B's ``totaal``, and so on)."""
    return TOTAL if c.table == POPULATION else c.category


def record(
    tables: LinkedTables, hidden: Sequence[bool], values: Sequence[int | None] | None = None
) -> tuple[set[Shown], set[Withheld]]:
    """What a report with this pattern shows and hides, to be recorded for later reports
    (``values`` per cell default to the raw counts)."""
    shown: set[Shown] = set()
    withheld: set[Withheld] = set()
    for i, (c, h) in enumerate(zip(tables.cells, hidden, strict=True)):
        value = c.raw if values is None else values[i]
        if not c.published:
            continue
        if h:
            withheld.add((c.peildatum, c.quantity, c.breakdown, place_category(c)))
        elif value is not None:
            shown.add((c.quantity, c.breakdown, place_category(c), value))
    return shown, withheld


def document_record(doc: Mapping[str, object]) -> tuple[set[Shown], set[Withheld]]:
    """What the report of a published document (``disclosure.json``) shows and hides.
    Raises ``ValueError`` on a malformed document, as :func:`from_document`."""
    tables, hidden, values, _ = from_document(doc)
    return record(tables, hidden, values)


def earlier_values(tables: LinkedTables, earlier: Earlier) -> list[int | None]:
    """Per variable: its count when an earlier report showed it, else None.

    A count is matched the way the model merges cells across deliveries (same quantity,
    breakdown and category, same count): whoever kept the earlier report knows it, in
    the delivery it was shown for and in every delivery where it did not change. So
    a count shown for a delivery since purged still counts where it is unchanged.
    """
    out: list[int | None] = [None] * tables.n_vars
    if not earlier.shown:
        return out
    for c in tables.cells:
        key = (c.quantity, c.breakdown, place_category(c), c.raw)
        if c.published and c.raw is not None and key in earlier.shown:
            out[c.var] = c.raw
    return out


def earlier_hidden(tables: LinkedTables, earlier: Earlier) -> list[int]:
    """The published cells an earlier report hid, by delivery and place."""
    if not earlier.withheld:
        return []
    return [
        i
        for i, c in enumerate(tables.cells)
        if c.published
        and (c.peildatum, c.quantity, c.breakdown, place_category(c)) in earlier.withheld
    ]


# --- Rules 1-3 of one delivery alone --------------------------------------------------------


def population_pattern(counts: Mapping[str, object], rules: Disclosure) -> dict[str, bool]:
    """Rules 1 and 3 for the population counts of one delivery: which are hidden.

    A count of 1 .. ``min_numerator - 1`` is hidden (zero is shown); when exactly one of
    the parts that add up to the delivery's rows is hidden, the smallest shown non-zero
    part (ties by name) is hidden too. Keys as in :func:`_population_specs`.
    """

    def small(n: int) -> bool:
        return 0 < n < rules.min_numerator

    out: dict[str, bool] = {}
    for key in POPULATION_QUANTITY:
        if key in counts:
            out[key] = small(_int(counts[key]))
    for group in ("censored", "after_peildatum"):
        sub = counts.get(group)
        if isinstance(sub, Mapping):
            for name, value in sub.items():
                out[f"{group}:{name}"] = small(_int(value))
    names = [k for k, q in POPULATION_QUANTITY.items() if q in ROW_PARTS and k in counts]
    if not out.get(ROWS) and sum(out[k] for k in names) == 1:
        left = [(_int(counts[k]), k) for k in names if not out[k] and _int(counts[k])]
        if left:
            out[min(left)[1]] = True
    return out


def start_pattern(
    tables: LinkedTables, deliveries: Sequence[DeliveryCounts], rules: Disclosure
) -> tuple[list[int], list[bool]]:
    """Per cell: the rule that hides it when each delivery is protected alone (rules
    1-3), and whether rules 1-2 alone hide it."""
    hidden: dict[tuple[dt.date, str, str, str, str], int] = {}
    for d in deliveries:
        raw = d.raw
        out = disclosure.suppress(raw, rules)
        for r, o in zip(
            raw.select(
                "peildatum", "indicator", "breakdown", "category", "denominator", "numerator"
            ).iter_rows(),
            out.select("denominator", "numerator").iter_rows(),
            strict=True,
        ):
            peil, ind, bd, cat, den, num = r
            den_primary = 0 < den < rules.min_denominator
            num_primary = den_primary or 0 < num < rules.min_numerator
            if o[0] is None:
                hidden[(peil, ind, bd, cat, DENOMINATOR)] = RULE12 if den_primary else RULE3
            if o[1] is None:
                hidden[(peil, ind, bd, cat, NUMERATOR)] = RULE12 if num_primary else RULE3
        if d.populations is not None and raw.height:
            peil = raw["peildatum"][0]
            pattern = population_pattern(d.populations, rules)
            for key, h in pattern.items():
                if h:
                    small = _population_raw(d.populations, key)
                    why = RULE12 if 0 < small < rules.min_numerator else RULE3
                    hidden[(peil, POPULATION, TOTAL, key, COUNT)] = why
    rule = [
        hidden.get((c.peildatum, c.table, c.breakdown, c.category, c.kind), SHOWN)
        if c.published
        else SHOWN
        for c in tables.cells
    ]
    return rule, [r == RULE12 for r in rule]


def _population_raw(counts: Mapping[str, object], key: str) -> int:
    if ":" in key:
        group, name = key.split(":", 1)
        sub = counts[group]
        assert isinstance(sub, Mapping)
        return _int(sub[name])
    return _int(counts[key])


def _int(value: object) -> int:
    if not isinstance(value, int | str | float):
        raise TypeError(f"a count, not {type(value).__name__}")
    return int(value)


# --- The published form ------------------------------------------------------------------------

DOCUMENT_FORMAT = "pijler3-disclosure/2"
# Version 1 had no ``earlier``; it still reads, as a report no earlier report preceded.
_READS = (DOCUMENT_FORMAT, "pijler3-disclosure/1")


def to_document(
    tables: LinkedTables,
    hidden: Sequence[bool],
    rules: Disclosure,
    earlier: Sequence[int | None] | None = None,
) -> dict[str, object]:
    """Every count of the linked tables as published: its place, its shown value (``None``
    when hidden or never published), the value an earlier report showed when this one
    hides it (``earlier``, per variable: :func:`earlier_values`) and an opaque variable
    id that equal cells share.

    The ids say which cells are the same number (shared denominators, and a count that
    did not change between deliveries); an attacker is assumed to know that anyway
    (rule 6), and without them the audit could not be re-run from the output. The
    earlier values were published already; without them the audit re-run from this
    document alone would not know what whoever kept the earlier reports knows.
    """
    cells = []
    for c, h in zip(tables.cells, hidden, strict=True):
        shown = c.published and not h
        before = earlier[c.var] if earlier is not None and c.published and h else None
        cells.append(
            {
                "peildatum": c.peildatum.isoformat(),
                "table": c.table,
                "breakdown": c.breakdown,
                "category": c.category,
                "kind": c.kind,
                "quantity": c.quantity,
                "var": c.var,
                "published": c.published,
                "value": c.raw if shown else None,
                "earlier": before,
            }
        )
    return {
        "format": DOCUMENT_FORMAT,
        "thresholds": {
            "min_numerator": rules.min_numerator,
            "min_denominator": rules.min_denominator,
            "km_min_at_risk": rules.km_min_at_risk,
        },
        "cells": cells,
    }


def from_document(
    doc: Mapping[str, object],
) -> tuple[LinkedTables, list[bool], list[int | None], list[int | None]]:
    """The linked tables of a published document, which cells are hidden, the shown
    values, and per variable the value an earlier report showed (see
    :func:`to_document`). Raises ``ValueError`` (with the cell's position) on a
    malformed document."""
    if doc.get("format") not in _READS:
        raise ValueError(f"not a {DOCUMENT_FORMAT} document")
    th = doc.get("thresholds")
    cells = doc.get("cells")
    if not isinstance(th, Mapping) or not isinstance(cells, list):
        raise ValueError("the document lacks 'thresholds' or 'cells'")
    rules = Disclosure(
        int(th["min_numerator"]), int(th["min_denominator"]), int(th["km_min_at_risk"])
    )
    specs: list[_Spec] = []
    hidden: list[bool] = []
    values: list[int | None] = []
    before: list[int | None] = []
    for n, c in enumerate(cells):
        try:
            value = c["value"]
            was = c.get("earlier")
            before.append(None if was is None else int(was))
            published = bool(c["published"])
            specs.append(
                _Spec(
                    dt.date.fromisoformat(c["peildatum"]),
                    str(c["table"]),
                    str(c["breakdown"]),
                    str(c["category"]),
                    str(c["kind"]),
                    str(c["quantity"]),
                    None,
                    published,
                    int(c["var"]),
                )
            )
            hidden.append(published and value is None)
            values.append(None if value is None else int(value))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"cell {n + 1} is malformed ({e})") from None
    tables = _assemble(specs, rules)
    earlier: list[int | None] = [None] * tables.n_vars
    for c, was in zip(tables.cells, before, strict=True):
        if was is not None:
            earlier[c.var] = was
    return tables, hidden, values, earlier
