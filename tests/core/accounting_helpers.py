"""Test helpers for the accounting core: factor sets and ledger rows built from plain numbers.

The values are the GB/T 2589 Appendix-A / NOTES §2.3 reference numbers, converted to the units
fixed by :mod:`parkcarbon.core.factorset` (tce per canonical unit, GJ per canonical unit…).
"""

from __future__ import annotations

from collections.abc import Mapping

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.factorset import AccountingFactors, FuelParameters
from parkcarbon.core.trace import FactorRef
from parkcarbon.periods import Month

YEAR = 2024


def ref(key: str, value: float, unit: str, source: str = "test") -> FactorRef:
    return FactorRef(factor_id=f"test:{key}", key=key, value=value, unit=unit, source=source, grade="B",
                     year=YEAR, set_version="test-1")


# GB/T 2589 Appendix A (当量值), kgce per kg == tce per t; per m3 and per kWh converted to tce
COAL_COEFFICIENTS: dict[str, tuple[float, str]] = {
    "electricity": (0.1229e-3, "tce/kWh"),
    "raw_coal": (0.7143, "tce/t"),
    "coke": (0.9714, "tce/t"),
    "diesel": (1.4571, "tce/t"),
    "gasoline": (1.4714, "tce/t"),
    "lpg": (1.7143, "tce/t"),
    "natural_gas": (1.2143e-3, "tce/m3"),
    "heat": (0.03412, "tce/GJ"),
    "steam": (0.1286, "tce/t"),
    "steam:1.0MPa": (0.108571, "tce/t"),
    "biomass": (0.5, "tce/t"),
    "fresh_water": (0.2571e-3, "tce/t"),
    "compressed_air": (0.04e-3, "tce/m3"),
}

FUELS: dict[str, tuple[float, str, float, float]] = {
    # NCV [GJ/unit], unit, carbon content [tC/GJ], oxidation [fraction]  (NOTES §2.3)
    "raw_coal": (20.908, "GJ/t", 0.02637, 0.94),
    "coke": (28.435, "GJ/t", 0.0295, 0.93),
    "diesel": (42.652, "GJ/t", 0.0202, 0.98),
    "gasoline": (43.070, "GJ/t", 0.0189, 0.98),
    "lpg": (50.179, "GJ/t", 0.0172, 0.98),
    "natural_gas": (0.038931, "GJ/m3", 0.0153, 0.99),
    "biomass": (15.0, "GJ/t", 0.0300, 0.90),
}


def fuel(code: str, ncv: float, ncv_unit: str, cc: float, of: float) -> FuelParameters:
    return FuelParameters(
        ncv=ref(f"ncv.{code}", ncv, ncv_unit),
        carbon_content=ref(f"cc.{code}", cc, "tC/GJ"),
        oxidation=ref(f"of.{code}", of, "1"),
    )


def make_factors(
    *,
    coal: Mapping[str, tuple[float, str]] | None = None,
    fuels: Mapping[str, tuple[float, str, float, float]] | None = None,
    grid: float = 0.5366,
    residual: float | None = 0.5856,
    fossil: float | None = 0.8325,
    heat_ef: float = 0.11,
    enthalpy: float = 2.76,
    primary: float | None = 0.300e-3,
    year: int = YEAR,
) -> AccountingFactors:
    coal = COAL_COEFFICIENTS if coal is None else coal
    fuels = FUELS if fuels is None else fuels
    return AccountingFactors(
        year=year,
        region="CN",
        coal_coefficients={k: ref(f"coal.{k}", v, u) for k, (v, u) in coal.items()},
        fuels={k: fuel(k, *p) for k, p in fuels.items()},
        grid_ef_location=ref("grid_ef.average", grid, "tCO2/MWh"),
        heat_ef=ref("heat_ef", heat_ef, "tCO2/GJ"),
        steam_enthalpy=ref("steam_enthalpy", enthalpy, "GJ/t"),
        electricity_primary_input=None if primary is None else ref("elec.primary", primary, "tce/kWh"),
        grid_ef_residual=None if residual is None else ref("grid_ef.residual", residual, "tCO2/MWh"),
        grid_ef_fossil=None if fossil is None else ref("grid_ef.fossil", fossil, "tCO2/MWh"),
        carbonate_factors={"CaCO3": ref("carbonate.CaCO3", 0.4397, "tCO2/t"),
                           "MgCO3": ref("carbonate.MgCO3", 0.5220, "tCO2/t")},
    )


def rec(
    rid: str,
    carrier: str,
    flow: Flow,
    quantity: float | None,
    *,
    enterprise: str = "E1",
    month: Month | None = None,
    subtype: str | None = None,
) -> ActivityRecord:
    return ActivityRecord(
        record_id=rid,
        enterprise_id=enterprise,
        month=month or Month(YEAR, 1),
        carrier=carrier,
        flow=flow,
        quantity=quantity,
        source="test",
        quality=Quality.MISSING if quantity is None else Quality.MEASURED,
        subtype=subtype,
    )
