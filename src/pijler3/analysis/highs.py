"""Linear programs held in HiGHS, for the disclosure audit and its extra suppression.

scipy's own HiGHS bindings keep one LP between solves, so that each new objective (the
audit: one end of one count's range) or new bounds (rule 6's level 1: one failing
count's cheapest protection) starts from the previous basis. Without those bindings
(another scipy build) the callers fall back to :func:`scipy.optimize.linprog`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy.sparse import csr_array

# One end of a range: the optimum and the optimal solution (both None when unbounded).
Optimum = tuple[float | None, npt.NDArray[np.float64] | None]


class Problem(Protocol):
    """An LP: ``A_eq x = b_eq``, ``A_ub x <= b_ub``, ``x >= 0`` over the columns ``col``."""

    @property
    def col(self) -> Mapping[int, int]: ...
    @property
    def a_eq(self) -> csr_array | None: ...
    @property
    def b_eq(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def a_ub(self) -> csr_array | None: ...
    @property
    def b_ub(self) -> npt.NDArray[np.float64] | None: ...


@functools.cache
def _scipy_highs() -> Any:
    """scipy's own HiGHS bindings, for warm re-solves; None when absent (linprog alone).

    scipy.optimize and scipy.sparse are imported on the first LP, not with this module:
    they take about a second to import and most reports need no LP at all.
    """
    try:
        from scipy.optimize._highspy import _core
    except ImportError:  # pragma: no cover - depends on the scipy build
        return None
    return _core


class WarmModel:
    """An LP held in HiGHS (scipy's own bindings), solved again for each objective (or
    bounds) from the previous basis: the ranges of a component's variables then cost a
    few simplex iterations each instead of a fresh solve."""

    def __init__(self, comp: Problem) -> None:
        from scipy.sparse import csc_array, vstack

        _highs = self.highs = _scipy_highs()
        parts = [a for a in (comp.a_eq, comp.a_ub) if a is not None]
        matrix = csc_array(vstack(parts)) if parts else csc_array((0, len(comp.col)))
        n_eq = 0 if comp.b_eq is None else len(comp.b_eq)
        parts_b = [x for x in (comp.b_eq, comp.b_ub) if x is not None]
        b = np.concatenate(parts_b or [np.zeros(0)]).astype(np.float64)
        lower = b.copy()
        lower[n_eq:] = -_highs.kHighsInf
        lp = _highs.HighsLp()
        lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
        lp.col_cost_ = np.zeros(lp.num_col_)
        lp.col_lower_ = np.zeros(lp.num_col_)
        lp.col_upper_ = np.full(lp.num_col_, _highs.kHighsInf)
        lp.row_lower_, lp.row_upper_ = lower, b
        lp.a_matrix_.format_ = _highs.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        self.h = _highs._Highs()
        self.h.setOptionValue("output_flag", False)
        # Presolve would rebuild the problem on every run and lose the basis.
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("solver", "simplex")
        self.h.passModel(lp)
        self.n = lp.num_col_
        self.last: int | None = None

    def solve(self, j: int, sign: float) -> Optimum | None:
        """min (``sign`` 1) or max (-1) of column ``j``: its value and the solution
        (both None when unbounded); None when HiGHS does not finish (use linprog)."""
        if self.last != j:
            cost = np.zeros(self.n)
            cost[j] = 1.0
            self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
            self.last = j
        _highs = self.highs
        sense = _highs.ObjSense.kMinimize if sign > 0 else _highs.ObjSense.kMaximize
        self.h.changeObjectiveSense(sense)
        self.h.run()
        status = self.h.getModelStatus()
        if status == _highs.HighsModelStatus.kUnbounded and sign < 0:
            return None, None
        if status != _highs.HighsModelStatus.kOptimal:
            return None
        x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        return float(self.h.getInfo().objective_function_value), x

    def minimise(
        self,
        cost: npt.NDArray[np.float64],
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64] | None:
        """An optimal solution of ``min cost . x`` with the columns between ``lower`` and
        ``upper`` (``inf`` for none), from the previous basis; None when HiGHS finds no
        optimum (infeasible, or not finished: solve it afresh to tell which)."""
        _highs = self.highs
        idx = np.arange(self.n, dtype=np.int32)
        self.h.changeColsCost(self.n, idx, cost)
        self.h.changeColsBounds(
            self.n,
            idx,
            np.where(np.isinf(lower), -_highs.kHighsInf, lower),
            np.where(np.isinf(upper), _highs.kHighsInf, upper),
        )
        self.h.changeObjectiveSense(_highs.ObjSense.kMinimize)
        self.last = None  # solve() sets its own costs again
        self.h.run()
        if self.h.getModelStatus() != _highs.HighsModelStatus.kOptimal:
            return None
        return np.asarray(self.h.getSolution().col_value, dtype=np.float64)


def afresh(problem: Problem, cost: npt.NDArray[np.float64], bounds: Any) -> Any:
    """``min cost . x`` over ``problem`` solved from scratch by scipy's linprog (HiGHS),
    with ``bounds`` as linprog takes them: its result (``status``, ``fun``, ``x``). The
    fallback when there is no :class:`WarmModel` or it did not finish."""
    from scipy.optimize import linprog

    return linprog(
        cost,
        A_ub=problem.a_ub,
        b_ub=problem.b_ub,
        A_eq=problem.a_eq,
        b_eq=problem.b_eq,
        bounds=bounds,
        method="highs",
    )


def warm_model(comp: Problem) -> WarmModel | None:
    """``comp``'s LP held in HiGHS, or None when scipy lacks its own bindings (then each
    LP is solved afresh by linprog)."""
    return WarmModel(comp) if _scipy_highs() is not None else None
