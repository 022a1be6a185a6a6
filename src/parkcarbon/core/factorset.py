"""The resolved factors one accounting run uses, passed into the pure core.

The core never looks factors up itself. A caller (normally a service) asks the factor
registry (:mod:`parkcarbon.factors`) for the factors of a region and year and receives an
:class:`AccountingFactors`; every value is a :class:`~parkcarbon.core.trace.FactorRef`
that keeps its source, grade and set version, so each result can cite it.

Units are fixed here so that nobody has to guess (a kgce/tce mix-up is the classic
error of this field):

=====================================  ==========================================
field                                  unit of ``FactorRef.value``
=====================================  ==========================================
``coal_coefficients[carrier]``         tce per canonical unit of the carrier
                                       (tce/t, tce/m3, tce/kWh, tce/GJ)
``electricity_primary_input``          tce/kWh (等价值, yearly)
``fuels[carrier].ncv``                 GJ per canonical unit (GJ/t, GJ/m3)
``fuels[carrier].carbon_content``      tC/GJ
``fuels[carrier].oxidation``           fraction (0..1)
``grid_ef_*``                          tCO2/MWh (= kgCO2/kWh)
``heat_ef``                            tCO2/GJ
``steam_enthalpy``                     GJ/t
``carbonate_factors[mineral]``         tCO2/t carbonate
=====================================  ==========================================

Keys of ``coal_coefficients`` are carrier codes, or ``"carrier:subtype"`` for a
variant (e.g. ``"steam:1.0MPa"``); the plain carrier code is the default variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from parkcarbon.core.trace import FactorRef

__all__ = ["AccountingFactors", "ConversionBasis", "FuelParameters"]


class ConversionBasis(StrEnum):
    """How electricity (and heat) is converted to standard coal.

    * ``CALORIFIC`` — 当量值 (calorific equivalent), GB/T 2589-2020: electricity at its
      heat content, 0.1229 kgce/kWh. The default for 综合能耗.
    * ``PRIMARY_INPUT`` — 等价值 (equivalent value): the primary energy used to generate
      it, i.e. that year's coal consumption rate of thermal power supply (~0.30 kgce/kWh).
    """

    CALORIFIC = "calorific"
    PRIMARY_INPUT = "primary_input"


@dataclass(frozen=True)
class FuelParameters:
    """Combustion parameters of one fuel (GB/T 32150-2015 and the industry guidelines).

    ncv : net calorific value 低位发热量 [GJ per canonical unit]
    carbon_content : carbon content per unit heat 单位热值含碳量 [tC/GJ]
    oxidation : carbon oxidation rate 碳氧化率 [fraction]
    """

    ncv: FactorRef
    carbon_content: FactorRef
    oxidation: FactorRef


@dataclass(frozen=True)
class AccountingFactors:
    """All factors for one (region, year) accounting run. See the module docstring for units."""

    year: int
    region: str
    coal_coefficients: Mapping[str, FactorRef]
    fuels: Mapping[str, FuelParameters]
    grid_ef_location: FactorRef
    heat_ef: FactorRef
    steam_enthalpy: FactorRef
    electricity_primary_input: FactorRef | None = None
    grid_ef_residual: FactorRef | None = None
    grid_ef_fossil: FactorRef | None = None
    carbonate_factors: Mapping[str, FactorRef] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
