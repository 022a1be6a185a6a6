"""Resolve everything one accounting run needs (核算因子解析): :func:`accounting_factors`.

For a province (``"江苏"``, ``"江苏省"``, ``"CN-JS"``…) and a year this returns an
:class:`~parkcarbon.core.factorset.AccountingFactors` whose values are in exactly the units
fixed by :mod:`parkcarbon.core.factorset`:

* standard-coal coefficients 折标准煤系数 (GB/T 2589-2020 App. A, 当量值; 耗能工质 at 等价值)
  per carrier, in tce per canonical carrier unit, with variants as ``"carrier:variant"``
  (``"steam:1.0MPa"``);
* the electricity 等价值 of the year (tce/kWh), required when ``basis`` is
  ``PRIMARY_INPUT``;
* fuel NCV [GJ/t or GJ/m3], carbon content [tC/GJ], oxidation [fraction] from one
  guideline-scoped fuel set (NOTES §2.4: defaults differ between guidelines);
* the location-based grid factor of the chosen :class:`GridCalibre` (MEE/NBS, NOTES §3.5
  rule 1) and the national "excluding market-traded non-fossil" and fossil factors
  [tCO2/MWh];
* purchased heat 0.11 tCO2/GJ, steam enthalpy [GJ/t], carbonate factors [tCO2/t].

Every fallback or opt-in is warned (``warnings.warn``) and collected in
``AccountingFactors.warnings``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from parkcarbon.core.carriers import CARRIERS, CarrierKind
from parkcarbon.core.factorset import AccountingFactors, ConversionBasis, FuelParameters
from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import FactorDataError, FactorNotFoundError, InputError
from parkcarbon.factors.registry import (
    NATIONAL,
    FactorRegistry,
    FallbackPolicy,
    Resolution,
    UnverifiedFactorWarning,
    default_registry,
)

__all__ = ["DEFAULT_FUEL_SET", "GridCalibre", "accounting_factors"]

DEFAULT_FUEL_SET = "fuel-s3-combined"


class GridCalibre(StrEnum):
    """Which grid emission factor is the location-based one (电网排放因子口径).

    * ``PROVINCIAL`` — MEE/NBS provincial average of the province (省级电网平均排放因子).
    * ``REGIONAL`` — MEE/NBS average of the province's regional grid (区域电网平均排放因子).
    * ``NATIONAL`` — MEE/NBS national average (全国电网平均排放因子).
    * ``ETS_REGULATORY`` — the national factor fixed by the ETS reporting notice for that
      reporting year (e.g. 0.5703), NOTES §3.5 rule 2.
    """

    PROVINCIAL = "provincial"
    REGIONAL = "regional"
    NATIONAL = "national"
    ETS_REGULATORY = "ets_regulatory"


_FUEL_KINDS = (CarrierKind.FOSSIL_SOLID, CarrierKind.FOSSIL_LIQUID, CarrierKind.FOSSIL_GAS)


def accounting_factors(
    region: str,
    year: int,
    *,
    grid_calibre: GridCalibre = GridCalibre.PROVINCIAL,
    policy: FallbackPolicy = FallbackPolicy.STRICT,
    basis: ConversionBasis = ConversionBasis.CALORIFIC,
    allow_unverified: bool = False,
    fuel_set: str = DEFAULT_FUEL_SET,
    registry: FactorRegistry | None = None,
) -> AccountingFactors:
    """All factors of one accounting run for ``region`` and ``year``.

    Parameters
    ----------
    region : province (Chinese name with or without 省/市/自治区, code ``CN-JS``, English name);
        a grid region or ``CN`` is accepted with ``REGIONAL``/``NATIONAL``/``ETS_REGULATORY``.
    year : the consumption (reporting) year.
    grid_calibre : which location-based grid factor (:class:`GridCalibre`).
    policy : :class:`~parkcarbon.factors.registry.FallbackPolicy` for every lookup; the
        default ``STRICT`` never substitutes another year or region.
    basis : ``CALORIFIC`` (当量值, default) or ``PRIMARY_INPUT`` (等价值): with
        ``PRIMARY_INPUT`` the yearly electricity 等价值 is required.
    allow_unverified : opt in to rows graded ``UNVERIFIED`` (warned and recorded).
    fuel_set : the guideline-scoped set of fuel NCV / carbon content / oxidation.
    registry : defaults to the packaged sets.

    Raises
    ------
    FactorNotFoundError : a required factor (grid factor, heat, steam enthalpy, 等价值 under
        ``PRIMARY_INPUT``) is missing under ``policy``.
    InputError : the region does not fit the calibre (e.g. a grid region with ``PROVINCIAL``).
    """
    reg = registry or default_registry()
    place = reg.region(region)
    calibre = GridCalibre(grid_calibre)
    basis = ConversionBasis(basis)
    notes: list[str] = []

    def take(res: Resolution) -> FactorRef:
        res.emit(stacklevel=4)
        notes.extend(res.notes)
        return res.ref

    def get(key: str, *, region: str = NATIONAL, method: str = "", variant: str = "", set_id: str | None = None) -> FactorRef:
        res = reg.resolve(
            key,
            region=region,
            year=year,
            method=method,
            variant=variant,
            set_id=set_id,
            policy=policy,
            allow_unverified=allow_unverified,
        )
        return take(res)

    # ---------------------------------------------------------------- grid factors
    if calibre is GridCalibre.PROVINCIAL:
        if place.kind != "province":
            raise InputError(
                f"grid calibre 'provincial' needs a province, got {place.code} ({place.name_zh})",
                message_zh=f"省级电网因子口径需要省份，实际为 {place.code}（{place.name_zh}）",
                hint="give a province, or use grid_calibre regional/national",
                hint_zh="请给出省份，或使用区域/全国口径",
                code="E-INPUT-REGION",
            )
        grid_region = place.code
    elif calibre is GridCalibre.REGIONAL:
        grid_region = _grid_region_of(reg, place.code, allow_unverified, notes)
    else:
        grid_region = NATIONAL
    grid_method = "ets_reporting" if calibre is GridCalibre.ETS_REGULATORY else "average"
    grid_ef_location = get("grid_ef", region=grid_region, method=grid_method)
    grid_ef_residual = _optional(get, notes, "grid_ef", region=NATIONAL, method="excl_market_non_fossil")
    grid_ef_fossil = _optional(get, notes, "grid_ef", region=NATIONAL, method="fossil")

    # ---------------------------------------------------------------- standard-coal coefficients
    coal: dict[str, FactorRef] = {}
    for code, carrier in CARRIERS.items():
        method = ConversionBasis.PRIMARY_INPUT.value if carrier.kind is CarrierKind.MEDIUM else ConversionBasis.CALORIFIC.value
        rows = reg.rows(key=f"coal_coef.{code}", region=NATIONAL, method=method)
        variants = sorted({r.variant for r in rows if r.key == f"coal_coef.{code}" and _is_default_set(reg, r.set_id)})
        for variant in variants:
            ref = _optional(get, notes, f"coal_coef.{code}", region=NATIONAL, method=method, variant=variant)
            if ref is None:
                continue
            _check_unit(ref, f"tce/{carrier.unit}")
            coal[f"{code}:{variant}" if variant else code] = ref

    electricity_primary: FactorRef | None
    if basis is ConversionBasis.PRIMARY_INPUT:
        electricity_primary = get("coal_coef.electricity", region=NATIONAL, method=ConversionBasis.PRIMARY_INPUT.value)
    else:
        electricity_primary = _optional(
            get, [], "coal_coef.electricity", region=NATIONAL, method=ConversionBasis.PRIMARY_INPUT.value
        )
    if electricity_primary is not None:
        _check_unit(electricity_primary, "tce/kWh")

    # ---------------------------------------------------------------- fuels
    reg.factor_set(fuel_set)  # unknown set → FactorNotFoundError
    fuels: dict[str, FuelParameters] = {}
    for code, carrier in CARRIERS.items():
        if carrier.kind not in _FUEL_KINDS:
            continue
        names = ("ncv", "carbon_content", "oxidation")
        if not any(reg.has_key(f"{name}.{code}", set_id=fuel_set) for name in names):
            continue  # the fuel set has no parameters for this fuel: it is simply not offered
        missing: list[str] = []
        params = [
            _optional(get, missing, f"{name}.{code}", region=NATIONAL, set_id=fuel_set)
            for name in names
        ]
        ncv, cc, of = params
        if ncv is None or cc is None or of is None:
            notes.extend(missing)  # incomplete, or held back as UNVERIFIED: say so
            continue
        _check_unit(ncv, f"GJ/{carrier.unit}")
        _check_unit(cc, "tC/GJ")
        _check_unit(of, "fraction")
        fuels[code] = FuelParameters(ncv=ncv, carbon_content=cc, oxidation=of)

    # ---------------------------------------------------------------- heat, steam, carbonates
    heat_ef = get("heat_ef", region=NATIONAL)
    _check_unit(heat_ef, "tCO2/GJ")
    steam_enthalpy = get("steam_enthalpy", region=NATIONAL)
    _check_unit(steam_enthalpy, "GJ/t")
    carbonates: dict[str, FactorRef] = {}
    for key in sorted({r.key for r in reg.rows(key="carbonate_ef", region=NATIONAL) if _is_default_set(reg, r.set_id)}):
        ref = _optional(get, notes, key, region=NATIONAL)
        if ref is not None:
            _check_unit(ref, "tCO2/t")
            carbonates[key.split(".", 1)[1]] = ref

    return AccountingFactors(
        year=year,
        region=place.code,
        coal_coefficients=coal,
        fuels=fuels,
        grid_ef_location=_check_unit(grid_ef_location, "tCO2/MWh"),
        heat_ef=heat_ef,
        steam_enthalpy=steam_enthalpy,
        electricity_primary_input=electricity_primary,
        grid_ef_residual=None if grid_ef_residual is None else _check_unit(grid_ef_residual, "tCO2/MWh"),
        grid_ef_fossil=None if grid_ef_fossil is None else _check_unit(grid_ef_fossil, "tCO2/MWh"),
        carbonate_factors=carbonates,
        warnings=tuple(dict.fromkeys(notes)),
    )


def _is_default_set(reg: FactorRegistry, set_id: str) -> bool:
    """Rows of user sets layered on a default set carry the user set id: look through the layers."""
    for s in reg.sets.values():
        if s.set_id == set_id or any(layer.set_id == set_id for layer in s.layers):
            return s.manifest.default
    return False


def _optional(get: Callable[..., FactorRef], notes: list[str], key: str, **kw: Any) -> FactorRef | None:
    """A factor that may be absent: ``None`` plus a note instead of an exception."""
    try:
        return get(key, **kw)
    except FactorNotFoundError as exc:
        notes.append(f"{key} not available: {exc.message}")
        return None


def _grid_region_of(reg: FactorRegistry, code: str, allow_unverified: bool, notes: list[str]) -> str:
    region = reg.regions[code]
    if region.kind in ("grid_region", "country"):
        return code
    chain = reg.region_chain(code, allow_unverified=allow_unverified)
    for level_code, level_note, _ in chain[1:]:
        if reg.regions[level_code].kind == "grid_region":
            if level_note:
                notes.append(level_note)
                warnings.warn(level_note, UnverifiedFactorWarning, stacklevel=4)
            return level_code
    raise FactorNotFoundError(
        f"the grid region of {code} ({region.name_zh}) is not known without UNVERIFIED data ({region.note})",
        message_zh=f"{code}（{region.name_zh}）所属区域电网待核实（UNVERIFIED）",
        hint="use grid_calibre provincial or national, or opt in with allow_unverified=True",
        hint_zh="请使用省级或全国口径，或显式允许使用待核实数据（allow_unverified=True）",
        code="E-FACTOR-UNVERIFIED",
    )


def _check_unit(ref: FactorRef, expected: str) -> FactorRef:
    """Refuse a factor served in another unit than :mod:`parkcarbon.core.factorset` fixes."""
    if ref.unit != expected:
        raise FactorDataError(
            f"{ref.factor_id} is in {ref.unit}, but the accounting run needs {expected}",
            message_zh=f"{ref.factor_id} 的单位为 {ref.unit}，核算需要 {expected}",
            hint="store the factor in a unit the registry serves as " + expected,
            hint_zh="请以可换算为 " + expected + " 的单位存储该因子",
        )
    return ref
