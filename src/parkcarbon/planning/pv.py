"""Rooftop PV yield with pvlib (屋顶分布式光伏发电量测算).

Chain (each step a pvlib function, so the physics is pvlib's, not ours):

1. solar position at the middle of each interval (intervals are labelled by their start);
2. irradiance: user-supplied measured/TMY ``ghi`` [W/m²] (``dni``/``dhi`` optional — split with
   the Erbs model when missing), or offline clear-sky (Ineichen with pvlib's bundled Linke
   turbidity climatology) with the **cloudiness adjustment** below;
3. plane-of-array irradiance (Hay–Davies transposition), cell temperature (SAPM model);
4. DC power (PVWatts, temperature coefficient ``gamma_pdc``) × (1 − system losses), where the
   losses are stacked multiplicatively by ``pvlib.pvsystem.pvwatts_losses``
   (``100 × (1 − Π(1 − lᵢ/100))``, never summed);
5. AC power through the PVWatts inverter model, capped at AC rating = DC capacity / dc_ac_ratio.

Cloudiness adjustment (offline mode, documented and reported): the clear-sky output is scaled by
one factor ``k = H_target / H_clear`` where ``H_clear`` is the clear-sky equivalent full-load hours
of this system for a whole year and ``H_target`` the typical equivalent full-load hours of PV in
the province (``planning/data/pv_full_load_hours_cn.csv``, UNVERIFIED indicative values, or a value
the user gives). The annual yield therefore matches the typical Chinese full-load hours while the
daily and seasonal shape stays that of the clear sky. ``k`` is in the result.

Capacity from roof area: ``capacity_kwp = roof_area_m2 × roof_kwp_per_m2``; the packing density
[kWp/m²] must be given (gross roof area incl. walkways and spacing is typically 0.06–0.12).
"""

from __future__ import annotations

import csv
import inspect
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from parkcarbon.core.trace import FactorRef, TraceStep
from parkcarbon.errors import FactorNotFoundError, InputError, Location, PeriodError, QuantityError

__all__ = [
    "PVSystemSpec",
    "PVYield",
    "QuickEstimate",
    "combined_loss_frac",
    "default_loss_components_pct",
    "quick_estimate",
    "simulate_pv",
    "simulate_pv_clearsky",
    "total_loss_pct",
    "typical_full_load_hours",
]

FloatArray = npt.NDArray[np.float64]


@contextmanager
def _quiet_pvlib() -> Iterator[None]:
    """Silence pandas deprecation warnings raised inside pvlib (not ours to fix)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*dayofyear is deprecated.*")
        yield


def default_loss_components_pct() -> dict[str, float]:
    """PVWatts v5 default loss components [%], read from pvlib's ``pvwatts_losses`` signature."""
    sig = inspect.signature(pvlib.pvsystem.pvwatts_losses)
    return {k: float(v.default) for k, v in sig.parameters.items()}


def total_loss_pct(components_pct: Mapping[str, float] | None = None) -> float:
    """Total system loss [%] = 100 × (1 − Π(1 − lᵢ/100)) (pvlib ``pvwatts_losses``)."""
    comps = default_loss_components_pct()
    for k, v in (components_pct or {}).items():
        if k not in comps:
            raise InputError(f"unknown PV loss component {k!r}", message_zh=f"未知的光伏损失项 {k!r}",
                             hint=f"use {sorted(comps)}", hint_zh=f"请使用 {sorted(comps)}")
        if not 0 <= float(v) < 100:
            raise QuantityError(f"PV loss {k} must be in [0, 100) %, got {v}",
                                message_zh=f"光伏损失项 {k} 须在 [0, 100) % 之间，实际为 {v}",
                                location=Location(column=k, value=v))
        comps[k] = float(v)
    return float(pvlib.pvsystem.pvwatts_losses(**comps))


def combined_loss_frac(fractions: list[float] | tuple[float, ...]) -> float:
    """Combine loss fractions multiplicatively (pvlib ``combine_loss_factors``) [fraction]."""
    idx = pd.DatetimeIndex(["2024-01-01"])
    series = [pd.Series([float(f)], index=idx) for f in fractions]
    return float(pvlib.pvsystem.combine_loss_factors(idx, *series).iloc[0])


