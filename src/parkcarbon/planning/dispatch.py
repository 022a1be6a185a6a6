"""Dispatch pipeline (优化调度): problem → model → HiGHS → frozen result.

:func:`optimise_dispatch` is the one entry point; each stage stays a separate module
(:mod:`~parkcarbon.planning.model`, :mod:`~parkcarbon.planning.solver`,
:mod:`~parkcarbon.planning.results`) so the matrices can be inspected or handed to another solver.
"""

from __future__ import annotations

from parkcarbon.errors import PlanningError
from parkcarbon.planning.diagnose import explain_infeasible, find_power_deficits, infeasible_error
from parkcarbon.planning.model import LinearModel, build_dispatch_model
from parkcarbon.planning.problem import DispatchProblem
from parkcarbon.planning.results import DispatchResult, read_dispatch
from parkcarbon.planning.solver import SolverOptions, SolverOutput, SolveStatus, solve

__all__ = ["check_status", "optimise_dispatch"]


def check_status(out: SolverOutput, problem: DispatchProblem, model: LinearModel) -> None:
    """Raise a clear error unless ``out`` is optimal (infeasible → :class:`InfeasibleError`)."""
    if out.status is SolveStatus.OPTIMAL:
        return
    if out.status in (SolveStatus.INFEASIBLE, SolveStatus.UNBOUNDED_OR_INFEASIBLE):
        diagnoses = explain_infeasible(problem)
        if diagnoses or out.status is SolveStatus.INFEASIBLE:
            raise infeasible_error(diagnoses, sorted(model.rows))
    if out.status in (SolveStatus.UNBOUNDED, SolveStatus.UNBOUNDED_OR_INFEASIBLE):
        raise PlanningError(
            "the optimisation is unbounded: some flow earns money (or emission credit) without limit",
            message_zh="优化问题无界：某个电力流可以无限获利（或无限获得减排量）",
            hint="negative prices or emission factors need finite grid limits; profitable PV or storage in "
                 "sizing needs a maximum capacity (roof area)",
            hint_zh="存在负电价或负排放因子时，请设置有限的进线/上网功率限额；容量配置中盈利的光伏或储能需设置容量上限（屋顶面积）",
        )
    raise PlanningError(
        f"HiGHS stopped without an optimal solution (status {out.raw_status})",
        message_zh=f"HiGHS 未得到最优解（状态 {out.raw_status}）",
        hint="increase the time limit or shorten the horizon", hint_zh="请延长求解时间限制或缩短优化时域",
    )


def optimise_dispatch(problem: DispatchProblem, options: SolverOptions | None = None) -> DispatchResult:
    """Solve the dispatch LP of ``problem`` and return the optimal schedule with its indicators.

    Raises :class:`parkcarbon.errors.InfeasibleError` with an explanation when no schedule meets
    the load and constraints, and :class:`parkcarbon.errors.PlanningError` when unbounded.
    """
    deficits = find_power_deficits(problem)
    if deficits:  # certain infeasibility: say why without calling the solver
        raise infeasible_error(deficits)
    model = build_dispatch_model(problem)
    out = solve(model, options)
    check_status(out, problem, model)
    return read_dispatch(problem, model, out)
