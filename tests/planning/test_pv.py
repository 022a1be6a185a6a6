"""PV yield with pvlib: measured-weather path, offline calibrated path, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from parkcarbon.errors import FactorNotFoundError, InputError, PeriodError, QuantityError
from parkcarbon.planning.pv import (
    PVSystemSpec,
    default_loss_components_pct,
    simulate_pv,
    simulate_pv_clearsky,
    typical_full_load_hours,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*dayofyear is deprecated")

SPEC = PVSystemSpec(36.65, 117.0, tilt_deg=30, capacity_kwp=1000)


def week(freq: str = "h") -> pd.DatetimeIndex:
    return pd.date_range("2024-06-01", "2024-06-08", freq=freq, inclusive="left", tz="Asia/Shanghai")


def clear_weather(idx: pd.DatetimeIndex, step_h: float) -> pd.DataFrame:
    loc = pvlib.location.Location(SPEC.latitude_deg, SPEC.longitude_deg)
    mid = idx + pd.Timedelta(hours=step_h / 2)
    cs = loc.get_clearsky(mid, model="ineichen")
    return pd.DataFrame({"ghi": cs["ghi"].to_numpy(), "dni": cs["dni"].to_numpy(), "dhi": cs["dhi"].to_numpy(),
                         "temp_air": 20.0, "wind_speed": 1.0}, index=idx)


def test_measured_path_equals_offline_path_at_k_one() -> None:
    """Feeding the clear sky as 'measured' weather equals the offline model with k = 1."""
    idx = week()
    measured = simulate_pv(SPEC, clear_weather(idx, 1.0))
    year = pd.date_range("2024-01-01", "2025-01-01", freq="h", inclusive="left", tz="Asia/Shanghai")
    full = simulate_pv_clearsky(SPEC, year, full_load_hours_h=1000)
    k = full.cloudiness_factor_frac
    assert k is not None
    clear_hours = 1000 / k
    offline = simulate_pv_clearsky(SPEC, idx, step_h=1.0, full_load_hours_h=clear_hours)
    assert offline.cloudiness_factor_frac == pytest.approx(1.0, rel=1e-9)
    np.testing.assert_allclose(offline.ac_kw, measured.ac_kw, rtol=1e-9, atol=1e-9)
    assert measured.irradiance_source == "measured" and measured.cloudiness_factor_frac is None


def test_calibration_hits_target_over_a_year() -> None:
    year = pd.date_range("2023-01-01", "2024-01-01", freq="15min", inclusive="left", tz="Asia/Shanghai")
    y = simulate_pv_clearsky(SPEC, year, province="山东")
    assert y.full_load_hours_h == pytest.approx(typical_full_load_hours("Shandong").value, rel=1e-9)
    assert y.step_h == 0.25
    assert y.trace[0].factors[0].key == "pv.full_load_hours"
    assert (y.yield_kw_per_kwp <= 1 / SPEC.dc_ac_ratio + 1e-9).all()
    # output only in daylight, peak around local noon
    hour = year[int(np.argmax(y.ac_kw))].hour
    assert 10 <= hour <= 14


def test_ghi_only_uses_erbs_and_defaults_are_recorded() -> None:
    idx = week()
    wx = clear_weather(idx, 1.0)[["ghi"]]
    y = simulate_pv(SPEC, wx, default_temp_air_c=25.0)
    assert any("Erbs" in a for a in y.assumptions)
    assert any("25.0 °C" in a for a in y.assumptions)
    assert y.energy_kwh > 0


def test_roof_area_gives_capacity() -> None:
    s = PVSystemSpec(30.0, 120.0, tilt_deg=20, roof_area_m2=10_000, roof_kwp_per_m2=0.1)
    assert s.resolved_capacity_kwp == pytest.approx(1000.0)
    y = simulate_pv_clearsky(s, week(), full_load_hours_h=1100)
    assert any("roof 10000" in a for a in y.assumptions)


def test_losses_reduce_output_multiplicatively() -> None:
    idx = week()
    wx = clear_weather(idx, 1.0)
    base = simulate_pv(SPEC, wx)
    lossy = simulate_pv(PVSystemSpec(36.65, 117.0, tilt_deg=30, capacity_kwp=1000,
                                     loss_components_pct={"soiling": 12.0}), wx)
    assert lossy.total_loss_pct > base.total_loss_pct
    assert lossy.energy_kwh < base.energy_kwh
    assert set(default_loss_components_pct()) >= {"soiling", "shading", "availability"}


@pytest.mark.parametrize("kwargs", [
    {"capacity_kwp": None},
    {"capacity_kwp": 100, "roof_area_m2": 10},
    {"capacity_kwp": None, "roof_area_m2": 100},
    {"capacity_kwp": -5},
])
def test_spec_validation(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"latitude_deg": 30.0, "longitude_deg": 120.0, "tilt_deg": 20.0, **kwargs}
    with pytest.raises((InputError, QuantityError)):
        PVSystemSpec(**args)  # type: ignore[arg-type]


def test_bad_inputs() -> None:
    with pytest.raises(InputError):
        PVSystemSpec(30, 120, tilt_deg=20, capacity_kwp=1, loss_components_pct={"dust": 3})
    with pytest.raises(QuantityError):
        PVSystemSpec(30, 120, tilt_deg=95, capacity_kwp=1)
    naive = pd.date_range("2024-01-01", periods=24, freq="h")
    with pytest.raises(PeriodError):
        simulate_pv_clearsky(SPEC, naive, full_load_hours_h=1000)  # type: ignore[arg-type]
    wx = clear_weather(week(), 1.0)
    wx.iloc[5, 0] = np.nan
    with pytest.raises(QuantityError, match="row 5"):
        simulate_pv(SPEC, wx)
    with pytest.raises(InputError, match="ghi"):
        simulate_pv(SPEC, wx.drop(columns="ghi"))
    with pytest.raises(FactorNotFoundError):
        typical_full_load_hours("Atlantis")
    with pytest.raises(InputError):
        simulate_pv_clearsky(SPEC, week())
