"""Disclosure control across tables and deliveries: rules 6 and 7 of INDICATORS.md.

Rules 1-3 (:mod:`pijler3.analysis.disclosure`) protect one table of one delivery. Here
everything about to be published is modelled as one set of linked tables of counts, a
linear-programming audit computes for every hidden count the smallest and largest value
consistent with what is shown, and extra cells are hidden until the audit passes.

The model is :mod:`pijler3.analysis.linked_tables`.

**The audit (rule 7).** Variables with at least one shown cell are known. An equation
with one unknown left determines it (propagation, exact); the other unknown variables
are grouped into connected components of the constraints, and for each hidden published
variable two small LPs (scipy's HiGHS) give its smallest and largest value. The audit is
over the reals, which can only widen the ranges an attacker with integers would find;
so a range narrower than 1 is treated as exact.

**The requirement.** Every hidden count's range must be at least the protocol's
threshold of its kind (``min_numerator`` for numerators and population counts,
``min_denominator`` for denominators). INDICATORS.md asks this of the counts that rules
1-2 hide and only "not exact" of the others (a hidden count that can only be 0 is
accepted: zero discloses nothing, rule 5); we ask it of every hidden count because
which hidden count is primary is itself secret (a complement of 12 and a hidden 3 look
the same in the output), so that the audit can be re-run from the published output
alone (:func:`audit_published`) without learning which cells rules 1-2 hid.

**Extra suppression (rule 6), deterministic.** First, a variable hidden anywhere is
hidden everywhere it is published (otherwise it is known), and a hidden denominator
hides the numerator of its row, as rule 2 does. Then, while the audit fails, the first
failing variable (in cell order) gets one more hidden neighbour: among the shown
variables in an equation with it, candidates are ordered by (a ``totaal`` row last,
fewest cells that would be hidden, smallest count, cell order); the first candidate
that alone lifts the failing range to its threshold is taken, else the one that widens
it most. Zeros are never hidden (rule 5) except as the numerator of a hidden row, the
rows of a delivery are never hidden (the quality section shows them anyway), and no cell
that rules 1-3 hid is ever shown. When no candidate is left the audit cannot pass and
:func:`protect` raises a :class:`~pijler3.contract.errors.UserError`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from pijler3.analysis.linked_tables import (
    ROWS,
    RULE3,
    RULE6,
    RULE12,
    SHOWN,
    TOTAL,
    Cell,
    DeliveryCounts,
    LinkedTables,
    build,
    start_pattern,
)
from pijler3.contract.errors import UserError
from pijler3.contract.protocol import Disclosure

# Below this width a range holds at most one integer: the count is exactly derivable.
EXACT = 1.0
TOL = 1e-6
# Candidates tried one by one before taking the one that widens a failing range most.
LOOKAHEAD = 8


# --- The audit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass
class _Component:
    """One connected component's LP: columns, ``A_eq x = b_eq``, ``A_ub x <= b_ub``."""

    col: dict[int, int]
    a_eq: npt.NDArray[np.float64] | None
    b_eq: npt.NDArray[np.float64] | None
    a_ub: npt.NDArray[np.float64] | None
    b_ub: npt.NDArray[np.float64] | None
    eq_constraints: list[int]  # the constraint behind each row of a_eq
    ub_constraints: list[int]  # and of a_ub
    ranges: dict[int, Range] = field(default_factory=dict)


