"""Disclosure control across tables and deliveries: rules 6 and 7 of INDICATORS.md.

Rules 1-3 (:mod:`pijler3.analysis.disclosure`) protect one table of one delivery. Here
everything about to be published is modelled as one set of linked tables of counts, a
linear-programming audit computes for every hidden count the smallest and largest value
consistent with what is shown, and extra cells are hidden until the audit passes.

The model is :mod:`pijler3.analysis.linked_tables`.

**The audit (rule 7).** Variables with at least one shown cell are known, and so are
those an earlier report showed (below). An equation with one unknown left determines it
(propagation, exact); the other unknown variables are grouped into connected components
of the constraints, and for each hidden published variable two small LPs (scipy's
HiGHS) give its smallest and largest value. The audit is over the reals, which can only
widen the ranges an attacker with integers would find; so a range narrower than 1 is
treated as exact.

Every LP's optimal solution is a point every constraint allows, so a variable's range
is at least as wide as the spread of its values over the solutions found so far in its
component. A variable whose spread already exceeds what it needs passes without its own
two LPs (:meth:`Solver.ranges`); the variables that could fail, and the narrowest, are
still solved exactly, so the audit's failures and narrowest range do not change. On a
2,500-person store with 3 deliveries that is 818 LPs instead of 8,832 (6 s instead of
133 s).

**The requirement.** Every hidden count's range must be at least the protocol's
threshold of its kind (``min_numerator`` for numerators and population counts,
``min_denominator`` for denominators). INDICATORS.md asks this of the counts that rules
1-2 hide and only "not exact" of the others (a hidden count that can only be 0 is
accepted: zero discloses nothing, rule 5); we ask it of every hidden count because
which hidden count is primary is itself secret (a complement of 12 and a hidden 3 look
the same in the output), so that the audit can be re-run from the published output
alone (:func:`pijler3.analysis.disclosure_publish.audit_document`) without learning
which cells rules 1-2 hid.

**Earlier reports.** Each report publishes every retained delivery again, and a new
delivery changes the pattern of the old ones; whoever kept last quarter's report reads
it beside this one. So a count an earlier report showed (recorded in the analysis store,
:meth:`pijler3.analysis.store.Store.earlier`) is known here as if shown
(:func:`shown_values`), even where this report hides it: rules 1-3 of its delivery may
still hide it (rule 6 never shows what they hide), but the audit neither asks it for a
range nor lets it widen another count's. INDICATORS.md asks that no hidden count be
exact; for those counts that cannot hold, they were published already, and the audit
counts them apart (:attr:`AuditResult.hidden_earlier`). A count an earlier report hid
of a delivery still held stays hidden (:mod:`pijler3.analysis.disclosure_protect`), and
like every hidden count needs a range of its threshold: the earlier report's hidden
counts may rest on it, and after a purge the model no longer holds their equations.

**Extra suppression (rule 6)** is :mod:`pijler3.analysis.disclosure_protect`; its
outcome is a :class:`Protection`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy.sparse import csr_array

from pijler3.analysis.highs import Optimum, WarmModel, afresh, warm_model
from pijler3.analysis.linked_tables import (
    RULE3,
    RULE6,
    RULE12,
    Cell,
    LinkedTables,
)

# Below this width a range holds at most one integer: the count is exactly derivable.
EXACT = 1.0
TOL = 1e-6
# How much wider than needed the spread of the solutions found must be before a count's
# own LPs are skipped: far above HiGHS's feasibility tolerance (1e-7), so that points a
# hair outside the polytope never pass a count that is in fact too narrow.
MARGIN = 1e-3


# --- The audit ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass
class Component:
    """One connected component's LP: columns, ``A_eq x = b_eq``, ``A_ub x <= b_ub``."""

    col: dict[int, int]
    a_eq: csr_array | None
    b_eq: npt.NDArray[np.float64] | None
    a_ub: csr_array | None
    b_ub: npt.NDArray[np.float64] | None
    ranges: dict[int, Range] = field(default_factory=dict)
    model: WarmModel | None = None
    # Per column, the least and the greatest value it took in the optimal solutions found
    # so far: feasible points, so a column's range is at least as wide as their spread.
    seen_low: npt.NDArray[np.float64] | None = None
    seen_high: npt.NDArray[np.float64] | None = None

    def saw(self, x: npt.NDArray[np.float64]) -> None:
        """Take in one feasible point (an LP's optimal solution)."""
        if self.seen_low is None or self.seen_high is None:
            self.seen_low, self.seen_high = x.copy(), x.copy()
        else:
            np.minimum(self.seen_low, x, out=self.seen_low)
            np.maximum(self.seen_high, x, out=self.seen_high)

    def spread(self, j: int) -> float:
        """How far column ``j`` is known to move: a lower bound on its range's width."""
        if self.seen_low is None or self.seen_high is None:
            return 0.0
        return float(self.seen_high[j] - self.seen_low[j])