@dataclass(frozen=True)
class PVSystemSpec:
    """A rooftop PV system.

    latitude_deg, longitude_deg : site [°]; altitude_m [m] (``None`` = pvlib's lookup).
    tilt_deg : module tilt from horizontal [°]; azimuth_deg : pvlib convention, 180 = south [°].
    capacity_kwp : DC nameplate [kWp]; or give ``roof_area_m2`` [m²] and ``roof_kwp_per_m2`` [kWp/m²].
    loss_components_pct : PVWatts loss components [%] overriding pvlib's defaults.
    dc_ac_ratio : DC/AC ratio (容配比) [-]; inverter_efficiency_frac : nominal inverter efficiency.
    gamma_pdc_per_c : power temperature coefficient [1/°C].
    temperature_model : SAPM parameter set name.
    """

    latitude_deg: float
    longitude_deg: float
    tilt_deg: float
    azimuth_deg: float = 180.0
    capacity_kwp: float | None = None
    roof_area_m2: float | None = None
    roof_kwp_per_m2: float | None = None
    altitude_m: float | None = None
    loss_components_pct: Mapping[str, float] = field(default_factory=dict)
    dc_ac_ratio: float = 1.1
    inverter_efficiency_frac: float = 0.96
    gamma_pdc_per_c: float = -0.0037
    temperature_model: str = "open_rack_glass_polymer"
    albedo_frac: float = 0.2

    def __post_init__(self) -> None:
        if not -90 <= self.latitude_deg <= 90 or not -180 <= self.longitude_deg <= 180:
            raise QuantityError("latitude/longitude out of range", message_zh="经纬度超出范围",
                                location=Location(value=(self.latitude_deg, self.longitude_deg)))
        if not 0 <= self.tilt_deg <= 90 or not 0 <= self.azimuth_deg <= 360:
            raise QuantityError("tilt must be 0–90° and azimuth 0–360° (180 = south)",
                                message_zh="倾角须在 0–90°，方位角须在 0–360°（180 为正南）",
                                location=Location(value=(self.tilt_deg, self.azimuth_deg)))
        if (self.capacity_kwp is None) == (self.roof_area_m2 is None):
            raise InputError("give either capacity_kwp or roof_area_m2 (not both)",
                             message_zh="请给出装机容量或屋顶面积之一（不要同时给出）",
                             hint="capacity in kWp, or roof area in m² with roof_kwp_per_m2",
                             hint_zh="装机容量单位 kWp；或屋顶面积 m² 并给出单位面积装机 kWp/m²")
        if self.roof_area_m2 is not None and (self.roof_kwp_per_m2 is None or self.roof_kwp_per_m2 <= 0):
            raise InputError("roof_area_m2 needs roof_kwp_per_m2 (packing density, kWp per m² of roof)",
                             message_zh="按屋顶面积测算需给出单位面积装机容量 kWp/m²",
                             hint="typically 0.06–0.12 kWp/m² of gross roof area", hint_zh="毛屋顶面积一般为 0.06–0.12 kWp/m²")
        if self.resolved_capacity_kwp <= 0:
            raise QuantityError("PV capacity must be > 0", message_zh="光伏装机容量必须大于 0",
                                location=Location(column="capacity_kwp", value=self.resolved_capacity_kwp))
        if not 0 < self.inverter_efficiency_frac <= 1 or self.dc_ac_ratio <= 0:
            raise QuantityError("inverter efficiency must be in (0, 1] and dc_ac_ratio > 0",
                                message_zh="逆变器效率须在 (0, 1]，容配比须大于 0")
        if self.temperature_model not in pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]:
            raise InputError(f"unknown temperature model {self.temperature_model!r}",
                             message_zh=f"未知的组件温度模型 {self.temperature_model!r}")
        total_loss_pct(self.loss_components_pct)

    @property
    def resolved_capacity_kwp(self) -> float:
        """DC capacity [kWp] (given, or roof area × packing density)."""
        if self.capacity_kwp is not None:
            return float(self.capacity_kwp)
        return float(self.roof_area_m2 or 0.0) * float(self.roof_kwp_per_m2 or 0.0)


@dataclass(frozen=True)
class PVYield:
    """Simulated PV output on a time grid.

    ac_kw : average AC output per step [kW]; energy_kwh : over the grid [kWh];
    full_load_hours_h : energy / capacity [h]; cloudiness_factor_frac : ``k`` (offline mode) or None.
    """

    timestamps: pd.DatetimeIndex
    step_h: float
    ac_kw: FloatArray
    capacity_kwp: float
    energy_kwh: float
    full_load_hours_h: float
    total_loss_pct: float
    irradiance_source: str
    cloudiness_factor_frac: float | None
    assumptions: tuple[str, ...]
    trace: tuple[TraceStep, ...] = ()

    @property
    def yield_kw_per_kwp(self) -> FloatArray:
        """AC output per kWp installed [kW/kWp] (input of the sizing LP)."""
        out = self.ac_kw / self.capacity_kwp
        out.setflags(write=False)
        return out


