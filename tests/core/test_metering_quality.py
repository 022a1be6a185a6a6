"""Data-quality checks (R12) and virtual meters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.metering import (
    FindingSeverity,
    IntervalSeries,
    QualityCode,
    aggregate,
    check_completeness,
    check_day_vs_month,
    check_submeter_balance,
    check_year_on_year,
    evaluate_virtual_meter,
    find_outliers,
    interval_values_to_grid,
    parse_formula,
    robust_z_scores,
)
from parkcarbon.errors import CalculationError, InputError, UnitError

Q = 900
T0 = 1_740_758_400  # 2025-03-01 00:00 Asia/Shanghai
DAY = 96


def full_series(values_per_slot: float, days: int, meter_id: str = "M", start: int = T0) -> IntervalSeries:
    n = days * DAY
    return IntervalSeries(
        start, Q, np.full(n, values_per_slot), np.zeros(n, np.uint8), np.zeros(n, np.uint8), "kWh", meter_id
    )


def test_completeness_check() -> None:
    s = full_series(1.0, 31)
    q = s.quality.copy()
    q[: 10 * DAY] = QualityCode.MISSING  # 21 of 31 days measured: 67.7 %
    v = np.where(q == 0, 1.0, np.nan)
    month = aggregate(IntervalSeries(T0, Q, v, q, s.method, "kWh", "M"), "month")
    (f,) = check_completeness(month)
    assert f.code == "DQ-COMPLETENESS" and f.value == pytest.approx(21 / 31) and f.threshold == 0.9
    assert f.severity is FindingSeverity.WARNING and "2025-03" in f.message and "完整率" in f.message_zh
    assert check_completeness(aggregate(s, "month")) == ()


def test_day_vs_month() -> None:
    days = aggregate(full_series(1.0, 31), "day")  # 96 per day → 2976 per month
    assert check_day_vs_month(days, {T0: 2976 * 1.04}) == ()
    (f,) = check_day_vs_month(days, {T0: 2976 * 1.10})
    assert f.code == "DQ-DAY-MONTH" and f.value == pytest.approx(abs(2976 - 3273.6) / 3273.6)
    # a month with no daily data at all is a 100 % deviation
    (g,) = check_day_vs_month(days, {T0 + 31 * 86400: 100.0})
    assert g.value == 1.0 and "no data" in g.message
    with pytest.raises(CalculationError):
        check_day_vs_month(aggregate(full_series(1.0, 1), "month"), {})


def test_submeter_balance() -> None:
    parent = aggregate(full_series(10.0, 2, "P"), "day")
    a = aggregate(full_series(6.0, 2, "A"), "day")
    b = aggregate(full_series(3.8, 2, "B"), "day")
    assert check_submeter_balance(parent, [a, b]) == ()  # 2 % losses
    c = aggregate(full_series(3.0, 2, "C"), "day")
    found = check_submeter_balance(parent, [a, c])
    assert [f.code for f in found] == ["DQ-BALANCE", "DQ-BALANCE"]
    assert found[0].value == pytest.approx(0.1)
    # an incomplete sub-meter is not an imbalance
    s = full_series(3.8, 2, "B")
    q = s.quality.copy()
    q[:20] = QualityCode.MISSING
    inc = aggregate(IntervalSeries(T0, Q, np.where(q == 0, 3.8, np.nan), q, s.method, "kWh", "B"), "day")
    found = check_submeter_balance(parent, [a, inc])
    assert [f.code for f in found] == ["DQ-BALANCE-INCOMPLETE"]
    with pytest.raises(CalculationError):
        check_submeter_balance(parent, [aggregate(full_series(1.0, 2), "month")])


def test_robust_z_and_outliers() -> None:
    z = robust_z_scores([1.0, 2.0, 3.0, 4.0, 100.0, float("nan")])
    # median 3, MAD 1 → z = 0.6745 · (x − 3)
    assert z[:5] == pytest.approx([0.6745 * (x - 3) for x in (1, 2, 3, 4, 100)])
    assert math.isnan(z[5])
    assert robust_z_scores([5.0, 5.0, 5.0]).tolist() == [0.0, 0.0, 0.0]
    # MAD = 0 → mean absolute deviation fallback
    z2 = robust_z_scores([5.0, 5.0, 5.0, 5.0, 9.0])
    assert z2[4] == pytest.approx(4.0 / (1.253314 * 0.8))
    vals = np.full(10 * DAY, 1.0)
    vals[5 * DAY : 6 * DAY] = 9.0  # day 6 is 9× the others
    s = IntervalSeries(T0, Q, vals, np.zeros(vals.shape, np.uint8), np.zeros(vals.shape, np.uint8), "kWh", "M")
    (f,) = find_outliers(aggregate(s, "day"))
    assert f.code == "DQ-OUTLIER" and f.period_start_s == T0 + 5 * 86400


def test_year_on_year() -> None:
    # March 2024 and March 2025, one day each (the rest missing): 96 vs 150
    a = full_series(1.0, 1, start=T0 - 365 * 86400)
    b = full_series(150 / 96, 1)
    totals = [aggregate(a, "month"), aggregate(b, "month")]
    from parkcarbon.core.metering import replace_periods

    both = replace_periods(totals[0], totals[1])
    (f,) = check_year_on_year(both)
    assert f.code == "DQ-YOY" and f.value == pytest.approx(150 / 96 - 1) and "2025-03" in f.message
    assert check_year_on_year(both, max_change_frac=0.6) == ()
    with pytest.raises(CalculationError):
        check_year_on_year(aggregate(a, "day"))


# ------------------------------------------------------------------- virtual meters


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("M1 + M2", {"M1": 1.0, "M2": 1.0}),
        ("main - {pv-export}", {"main": 1.0, "pv-export": -1.0}),
        ("0.5 * (a + b) − 2×c", {"a": 0.5, "b": 0.5, "c": -2.0}),
        ("-(a - b) * 3", {"a": -3.0, "b": 3.0}),
        ("a*2*3 + a", {"a": 7.0}),
        ("总表 - 分表1", {"总表": 1.0, "分表1": -1.0}),
        ("a + 1e-1 * b", {"a": 1.0, "b": 0.1}),
        ("main.incomer - +x", {"main.incomer": 1.0, "x": -1.0}),
    ],
)
def test_parse_formula(text: str, terms: dict[str, float]) -> None:
    f = parse_formula(text)
    assert dict(f.terms) == pytest.approx(terms)


@pytest.mark.parametrize(
    "text",
    ["", "a * b", "a + 1", "__import__('os')", "a +", "(a + b", "a b", "a / 2", "3 * 4", "a ** 2", "a; b"],
)
def test_parse_formula_refuses(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_formula(text)
    assert err.value.message_zh and err.value.hint


def test_evaluate_virtual_meter_quality_propagation() -> None:
    main = interval_values_to_grid([T0, T0 + Q, T0 + 2 * Q], [10.0, 10.0, 10.0], grid_start_s=T0, n_slots=4,
                                   unit="kWh")
    q = np.array([0, 1, 4, 0], dtype=np.uint8)
    sub = IntervalSeries(T0, Q, np.array([4.0, 3.0, np.nan, 1.0]), q, np.zeros(4, np.uint8), "kWh", "sub")
    v = evaluate_virtual_meter("main - 0.5 * sub", {"main": main, "sub": sub}, meter_id="rest")
    assert v.value[:2].tolist() == [8.0, 8.5]
    assert v.quality.tolist() == [QualityCode.MEASURED, QualityCode.ESTIMATED, QualityCode.SUSPECT,
                                  QualityCode.MISSING]
    assert math.isnan(v.value[2]) and math.isnan(v.value[3]) and v.meter_id == "rest" and v.unit == "kWh"


def test_evaluate_virtual_meter_refusals() -> None:
    a = IntervalSeries.empty(T0, 4, unit="kWh")
    with pytest.raises(InputError):
        evaluate_virtual_meter("a + b", {"a": a})
    with pytest.raises(InputError):
        evaluate_virtual_meter("a + b", {"a": a, "b": IntervalSeries.empty(T0, 5, unit="kWh")})
    with pytest.raises(UnitError):
        evaluate_virtual_meter("a + b", {"a": a, "b": IntervalSeries.empty(T0, 4, unit="m3")})


@settings(max_examples=100, deadline=None)
@given(
    coefs=st.lists(st.integers(-5, 5).filter(bool), min_size=1, max_size=4),
    vals=st.lists(st.integers(0, 1000), min_size=4, max_size=4),
)
def test_virtual_meter_is_linear(coefs: list[int], vals: list[int]) -> None:
    text = " + ".join(f"{c} * m{i}" for i, c in enumerate(coefs))
    inputs = {
        f"m{i}": IntervalSeries(T0, Q, np.array([float(vals[i])]), np.zeros(1, np.uint8), np.zeros(1, np.uint8))
        for i in range(len(coefs))
    }
    v = evaluate_virtual_meter(text, inputs)
    assert v.value[0] == sum(c * vals[i] for i, c in enumerate(coefs))