@dataclass
class _Solver:
    """The LP audit of one hiding pattern; components are solved once and cached."""

    tables: LinkedTables
    values: list[float | None]  # per variable: its shown value, None while hidden
    cache: dict[frozenset[int], _Component] = field(default_factory=dict)
    lp_count: int = 0
    # The equation that determined each propagated variable (set by known_values).
    why: dict[int, int] = field(default_factory=dict)

    def known_values(self) -> list[float | None]:
        """Shown values, plus every unknown an equation with one unknown determines."""
        vals = list(self.values)
        cons = self.tables.constraints
        unknown = [sum(1 for v, _ in c.terms if vals[v] is None) if c.equal else 0 for c in cons]
        queue = [k for k, n in enumerate(unknown) if n == 1]
        while queue:
            k = queue.pop()
            con = cons[k]
            free = [(v, c) for v, c in con.terms if vals[v] is None]
            if len(free) != 1:
                continue
            v, coef = free[0]
            rest = sum(c * _known(vals[u]) for u, c in con.terms if u != v)
            vals[v] = -rest / coef
            self.why[v] = k
            for k2 in self.tables.var_constraints[v]:
                if cons[k2].equal:
                    unknown[k2] -= 1
                    if unknown[k2] == 1:
                        queue.append(k2)
        return vals

    def components(self, vals: Sequence[float | None]) -> list[list[int]]:
        parent = list(range(self.tables.n_vars))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for con in self.tables.constraints:
            free = [v for v, _ in con.terms if vals[v] is None]
            for v in free[1:]:
                a, b = find(free[0]), find(v)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        comps: dict[int, list[int]] = {}
        for v in range(self.tables.n_vars):
            if vals[v] is None:
                comps.setdefault(find(v), []).append(v)
        return list(comps.values())

    def _lp(self, comp: Sequence[int], vals: Sequence[float | None]) -> _Component:
        """The LP of one component (built once; the key is its set of variables, which
        fixes its constraints, and the values around it are the same in every pattern
        one :class:`_Solver` cache serves)."""
        key = frozenset(comp)
        got = self.cache.get(key)
        if got is not None:
            return got
        tables = self.tables
        col = {v: j for j, v in enumerate(comp)}
        rows: dict[bool, list[list[tuple[int, float]]]] = {True: [], False: []}
        rhs: dict[bool, list[float]] = {True: [], False: []}
        seen: set[int] = set()
        order: dict[bool, list[int]] = {True: [], False: []}
        for v in comp:
            for k in tables.var_constraints[v]:
                if k in seen:
                    continue
                seen.add(k)
                con = tables.constraints[k]
                order[con.equal].append(k)
                rows[con.equal].append([(col[u], c) for u, c in con.terms if u in col])
                known = [c * _known(vals[u]) for u, c in con.terms if u not in col]
                rhs[con.equal].append(-sum(known))
        n = len(comp)

        def dense(which: bool) -> npt.NDArray[np.float64] | None:
            if not rows[which]:
                return None
            a = np.zeros((len(rows[which]), n))
            for i, row in enumerate(rows[which]):
                for j, c in row:
                    a[i, j] += c
            return a

        got = _Component(
            col,
            dense(True),
            np.asarray(rhs[True]) if rhs[True] else None,
            dense(False),
            np.asarray(rhs[False]) if rhs[False] else None,
            order[True],
            order[False],
        )
        self.cache[key] = got
        return got

    def solve_var(self, comp: _Component, v: int) -> Range:
        """The range of ``v`` within its component: two LPs, remembered."""
        if v in comp.ranges:
            return comp.ranges[v]
        bounds: list[float] = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(comp.col))
            c[comp.col[v]] = sign
            self.lp_count += 1
            res = linprog(
                c,
                A_ub=comp.a_ub,
                b_ub=comp.b_ub,
                A_eq=comp.a_eq,
                b_eq=comp.b_eq,
                bounds=(0, None),
                method="highs",
            )
            if res.status == 3:  # unbounded: only possible when maximising
                bounds.append(float("inf"))
            elif res.status != 0:
                raise RuntimeError(f"disclosure audit: the LP failed ({res.message})")
            else:
                bounds.append(sign * float(res.fun))
        comp.ranges[v] = Range(bounds[0], bounds[1])
        return comp.ranges[v]

    def ranges(self, first_failure_only: bool = False) -> dict[int, Range]:
        """Every hidden published variable's range; with ``first_failure_only``, each
        component is solved only up to its first failing variable."""
        vals = self.known_values()
        out: dict[int, Range] = {}
        for v in range(self.tables.n_vars):
            if self.values[v] is None and vals[v] is not None and self._published(v):
                out[v] = Range(_known(vals[v]), _known(vals[v]))
        for members in self.components(vals):
            comp = self._lp(members, vals)
            for v in members:
                if not self._published(v):
                    continue
                out[v] = self.solve_var(comp, v)
                if first_failure_only and _fails(self.tables, v, out[v]):
                    break
        return out

    def binding(self, v: int) -> set[int]:
        """The constraints that hold ``v``'s smallest or largest value where it is (those
        with a non-zero dual value at either optimum); empty when ``v`` is determined by
        an equation alone or is unbounded."""
        vals = self.known_values()
        if vals[v] is not None:
            return set()
        members = next(m for m in self.components(vals) if v in m)
        comp = self._lp(members, vals)
        out: set[int] = set()
        for sign in (1.0, -1.0):
            c = np.zeros(len(comp.col))
            c[comp.col[v]] = sign
            res = linprog(
                c,
                A_ub=comp.a_ub,
                b_ub=comp.b_ub,
                A_eq=comp.a_eq,
                b_eq=comp.b_eq,
                bounds=(0, None),
                method="highs",
            )
            if res.status != 0:
                continue
            for ks, marg in (
                (comp.eq_constraints, res.eqlin.marginals if comp.a_eq is not None else []),
                (comp.ub_constraints, res.ineqlin.marginals if comp.a_ub is not None else []),
            ):
                out.update(k for k, m in zip(ks, marg, strict=True) if abs(m) > TOL)
        return out

    def range_of(self, v: int) -> Range:
        vals = self.known_values()
        if vals[v] is not None:
            return Range(_known(vals[v]), _known(vals[v]))
        for members in self.components(vals):
            if v in members:
                return self.solve_var(self._lp(members, vals), v)
        raise AssertionError("an unknown variable lies in a component")

    def _published(self, v: int) -> bool:
        return any(self.tables.cells[i].published for i in self.tables.var_cells[v])


