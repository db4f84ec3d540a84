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

Earlier reports (:func:`protect`'s ``earlier``, :class:`~pijler3.analysis.linked_tables.Earlier`):
a count one showed is known, so the LPs keep it at its value and rule 6 never hides it
(that protects nothing); the counts this report hides are protected by counts no
report has shown yet. A count one hid of a delivery still held stays hidden, and the
release never shows it: its earlier report's hidden counts may rest on it.

Termination: every round hides a cell, shows one for good or raises a failing count's
level, and all three are bounded (the cells; five levels per count); the release tries
a bounded number of counts once. Determinism: every choice is ordered by counts, codes
and cell order, never by a hash or a clock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
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
)
from pijler3.analysis.disclosure_pattern import Pattern, Place
from pijler3.analysis.highs import WarmModel, afresh, warm_model
from pijler3.analysis.linked_tables import (
    DENOMINATOR,
    RULE6,
    SHOWN,
    TOTAL,
    DeliveryCounts,
    Earlier,
    build,
    earlier_hidden,
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


def _cannot(p: Pattern, v: int, r: Range) -> UserError:
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


def _mend_exact(p: Pattern) -> None:
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
    p: Pattern, solver: Solver, values: Sequence[float | None], v: int
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


def _escalate(p: Pattern, v: int, level: int) -> int:
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
    never: npt.NDArray[np.bool_]  # per count: :meth:`Pattern.never`
    cost: npt.NDArray[np.float64]  # per count: :meth:`Pattern.cost`
    lp: Component
    warm: WarmModel | None
    reach: npt.NDArray[np.float64]

    @classmethod
    def of(cls, p: Pattern) -> _Model:
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


def _cheapest(p: Pattern, v: int) -> list[int]:
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


def _hide_totals(p: Pattern, v: int, places: Sequence[Place]) -> int:
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
    deliveries: Sequence[DeliveryCounts], rules: Disclosure, earlier: Earlier | None = None
) -> Protection:
    """Rules 1-3 per delivery, then rule 6 across everything, audited (rule 7).

    ``earlier``: what earlier reports showed and hid (:class:`linked_tables.Earlier`).
    Raises :class:`UserError` when the audit cannot pass however much is hidden.
    """
    start = time.perf_counter()
    tables = build(deliveries, rules)
    rule, _primary = start_pattern(tables, deliveries, rules)
    hidden = [r != SHOWN for r in rule]
    earlier = earlier or Earlier()
    before = earlier_values(tables, earlier)
    held = {i for i in earlier_hidden(tables, earlier) if before[tables.cells[i].var] is None}
    for i in held:
        if not hidden[i]:
            hidden[i], rule[i] = True, RULE6  # an earlier report hid it (rule 6 across reports)
    raws = [c.raw for c in tables.cells]
    p = Pattern(tables, hidden, rule, raws, before, held={tables.cells[i].var for i in held})
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


def _release(p: Pattern, cache: dict[frozenset[int], Component]) -> int:
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
        if hidden and p.rule6_only(v) and v not in p.held:
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
