"""Solver: pass a :class:`~parkcarbon.planning.model.LinearModel` to HiGHS and return the raw solution.

This module only calls the solver (HiGHS through ``highspy``'s matrix API, ``passModel``) and
reports its status; it knows nothing about batteries or tariffs. Interpreting an infeasible or
unbounded status is the caller's job (:mod:`parkcarbon.planning.dispatch`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt

from parkcarbon.errors import PlanningError
from parkcarbon.planning.model import LinearModel

_HighsClass: Callable[[], Any]
try:  # the core class does not print HiGHS' banner on construction; the wrapper does
    from highspy._core import _Highs as _HighsClass
except ImportError:  # pragma: no cover - older/newer highspy layouts
    _HighsClass = highspy.Highs

__all__ = ["SolveStatus", "SolverOptions", "SolverOutput", "solve"]


class SolveStatus(StrEnum):
    """Outcome of a solve, independent of the solver's own enum."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    UNBOUNDED_OR_INFEASIBLE = "unbounded_or_infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"


@dataclass(frozen=True)
class SolverOptions:
    """Options passed to HiGHS.

    method : ``"auto"`` (default: interior point without crossover for sizing models — about twice
        as fast as simplex there, measured on a year of hourly data — and HiGHS' own choice, dual
        simplex, for dispatch), or ``"choose"``, ``"simplex"``, ``"ipm"``, ``"pdlp"``.
    crossover : run crossover after IPM; ``None`` = on, except off for ``auto`` on sizing models
        (the objective and capacities are what sizing needs; schedules come from a simplex re-run).
    time_limit_s : wall-clock limit [s]; ``None`` = none.
    threads : HiGHS threads; ``None`` = HiGHS default.
    presolve : run HiGHS presolve.
    """

    method: str = "auto"
    crossover: bool | None = None
    time_limit_s: float | None = None
    threads: int | None = None
    presolve: bool = True

    def __post_init__(self) -> None:
        if self.method not in ("auto", "choose", "simplex", "ipm", "pdlp"):
            raise PlanningError(f"unknown solver method {self.method!r}",
                                message_zh=f"未知求解方法 {self.method!r}",
                                hint="use auto, choose, simplex, ipm or pdlp",
                                hint_zh="请使用 auto、choose、simplex、ipm 或 pdlp")

    def highs_options(self, model: LinearModel) -> dict[str, bool | int | float | str]:
        """The HiGHS option values these options mean for ``model``."""
        method = self.method
        crossover = self.crossover
        if method == "auto":
            method = "ipm" if model.has_investment else "choose"
            if crossover is None and model.has_investment:
                crossover = False
        opts: dict[str, bool | int | float | str] = {"output_flag": False, "solver": method,
                                   "presolve": "on" if self.presolve else "off"}
        if crossover is not None:
            opts["run_crossover"] = "on" if crossover else "off"
        if self.time_limit_s is not None:
            opts["time_limit"] = float(self.time_limit_s)
        if self.threads is not None:
            opts["threads"] = int(self.threads)
        return opts


@dataclass(frozen=True)
class SolverOutput:
    """What the solver returned: status, objective (incl. offset), primal values, timing."""

    status: SolveStatus
    objective: float | None
    x: npt.NDArray[np.float64] | None
    row_activity: npt.NDArray[np.float64] | None
    solve_time_s: float
    iterations: int
    solver: str
    raw_status: str


_STATUS = {
    "kOptimal": SolveStatus.OPTIMAL,
    "kInfeasible": SolveStatus.INFEASIBLE,
    "kUnbounded": SolveStatus.UNBOUNDED,
    "kUnboundedOrInfeasible": SolveStatus.UNBOUNDED_OR_INFEASIBLE,
    "kTimeLimit": SolveStatus.TIME_LIMIT,
}


def pass_model(h: Any, model: LinearModel) -> None:
    """Load ``model`` into a HiGHS instance through the column-wise matrix API."""
    status = h.passModel(
        model.num_col, model.num_row, model.num_nz,
        1,  # MatrixFormat.kColwise
        1,  # ObjSense.kMinimize
        model.offset,
        model.col_cost, model.col_lower, model.col_upper,
        model.row_lower, model.row_upper,
        model.a_start[:-1], model.a_index, model.a_value,
        np.zeros(model.num_col, dtype=np.int32),  # integrality: all continuous (a pure LP)
    )
    if status == highspy.HighsStatus.kError:
        raise PlanningError("HiGHS rejected the model", message_zh="HiGHS 拒绝了该模型",
                            hint="report this as a bug with the input data", hint_zh="请附上输入数据报告此缺陷")


def solve(model: LinearModel, options: SolverOptions | None = None) -> SolverOutput:
    """Solve ``model`` with HiGHS. Never raises for infeasible/unbounded: see ``status``."""
    opts = options or SolverOptions()
    h = _HighsClass()
    for key, value in opts.highs_options(model).items():
        h.setOptionValue(key, value)
    pass_model(h, model)
    t0 = time.perf_counter()
    h.run()
    elapsed = time.perf_counter() - t0
    ms = h.getModelStatus()
    raw = ms.name if hasattr(ms, "name") else str(ms)
    status = _STATUS.get(raw, SolveStatus.ERROR)
    info = h.getInfo()
    iterations = int(info.simplex_iteration_count) + int(info.ipm_iteration_count) + int(
        getattr(info, "pdlp_iteration_count", 0))
    version = f"HiGHS {h.version()}"
    if status is not SolveStatus.OPTIMAL:
        return SolverOutput(status, None, None, None, elapsed, iterations, version, raw)
    sol = h.getSolution()
    x = np.asarray(sol.col_value, dtype=np.float64)
    act = np.asarray(sol.row_value, dtype=np.float64)
    x.setflags(write=False)
    act.setflags(write=False)
    return SolverOutput(status, float(info.objective_function_value), x, act, elapsed, iterations, version, raw)