@dataclass
class Solver:
    """The LP audit of one hiding pattern; components are solved once and cached."""

    tables: LinkedTables
    values: list[float | None]  # per variable: its shown value, None while hidden
    cache: dict[frozenset[int], Component] = field(default_factory=dict)
    lp_count: int = 0
    # The equation that determined each propagated variable (set by known_values).
    why: dict[int, int] = field(default_factory=dict)
    # The component of each variable solved by :meth:`ranges`.
    comp_of: dict[int, Component] = field(default_factory=dict)
    # The hidden counts the last :meth:`ranges` left out: they pass without their LPs.
    skipped: int = 0

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

    def _lp(self, comp: Sequence[int], vals: Sequence[float | None]) -> Component:
        """The LP of one component (built once; the key is its set of variables, which
        fixes its constraints, and the values around it are the same in every pattern
        one :class:`Solver` cache serves)."""
        key = frozenset(comp)
        got = self.cache.get(key)
        if got is not None:
            return got
        tables = self.tables
        col = {v: j for j, v in enumerate(comp)}
        rows: dict[bool, list[list[tuple[int, float]]]] = {True: [], False: []}
        rhs: dict[bool, list[float]] = {True: [], False: []}
        seen: set[int] = set()
        for v in comp:
            for k in tables.var_constraints[v]:
                if k in seen:
                    continue
                seen.add(k)
                con = tables.constraints[k]
                rows[con.equal].append([(col[u], c) for u, c in con.terms if u in col])
                known = [c * _known(vals[u]) for u, c in con.terms if u not in col]
                rhs[con.equal].append(-sum(known))
        n = len(comp)

        def sparse(which: bool) -> csr_array | None:
            from scipy.sparse import csr_array

            if not rows[which]:
                return None
            merged: dict[tuple[int, int], float] = {}
            for i, row in enumerate(rows[which]):
                for j, c in row:
                    merged[(i, j)] = merged.get((i, j), 0.0) + c
            ij = np.array(list(merged), dtype=np.int64).reshape(-1, 2)
            data = np.array(list(merged.values()), dtype=np.float64)
            return csr_array((data, (ij[:, 0], ij[:, 1])), shape=(len(rows[which]), n))

        got = Component(
            col,
            sparse(True),
            np.asarray(rhs[True], dtype=np.float64) if rhs[True] else None,
            sparse(False),
            np.asarray(rhs[False], dtype=np.float64) if rhs[False] else None,
        )
        self.cache[key] = got
        return got

    def solve_var(self, comp: Component, v: int) -> Range:
        """The range of ``v`` within its component: two LPs, remembered."""
        if v in comp.ranges:
            return comp.ranges[v]
        if comp.model is None:
            comp.model = warm_model(comp)
        bounds: list[float] = []
        for sign in (1.0, -1.0):
            self.lp_count += 1
            got = comp.model.solve(comp.col[v], sign) if comp.model is not None else None
            if got is None:
                got = _linprog(comp, comp.col[v], sign)
            value, x = got
            bounds.append(float("inf") if value is None else value)
            if x is not None:
                comp.saw(x)
        comp.ranges[v] = Range(bounds[0], bounds[1])
        return comp.ranges[v]

    def ranges(self) -> dict[int, Range]:
        """The range of every hidden published count that could fail the audit, and of
        the narrowest: what :func:`failures` and :func:`audit_result` need.

        A count is left out when the optimal solutions already found in its component
        (each LP's, which are feasible points) spread it over more than it needs
        (``max(EXACT, threshold)``): its range is at least that spread, so it passes, and
        its own two LPs are skipped (:attr:`skipped`). Counts left out are solved after
        all when the narrowest range solved is not clearly narrower than their spread,
        so that the narrowest range reported is the true one.
        """
        vals = self.known_values()
        out = dict(self._exact(vals))
        waiting: list[tuple[int, Component]] = []
        for members in self.components(vals):
            comp = self._lp(members, vals)
            for v in members:
                self.comp_of[v] = comp
                if not self._published(v):
                    continue
                if self._skips(comp, v):
                    waiting.append((v, comp))
                else:
                    out[v] = self.solve_var(comp, v)
        self.skipped = self._narrowest(out, waiting)
        return out

    def passes(self, first: Sequence[int] = ()) -> bool:
        """Whether the audit passes: :meth:`ranges` without the narrowest range, stopping
        at the first count that fails (a try of the release step needs no more). The
        counts in ``first`` (those most likely to fail) are looked at before the rest."""
        vals = self.known_values()
        tables = self.tables
        if any(_fails(tables, v, r) for v, r in self._exact(vals)):
            return False
        members_of = {v: members for members in self.components(vals) for v in members}
        # Each component's LP is looked up once (its key hashes every member), and only
        # when one of its counts is reached: a try that fails early builds no other.
        built: dict[int, Component] = {}
        for v in dict.fromkeys([*(u for u in first if u in members_of), *members_of]):
            if not self._published(v):
                continue
            members = members_of[v]
            comp = built.get(id(members))
            if comp is None:
                comp = built[id(members)] = self._lp(members, vals)
            if not self._skips(comp, v) and _fails(tables, v, self.solve_var(comp, v)):
                return False
        return True

    def _exact(self, vals: Sequence[float | None]) -> Iterator[tuple[int, Range]]:
        """The hidden published counts that an equation determines, each with its one
        value as its range (``vals``: :meth:`known_values`)."""
        for v in range(self.tables.n_vars):
            if self.values[v] is None and vals[v] is not None and self._published(v):
                yield v, Range(_known(vals[v]), _known(vals[v]))

    def _narrowest(self, out: dict[int, Range], waiting: list[tuple[int, Component]]) -> int:
        """Solve the counts left out whose spread does not clearly exceed the narrowest
        range solved, until none is left (solving one may narrow the narrowest, never
        widen it); the number still left out."""
        while waiting:
            narrowest = min((r.width for r in out.values() if r.high > TOL), default=None)
            if narrowest is None:  # nothing solved yet: the least spread first
                due = [min(waiting, key=lambda vc: vc[1].spread(vc[1].col[vc[0]]))]
            else:
                due = [(v, c) for v, c in waiting if c.spread(c.col[v]) <= narrowest + MARGIN]
            if not due:
                break
            for v, comp in due:
                out[v] = self.solve_var(comp, v)
            waiting = [(v, c) for v, c in waiting if v not in out]
        return len(waiting)

    def _skips(self, comp: Component, v: int) -> bool:
        """Whether ``v``'s LPs can be skipped: not solved yet, and the solutions found
        spread it wider than it needs to pass."""
        need = max(EXACT, float(self.tables.var_threshold[v]))
        return v not in comp.ranges and comp.spread(comp.col[v]) >= need + MARGIN

    def _published(self, v: int) -> bool:
        return any(self.tables.cells[i].published for i in self.tables.var_cells[v])


