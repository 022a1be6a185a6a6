"""Which unit the registry serves each stored factor unit in (换算到核算所用单位).

Factor rows keep the value **in the unit of their source** (``kgce/kg``, ``tC/TJ``,
``GJ/10^4 Nm3``, ``%``…). Consumers (``core/factorset.py``) need fixed units (``tce/t``,
``tC/GJ``, ``GJ/m3``, fraction…). This module holds the one table that maps a stored unit to
its served unit; the numeric conversion factor comes from :mod:`parkcarbon.units` (where all
conversion constants live) and is applied in decimal arithmetic, so ``0.1229 kgce/kWh`` is
served as exactly ``0.0001229 tce/kWh``.

=========================  =====================  ==========
stored unit                served unit            factor
=========================  =====================  ==========
kgce/kg                    tce/t                  1
kgce/t                     tce/t                  1/1000
kgce/m3                    tce/m3                 1/1000
kgce/kWh                   tce/kWh                1/1000
kgce/MJ                    tce/GJ                 1
tce/10^4 m3                tce/m3                 1/10 000
MJ/t                       GJ/t                   1/1000
GJ/10^4 Nm3                GJ/m3                  1/10 000
tC/TJ                      tC/GJ                  1/1000
%                          fraction               1/100
kgCO2/kWh                  tCO2/MWh               1
kgCO2e/kWh                 tCO2e/MWh              1
tCO2/10^4 Nm3              tCO2/m3                1/10 000
=========================  =====================  ==========

``m3`` of gas is taken at the standard reference state of the source (``Nm3`` = ``m3``,
as in :mod:`parkcarbon.units`).

Policy and convention rows use units that are counts or durations (``tce/yr``,
``kWh/certificate``, ``min``, ``working_day``…): they are served unchanged
(:data:`OPAQUE_UNITS`).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from parkcarbon.errors import UnitError
from parkcarbon.units import conversion_factor

__all__ = ["KNOWN_UNITS", "OPAQUE_UNITS", "SERVED_UNIT", "serve"]

SERVED_UNIT: dict[str, str] = {
    # standard-coal coefficients (GB/T 2589): kgce per unit → tce per canonical carrier unit
    "kgce/kg": "tce/t",
    "kgce/t": "tce/t",
    "kgce/m3": "tce/m3",
    "kgce/kWh": "tce/kWh",
    "kgce/MJ": "tce/GJ",
    "kgce/GJ": "tce/GJ",
    "tce/t": "tce/t",
    "tce/m3": "tce/m3",
    "tce/kWh": "tce/kWh",
    "tce/GJ": "tce/GJ",
    "tce/10^4 m3": "tce/m3",
    # heat content
    "MJ/t": "GJ/t",
    "GJ/t": "GJ/t",
    "MJ/m3": "GJ/m3",
    "GJ/m3": "GJ/m3",
    "GJ/10^4 Nm3": "GJ/m3",
    "GJ/10^4 m3": "GJ/m3",
    # carbon content and oxidation
    "tC/TJ": "tC/GJ",
    "tC/GJ": "tC/GJ",
    "fraction": "fraction",
    "%": "fraction",
    "1": "1",
    # emission factors
    "kgCO2/kWh": "tCO2/MWh",
    "kgCO2e/kWh": "tCO2e/MWh",
    "tCO2/MWh": "tCO2/MWh",
    "tCO2e/MWh": "tCO2e/MWh",
    "tCO2/GJ": "tCO2/GJ",
    "tCO2/t": "tCO2/t",
    "tCO2/m3": "tCO2/m3",
    "tCO2/10^4 Nm3": "tCO2/m3",
    "kgCO2/m3": "tCO2/m3",
    "tCO2/tce": "tCO2/tce",
}

OPAQUE_UNITS: frozenset[str] = frozenset(
    {
        "tce/yr",
        "kWh/certificate",
        "min",
        "day",
        "working_day",
        "kgCO2/tree/yr",
        "kgCO2/ha/day",
        "tO2/m3",
    }
)

KNOWN_UNITS: frozenset[str] = frozenset(SERVED_UNIT) | OPAQUE_UNITS


@lru_cache(maxsize=256)
def _factor(from_unit: str, to_unit: str) -> Decimal:
    return Decimal(repr(conversion_factor(from_unit, to_unit)))


def serve(value: Decimal, unit: str) -> tuple[float, str]:
    """Convert a stored ``value`` [``unit``] into the served unit; returns ``(value, served_unit)``.

    Raises :class:`~parkcarbon.errors.UnitError` for a unit not in :data:`KNOWN_UNITS`.
    """
    if unit in OPAQUE_UNITS:
        return float(value), unit
    try:
        target = SERVED_UNIT[unit]
    except KeyError:
        raise UnitError(
            f"unit {unit!r} is not a known factor unit",
            message_zh=f"因子单位 {unit!r} 不在已知单位表中",
            hint="use one of: " + ", ".join(sorted(KNOWN_UNITS)),
            hint_zh="请使用以下单位之一：" + "、".join(sorted(KNOWN_UNITS)),
        ) from None
    if target == unit:
        return float(value), unit
    return float(value * _factor(unit, target)), target
