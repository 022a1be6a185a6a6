"""Targets: indicators as ratios of sums, chained milestones, monthly progress tracking."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkcarbon.core.targets import (
    INDICATORS,
    Milestone,
    ProgressStatus,
    Target,
    annual_indicator,
    check_target,
    compute_indicator,
    path_value,
    target_value,
    track_progress,
    ttm_months,
    year_months,
)
from parkcarbon.errors import InputError
from parkcarbon.periods import Month, month_range


def _park(years: range, energy: float = 100.0, av: float = 1000.0, decline: float = 0.05) -> dict:
    """Energy falls by `decline` a year at constant added value: intensity −5 %/yr."""
    e, a, nf = {}, {}, {}
    for y in years:
        for m in range(1, 13):
            k = Month(y, m)
            e[k] = energy * (1 - decline) ** (y - years[0])
            a[k] = av
            nf[k] = 0.1 * e[k]
    return {"energy_tce": e, "added_value_10k_cny": a, "non_fossil_energy_tce": nf}


def test_intensity_is_ratio_of_sums_not_mean_of_ratios() -> None:
    e = {Month(2024, 1): 10.0, Month(2024, 2): 30.0}
    a = {Month(2024, 1): 10.0, Month(2024, 2): 20.0}
    v = compute_indicator("energy_intensity_tce_per_10k_cny", {"energy_tce": e, "added_value_10k_cny": a},
                          [Month(2024, 1), Month(2024, 2)])
    assert v.value == pytest.approx(40.0 / 30.0)  # not the mean of monthly ratios (1.25)
    assert v.numerator == 40.0 and v.denominator == 30.0
    assert v.coverage_frac == 1.0 and v.trace[0].inputs == (("numerator", 40.0), ("denominator", 30.0))


def test_missing_month_gives_none_not_zero() -> None:
    data = _park(range(2024, 2025))
    data["energy_tce"][Month(2024, 5)] = None
    v = annual_indicator("energy_total_tce", data, 2024)
    assert v.value is None
    assert v.missing == (("energy_tce", Month(2024, 5)),)
    assert v.coverage_frac == pytest.approx(11 / 12)


def test_water_reuse_and_solid_waste_formulas() -> None:
    m = [Month(2025, 1)]
    d = {"water_reused_m3": {m[0]: 80.0}, "water_fresh_m3": {m[0]: 20.0},
         "solid_waste_utilised_t": {m[0]: 95.0}, "solid_waste_generated_t": {m[0]: 90.0},
         "solid_waste_from_storage_t": {m[0]: 10.0}}
    assert compute_indicator("water_reuse_frac", d, m).value == pytest.approx(0.8)
    assert compute_indicator("solid_waste_utilisation_frac", d, m).value == pytest.approx(0.95)


def test_zero_denominator_is_undefined_and_negative_input_rejected() -> None:
    m = [Month(2025, 1)]
    v = compute_indicator("carbon_per_energy_tco2_per_tce", {"energy_emissions_tco2": {m[0]: 1.0}, "energy_tce": {m[0]: 0.0}}, m)
    assert v.value is None and "zero" in v.trace[0].note
    with pytest.raises(InputError):
        compute_indicator("energy_total_tce", {"energy_tce": {m[0]: -1.0}}, m)
    with pytest.raises(InputError):
        compute_indicator("no_such_indicator", {}, m)


def test_chained_milestones_carbon_peak_pilot() -> None:
    t = Target("t", "energy_intensity_tce_per_10k_cny", "park", 2020,
               (Milestone(2025, reduction_frac=0.18), Milestone(2030, reduction_frac=0.15, reference_year=2025)))
    assert target_value(t, 2025, 0.5) == pytest.approx(0.41)
    assert target_value(t, 2030, 0.5) == pytest.approx(0.41 * 0.85)
    assert path_value(t, 2022.5, 0.5) == pytest.approx(0.5 - 0.09 * 0.5)
    assert path_value(t, 2040, 0.5) == pytest.approx(0.3485)
    with pytest.raises(InputError):
        target_value(t, 2027, 0.5)


def test_invalid_targets_rejected() -> None:
    with pytest.raises(InputError):
        Milestone(2025)  # neither value nor reduction
    with pytest.raises(InputError):
        Milestone(2025, value=1.0, reduction_frac=0.1)
    with pytest.raises(InputError):
        Milestone(2025, reduction_frac=18.0)  # percent instead of fraction
    with pytest.raises(InputError):
        Target("t", "energy_total_tce", "park", 2020, (Milestone(2030, reduction_frac=0.1, reference_year=2025),))
    with pytest.raises(InputError):
        Target("t", "energy_total_tce", "park", 2020, (Milestone(2019, value=1.0),))


def test_check_target_met_and_missed() -> None:
    data = _park(range(2020, 2026))  # intensity falls 5 %/yr: 2025 = 0.95^5 = 0.774 → −22.6 %
    t = Target("ei", "energy_intensity_tce_per_10k_cny", "park", 2020, (Milestone(2025, reduction_frac=0.18),))
    c = check_target(t, data, 2025)
    assert c.met is True and c.change_vs_base_frac == pytest.approx(0.95 ** 5 - 1)
    t2 = Target("ei", "energy_intensity_tce_per_10k_cny", "park", 2020, (Milestone(2025, reduction_frac=0.30),))
    assert check_target(t2, data, 2025).met is False
    nf = Target("nf", "non_fossil_share_frac", "park", 2020, (Milestone(2025, value=0.14),))
    assert check_target(nf, data, 2025).met is False  # share stays 10 %


def test_track_progress_every_month() -> None:
    data = _park(range(2020, 2026))
    t = Target("ei", "energy_intensity_tce_per_10k_cny", "park", 2020, (Milestone(2025, reduction_frac=0.18),))
    pts = track_progress(t, data, month_range(Month(2021, 1), Month(2025, 12)))
    assert len(pts) == 60
    assert all(p.status is ProgressStatus.ON_TRACK for p in pts)  # −5 %/yr beats a −3.6 %/yr path
    dec = pts[-1]
    assert dec.ttm.value == pytest.approx(0.1 * 0.95 ** 5)
    assert dec.path_value == pytest.approx(0.1 * 0.82)
    # a stricter target is off track, and a gap appears
    t2 = Target("ei", "energy_intensity_tce_per_10k_cny", "park", 2020, (Milestone(2025, reduction_frac=0.40),))
    pts2 = track_progress(t2, data, [Month(2025, 6)])
    assert pts2[0].status is ProgressStatus.OFF_TRACK and pts2[0].gap is not None and pts2[0].gap > 0
    # a missing month → NO_DATA, never a made-up value
    data["energy_tce"][Month(2025, 3)] = None
    assert track_progress(t, data, [Month(2025, 6)])[0].status is ProgressStatus.NO_DATA


def test_window_helpers() -> None:
    assert ttm_months(Month(2025, 3))[0] == Month(2024, 4) and len(ttm_months(Month(2025, 3))) == 12
    assert year_months(2025, Month(2025, 3)) == [Month(2025, 1), Month(2025, 2), Month(2025, 3)]
    with pytest.raises(InputError):
        year_months(2025, Month(2024, 3))


@given(st.lists(st.tuples(st.floats(0, 1e6), st.floats(1e-3, 1e6)), min_size=1, max_size=24))
def test_park_intensity_between_min_and_max_monthly_intensity(pairs: list[tuple[float, float]]) -> None:
    months = [Month(2000 + i // 12, i % 12 + 1) for i in range(len(pairs))]
    data = {"energy_tce": dict(zip(months, [p[0] for p in pairs], strict=True)),
            "added_value_10k_cny": dict(zip(months, [p[1] for p in pairs], strict=True))}
    v = compute_indicator("energy_intensity_tce_per_10k_cny", data, months).value
    ratios = [e / a for e, a in pairs]
    assert v is not None
    assert min(ratios) * (1 - 1e-9) <= v <= max(ratios) * (1 + 1e-9)


@given(st.lists(st.floats(0, 1e6), min_size=12, max_size=12), st.lists(st.floats(0, 1e6), min_size=12, max_size=12))
def test_park_total_is_sum_of_enterprises(a: list[float], b: list[float]) -> None:
    ms = year_months(2024)
    ea, eb = dict(zip(ms, a, strict=True)), dict(zip(ms, b, strict=True))
    park = {m: ea[m] + eb[m] for m in ms}
    tot = annual_indicator("energy_total_tce", {"energy_tce": park}, 2024).value
    parts = [annual_indicator("energy_total_tce", {"energy_tce": s}, 2024).value for s in (ea, eb)]
    assert tot is not None and all(p is not None for p in parts)
    assert math.isclose(tot, sum(p for p in parts if p is not None), rel_tol=1e-9, abs_tol=1e-6)


def test_required_quantities() -> None:
    from parkcarbon.core.targets import required_quantities
    req = required_quantities(["water_reuse_frac", "solid_waste_utilisation_frac"])
    assert req["water_reuse_frac"] == ("water_reused_m3", "water_fresh_m3")
    assert req["solid_waste_utilisation_frac"] == (
        "solid_waste_utilised_t", "solid_waste_generated_t", "solid_waste_from_storage_t")
    with pytest.raises(InputError):
        required_quantities(["nope"])


def test_every_indicator_has_known_quantities() -> None:
    from parkcarbon.core.targets import QUANTITIES
    for d in INDICATORS.values():
        assert set(d.numerator) | set(d.denominator) <= set(QUANTITIES), d.code
