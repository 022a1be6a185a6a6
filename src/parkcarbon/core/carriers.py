"""Energy carriers (能源品种) and energy-consuming media (耗能工质): the shared vocabulary.

Every activity record, factor row and meter names its carrier by the ``code`` below.
Each carrier has one canonical unit in which quantities are stored inside the platform;
user unit strings are converted to it at the boundary (:mod:`parkcarbon.units`).

Names follow GB/T 2589-2020 Appendix A (各种能源折标准煤参考系数) and the
national energy statistics forms (能源购进、消费与库存 205-1 表).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parkcarbon.errors import UnknownCarrierError

__all__ = ["CARRIERS", "Carrier", "CarrierKind", "carrier", "carrier_by_name"]


class CarrierKind(StrEnum):
    """What kind of energy a carrier is."""

    FOSSIL_SOLID = "fossil_solid"
    FOSSIL_LIQUID = "fossil_liquid"
    FOSSIL_GAS = "fossil_gas"
    ELECTRICITY = "electricity"
    HEAT = "heat"  # purchased heat and steam (二次能源)
    BIOMASS = "biomass"
    MEDIUM = "medium"  # 耗能工质: water, compressed air, oxygen…


@dataclass(frozen=True)
class Carrier:
    """An energy carrier.

    Attributes
    ----------
    code : stable identifier used in data files and APIs.
    name_en, name_zh : official names.
    unit : canonical unit of stored quantities (``kWh``, ``t``, ``m3``, ``GJ``).
    kind : :class:`CarrierKind`.
    aliases : other names users write (Chinese and English), matched case-insensitively.
    """

    code: str
    name_en: str
    name_zh: str
    unit: str
    kind: CarrierKind
    aliases: tuple[str, ...] = ()

    @property
    def is_fossil(self) -> bool:
        return self.kind in (CarrierKind.FOSSIL_SOLID, CarrierKind.FOSSIL_LIQUID, CarrierKind.FOSSIL_GAS)


_K = CarrierKind
CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("electricity", "electricity", "电力", "kWh", _K.ELECTRICITY, ("电", "用电", "电量", "power")),
        Carrier("raw_coal", "raw coal", "原煤", "t", _K.FOSSIL_SOLID, ("煤", "coal", "燃煤")),
        Carrier("washed_coal", "washed (clean) coal", "洗精煤", "t", _K.FOSSIL_SOLID, ("精煤",)),
        Carrier("coke", "coke", "焦炭", "t", _K.FOSSIL_SOLID),
        Carrier("crude_oil", "crude oil", "原油", "t", _K.FOSSIL_LIQUID),
        Carrier("fuel_oil", "fuel oil", "燃料油", "t", _K.FOSSIL_LIQUID, ("重油",)),
        Carrier("gasoline", "gasoline", "汽油", "t", _K.FOSSIL_LIQUID, ("petrol",)),
        Carrier("kerosene", "kerosene", "煤油", "t", _K.FOSSIL_LIQUID),
        Carrier("diesel", "diesel oil", "柴油", "t", _K.FOSSIL_LIQUID, ("diesel oil",)),
        Carrier("lpg", "liquefied petroleum gas", "液化石油气", "t", _K.FOSSIL_LIQUID, ("LPG",)),
        Carrier("lng", "liquefied natural gas", "液化天然气", "t", _K.FOSSIL_LIQUID, ("LNG",)),
        Carrier("refinery_gas", "refinery dry gas", "炼厂干气", "t", _K.FOSSIL_GAS),
        Carrier("natural_gas", "natural gas", "天然气", "m3", _K.FOSSIL_GAS, ("NG", "管道天然气", "燃气")),
        Carrier("coke_oven_gas", "coke-oven gas", "焦炉煤气", "m3", _K.FOSSIL_GAS),
        Carrier("heat", "heat (purchased hot water / heat)", "热力", "GJ", _K.HEAT, ("热", "外购热力")),
        Carrier("steam", "steam (low pressure)", "蒸汽", "t", _K.HEAT, ("外购蒸汽",)),
        Carrier("biomass", "biomass fuel", "生物质燃料", "t", _K.BIOMASS, ("生物质",)),
        Carrier("fresh_water", "fresh water", "新水", "t", _K.MEDIUM, ("自来水", "水", "water")),
        Carrier("compressed_air", "compressed air", "压缩空气", "m3", _K.MEDIUM),
        Carrier("oxygen", "oxygen", "氧气", "m3", _K.MEDIUM),
    )
}

_BY_NAME: dict[str, Carrier] = {}
for _c in CARRIERS.values():
    for _n in (_c.code, _c.name_en, _c.name_zh, *_c.aliases):
        _BY_NAME[_n.strip().lower()] = _c


def carrier(code: str) -> Carrier:
    """Look up a carrier by its ``code``; raises :class:`UnknownCarrierError`."""
    try:
        return CARRIERS[code]
    except KeyError:
        raise _unknown(code) from None


def carrier_by_name(name: str) -> Carrier:
    """Look up a carrier by code, English or Chinese name or alias (as users write it)."""
    found = _BY_NAME.get(str(name).strip().lower())
    if found is None:
        raise _unknown(name)
    return found


def _unknown(name: str) -> UnknownCarrierError:
    known = ", ".join(f"{c.code} ({c.name_zh})" for c in CARRIERS.values())
    return UnknownCarrierError(
        f"unknown energy carrier {name!r}",
        message_zh=f"未知能源品种 {name!r}",
        hint=f"use one of: {known}",
        hint_zh=f"请使用以下品种之一：{known}",
    )