def _known(value: float | None) -> float:
    assert value is not None
    return value


def _values(
    tables: LinkedTables, hidden: Sequence[bool], shown_value: Sequence[int | None]
) -> list[float | None]:
    vals: list[float | None] = [None] * tables.n_vars
    for i, c in enumerate(tables.cells):
        if c.published and not hidden[i]:
            value = shown_value[i]
            assert value is not None
            vals[c.var] = float(value)
    return vals


@dataclass(frozen=True)
class Failure:
    cell: Cell
    range: Range
    threshold: int


@dataclass(frozen=True)
class AuditResult:
    """What the audit found and what each rule hid (counted in published cells)."""

    hidden_rules12: int
    hidden_rule3: int
    hidden_rule6: int
    narrowest: Range | None  # the narrowest range left among hidden counts
    narrowest_cell: Cell | None
    failures: tuple[Failure, ...]
    cells: int
    lps: int
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def hidden(self) -> int:
        return self.hidden_rules12 + self.hidden_rule3 + self.hidden_rule6


def _fails(tables: LinkedTables, v: int, r: Range) -> bool:
    if r.high <= TOL:
        return False  # it can only be 0, and zero discloses nothing (rule 5)
    return r.width < max(EXACT, float(tables.var_threshold[v])) - TOL


def _failures(tables: LinkedTables, ranges: Mapping[int, Range]) -> list[tuple[int, Range]]:
    out = [(v, r) for v, r in ranges.items() if _fails(tables, v, r)]
    out.sort(key=lambda vr: tables.var_cells[vr[0]][0])
    return out


def audit(
    tables: LinkedTables,
    hidden: Sequence[bool],
    shown_value: Sequence[int | None] | None = None,
    rules_hid: Sequence[int] | None = None,
) -> AuditResult:
    """The LP audit of one hiding pattern: every hidden count's range, the failures.

    ``shown_value`` per cell defaults to the raw counts. ``rules_hid`` (per cell, the
    rule that hid it) only feeds the counts of the result.
    """
    start = time.perf_counter()
    values = shown_value if shown_value is not None else [c.raw for c in tables.cells]
    solver = _Solver(tables, _values(tables, hidden, values))
    ranges = solver.ranges()
    return _result(tables, hidden, ranges, rules_hid, solver.lp_count, time.perf_counter() - start)