def _linprog(comp: Component, j: int, sign: float) -> Optimum:
    """One end of a range by a fresh solve (scipy's linprog, HiGHS)."""
    c = np.zeros(len(comp.col))
    c[j] = sign
    res = afresh(comp, c, (0, None))
    if res.status == 3:  # unbounded: only possible when maximising
        return None, None
    if res.status != 0:
        raise RuntimeError(f"disclosure audit: the LP failed ({res.message})")
    return sign * float(res.fun), np.asarray(res.x, dtype=np.float64)


def _known(value: float | None) -> float:
    assert value is not None
    return value


def shown_values(
    tables: LinkedTables,
    hidden: Sequence[bool],
    shown_value: Sequence[int | None],
    earlier: Sequence[int | None] | None = None,
) -> list[float | None]:
    """Per variable: the value its shown cells publish, or the value an earlier report
    showed (``earlier``, per variable); None while unknown. A count an earlier report
    showed is known to whoever kept that report: the audit treats it as shown, so it
    neither needs a range of its own nor gives one to the counts it is in an equation
    with."""
    vals: list[float | None] = [None] * tables.n_vars
    if earlier is not None:
        for v, value in enumerate(earlier):
            if value is not None:
                vals[v] = float(value)
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
    # Of the hidden counts, those an earlier report showed (known, not audited).
    hidden_earlier: int
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