def _step_hours(index: pd.DatetimeIndex, step_h: float | None) -> float:
    if step_h is not None:
        return float(step_h)
    if len(index) < 2:
        raise PeriodError("cannot infer the time step from fewer than two timestamps",
                          message_zh="少于两个时间戳，无法推断时间步长", hint="pass step_h", hint_zh="请提供 step_h")
    diffs = np.asarray((index[1:] - index[:-1]).total_seconds(), dtype=np.float64)
    if not (diffs == diffs[0]).all() or diffs[0] <= 0:
        raise PeriodError("timestamps must be equally spaced", message_zh="时间戳必须等间隔",
                          hint="resample the weather data to a fixed step", hint_zh="请将气象数据重采样为固定步长")
    return float(diffs[0]) / 3600.0


def _check_index(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise PeriodError("PV timestamps must be a time-zone aware DatetimeIndex",
                          message_zh="光伏时间戳必须是带时区的时间索引",
                          hint="localise, e.g. index.tz_localize('Asia/Shanghai')", hint_zh="请指定时区")
    return index


def _ac_power(spec: PVSystemSpec, index: pd.DatetimeIndex, step_h: float, ghi: FloatArray,
              dni: FloatArray | None, dhi: FloatArray | None, temp_air_c: FloatArray, wind_m_s: FloatArray,
              capacity_kwp: float, solar: pd.DataFrame | None = None) -> FloatArray:
    mid = index + pd.Timedelta(hours=step_h / 2)
    loc = pvlib.location.Location(spec.latitude_deg, spec.longitude_deg, altitude=spec.altitude_m)
    sp = solar if solar is not None else loc.get_solarposition(mid)
    zen = sp["apparent_zenith"].to_numpy()
    if dni is None or dhi is None:
        split = pvlib.irradiance.erbs(ghi, sp["zenith"].to_numpy(), mid)
        dni = np.asarray(split["dni"], dtype=np.float64)
        dhi = np.asarray(split["dhi"], dtype=np.float64)
    dni_extra = pvlib.irradiance.get_extra_radiation(mid).to_numpy()
    poa = pvlib.irradiance.get_total_irradiance(
        spec.tilt_deg, spec.azimuth_deg, zen, sp["azimuth"].to_numpy(), dni, ghi, dhi,
        dni_extra=dni_extra, albedo=spec.albedo_frac, model="haydavies")
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64), nan=0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][spec.temperature_model]
    t_cell = pvlib.temperature.sapm_cell(poa_global, temp_air_c, wind_m_s, **params)
    pdc0_w = capacity_kwp * 1000.0
    dc = pvlib.pvsystem.pvwatts_dc(poa_global, t_cell, pdc0_w, spec.gamma_pdc_per_c)
    dc = np.asarray(dc, dtype=np.float64) * (1 - total_loss_pct(spec.loss_components_pct) / 100.0)
    pac0_w = pdc0_w / spec.dc_ac_ratio
    ac = pvlib.inverter.pvwatts(dc, pac0_w / spec.inverter_efficiency_frac, eta_inv_nom=spec.inverter_efficiency_frac)
    return np.clip(np.nan_to_num(np.asarray(ac, dtype=np.float64), nan=0.0), 0.0, None) / 1000.0