def _result(
    tables: LinkedTables,
    hidden: Sequence[bool],
    ranges: Mapping[int, Range],
    rules_hid: Sequence[int] | None,
    lps: int,
    seconds: float,
) -> AuditResult:
    counts = {RULE12: 0, RULE3: 0, RULE6: 0}
    for i, c in enumerate(tables.cells):
        if c.published and hidden[i]:
            rule = rules_hid[i] if rules_hid is not None else RULE6
            counts[rule if rule in counts else RULE6] += 1
    narrow = min(
        ((v, r) for v, r in ranges.items() if r.high > TOL),
        key=lambda vr: (vr[1].width, tables.var_cells[vr[0]][0]),
        default=None,
    )
    fails = tuple(
        Failure(tables.cells[_first_published(tables, v)], r, tables.var_threshold[v])
        for v, r in _failures(tables, ranges)
    )
    return AuditResult(
        hidden_rules12=counts[RULE12],
        hidden_rule3=counts[RULE3],
        hidden_rule6=counts[RULE6],
        narrowest=narrow[1] if narrow else None,
        narrowest_cell=tables.cells[_first_published(tables, narrow[0])] if narrow else None,
        failures=fails,
        cells=sum(1 for c in tables.cells if c.published),
        lps=lps,
        seconds=seconds,
    )


def _first_published(tables: LinkedTables, v: int) -> int:
    return next(i for i in tables.var_cells[v] if tables.cells[i].published)


# --- Extra suppression ------------------------------------------------------------------------


def _hide_var(tables: LinkedTables, v: int, hidden: list[bool], rule: list[int]) -> list[int]:
    """Hide every published cell of ``v`` and the numerators of its rows; the cells that
    changed, recursively closed under "hidden somewhere means hidden everywhere"."""
    changed: list[int] = []
    todo = [v]
    while todo:
        u = todo.pop()
        for i in tables.var_cells[u]:
            for j in (i, tables.row_numerator.get(i)):
                if j is None or not tables.cells[j].published or hidden[j]:
                    continue
                hidden[j] = True
                rule[j] = RULE6
                changed.append(j)
                todo.append(tables.cells[j].var)
    return changed


def _cost(tables: LinkedTables, v: int, hidden: Sequence[bool]) -> int:
    trial = list(hidden)
    return len(_hide_var(tables, v, trial, [0] * len(trial)))


@dataclass(frozen=True)
class Protection:
    """The outcome of :func:`protect`: per cell whether it is hidden and by which rule."""

    tables: LinkedTables
    hidden: tuple[bool, ...]
    rule: tuple[int, ...]
    result: AuditResult

    def hidden_keys(self) -> set[tuple[dt.date, str, str, str, str]]:
        return {
            (c.peildatum, c.table, c.breakdown, c.category, c.kind)
            for c, h in zip(self.tables.cells, self.hidden, strict=True)
            if h and c.published
        }


def protect(deliveries: Sequence[DeliveryCounts], rules: Disclosure) -> Protection:
    """Rules 1-3 per delivery, then rule 6 across everything, audited (rule 7).

    Raises :class:`UserError` when no more cells can be hidden and the audit still fails.
    """
    start = time.perf_counter()
    tables = build(deliveries, rules)
    rule, _primary = start_pattern(tables, deliveries, rules)
    hidden = [r != SHOWN for r in rule]
    for i in range(len(hidden)):
        if hidden[i]:
            _hide_var(tables, tables.cells[i].var, hidden, rule)
    raws = [c.raw for c in tables.cells]
    cache: dict[frozenset[int], _Component] = {}
    lps = 0
    while True:
        solver = _Solver(tables, _values(tables, hidden, raws), cache)
        ranges = solver.ranges(first_failure_only=True)
        lps += solver.lp_count
        fails = _failures(tables, ranges)
        if not fails:
            break
        # One more hidden variable for the first failure, in cell order, then audit
        # again: a pick often mends several failures at once, so picking for every
        # failure of a round would hide more than needed. Components that did not
        # change are not solved again (the cache).
        for v, r in fails[:1]:
            pick = _choose(tables, v, r, hidden, raws, cache)
            if pick is None:
                cell = tables.cells[_first_published(tables, v)]
                raise UserError(
                    f"disclosure control cannot protect {cell.table} {cell.breakdown} "
                    f"{cell.category} of {cell.peildatum:%d/%m/%Y}: a hidden count can still "
                    f"be narrowed to a range of {r.width:g} (at least "
                    f"{tables.var_threshold[v]} is needed) and no further count can be "
                    "hidden; nothing was written.",
                    hint="Check the protocol's disclosure thresholds.",
                )
            _hide_var(tables, pick, hidden, rule)
    result = _result(tables, hidden, ranges, rule, lps, time.perf_counter() - start)
    return Protection(tables, tuple(hidden), tuple(rule), result)


