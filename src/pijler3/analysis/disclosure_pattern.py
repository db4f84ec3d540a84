"""The hiding pattern that :func:`pijler3.analysis.disclosure_protect.protect` builds.

A :class:`Pattern` holds, per published cell, whether it is hidden and by which rule,
with the indexes the steps of rule 6 need: the cells of each place (delivery, breakdown,
category), what hiding a variable hides (:meth:`Pattern.hide_var`: a count hidden
somewhere is hidden everywhere it is published, and a hidden denominator hides its
row's numerator), which counts rule 6 may hide (:meth:`Pattern.never`,
:meth:`Pattern.hideable`) and in which order, and what hiding one costs in level 1's LP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pijler3.analysis.disclosure_audit import shown_values
from pijler3.analysis.linked_tables import (
    POPULATION,
    ROWS,
    RULE6,
    SHOWN,
    TOTAL,
    LinkedTables,
)

# What hiding a ``totaal`` costs in level 1's LP, against another count with as many
# cells: the totals are what readers look at first.
TOTAL_COST = 10.0

Place = tuple[dt.date, str, str]  # delivery, breakdown, category


@dataclass
class Pattern:
    """The hiding pattern being built, with the indexes the steps need."""

    tables: LinkedTables
    hidden: list[bool]
    rule: list[int]
    raws: list[int | None]
    # Per variable: the value an earlier report showed (known; never hidden by rule 6).
    earlier: list[int | None] = field(default_factory=list)
    places: dict[Place, list[int]] = field(default_factory=dict)
    breakdowns: dict[tuple[dt.date, str], list[Place]] = field(default_factory=dict)
    # Counts shown again by step 1 (exact from counts that may not be hidden): never
    # hidden again, which also bounds the number of rounds.
    pinned: set[int] = field(default_factory=set)
    # Counts an earlier report hid (:func:`pijler3.analysis.linked_tables.earlier_hidden`):
    # never shown again, so that the release leaves them hidden.
    held: set[int] = field(default_factory=set)
    # Level 1's LP (:class:`pijler3.analysis.disclosure_protect._Model`), built on first use.
    model: Any = None

    def __post_init__(self) -> None:
        if not self.earlier:
            self.earlier = [None] * self.tables.n_vars
        for i, c in enumerate(self.tables.cells):
            place = _place(c.peildatum, c.table, c.breakdown, c.category)
            if place not in self.places:
                self.places[place] = []
                self.breakdowns.setdefault((place[0], place[1]), []).append(place)
            self.places[place].append(i)

    def values(self) -> list[float | None]:
        return shown_values(self.tables, self.hidden, self.raws, self.earlier)

    def hide_var(self, v: int) -> int:
        """Hide every published cell of ``v`` and the numerators of its rows, closed
        under "hidden somewhere means hidden everywhere"; the number of cells hidden. A
        count an earlier report showed is known anyway: only its rows' numerators follow
        it (rule 2), so an old delivery keeps the figures that report showed."""
        tables, n = self.tables, 0
        todo = [v]
        while todo:
            u = todo.pop()
            cells = tables.var_cells[u]
            if self.earlier[u] is not None:
                cells = [i for i in cells if self.hidden[i]]
            for i in cells:
                for j in (i, tables.row_numerator.get(i)):
                    if j is None or not tables.cells[j].published or self.hidden[j]:
                        continue
                    self.hidden[j] = True
                    self.rule[j] = RULE6
                    n += 1
                    todo.append(tables.cells[j].var)
        return n

    def rule6_only(self, v: int) -> bool:
        """Whether rule 6 alone hid ``v`` (no cell of it hidden by rules 1-3)."""
        cells = [i for i in self.tables.var_cells[v] if self.hidden[i]]
        return bool(cells) and all(self.rule[i] == RULE6 for i in cells)

    def show_exact(self, v: int) -> None:
        """Show ``v`` again, rule 6 alone having hidden it: it is exact from what is
        shown, so hiding it protects nothing and showing it tells nothing new."""
        for i in self.tables.var_cells[v]:
            if not self.hidden[i]:
                continue
            self.hidden[i] = False
            self.rule[i] = SHOWN
        self.pinned.add(v)

    def never(self, w: int) -> bool:
        """Whether rule 6 may never hide ``w``: not published, the rows, zero, or shown by
        an earlier report (hiding it protects nothing)."""
        if self.earlier[w] is not None:
            return True
        cells = [i for i in self.tables.var_cells[w] if self.tables.cells[i].published]
        if not cells or any(self.tables.cells[i].quantity == ROWS for i in cells):
            return True
        return not self.raws[cells[0]]

    def hideable(self, w: int) -> bool:
        """A shown variable that may be hidden: not :meth:`never`, not shown again by
        :meth:`show_exact`."""
        if self.never(w) or w in self.pinned:
            return False
        cells = self.tables.var_cells[w]
        return not all(self.hidden[i] for i in cells if self.tables.cells[i].published)

    def order(self, w: int) -> tuple[bool, int, int, int]:
        """Which shown count to hide first: not a ``totaal``, fewest published cells,
        smallest count, first in cell order."""
        cells = [i for i in self.tables.var_cells[w] if self.tables.cells[i].published]
        is_total = any(self.tables.cells[i].breakdown == TOTAL for i in cells)
        return (is_total, len(cells), int(self.raws[cells[0]] or 0), cells[0])

    def span(self, w: int) -> frozenset[dt.date]:
        """The deliveries in which ``w`` is published."""
        return frozenset(
            self.tables.cells[i].peildatum
            for i in self.tables.var_cells[w]
            if self.tables.cells[i].published
        )

    def key(self, w: int, v: int, depth: int = 0) -> tuple[bool, bool, int, int, int, int]:
        """The order of candidates for failing ``v``: not a ``totaal``; published in the
        same deliveries as ``v`` (so that one change of both fits every delivery);
        nearest; fewest cells; smallest; first."""
        o = self.order(w)
        return (o[0], self.span(w) != self.span(v), depth, *o[1:])

    def cost(self, w: int) -> float:
        """What hiding ``w`` costs in level 1's LP: the cells hiding it hides (its own
        published cells and the numerators of their rows), :data:`TOTAL_COST` times
        that for a ``totaal``."""
        tables, cells = self.tables, 0
        for i in tables.var_cells[w]:
            for j in (i, tables.row_numerator.get(i)):
                if j is not None and tables.cells[j].published:
                    cells += 1
        return cells * (TOTAL_COST if self.order(w)[0] else 1.0)

    def hide_place(self, place: Place) -> int:
        n = 0
        for i in self.places.get(place, []):
            c = self.tables.cells[i]
            if c.published and not self.hidden[i] and self.hideable(c.var):
                n += self.hide_var(c.var)
        return n

    def complement(self, place: Place, v: int) -> Place | None:
        """The category of the same breakdown to hide with ``place``: one where ``v``'s
        quantity is not zero and published in the same deliveries as ``v`` if there is
        one, then the fewest people (``toeleiding``'s denominator), then by code."""
        if place[1] == TOTAL:
            return None
        quantity = self.tables.cells[self.tables.var_cells[v][0]].quantity
        best: tuple[bool, int, str, Place] | None = None
        for other in self.breakdowns[(place[0], place[1])]:
            if other == place:
                continue
            same = [i for i in self.places[other] if self.tables.cells[i].quantity == quantity]
            if not same or not self.raws[same[0]]:
                continue
            people = [int(self.raws[i] or 0) for i in self.places[other] if self._is_base(i)]
            key = (
                self.span(self.tables.cells[same[0]].var) != self.span(v),
                people[0] if people else 0,
                other[2],
                other,
            )
            if best is None or key < best:
                best = key
        return best[3] if best else None

    def _is_base(self, i: int) -> bool:
        c = self.tables.cells[i]
        return c.quantity == "B" and c.table != POPULATION

    def places_of(self, v: int) -> list[Place]:
        out: dict[Place, None] = {}
        for i in self.tables.var_cells[v]:
            c = self.tables.cells[i]
            out[_place(c.peildatum, c.table, c.breakdown, c.category)] = None
        return list(out)


def _place(peildatum: dt.date, table: str, breakdown: str, category: str) -> Place:
    # A population count is its quantity's totaal.
    return (peildatum, breakdown, TOTAL if table == POPULATION else category)