def _column(weather: pd.DataFrame, name: str, minimum: float | None) -> FloatArray | None:
    if name not in weather.columns:
        return None
    arr: FloatArray = pd.to_numeric(weather[name], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(arr) | ((arr < minimum) if minimum is not None else False)
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise QuantityError(f"weather column {name!r} has an invalid value at row {t}",
                            message_zh=f"气象数据列 {name!r} 第 {t} 行数值无效",
                            hint="gaps in irradiance are not zero: fill or drop them",
                            hint_zh="辐照缺测不等于零：请补齐或删除", location=Location(column=name, row=t, value=arr[t]))
    return arr


def simulate_pv(spec: PVSystemSpec, weather: pd.DataFrame, step_h: float | None = None,
                default_temp_air_c: float | None = None, default_wind_m_s: float = 1.0) -> PVYield:
    """PV output from measured or TMY weather (``weather`` indexed by tz-aware interval starts).

    Columns: ``ghi`` [W/m²] required; ``dni``, ``dhi`` [W/m²] optional (Erbs split otherwise);
    ``temp_air`` [°C] required unless ``default_temp_air_c`` is given; ``wind_speed`` [m/s] optional.
    """
    index = _check_index(pd.DatetimeIndex(weather.index))
    dt = _step_hours(index, step_h)
    ghi = _column(weather, "ghi", 0.0)
    if ghi is None:
        raise InputError("weather data needs a 'ghi' column [W/m²]", message_zh="气象数据缺少 ghi 列 [W/m²]",
                         hint="give global horizontal irradiance", hint_zh="请提供水平面总辐照度")
    assumptions: list[str] = []
    temp = _column(weather, "temp_air", None)
    if temp is None:
        if default_temp_air_c is None:
            raise InputError("weather data needs 'temp_air' [°C] or default_temp_air_c",
                             message_zh="气象数据缺少 temp_air 列 [°C]，也未给出默认气温")
        temp = np.full(len(index), float(default_temp_air_c))
        assumptions.append(f"air temperature constant {default_temp_air_c} °C")
    wind = _column(weather, "wind_speed", 0.0)
    if wind is None:
        wind = np.full(len(index), default_wind_m_s)
        assumptions.append(f"wind speed constant {default_wind_m_s} m/s")
    dni, dhi = _column(weather, "dni", 0.0), _column(weather, "dhi", 0.0)
    if dni is None or dhi is None:
        assumptions.append("DNI/DHI split from GHI with the Erbs model")
    cap = spec.resolved_capacity_kwp
    if spec.capacity_kwp is None:
        assumptions.append(f"capacity {cap:.1f} kWp = roof {spec.roof_area_m2} m² × {spec.roof_kwp_per_m2} kWp/m²")
    with _quiet_pvlib():
        ac = _ac_power(spec, index, dt, ghi, dni, dhi, temp, wind, cap)
    return _result(spec, index, dt, ac, cap, "measured", None, assumptions)


def _result(spec: PVSystemSpec, index: pd.DatetimeIndex, dt: float, ac: FloatArray, cap: float, source: str,
            k: float | None, assumptions: list[str], refs: tuple[FactorRef, ...] = ()) -> PVYield:
    ac.setflags(write=False)
    energy = float(ac.sum() * dt)
    loss = total_loss_pct(spec.loss_components_pct)
    trace = (TraceStep("pvlib: Hay–Davies POA, SAPM cell temperature, PVWatts DC × (1 − losses), PVWatts inverter",
                       energy, "kWh", factors=refs,
                       inputs=(("capacity_kwp", cap), ("total_loss_pct", loss), ("tilt_deg", spec.tilt_deg),
                               ("azimuth_deg", spec.azimuth_deg))
                       + ((("cloudiness_factor_frac", k),) if k is not None else ())),)
    return PVYield(index, dt, ac, cap, energy, energy / cap, loss, source, k, tuple(assumptions), trace)


def _data_path() -> Path:
    return Path(str(resources.files("parkcarbon.planning") / "data" / "pv_full_load_hours_cn.csv"))


def typical_full_load_hours(province: str, path: str | Path | None = None) -> FactorRef:
    """Typical equivalent full-load hours of PV in ``province`` [h] (value with source and grade)."""
    p = Path(path) if path is not None else _data_path()
    with p.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if province.strip().lower() in (row["province"].lower(), row["province_zh"]):
                return FactorRef(f"pv_full_load_hours:{row['province']}", "pv.full_load_hours",
                                 float(row["full_load_hours_h"]), "h", row["source"], row["grade"],
                                 region=row["province"])
    raise FactorNotFoundError(f"no typical PV full-load hours for {province!r}",
                              message_zh=f"没有 {province!r} 的光伏典型利用小时数",
                              hint="pass full_load_hours_h explicitly", hint_zh="请直接给出等效满发小时数")


def simulate_pv_clearsky(spec: PVSystemSpec, timestamps: pd.DatetimeIndex, *, step_h: float | None = None,
                         full_load_hours_h: float | None = None, province: str | None = None,
                         temp_air_c: float = 20.0, wind_m_s: float = 1.0) -> PVYield:
    """Offline PV output: Ineichen clear sky × cloudiness factor ``k`` calibrated to full-load hours.

    Give ``full_load_hours_h`` [h/a] or a ``province`` to take it from the typical-hours table.
    """
    index = _check_index(pd.DatetimeIndex(timestamps))
    dt = _step_hours(index, step_h)
    refs: tuple[FactorRef, ...] = ()
    if full_load_hours_h is None:
        if province is None:
            raise InputError("offline PV needs full_load_hours_h or a province",
                             message_zh="离线光伏测算需要等效满发小时数或省份",
                             hint="e.g. province='Shandong'", hint_zh="例如 province='山东'")
        ref = typical_full_load_hours(province)
        refs = (ref,)
        full_load_hours_h = ref.value
    if not 0 < full_load_hours_h < 3000:
        raise QuantityError(f"full-load hours {full_load_hours_h} h/a out of range (0, 3000)",
                            message_zh=f"等效满发小时数 {full_load_hours_h} 超出范围 (0, 3000)")
    cap = spec.resolved_capacity_kwp
    loc = pvlib.location.Location(spec.latitude_deg, spec.longitude_deg, altitude=spec.altitude_m)

    def clear(idx: pd.DatetimeIndex, step: float) -> FloatArray:
        mid = idx + pd.Timedelta(hours=step / 2)
        with _quiet_pvlib():
            sp = loc.get_solarposition(mid)
            cs = loc.get_clearsky(mid, model="ineichen", solar_position=sp)
        n = len(idx)
        with _quiet_pvlib():
            return _ac_power(spec, idx, step, cs["ghi"].to_numpy(), cs["dni"].to_numpy(), cs["dhi"].to_numpy(),
                             np.full(n, temp_air_c), np.full(n, wind_m_s), cap, solar=sp)

    year = index[0].tz_convert("Asia/Shanghai").year
    year_idx = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq=pd.Timedelta(hours=dt), inclusive="left",
                             tz="Asia/Shanghai")
    h_clear = float(clear(year_idx, dt).sum()) * dt / cap * 8760.0 / (len(year_idx) * dt)
    k = full_load_hours_h / h_clear
    assumptions = [f"Ineichen clear sky (pvlib Linke turbidity climatology), air {temp_air_c} °C, wind {wind_m_s} m/s",
                   f"cloudiness factor k = {full_load_hours_h:.0f} h / {h_clear:.0f} h clear-sky = {k:.4f}"]
    if k > 1:
        assumptions.append("target full-load hours exceed the clear-sky yield: k > 1 (check the target)")
    if spec.capacity_kwp is None:
        assumptions.append(f"capacity {cap:.1f} kWp = roof {spec.roof_area_m2} m² × {spec.roof_kwp_per_m2} kWp/m²")
    ac = clear(index, dt) * k
    return _result(spec, index, dt, ac, cap, "clearsky-calibrated", k, assumptions, refs)