def failures(tables: LinkedTables, ranges: Mapping[int, Range]) -> list[tuple[int, Range]]:
    """The hidden variables whose range is narrower than their threshold, in cell order."""
    out = [(v, r) for v, r in ranges.items() if _fails(tables, v, r)]
    out.sort(key=lambda vr: tables.var_cells[vr[0]][0])
    return out


def audit(
    tables: LinkedTables,
    hidden: Sequence[bool],
    shown_value: Sequence[int | None] | None = None,
    rules_hid: Sequence[int] | None = None,
    earlier: Sequence[int | None] | None = None,
) -> AuditResult:
    """The LP audit of one hiding pattern: every hidden count's range, the failures.

    ``shown_value`` per cell defaults to the raw counts. ``rules_hid`` (per cell, the
    rule that hid it) only feeds the counts of the result. ``earlier``: per variable,
    the value an earlier report showed (see :func:`shown_values`).
    """
    start = time.perf_counter()
    values = shown_value if shown_value is not None else [c.raw for c in tables.cells]
    solver = Solver(tables, shown_values(tables, hidden, values, earlier))
    ranges = solver.ranges()
    return audit_result(
        tables, hidden, ranges, rules_hid, solver.lp_count, time.perf_counter() - start, earlier
    )


def audit_result(
    tables: LinkedTables,
    hidden: Sequence[bool],
    ranges: Mapping[int, Range],
    rules_hid: Sequence[int] | None,
    lps: int,
    seconds: float,
    earlier: Sequence[int | None] | None = None,
) -> AuditResult:
    """The :class:`AuditResult` of a pattern whose hidden ranges are already solved (by
    :func:`audit`, or by the protection's own incremental solver)."""
    counts = {RULE12: 0, RULE3: 0, RULE6: 0}
    known = 0
    for i, c in enumerate(tables.cells):
        if c.published and hidden[i]:
            rule = rules_hid[i] if rules_hid is not None else RULE6
            counts[rule if rule in counts else RULE6] += 1
            known += earlier is not None and earlier[c.var] is not None
    narrow = min(
        ((v, r) for v, r in ranges.items() if r.high > TOL),
        key=lambda vr: (vr[1].width, tables.var_cells[vr[0]][0]),
        default=None,
    )
    fails = tuple(
        Failure(tables.cells[first_published(tables, v)], r, tables.var_threshold[v])
        for v, r in failures(tables, ranges)
    )
    return AuditResult(
        hidden_rules12=counts[RULE12],
        hidden_rule3=counts[RULE3],
        hidden_rule6=counts[RULE6],
        hidden_earlier=known,
        narrowest=narrow[1] if narrow else None,
        narrowest_cell=tables.cells[first_published(tables, narrow[0])] if narrow else None,
        failures=fails,
        cells=sum(1 for c in tables.cells if c.published),
        lps=lps,
        seconds=seconds,
    )


def first_published(tables: LinkedTables, v: int) -> int:
    """The first published cell of variable ``v``: the one a failure is reported by."""
    return next(i for i in tables.var_cells[v] if tables.cells[i].published)


# --- The outcome of protection -------------------------------------------------------------


@dataclass(frozen=True)
class Protection:
    """The outcome of :func:`protect`: per cell whether it is hidden and by which rule;
    per variable the value an earlier report showed (None when none did)."""

    tables: LinkedTables
    hidden: tuple[bool, ...]
    rule: tuple[int, ...]
    result: AuditResult
    earlier: tuple[int | None, ...] = ()

    def hidden_keys(self) -> set[tuple[dt.date, str, str, str, str]]:
        return {
            (c.peildatum, c.table, c.breakdown, c.category, c.kind)
            for c, h in zip(self.tables.cells, self.hidden, strict=True)
            if h and c.published
        }
