"""Energy and carbon budgets of enterprises (用能预算管理, 碳排放双控) and graded early warnings.

* :func:`allocate_budget` splits a park budget among enterprises by history, by benchmark
  (output × benchmark intensity) or by output, after an optional park reserve (预留).
* :func:`budget_from_base` is the 萧山 rule of NOTES §7.2: ``base × (1 + tier cut + class
  adjustment) − penalties + rewards``.
* :func:`phase_budget` phases an annual budget by month with a seasonal profile (or by
  calendar days).
* :func:`budget_warning` grades a year-end forecast against the budget (分析预警).

Warning grades (预警等级). Default thresholds on ``forecast / budget``: **≥ 100 % red,
≥ 95 % orange, ≥ 90 % yellow, else green** — configurable per park
(:class:`WarningThresholds`). This is the budget-overrun reading of the four-colour scheme
that NOTES §7.2 reports from a local budget scheme (where colours grade *completion* of a
saving target: ≥ 100 % green; 90–100 % yellow; 50–90 % orange; ≤ 50 % red, B); that
completion scheme is available as :class:`CompletionThresholds` / :func:`grade_completion`.
The band-based option (``basis="upper"``) grades the upper end of the forecast band, to warn
when an overrun is plausible rather than expected.

Quantities are either energy [tce] or carbon [tCO2] — :class:`BudgetKind` says which; field
names end in ``_qty`` and the unit is on the object.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from parkcarbon.core.forecast import YearEndForecast
from parkcarbon.core.trace import TraceStep
from parkcarbon.errors import InputError, Location
from parkcarbon.periods import Month

__all__ = [
    "AllocationBasis",
    "AllocationMethod",
    "BudgetAllocation",
    "BudgetKind",
    "BudgetWarning",
    "CompletionThresholds",
    "WarningGrade",
    "WarningThresholds",
    "allocate_budget",
    "budget_from_base",
    "budget_warning",
    "grade_completion",
    "grade_ratio",
    "phase_budget",
]


class BudgetKind(StrEnum):
    """What a budget limits: energy (用能预算, [tce]) or carbon (碳排放预算, [tCO2])."""

    ENERGY = "energy"
    CARBON = "carbon"

    @property
    def unit(self) -> str:
        return "tce" if self is BudgetKind.ENERGY else "tCO2"


class AllocationMethod(StrEnum):
    """How a park budget is split among enterprises (预算分配方法)."""

    HISTORY = "history"  # 历史法: in proportion to historic consumption
    BENCHMARK = "benchmark"  # 基准法: planned output × benchmark intensity
    OUTPUT = "output"  # 产出法: in proportion to (planned) added value / output


@dataclass(frozen=True)
class AllocationBasis:
    """What an enterprise's share is based on.

    history_qty : historic annual consumption, e.g. mean of the last 3 years [tce or tCO2].
    output_10k_cny : planned (or last year's) industrial added value [10k CNY].
    benchmark_per_10k_cny : sector benchmark intensity [tce/10k CNY or tCO2/10k CNY].
    """

    enterprise_id: str
    history_qty: float | None = None
    output_10k_cny: float | None = None
    benchmark_per_10k_cny: float | None = None


@dataclass(frozen=True)
class BudgetAllocation:
    """The annual budget of one enterprise [``kind.unit``] and its share of the allocated total."""

    enterprise_id: str
    kind: BudgetKind
    year: int
    budget_qty: float
    share_frac: float
    method: AllocationMethod
    weight: float
    trace: tuple[TraceStep, ...]


def _finite_nonneg(value: float | None, what: str, record: str) -> float:
    if value is None:
        raise InputError(
            f"{what} of {record} is missing",
            message_zh=f"{record} 的 {what} 缺失",
            hint="supply it, or choose another allocation method",
            hint_zh="请补充数据，或选择其他分配方法",
            location=Location(record=record, column=what),
        )
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise InputError(
            f"{what} of {record} must be a finite non-negative number, got {value!r}",
            message_zh=f"{record} 的 {what} 必须为非负有限数，实际为 {value!r}",
            location=Location(record=record, column=what, value=value),
        )
    return float(value)


def allocate_budget(
    park_budget_qty: float,
    bases: Sequence[AllocationBasis],
    method: AllocationMethod,
    *,
    year: int,
    kind: BudgetKind = BudgetKind.ENERGY,
    reserve_frac: float = 0.0,
) -> tuple[BudgetAllocation, ...]:
    """Allocate ``(1 − reserve_frac) × park_budget_qty`` among enterprises.

    The allocations sum exactly (to rounding of one ulp-scale residual, assigned to the largest
    share) to the allocated total. Weights: HISTORY → ``history_qty``; OUTPUT →
    ``output_10k_cny``; BENCHMARK → ``output_10k_cny × benchmark_per_10k_cny``.
    """
    _finite_nonneg(park_budget_qty, "park budget", "park")
    if not 0.0 <= reserve_frac < 1.0:
        raise InputError(f"reserve_frac must be in [0, 1), got {reserve_frac}",
                         message_zh=f"预留比例必须在 [0,1) 内，实际为 {reserve_frac}")
    if not bases:
        raise InputError("no enterprises to allocate to", message_zh="没有可分配预算的企业")
    ids = [b.enterprise_id for b in bases]
    if len(set(ids)) != len(ids):
        raise InputError("duplicate enterprise in allocation bases", message_zh="分配基础中企业重复",
                         location=Location(value=sorted({i for i in ids if ids.count(i) > 1})))
    weights: list[float] = []
    for b in bases:
        if method is AllocationMethod.HISTORY:
            w = _finite_nonneg(b.history_qty, "history_qty", b.enterprise_id)
        elif method is AllocationMethod.OUTPUT:
            w = _finite_nonneg(b.output_10k_cny, "output_10k_cny", b.enterprise_id)
        else:
            w = _finite_nonneg(b.output_10k_cny, "output_10k_cny", b.enterprise_id) * _finite_nonneg(
                b.benchmark_per_10k_cny, "benchmark_per_10k_cny", b.enterprise_id)
        weights.append(w)
    total_w = math.fsum(weights)
    if total_w <= 0.0:
        raise InputError("all allocation weights are zero", message_zh="所有分配权重均为零",
                         hint="check the basis data of the chosen method", hint_zh="请检查所选分配方法的基础数据")
    allocated = park_budget_qty * (1.0 - reserve_frac)
    amounts = [allocated * w / total_w for w in weights]
    residual = allocated - math.fsum(amounts)
    imax = int(np.argmax(amounts))
    amounts[imax] += residual
    out = []
    for b, w, a in zip(bases, weights, amounts, strict=True):
        step = TraceStep(
            method=f"budget allocation ({method.value}): allocated total × weight / Σweights",
            result=a, result_unit=kind.unit, records=(b.enterprise_id,),
            inputs=(("park_budget", park_budget_qty), ("reserve_frac", reserve_frac), ("weight", w),
                    ("total_weight", total_w)),
        )
        out.append(BudgetAllocation(b.enterprise_id, kind, year, a, w / total_w, method, w, (step,)))
    return tuple(out)


def budget_from_base(
    base_qty: float,
    tier_cut_frac: float,
    class_adjustment_frac: float = 0.0,
    penalties_qty: float = 0.0,
    rewards_qty: float = 0.0,
) -> float:
    """Annual budget by the 萧山 rule (NOTES §7.2, B) [unit of ``base_qty``].

    ``base × (1 − tier_cut + class_adjustment) − penalties + rewards``; e.g. tier cuts of
    1/2/4/5/7 % by sector intensity tier and 亩产效益 class adjustments A +0.8 %, B +0.3 %,
    C −1 %, D −2 % (pass signed fractions: 0.008, −0.01 …).
    """
    _finite_nonneg(base_qty, "base", "budget")
    if not 0.0 <= tier_cut_frac < 1.0:
        raise InputError(f"tier_cut_frac must be in [0, 1), got {tier_cut_frac}",
                         message_zh=f"分档削减比例必须在 [0,1) 内，实际为 {tier_cut_frac}", hint="−4 % is 0.04")
    _finite_nonneg(penalties_qty, "penalties", "budget")
    _finite_nonneg(rewards_qty, "rewards", "budget")
    value = base_qty * (1.0 - tier_cut_frac + class_adjustment_frac) - penalties_qty + rewards_qty
    return max(value, 0.0)


def phase_budget(
    annual_budget_qty: float, year: int, profile: Sequence[float] | np.ndarray | None = None
) -> dict[Month, float]:
    """Phase an annual budget by month (月度分解).

    ``profile``: 12 non-negative monthly weights (e.g. the seasonal shares of the enterprise's
    history from :func:`parkcarbon.core.forecast.seasonal_profile`); ``None`` = by calendar
    days. The monthly budgets sum to the annual budget.
    """
    _finite_nonneg(annual_budget_qty, "annual budget", "budget")
    if profile is None:
        w = np.array([Month(year, k).days for k in range(1, 13)], dtype=float)
    else:
        w = np.asarray(profile, dtype=float)
        if w.shape != (12,) or not np.all(np.isfinite(w)) or np.any(w < 0) or float(w.sum()) <= 0:
            raise InputError("profile must be 12 finite non-negative weights with a positive sum",
                             message_zh="月度分解曲线必须为12个非负有限权重且总和为正")
    amounts = annual_budget_qty * w / float(w.sum())
    out = {Month(year, k + 1): float(a) for k, a in enumerate(amounts)}
    imax = Month(year, int(np.argmax(amounts)) + 1)
    out[imax] += annual_budget_qty - math.fsum(out.values())
    return out


class WarningGrade(StrEnum):
    """Warning grade (预警等级), in increasing severity."""

    GREEN = "green"  # 绿色
    YELLOW = "yellow"  # 黄色
    ORANGE = "orange"  # 橙色
    RED = "red"  # 红色

    @property
    def severity(self) -> int:
        return ["green", "yellow", "orange", "red"].index(self.value)

    @property
    def name_zh(self) -> str:
        return {"green": "绿色", "yellow": "黄色", "orange": "橙色", "red": "红色"}[self.value]


@dataclass(frozen=True)
class WarningThresholds:
    """Thresholds on ``forecast / budget`` [fraction] for each grade (≥ threshold → grade).

    basis : ``"central"`` grades the point forecast; ``"upper"`` grades the upper end of the
        error band (falls back to the point forecast when there is no band).
    """

    yellow_frac: float = 0.90
    orange_frac: float = 0.95
    red_frac: float = 1.00
    basis: str = "central"
    source: str = "parkcarbon default; four-colour scheme after NOTES §7.2 (B), read as forecast/budget"

    def __post_init__(self) -> None:
        vals = (self.yellow_frac, self.orange_frac, self.red_frac)
        if not all(math.isfinite(v) and v > 0 for v in vals) or not (
            self.yellow_frac <= self.orange_frac <= self.red_frac
        ):
            raise InputError(
                f"warning thresholds must be positive and yellow ≤ orange ≤ red, got {vals}",
                message_zh=f"预警阈值必须为正且 黄 ≤ 橙 ≤ 红，实际为 {vals}",
                location=Location(value=vals),
            )
        if self.basis not in ("central", "upper"):
            raise InputError(f"basis must be 'central' or 'upper', got {self.basis!r}",
                             message_zh=f"预警依据必须为 central 或 upper，实际为 {self.basis!r}")


def grade_ratio(ratio_frac: float, thresholds: WarningThresholds = WarningThresholds()) -> WarningGrade:
    """Grade a usage ratio (forecast or actual / budget) [fraction]."""
    if ratio_frac >= thresholds.red_frac:
        return WarningGrade.RED
    if ratio_frac >= thresholds.orange_frac:
        return WarningGrade.ORANGE
    if ratio_frac >= thresholds.yellow_frac:
        return WarningGrade.YELLOW
    return WarningGrade.GREEN


@dataclass(frozen=True)
class CompletionThresholds:
    """Completion of a saving target [fraction]: ≥ green_frac green, ≥ yellow_frac yellow,
    > red_frac orange, else red (NOTES §7.2, B: 100 % / 90 % / 50 %)."""

    green_frac: float = 1.00
    yellow_frac: float = 0.90
    red_frac: float = 0.50


def grade_completion(completion_frac: float, thresholds: CompletionThresholds = CompletionThresholds()) -> WarningGrade:
    """Grade the completion of a target (目标完成进度), higher is better (NOTES §7.2 scheme)."""
    if completion_frac >= thresholds.green_frac:
        return WarningGrade.GREEN
    if completion_frac >= thresholds.yellow_frac:
        return WarningGrade.YELLOW
    if completion_frac > thresholds.red_frac:
        return WarningGrade.ORANGE
    return WarningGrade.RED


@dataclass(frozen=True)
class BudgetWarning:
    """A graded early warning for one enterprise's budget, made at the end of ``as_of``.

    ratio_frac : forecast year-end / annual budget [fraction]; upper_ratio_frac uses the band.
    expected_overrun_qty : forecast − budget [``kind.unit``] (negative = headroom).
    ytd_budget_qty, ytd_execution_frac : phased budget to date and actual/phased [fraction].
    """

    enterprise_id: str
    kind: BudgetKind
    year: int
    as_of: Month
    budget_qty: float
    forecast: YearEndForecast
    ratio_frac: float
    upper_ratio_frac: float | None
    grade: WarningGrade
    expected_overrun_qty: float
    ytd_budget_qty: float | None
    ytd_execution_frac: float | None
    message: str
    message_zh: str
    trace: tuple[TraceStep, ...]


def budget_warning(
    forecast: YearEndForecast,
    budget_qty: float,
    *,
    kind: BudgetKind = BudgetKind.ENERGY,
    monthly_budget: Mapping[Month, float] | None = None,
    thresholds: WarningThresholds = WarningThresholds(),
) -> BudgetWarning:
    """Grade ``forecast`` against the annual budget (用能预算预警)."""
    b = _finite_nonneg(budget_qty, "budget", forecast.entity_id)
    if b <= 0.0:
        raise InputError(f"budget of {forecast.entity_id} must be positive", message_zh=f"{forecast.entity_id} 的预算必须为正",
                         location=Location(record=forecast.entity_id, value=budget_qty))
    ratio = forecast.year_end / b
    upper = None if forecast.high is None else forecast.high / b
    graded = upper if thresholds.basis == "upper" and upper is not None else ratio
    grade = grade_ratio(graded, thresholds)
    ytd_budget = ytd_exec = None
    if monthly_budget is not None:
        months = [Month(forecast.year, k) for k in range(1, forecast.through.month + 1)]
        if all(m in monthly_budget for m in months):
            ytd_budget = math.fsum(monthly_budget[m] for m in months)
            ytd_exec = forecast.ytd_actual / ytd_budget if ytd_budget > 0 else None
    unit = kind.unit
    message = (f"{forecast.entity_id}: year-end {forecast.year} forecast {forecast.year_end:,.1f} {unit} = "
               f"{ratio:.1%} of budget {b:,.1f} {unit} (as of {forecast.through}) → {grade.value}")
    message_zh = (f"{forecast.entity_id}：截至 {forecast.through} 预测 {forecast.year} 年全年 "
                  f"{forecast.year_end:,.1f} {unit}，为预算 {b:,.1f} {unit} 的 {ratio:.1%}，预警等级：{grade.name_zh}")
    step = TraceStep(
        method=f"warning grade on {'upper band' if graded is upper else 'forecast'}/budget "
               f"(yellow ≥{thresholds.yellow_frac:.0%}, orange ≥{thresholds.orange_frac:.0%}, red ≥{thresholds.red_frac:.0%})",
        result=graded, result_unit="fraction", records=(forecast.entity_id,),
        inputs=(("forecast", forecast.year_end), ("budget", b)),
        note=thresholds.source,
    )
    return BudgetWarning(
        enterprise_id=forecast.entity_id, kind=kind, year=forecast.year, as_of=forecast.through, budget_qty=b,
        forecast=forecast, ratio_frac=ratio, upper_ratio_frac=upper, grade=grade,
        expected_overrun_qty=forecast.year_end - b, ytd_budget_qty=ytd_budget, ytd_execution_frac=ytd_exec,
        message=message, message_zh=message_zh, trace=(*forecast.trace, step),
    )
