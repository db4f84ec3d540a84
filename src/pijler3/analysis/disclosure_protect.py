"""Extra suppression until the audit passes: rule 6 of INDICATORS.md, deterministic.

:func:`protect` starts from rules 1-3 of each delivery computed alone
(:func:`pijler3.analysis.linked_tables.start_pattern`) and only ever adds hidden cells.
Every step below hides whole *variables* (a count hidden somewhere is hidden everywhere
it is published, otherwise it is known) and a hidden denominator hides the numerator of
its row, as rule 2 does. Zeros are never hidden (rule 5) except as the numerator of a
hidden row, and the rows of a delivery are never hidden (the quality section shows them).

1. **Exact counts, without LPs.** An equation with one unknown left determines it. For
   every hidden count determined that way (not 0), one shown count of the equation that
   determined it is hidden (or of the equations that determined its unknown parts).
   The choice among shown counts: a ``totaal`` last, then one published in the same
   deliveries as the exact count (one change of both then fits every delivery), the
   nearest equation, fewest published cells, smallest count, first in cell order: rule 3
   generalised to every equation of the model. One pick per equation per round,
   repeated until no hidden count is exact. When there is none to hide and rule 6
   alone hid the count (say the base population when every other part of the rows is
   zero, and the rows are never hidden), it is shown again and never hidden again:
   hiding it protects nothing, showing it tells nothing new.
2. **The LP audit** (:mod:`pijler3.analysis.disclosure_audit`) of every hidden count.
   While some count's range is narrower than its threshold, each failing count escalates
   one level per round, in cell order:

   - level 1: the cheapest shown counts to hide so that it can move (:func:`_cheapest`).
     An LP over every count looks for a second set of counts, ``x = raw + y``, that keeps
     every equation of the model, keeps every count at 0 or more, keeps every shown count
     that may not be hidden as it is, and has the failing count larger by its threshold.
     Each shown count it moves is hidden; per unit moved, that costs the cells hiding it
     hides (its published cells and the numerators of its rows), ten times that for a
     ``totaal``; counts already hidden move for free. Both points then fit everything
     still shown, so the count's range is at least its threshold wide.
     This is the classic attacker LP of cell suppression (Fischetti and Salazar-González,
     1999) for one count at a time. One HiGHS model holds it, each count's LP starting
     from the previous one's basis, and a count that an earlier solution already moved by
     its threshold needs none (:class:`_Model`). HiGHS is deterministic, so the same
     store gives the same pattern with the same scipy; another HiGHS may choose another
     of several equally cheap sets;
   - level 2: its *category across every linked table*: every count of the same delivery,
     breakdown and category (all indicators, E, the censored), in every delivery where
     the count is the same, with the category of that breakdown that has the fewest
     people (``toeleiding``'s denominator; ties by code) as its complement;
   - level 3: the whole breakdown of those deliveries (every category, every count);
   - level 4: the whole breakdown in every delivery that has it;
   - level 5: the ``totaal`` of its quantity in those deliveries (a count that appears
     between two deliveries, such as a cohort whose window closed, is otherwise the
     difference of two shown totals);

   then step 1 again. A count that still fails after level 5, or one that rules 1-3 hid
   and that is exact with no shown count left to hide, means the thresholds cannot be
   met: :func:`protect` raises a :class:`~pijler3.contract.errors.UserError` and nothing
   is published.

3. **Release** (INDICATORS.md rule 7: "it hides as little as it can"). Steps 1-2 hide
   generously: a level hides whole categories and breakdowns. Once the audit passes,
   each count that rule 6 alone hid is shown again in turn, and stays shown when the
   audit still passes; otherwise it is hidden again. Denominators come before
   numerators (a numerator is shown only beside its denominator, rule 2), larger
   counts first (a cohort of a thousand people says more than a group of twelve), then
   cell order. Only counts in a component of at most :data:`RELEASE_COMPONENT` hidden
   counts are tried, and the step stops once it solved :data:`RELEASE_LPS` LPs, so that
   a small store or one of many deliveries, where rule 6 hides thousands of counts in
   one large component, does not pay a slow audit for each.

Counts an earlier report showed are known (:func:`protect`'s ``earlier``): the LPs keep
them at their value and rule 6 never hides them (that protects nothing), so the counts
this report hides are protected by counts no report has shown yet.

Termination: every round hides a cell, shows one for good or raises a failing count's
level, and all three are bounded (the cells; five levels per count); the release tries
a bounded number of counts once. Determinism: every choice is ordered by counts, codes
and cell order, never by a hash or a clock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy.sparse import csr_array

from pijler3.analysis.disclosure_audit import (
    EXACT,
    TOL,
    Component,
    Protection,
    Range,
    Solver,
    audit_result,
    failures,
    first_published,
    shown_values,
)
from pijler3.analysis.highs import WarmModel, afresh, warm_model
from pijler3.analysis.linked_tables import (
    DENOMINATOR,
    POPULATION,
    ROWS,
    RULE6,
    SHOWN,
    TOTAL,
    DeliveryCounts,
    LinkedTables,
    Shown,
    build,
    earlier_values,
    start_pattern,
)
from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Disclosure

LEVELS = 5
# The LPs the release step may solve: it stops trying counts once it solved this many.
# Each try is an audit of the pattern changed: the default demo's store solves 16 (4
# counts shown again), a 2,500-person store 276 (4), 400 persons 500 (14, 0.7 s).
RELEASE_LPS = 500
# The release tries only counts whose component of hidden counts holds at most this
# many: their LPs cost milliseconds. The demo's store has components of at most 40, a
# 2,500-person store 140; twelve deliveries of 20,000 persons have one of about 1,200,
# where trying its counts too took 5.4 s instead of 2.9 s to show 7 of 1,526 again.
RELEASE_COMPONENT = 500
# How far step 1 follows the chain of equations behind an exact count.
CHAIN = 64
# What hiding a ``totaal`` costs in level 1's LP, against another count with as many
# cells: the totals are what readers look at first.
TOTAL_COST = 10.0

Place = tuple[dt.date, str, str]  # delivery, breakdown, category


@dataclass
class _Pattern:
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
    model: _Model | None = None  # level 1's LP, built on first use

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


def _cannot(p: _Pattern, v: int, r: Range) -> UserError:
    cell = p.tables.cells[first_published(p.tables, v)]
    known = any(x is not None for x in p.earlier)
    return UserError(
        f"disclosure control cannot protect {cell.table} {cell.breakdown} {cell.category} "
        f"of {cell.peildatum:%d/%m/%Y}: a hidden count can still be narrowed to a range of "
        f"{r.width:g} (at least {p.tables.var_threshold[v]} is needed)"
        f"{', counting what earlier reports showed,' if known else ''} and hiding more does "
        "not help; nothing was written.",
        hint="Check the protocol's disclosure thresholds."
        + (" The counts earlier reports showed stay known to their readers." if known else ""),
    )


def _mend_exact(p: _Pattern) -> None:
    """Step 1 of the module docstring, to a fixpoint."""
    tables = p.tables
    while True:
        values = p.values()
        solver = Solver(tables, values)
        known = solver.known_values()
        picks: set[int] = set()
        shows: list[int] = []
        broken: set[int] = set()
        exact = [
            v
            for v in range(tables.n_vars)
            if values[v] is None
            and known[v] is not None
            and abs(known[v] or 0.0) > TOL
            and any(tables.cells[i].published for i in tables.var_cells[v])
        ]
        exact.sort(key=lambda v: tables.var_cells[v][0])
        for v in exact:
            if solver.why.get(v) in broken:
                continue
            pick, used = _exact_pick(p, solver, values, v)
            if pick is None and p.rule6_only(v):
                shows.append(v)
                continue
            if pick is None:
                raise _cannot(p, v, Range(known[v] or 0.0, known[v] or 0.0))
            broken |= used
            picks.add(pick)
        for v in shows:
            p.show_exact(v)
        if not picks and not shows:
            return
        for w in sorted(picks):
            p.hide_var(w)


def _exact_pick(
    p: _Pattern, solver: Solver, values: Sequence[float | None], v: int
) -> tuple[int | None, set[int]]:
    """The shown count to hide so that ``v`` is no longer determined, and the equations
    looked at: those of its derivation (the equation that determined ``v``, then those
    behind its unknowns, breadth first). A count that is not a ``totaal`` is taken from
    anywhere in the derivation before a ``totaal``; otherwise the nearest equation wins."""
    tables = p.tables
    seen: set[int] = set()
    best: tuple[tuple[bool, bool, int, int, int, int], int] | None = None
    todo, depth = [v], 0
    while todo and len(seen) < CHAIN:
        nxt: list[int] = []
        for u in todo:
            k = solver.why.get(u)
            if k is None or k in seen:
                continue
            seen.add(k)
            for w, _c in tables.constraints[k].terms:
                if values[w] is None:
                    if w != u:
                        nxt.append(w)
                elif p.hideable(w):
                    key = p.key(w, v, depth)
                    if best is None or key < best[0]:
                        best = (key, w)
        todo, depth = nxt, depth + 1
    return (best[1] if best else None), seen


def _escalate(p: _Pattern, v: int, level: int) -> int:
    """Hide more for failing ``v`` at ``level`` (module docstring); the cells hidden."""
    if level == 1:
        return sum(p.hide_var(w) for w in _cheapest(p, v))
    places = p.places_of(v)
    if level == 2:
        n = 0
        for place in places:
            comp = p.complement(place, v)
            n += p.hide_place(place) + (p.hide_place(comp) if comp is not None else 0)
        return n
    if level == LEVELS:
        return _hide_totals(p, v, places)
    if level == 3:
        groups = {(pl[0], pl[1]) for pl in places}
    else:
        names = {pl[1] for pl in places}
        groups = {g for g in p.breakdowns if g[1] in names}
    return sum(p.hide_place(place) for g in sorted(groups) for place in p.breakdowns[g])


@dataclass
class _Model:
    """Level 1's LP over the deviations ``y = x - raw`` of every count: the equations
    ``A_eq y = 0`` and the inequalities ``A_ub y <= -A_ub raw`` of the model, over the
    columns ``[up, down]`` (``y = up - down``, both at least 0), held in HiGHS so that
    each failing count's LP starts from the previous one's basis.

    ``reach`` is, per count, the most any solution found so far moved it: each solution
    stays a point every published equation allows once the counts it moved are hidden,
    because while steps 1-2 run the hidden counts only grow (the counts step 1 shows
    again are fixed by an equation, so no solution moves them); a count it moved by its
    threshold or more has a range that wide already.
    """

    raw: npt.NDArray[np.float64]
    never: npt.NDArray[np.bool_]  # per count: :meth:`_Pattern.never`
    cost: npt.NDArray[np.float64]  # per count: :meth:`_Pattern.cost`
    lp: Component
    warm: WarmModel | None
    reach: npt.NDArray[np.float64]

    @classmethod
    def of(cls, p: _Pattern) -> _Model:
        from scipy.sparse import csr_array, hstack

        tables, n = p.tables, p.tables.n_vars
        raw = np.array([float(p.raws[tables.var_cells[v][0]] or 0) for v in range(n)])
        never = np.array([p.never(w) for w in range(n)], dtype=np.bool_)
        cost = np.array([0.0 if never[w] else p.cost(w) for w in range(n)])

        def matrix(ks: list[int]) -> csr_array:
            rows = [r for r, k in enumerate(ks) for _ in tables.constraints[k].terms]
            cols = [v for k in ks for v, _ in tables.constraints[k].terms]
            data = [coef for k in ks for _, coef in tables.constraints[k].terms]
            a = csr_array((data, (rows, cols)), shape=(len(ks), n))
            return csr_array(hstack([a, -a]))

        eq = [k for k, c in enumerate(tables.constraints) if c.equal]
        ub = [k for k, c in enumerate(tables.constraints) if not c.equal]
        a_ub = matrix(ub)
        lp = Component(
            {j: j for j in range(2 * n)},
            matrix(eq),
            np.zeros(len(eq)),
            a_ub,
            -(a_ub[:, :n] @ raw),
        )
        return cls(raw, never, cost, lp, warm_model(lp), np.zeros(n))

    def solve(
        self,
        cost: npt.NDArray[np.float64],
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64] | None:
        """An optimal ``[up, down]``, or None when there is none (infeasible)."""
        x = self.warm.minimise(cost, lower, upper) if self.warm is not None else None
        if x is None:  # infeasible, or HiGHS did not finish: afresh, to tell which
            res = afresh(self.lp, cost, np.column_stack([lower, upper]))
            x = np.asarray(res.x, dtype=np.float64) if res.status == 0 else None
        return x


def _cheapest(p: _Pattern, v: int) -> list[int]:
    """Level 1 of the module docstring: the shown counts to hide so that ``v`` can move
    up by its threshold. Empty when a solution found before already moved ``v`` that
    far (see :class:`_Model`), or when no choice of hidden counts lets it (level 2
    follows if it still fails)."""
    tables = p.tables
    if p.model is None:
        p.model = _Model.of(p)
    model, n = p.model, tables.n_vars
    # Exactly what it needs: a margin would make the LP spread its last thousandth over
    # counts that cannot give more (400-person store: 992 counts hidden instead of 719).
    need = max(EXACT, float(tables.var_threshold[v]))
    if model.reach[v] >= need:
        return []
    shown = np.array([x is not None for x in p.values()], dtype=np.bool_)
    stay = model.never.copy()  # shown counts that may not be hidden: they keep their value
    stay[list(p.pinned)] = True
    stay &= shown
    cost = np.where(shown & ~stay, model.cost, 0.0)
    up_max = np.where(stay, 0.0, np.inf)
    down_max = np.where(stay, 0.0, model.raw)  # every count stays at 0 or more
    up_min = np.zeros(n)
    up_min[v] = need
    down_max[v] = 0.0
    x = model.solve(
        np.concatenate([cost, cost]),
        np.concatenate([up_min, np.zeros(n)]),
        np.concatenate([up_max, down_max]),
    )
    if x is None:
        return []
    moved = np.abs(x[:n] - x[n:])
    np.maximum(model.reach, moved, out=model.reach)
    return [int(w) for w in np.flatnonzero(shown & (moved > TOL))]


def _hide_totals(p: _Pattern, v: int, places: Sequence[Place]) -> int:
    """The ``totaal`` of ``v``'s quantity in its deliveries: a count that appears
    between two deliveries (a cohort whose window closed) is otherwise the difference
    of two shown totals."""
    tables, n = p.tables, 0
    quantity = tables.cells[tables.var_cells[v][0]].quantity
    for pl in places:
        for i in p.places.get((pl[0], TOTAL, TOTAL), []):
            if tables.cells[i].quantity == quantity and p.hideable(tables.cells[i].var):
                n += p.hide_var(tables.cells[i].var)
    return n


def protect(
    deliveries: Sequence[DeliveryCounts], rules: Disclosure, earlier: Collection[Shown] = ()
) -> Protection:
    """Rules 1-3 per delivery, then rule 6 across everything, audited (rule 7).

    ``earlier``: the counts earlier reports showed (:func:`linked_tables.shown_counts`).
    Raises :class:`UserError` when the audit cannot pass however much is hidden.
    """
    start = time.perf_counter()
    tables = build(deliveries, rules)
    rule, _primary = start_pattern(tables, deliveries, rules)
    hidden = [r != SHOWN for r in rule]
    before = earlier_values(tables, earlier)
    p = _Pattern(tables, hidden, rule, [c.raw for c in tables.cells], before)
    for i in range(len(hidden)):
        if hidden[i]:
            p.hide_var(tables.cells[i].var)
    cache: dict[frozenset[int], Component] = {}
    level: dict[int, int] = {}
    lps = 0
    while True:
        _mend_exact(p)
        solver = Solver(tables, p.values(), cache)
        ranges = solver.ranges()
        lps += solver.lp_count
        fails = failures(tables, ranges)
        if not fails:
            break
        for v, r in fails:
            lv = level.get(v, 0) + 1
            if lv > LEVELS:
                raise _cannot(p, v, r)
            level[v] = lv
            _escalate(p, v, lv)
    lps += _release(p, cache)
    solver = Solver(tables, p.values(), cache)
    ranges = solver.ranges()
    lps += solver.lp_count
    seconds = time.perf_counter() - start
    result = audit_result(tables, p.hidden, ranges, p.rule, lps, seconds, before)
    return Protection(tables, tuple(p.hidden), tuple(p.rule), result, tuple(before))


def _release(p: _Pattern, cache: dict[frozenset[int], Component]) -> int:
    """Step 3 of the module docstring on a pattern that passes; the LPs it solved."""
    tables = p.tables
    denominator_of = {j: i for i, j in tables.row_numerator.items()}
    before = Solver(tables, p.values(), cache)
    small = {
        v
        for members in before.components(before.known_values())
        if len(members) <= RELEASE_COMPONENT
        for v in members
    }
    candidates = []
    for v in sorted(small):
        hidden = [i for i in tables.var_cells[v] if tables.cells[i].published and p.hidden[i]]
        if hidden and p.rule6_only(v):
            first = tables.cells[hidden[0]]
            order = (first.kind != DENOMINATOR, -int(first.raw or 0), hidden[0])
            candidates.append((order, v, hidden))
    candidates.sort(key=lambda c: c[0])
    lps = 0
    # A count's hidden cells do not change before its own try: each count is tried once.
    for _, v, cells in candidates:
        if lps >= RELEASE_LPS:
            break
        if any(p.hidden[denominator_of[i]] for i in cells if i in denominator_of):
            continue  # its row's denominator stays hidden, and with it the row (rule 2)
        for i in cells:
            p.hidden[i], p.rule[i] = False, SHOWN
        # The counts in an equation with ``v`` are the likeliest to become too narrow.
        near = [u for k in tables.var_constraints[v] for u, _ in tables.constraints[k].terms]
        solver = Solver(tables, p.values(), cache)
        passed = solver.passes(near)
        lps += solver.lp_count
        if not passed:
            for i in cells:
                p.hidden[i], p.rule[i] = True, RULE6
    return lps