# The candidate search is one ordered scan over several kinds of cell; split, its
# order of preference would be spread over helpers and harder to check.
def _choose(  # noqa: C901, PLR0912
    tables: LinkedTables,
    v: int,
    r: Range,
    hidden: Sequence[bool],
    raws: Sequence[int | None],
    cache: dict[frozenset[int], _Component],
) -> int | None:
    """The shown variable to hide next for failing variable ``v`` (module docstring)."""
    need = max(EXACT, float(tables.var_threshold[v])) - TOL
    values = _values(tables, hidden, raws)
    # First the shown counts in the constraints that hold v's range where it is (the
    # LP's binding constraints); else, when an equation alone determines v, the shown
    # counts in equations with v or with the unknowns of those equations, nearest first.
    solver = _Solver(tables, values, cache)
    binding = solver.binding(v)
    solver.known_values()
    if v in solver.why:
        # Exact by propagation: the shown counts of its derivation (the equation that
        # determined it, and recursively those that determined its unknown parts), so
        # that hiding one of them breaks the chain where it is cheapest.
        binding, todo = set(), [v]
        while todo and len(binding) < 64:
            u = todo.pop()
            k = solver.why.get(u)
            if k is None or k in binding:
                continue
            binding.add(k)
            todo += [w for w, _c in tables.constraints[k].terms if values[w] is None]
    ring = sorted(
        {
            w
            for k in binding
            for w, _c in tables.constraints[k].terms
            if values[w] is not None and _hideable(tables, w, hidden)
        }
    )
    frontier, seen_vars = [v], {v}
    for _ in range(4):
        if ring:
            break
        nxt: list[int] = []
        for u in frontier:
            for k in tables.var_constraints[u]:
                for w, _c in tables.constraints[k].terms:
                    if w not in seen_vars:
                        seen_vars.add(w)
                        nxt.append(w)
        ring = [w for w in nxt if values[w] is not None and _hideable(tables, w, hidden)]
        frontier = [w for w in nxt if values[w] is None]
        if not frontier:
            break
    if not ring:
        return None

    def order(w: int) -> tuple[bool, int, float, int]:
        cells = [i for i in tables.var_cells[w] if tables.cells[i].published]
        is_total = any(tables.cells[i].breakdown == TOTAL for i in cells)
        return (is_total, _cost(tables, w, hidden), float(values[w] or 0), cells[0])

    ranked = sorted(ring, key=order)
    # A totaal is tried only when no other count widens the range at all.
    inner = [w for w in ranked if not order(w)[0]][:LOOKAHEAD]
    totals = [w for w in ranked if order(w)[0]][:LOOKAHEAD]
    best, best_width = ranked[0], r.width
    for group in (inner, totals):
        for w in group:
            trial_hidden = list(hidden)
            _hide_var(tables, w, trial_hidden, [0] * len(trial_hidden))
            width = _Solver(tables, _values(tables, trial_hidden, raws), cache).range_of(v).width
            if width >= need:
                return w
            if width > best_width + TOL:
                best, best_width = w, width
        if best_width > r.width + TOL:
            return best
    return best


def _hideable(tables: LinkedTables, w: int, hidden: Sequence[bool]) -> bool:
    cells = [i for i in tables.var_cells[w] if tables.cells[i].published]
    if not cells or any(tables.cells[i].quantity == ROWS for i in cells):
        return False
    raw = tables.cells[cells[0]].raw
    return bool(raw) and not all(hidden[i] for i in cells)
