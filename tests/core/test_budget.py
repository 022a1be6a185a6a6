"""Budgets: allocation, phasing, warning grades and an early warning raised months ahead."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkcarbon.core.budget import (
    AllocationBasis,
    AllocationMethod,
    BudgetKind,
    CompletionThresholds,
    WarningGrade,
    WarningThresholds,
    allocate_budget,
    budget_from_base,
    budget_warning,
    grade_completion,
    grade_ratio,
    phase_budget,
)
from parkcarbon.core.forecast import backtest, forecast_year_end, seasonal_profile
from parkcarbon.errors import InputError
from parkcarbon.periods import Month

SEASON = np.array([0.86, 0.78, 1.00, 1.01, 1.02, 1.04, 1.10, 1.11, 1.03, 1.01, 1.01, 1.03])


def test_allocation_methods() -> None:
    bases = [AllocationBasis("A", history_qty=3000, output_10k_cny=1000, benchmark_per_10k_cny=0.5),
             AllocationBasis("B", history_qty=1000, output_10k_cny=3000, benchmark_per_10k_cny=0.1)]
    h = allocate_budget(4000, bases, AllocationMethod.HISTORY, year=2026)
    assert [a.budget_qty for a in h] == pytest.approx([3000, 1000])
    o = allocate_budget(4000, bases, AllocationMethod.OUTPUT, year=2026)
    assert [a.budget_qty for a in o] == pytest.approx([1000, 3000])
    b = allocate_budget(4000, bases, AllocationMethod.BENCHMARK, year=2026, reserve_frac=0.2)
    # weights 500 and 300 → 3200 × 5/8, 3200 × 3/8
    assert [a.budget_qty for a in b] == pytest.approx([2000, 1200])
    assert b[0].trace[0].inputs[2] == ("weight", 500.0)
    c = allocate_budget(4000, bases, AllocationMethod.HISTORY, year=2026, kind=BudgetKind.CARBON)
    assert c[0].kind.unit == "tCO2"


def test_allocation_refuses_missing_basis_and_bad_input() -> None:
    with pytest.raises(InputError) as e:
        allocate_budget(100, [AllocationBasis("A", history_qty=None)], AllocationMethod.HISTORY, year=2026)
    assert e.value.location is not None and e.value.location.record == "A"
    with pytest.raises(InputError):
        allocate_budget(100, [AllocationBasis("A", 1.0), AllocationBasis("A", 2.0)], AllocationMethod.HISTORY, year=2026)
    with pytest.raises(InputError):
        allocate_budget(100, [AllocationBasis("A", 0.0)], AllocationMethod.HISTORY, year=2026)
    with pytest.raises(InputError):
        allocate_budget(100, [AllocationBasis("A", 1.0)], AllocationMethod.HISTORY, year=2026, reserve_frac=1.0)


@given(st.floats(1, 1e7), st.lists(st.floats(0.01, 1e6), min_size=1, max_size=40), st.floats(0, 0.5))
def test_allocations_sum_to_allocated_budget(budget: float, weights: list[float], reserve: float) -> None:
    bases = [AllocationBasis(f"E{i}", history_qty=w) for i, w in enumerate(weights)]
    res = allocate_budget(budget, bases, AllocationMethod.HISTORY, year=2026, reserve_frac=reserve)
    assert math.isclose(math.fsum(a.budget_qty for a in res), budget * (1 - reserve), rel_tol=1e-12)
    assert math.isclose(math.fsum(a.share_frac for a in res), 1.0, rel_tol=1e-9)
    assert all(a.budget_qty >= 0 for a in res)


def test_budget_from_base_xiaoshan_rule() -> None:
    # NOTES §7.2: tier cut −4 %, 亩产效益 class A +0.8 %
    assert budget_from_base(10_000, 0.04, 0.008) == pytest.approx(9_680)
    assert budget_from_base(10_000, 0.07, -0.02, penalties_qty=100, rewards_qty=50) == pytest.approx(9_050)
    with pytest.raises(InputError):
        budget_from_base(10_000, 4.0)


@given(st.floats(0, 1e7), st.lists(st.floats(0, 10), min_size=12, max_size=12).filter(lambda w: sum(w) > 0.1))
def test_phasing_sums_to_annual(budget: float, profile: list[float]) -> None:
    ph = phase_budget(budget, 2026, profile)
    assert len(ph) == 12 and math.isclose(math.fsum(ph.values()), budget, rel_tol=1e-12, abs_tol=1e-9)


def test_phasing_by_days_and_bad_profile() -> None:
    ph = phase_budget(365.0, 2025)
    assert ph[Month(2025, 2)] == pytest.approx(28.0) and ph[Month(2025, 1)] == pytest.approx(31.0)
    with pytest.raises(InputError):
        phase_budget(100.0, 2025, [1.0] * 11)


def test_grade_boundaries_default_scheme() -> None:
    t = WarningThresholds()
    assert grade_ratio(0.8999, t) is WarningGrade.GREEN
    assert grade_ratio(0.90, t) is WarningGrade.YELLOW
    assert grade_ratio(0.95, t) is WarningGrade.ORANGE
    assert grade_ratio(1.00, t) is WarningGrade.RED
    assert WarningGrade.RED.severity > WarningGrade.ORANGE.severity > WarningGrade.YELLOW.severity
    with pytest.raises(InputError):
        WarningThresholds(yellow_frac=0.99, orange_frac=0.95)
    with pytest.raises(InputError):
        WarningThresholds(basis="median")


def test_completion_scheme_of_notes_7_2() -> None:
    assert grade_completion(1.0) is WarningGrade.GREEN
    assert grade_completion(0.95) is WarningGrade.YELLOW
    assert grade_completion(0.6) is WarningGrade.ORANGE
    assert grade_completion(0.5) is WarningGrade.RED  # ≤ 50 % red
    assert grade_completion(0.7, CompletionThresholds(1.0, 0.8, 0.7)) is WarningGrade.RED


def _enterprise(growth_2025: float, seed: int) -> dict[Month, float | None]:
    rng = np.random.default_rng(seed)
    out: dict[Month, float | None] = {}
    for y in range(2020, 2026):
        level = 1000.0 * (1.02 ** (y - 2020)) * (growth_2025 if y == 2025 else 1.0)
        for k in range(12):
            out[Month(y, k + 1)] = float(level * SEASON[k] * (1 + 0.03 * rng.standard_normal()))
    return out


def test_demo_scenario_warning_raised_months_ahead() -> None:
    """An enterprise running 12 % above last year gets a red warning in May; December confirms the overrun."""
    park = {f"E{i}": _enterprise(1.0, i) for i in range(12)}
    park["HOT"] = _enterprise(1.12, 99)
    rep = backtest({k: v for k, v in park.items() if k != "HOT"}, [2021, 2022, 2023, 2024])
    s = park["HOT"]
    last_year = sum(v for m, v in s.items() if m.year == 2024 and v is not None)
    budget = last_year * 1.03  # budget allows +3 %
    prof = seasonal_profile(s, [2022, 2023, 2024])
    assert prof is not None
    phased = phase_budget(budget, 2025, prof[0])
    fc = forecast_year_end(s, 2025, Month(2025, 5), band=rep.band, entity_id="HOT")
    w = budget_warning(fc, budget, monthly_budget=phased)
    assert w.grade is WarningGrade.RED and w.as_of == Month(2025, 5)
    assert w.expected_overrun_qty > 0 and w.ytd_execution_frac is not None and w.ytd_execution_frac > 1.05
    assert fc.low is not None and fc.low > budget  # even the low end of the band overruns
    actual = sum(v for m, v in s.items() if m.year == 2025 and v is not None)
    assert actual > budget  # the warning was right, seven months ahead
    assert "红色" in w.message_zh and "red" in w.message
    # a normal enterprise stays green under the same budget rule
    n = park["E3"]
    nb = sum(v for m, v in n.items() if m.year == 2024 and v is not None) * 1.20
    assert budget_warning(forecast_year_end(n, 2025, Month(2025, 5), band=rep.band), nb).grade is WarningGrade.GREEN


def test_upper_basis_warns_earlier_than_central() -> None:
    s = _enterprise(1.0, 5)
    fc = forecast_year_end(s, 2025, Month(2025, 3))
    widened = dataclasses.replace(fc, low=fc.year_end * 0.9, high=fc.year_end * 1.1)
    budget = fc.year_end * 1.05
    central = budget_warning(widened, budget)
    upper = budget_warning(widened, budget, thresholds=WarningThresholds(basis="upper"))
    assert central.grade is WarningGrade.ORANGE  # 95.2 %
    assert central.ratio_frac == pytest.approx(1 / 1.05)
    assert upper.grade is WarningGrade.RED and upper.upper_ratio_frac == pytest.approx(1.1 / 1.05)
    with pytest.raises(InputError):
        budget_warning(fc, 0.0)