@dataclass(frozen=True)
class QuickEstimate:
    """Rule-of-thumb yield and avoided coal/CO2 (快速估算); conventions are the caller's parameters."""

    annual_generation_kwh: float
    coal_saved_t: float | None
    co2_reduced_t: float | None
    trace: tuple[TraceStep, ...]


def quick_estimate(capacity_kw: float, full_load_hours_h: float, coal_factor: FactorRef | None = None,
                   co2_factor: FactorRef | None = None) -> QuickEstimate:
    """annual kWh = capacity [kW] × full-load hours [h]; coal [t] and CO2 [t] = kWh × factor [kg/kWh] / 1000.

    The avoided-coal convention must be explicit (e.g. 0.1229 kgce/kWh calorific, ~0.30 kgce/kWh
    power-supply coal rate, or a press convention): pass it as a :class:`FactorRef` in kg/kWh.
    """
    for name, v in (("capacity_kw", capacity_kw), ("full_load_hours_h", full_load_hours_h)):
        if not np.isfinite(v) or v < 0:
            raise QuantityError(f"{name} must be finite and ≥ 0", message_zh=f"{name} 必须是非负有限数值",
                                location=Location(column=name, value=v))
    kwh = capacity_kw * full_load_hours_h
    steps = [TraceStep("capacity × equivalent full-load hours", kwh, "kWh",
                       inputs=(("capacity_kw", capacity_kw), ("full_load_hours_h", full_load_hours_h)))]
    coal = co2 = None
    for ref, label in ((coal_factor, "coal"), (co2_factor, "co2")):
        if ref is None:
            continue
        if ref.unit not in ("kg/kWh", "kgce/kWh", "kgCO2/kWh", "tCO2/MWh"):
            raise InputError(f"{label} factor unit {ref.unit!r} is not per kWh",
                             message_zh=f"{label} 系数单位 {ref.unit!r} 不是每千瓦时")
        t = kwh * ref.value / 1000.0
        steps.append(TraceStep(f"{label} = kWh × factor / 1000", t, "t", factors=(ref,), inputs=(("kwh", kwh),)))
        if label == "coal":
            coal = t
        else:
            co2 = t
    return QuickEstimate(kwh, coal, co2, tuple(steps))
