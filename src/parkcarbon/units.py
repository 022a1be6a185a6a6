"""Units of Chinese statistical forms, bills and factor tables (计量单位), parsed at the boundary.

Every conversion constant of parkcarbon lives in this module. A unit string such as
``"万kWh"``, ``"10⁴ Nm³"``, ``"吨标准煤"``, ``"kgce/kWh"`` or ``"ｔＣＯ₂／ＭＷｈ"`` is parsed into a
:class:`Unit`: a *dimension* (a product of base dimensions with integer exponents) and a
*scale* (the size of the unit in the base units of that dimension).

Base units (scale 1):

===============  ==============  ============================================
dimension        base unit       accepted spellings (case-insensitive)
===============  ==============  ============================================
``energy``       kJ              J, kJ/千焦, MJ/兆焦, GJ/吉焦, 百万千焦, TJ,
                                 kWh/千瓦时/度/kW·h, MWh/兆瓦时, GWh, 万kWh…,
                                 kcal/千卡/大卡, Mcal, Gcal, 百万千卡
``mass``         kg              g/克, kg/千克/公斤, t/吨, 万吨/万t
``volume``       m³              m3/m³/立方米/方, Nm³/标方/标准立方米, L/升,
                                 万m³, 万Nm³, 万立方米, 亿立方米, 10⁴ Nm³
``coal_equiv``   kgce            kgce/千克标准煤/公斤标煤, tce/吨标准煤/吨标煤,
                                 万tce/万吨标准煤
``co2``          kgCO2           kgCO2, tCO2, tCO2e, 吨二氧化碳(当量)
``carbon``       kgC             kgC, tC, 吨碳
``money``        CNY (元)        元/CNY/RMB, 千元, 万元, 亿元
``area``         m²              m2/平方米, 万平方米
(none)           1               1, %, ‰, fraction
===============  ==============  ============================================

Magnitude prefixes: Chinese 十/百/千/万/十万/百万/千万/亿 and numeric ``10^4``, ``10⁴``,
``1000``. Compound units are one ``/`` (or ``per``): ``kgce/kWh``, ``GJ/10^4Nm3``.
Full-width characters, superscripts and spaces are tolerated (NFKC normalisation).

Conventions (documented decisions):

* ``Nm³`` and ``m³`` are the same unit: a volume of gas is always taken at the standard
  reference state of the source form; this module does not correct for temperature/pressure.
* ``CO2`` and ``CO2e`` are the same dimension (mass of CO2-equivalent, GWP of CO2 = 1).
* Standard coal (``coal_equiv``) is **not** an energy unit here: turning heat into standard
  coal is a coefficient (GB/T 2589-2020 Appendix A), not a unit conversion, so
  ``convert(…, "kWh", "kgce")`` raises :class:`~parkcarbon.errors.UnitError`. The one
  definitional conversion is :func:`heat_to_kgce`: 1 kgce ≙ 7000 kcal ≙ 29 307.6 kJ; kcal are
  converted as **kcal / 7000** (NOTES §1.2 quirk: the Appendix-A kJ column uses 4.1816 kJ/kcal,
  so never round-trip through kJ).
* Converting between mass and volume (litres of diesel, m³ of water) or between heat and
  steam mass (GJ → t) needs a declared density or enthalpy in :func:`to_canonical`; nothing
  is converted silently.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from parkcarbon.errors import Location, QuantityError, UnitError

__all__ = [
    "CO2_PER_C",
    "KCAL_PER_KGCE",
    "KJ_PER_KCAL",
    "KJ_PER_KGCE",
    "KJ_PER_KWH",
    "KWH_PER_GREEN_CERTIFICATE",
    "Dimension",
    "Unit",
    "conversion_factor",
    "convert",
    "heat_to_kgce",
    "parse_unit",
    "same_unit",
    "to_canonical",
]

# --- conversion constants (the only place they are written) -----------------------------
KJ_PER_KWH = 3600.0
"""1 kWh = 3 600 kJ (exact)."""
KJ_PER_KCAL = 4.1868
"""International-table calorie, 1 kcal = 4.1868 kJ (GB/T 2589-2020 standard-coal definition)."""
KCAL_PER_KGCE = 7000.0
"""标准煤: 1 kgce has a low heating value of 7 000 kcal (GB/T 2589-2020 §3)."""
KJ_PER_KGCE = KCAL_PER_KGCE * KJ_PER_KCAL
"""1 kgce = 29 307.6 kJ."""
CO2_PER_C = 44.0 / 12.0
"""Mass ratio CO2 : C used by GB/T 32150-2015 and the 24 industry guidelines (44/12)."""
KWH_PER_GREEN_CERTIFICATE = 1000.0
"""1 green electricity certificate (绿证, GEC) = 1 000 kWh (发改能源〔2023〕1044号)."""
_KG_PER_T = 1000.0
_L_PER_M3 = 1000.0


class Dimension(StrEnum):
    """Base dimensions of the quantities parkcarbon handles."""

    ENERGY = "energy"
    MASS = "mass"
    VOLUME = "volume"
    COAL_EQUIV = "coal_equiv"
    CO2 = "co2"
    CARBON = "carbon"
    MONEY = "money"
    AREA = "area"


_D = Dimension
_Dims = tuple[tuple[Dimension, int], ...]


@dataclass(frozen=True)
class Unit:
    """A parsed unit.

    Attributes
    ----------
    text : the string as given by the user.
    dims : dimension as sorted ``(Dimension, exponent)`` pairs; ``()`` is dimensionless.
    scale : size of one unit in the base units of ``dims`` (e.g. 万kWh → 3.6e7 [kJ]).
    """

    text: str
    dims: _Dims
    scale: float

    @property
    def dimension(self) -> str:
        """Readable dimension, e.g. ``"energy"``, ``"coal_equiv/energy"``, ``"1"``."""
        num = "*".join(d.value for d, e in self.dims if e > 0 for _ in range(e))
        den = "*".join(d.value for d, e in self.dims if e < 0 for _ in range(-e))
        text = num or "1"
        return f"{text}/{den}" if den else text

    def __str__(self) -> str:
        return self.text


# --- vocabulary ------------------------------------------------------------------------
# atom -> (dimension, scale in base units of the dimension); keys are normalised (NFKC, lower
# case, no spaces).
_ATOMS: dict[str, tuple[Dimension | None, float]] = {}


def _add(dim: Dimension | None, scale: float, *names: str) -> None:
    for n in names:
        _ATOMS[n] = (dim, scale)


_add(_D.ENERGY, 0.001, "j", "焦", "焦耳")
_add(_D.ENERGY, 1.0, "kj", "千焦", "千焦耳")
_add(_D.ENERGY, 1e3, "mj", "兆焦", "兆焦耳")
_add(_D.ENERGY, 1e6, "gj", "吉焦", "吉焦耳")
_add(_D.ENERGY, 1e9, "tj", "太焦", "太焦耳")
_add(_D.ENERGY, KJ_PER_KWH / 1000.0, "wh", "瓦时")
_add(_D.ENERGY, KJ_PER_KWH, "kwh", "kw.h", "千瓦时", "千瓦小时", "度", "度电")
_add(_D.ENERGY, KJ_PER_KWH * 1e3, "mwh", "兆瓦时")
_add(_D.ENERGY, KJ_PER_KWH * 1e6, "gwh", "吉瓦时")
_add(_D.ENERGY, KJ_PER_KWH * 1e9, "twh", "太瓦时")
_add(_D.ENERGY, KJ_PER_KCAL / 1000.0, "cal", "卡")
_add(_D.ENERGY, KJ_PER_KCAL, "kcal", "千卡", "大卡")
_add(_D.ENERGY, KJ_PER_KCAL * 1e3, "mcal")
_add(_D.ENERGY, KJ_PER_KCAL * 1e6, "gcal", "吉卡")
_add(_D.MASS, 0.001, "g", "克")
_add(_D.MASS, 1.0, "kg", "千克", "公斤")
_add(_D.MASS, _KG_PER_T, "t", "吨")
_MASS: dict[str, float] = {name: scale for name, (dim, scale) in _ATOMS.items() if dim is _D.MASS}
_add(_D.VOLUME, 1.0, "m3", "nm3", "立方米", "立方", "方", "标方", "标立方米", "标准立方米", "标准方")
_add(_D.VOLUME, 1.0 / _L_PER_M3, "l", "升", "公升")
_add(_D.MONEY, 1.0, "元", "cny", "rmb", "yuan", "人民币")
_add(_D.AREA, 1.0, "m2", "平方米", "平米")
_add(None, 1.0, "1", "fraction", "-", "无量纲")
_add(None, 0.01, "%", "百分比", "percent", "pct")
_add(None, 0.001, "‰")

# "<mass unit><substance>": kgce, 吨标准煤, tCO2e, 吨二氧化碳当量, tC, 吨碳 …
_SUBSTANCES: dict[str, Dimension] = {
    "ce": _D.COAL_EQUIV,
    "标准煤": _D.COAL_EQUIV,
    "标煤": _D.COAL_EQUIV,
    "co2e": _D.CO2,
    "co2eq": _D.CO2,
    "co2-eq": _D.CO2,
    "co2": _D.CO2,
    "二氧化碳当量": _D.CO2,
    "二氧化碳": _D.CO2,
    "c": _D.CARBON,
    "碳": _D.CARBON,
}
_SUBSTANCE_ORDER = sorted(_SUBSTANCES, key=len, reverse=True)

_PREFIXES: dict[str, float] = {
    "十": 10.0, "百": 100.0, "千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6, "千万": 1e7, "亿": 1e8,
}
_PREFIX_ORDER = sorted(_PREFIXES, key=len, reverse=True)
_NUM_RE = re.compile(r"^(\d+(?:\.\d+)?)(?:\^(-?\d+)|e(-?\d+))?(?:[x*×])?")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_POW10_SUPER_RE = re.compile(r"10([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_PER_RE = re.compile(r"\s+per\s+", re.IGNORECASE)
_DOTS = str.maketrans("", "", "·⋅•∙・ \t\r\n")


def _normalise(text: str) -> str:
    # "10⁴" must become "10^4" before NFKC turns it into "104".
    t = _POW10_SUPER_RE.sub(lambda m: "10^" + m.group(1).translate(_SUPERSCRIPTS), text)
    t = unicodedata.normalize("NFKC", t)
    t = _PER_RE.sub("/", t)  # "kgCO2 per kWh"; only as a separate word ("percent" stays)
    t = t.translate(_DOTS).lower()
    return t.replace("÷", "/")


def _unit_error(text: object, why: str, why_zh: str, location: Location | None = None) -> UnitError:
    return UnitError(
        f"unknown unit {text!r}: {why}",
        message_zh=f"无法识别的计量单位 {text!r}：{why_zh}",
        hint="write the unit as e.g. kWh, 万kWh, t, 万m3, GJ, tce, 万元, or a ratio such as kgce/kWh",
        hint_zh="请使用如 kWh、万kWh、t、万m3、GJ、tce、万元 或比值 kgce/kWh 等单位",
        location=location or Location(value=text),
    )


def _atom(term: str, original: str) -> tuple[Dimension | None, float]:
    """A unit without prefixes: base vocabulary or <mass unit><substance>."""
    if term in _ATOMS:
        return _ATOMS[term]
    for sub in _SUBSTANCE_ORDER:
        if term.endswith(sub) and term[: -len(sub)] in _MASS:
            return _SUBSTANCES[sub], _MASS[term[: -len(sub)]]
    raise _unit_error(original, f"{term!r} is not a known unit", f"{term!r} 不是已知单位")


def _term(term: str, original: str) -> tuple[_Dims, float]:
    """One side of a ratio: [number or 10^n][Chinese magnitude prefix]atom."""
    if not term:
        raise _unit_error(original, "empty unit", "单位为空")
    mult = 1.0
    if term not in _ATOMS:
        m = _NUM_RE.match(term)
        if m and m.end() > 0:
            base = float(m.group(1))
            exp = m.group(2) or m.group(3)
            mult = base ** int(exp) if exp is not None else base
            if mult <= 0:
                raise _unit_error(original, "a unit multiplier must be positive", "单位倍数必须为正")
            term = term[m.end():]
            if not term:
                return (), mult
    dim: Dimension | None
    if term in _ATOMS:
        dim, scale = _ATOMS[term]
    else:
        for prefix in _PREFIX_ORDER:
            rest = term[len(prefix):]
            if term.startswith(prefix) and rest:
                try:
                    dim, scale = _atom(rest, original)
                except UnitError:
                    continue
                scale *= _PREFIXES[prefix]
                break
        else:
            dim, scale = _atom(term, original)
    return (((dim, 1),) if dim is not None else ()), mult * scale


def _combine(num: _Dims, den: _Dims) -> _Dims:
    exps: dict[Dimension, int] = {}
    for d, e in num:
        exps[d] = exps.get(d, 0) + e
    for d, e in den:
        exps[d] = exps.get(d, 0) - e
    return tuple(sorted(((d, e) for d, e in exps.items() if e != 0), key=lambda p: p[0].value))


@lru_cache(maxsize=1024)
def _parse(text: str) -> tuple[_Dims, float]:
    norm = _normalise(text)
    parts = norm.split("/")
    if len(parts) > 2:
        raise _unit_error(text, "only one '/' is allowed", "只允许一个“/”")
    num_dims, num_scale = _term(parts[0], text)
    if len(parts) == 1:
        return num_dims, num_scale
    den_dims, den_scale = _term(parts[1], text)
    return _combine(num_dims, den_dims), num_scale / den_scale


def parse_unit(text: str | Unit) -> Unit:
    """Parse a unit string (Chinese or English, full- or half-width) into a :class:`Unit`.

    Raises :class:`~parkcarbon.errors.UnitError` for an unknown or malformed unit.
    """
    if isinstance(text, Unit):
        return text
    if not isinstance(text, str):
        raise _unit_error(text, "a unit must be text", "单位必须是文本")
    dims, scale = _parse(text)
    return Unit(text=text.strip(), dims=dims, scale=scale)


def _check_value(value: float, location: Location | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QuantityError(
            f"value must be a finite number, got {value!r}",
            message_zh=f"数值必须是有限数字，实际为 {value!r}",
            location=location or Location(value=value),
        )


def conversion_factor(from_unit: str | Unit, to_unit: str | Unit) -> float:
    """Factor ``k`` such that ``value[from_unit] × k = value[to_unit]``.

    Raises :class:`~parkcarbon.errors.UnitError` when the dimensions differ.
    """
    src, dst = parse_unit(from_unit), parse_unit(to_unit)
    if src.dims != dst.dims:
        hint = ""
        if {d for d, _ in src.dims} ^ {d for d, _ in dst.dims} == {_D.ENERGY, _D.COAL_EQUIV}:
            hint = (" — standard coal is obtained with a GB/T 2589 coefficient, or with "
                    "units.heat_to_kgce for a heat quantity")
        raise UnitError(
            f"cannot convert {src.text!r} ({src.dimension}) to {dst.text!r} ({dst.dimension}){hint}",
            message_zh=f"单位 {src.text!r}（{src.dimension}）不能换算为 {dst.text!r}（{dst.dimension}）",
            hint="check that the value is in the unit the field expects",
            hint_zh="请检查数值的单位是否与该字段要求的单位一致",
            location=Location(value=src.text),
        )
    return src.scale / dst.scale


def convert(value: float, from_unit: str | Unit, to_unit: str | Unit) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` (same dimension only).

    ``convert(2.5, "万kWh", "MWh") == 25.0``. Raises :class:`~parkcarbon.errors.UnitError`
    on incompatible dimensions and :class:`~parkcarbon.errors.QuantityError` on NaN/inf.
    """
    _check_value(value, None)
    return float(value) * conversion_factor(from_unit, to_unit)


def same_unit(a: str | Unit, b: str | Unit, *, rel_tol: float = 1e-9) -> bool:
    """True when ``a`` and ``b`` have the same dimension and the same size (kgce/kg ≡ tce/t)."""
    ua, ub = parse_unit(a), parse_unit(b)
    return ua.dims == ub.dims and math.isclose(ua.scale, ub.scale, rel_tol=rel_tol)


def heat_to_kgce(value: float, unit: str | Unit) -> float:
    """Standard coal equivalent of a heat quantity by the definition of 标准煤 [kgce].

    GB/T 2589-2020 §3: 1 kgce ≙ 7 000 kcal ≙ 29 307.6 kJ. kcal-based units are divided by
    7 000 directly (NOTES §1.2: never round-trip through the 4.1816 kJ/kcal of Appendix A).
    This is for heat given in energy units; fuels use their Appendix-A coefficient.
    """
    _check_value(value, None)
    u = parse_unit(unit)
    if u.dims != ((_D.ENERGY, 1),):
        raise UnitError(
            f"heat_to_kgce needs an energy unit, got {u.text!r} ({u.dimension})",
            message_zh=f"heat_to_kgce 需要能量单位，实际为 {u.text!r}（{u.dimension}）",
            location=Location(value=u.text),
        )
    kcal_units = {"cal", "kcal", "mcal", "gcal", "卡", "千卡", "大卡", "吉卡"}
    norm = _normalise(u.text)
    stripped = norm
    for prefix in _PREFIX_ORDER:
        if norm.startswith(prefix) and norm[len(prefix):] in kcal_units:
            stripped = norm[len(prefix):]
            break
    if stripped in kcal_units:
        return float(value) * (u.scale / KJ_PER_KCAL) / KCAL_PER_KGCE
    return float(value) * u.scale / KJ_PER_KGCE


def to_canonical(
    value: float,
    unit_text: str | Unit,
    carrier_code: str,
    *,
    density_kg_per_l: float | None = None,
    enthalpy_gj_per_t: float | None = None,
    location: Location | None = None,
) -> float:
    """Convert a quantity of a carrier into the carrier's canonical unit (``core.carriers``).

    ``to_canonical(3, "万kWh", "electricity") == 30000.0`` [kWh];
    ``to_canonical(500, "千克", "diesel") == 0.5`` [t]; ``to_canonical(2, "万Nm³", "natural_gas")
    == 20000.0`` [m³].

    Conversions across dimensions are done only when declared:

    * mass ↔ volume (litres of diesel, m³ of water, t of LNG as m³): ``density_kg_per_l``
      [kg/L = t/m³];
    * heat ↔ steam mass (steam bought in GJ, canonical t): ``enthalpy_gj_per_t`` [GJ/t].

    Otherwise a :class:`~parkcarbon.errors.UnitError` says which declaration is missing.
    """
    # local import keeps this module a leaf at import time (core.carriers only needs errors)
    from parkcarbon.core.carriers import carrier

    _check_value(value, location)
    c = carrier(carrier_code)
    src = parse_unit(unit_text)
    dst = parse_unit(c.unit)
    if src.dims == dst.dims:
        return float(value) * src.scale / dst.scale
    kinds = {src.dims, dst.dims}
    mass, vol, energy = ((_D.MASS, 1),), ((_D.VOLUME, 1),), ((_D.ENERGY, 1),)
    if kinds == {mass, vol}:
        if density_kg_per_l is None:
            raise UnitError(
                f"{c.name_en} given in {src.text!r} needs a declared density to become {c.unit}",
                message_zh=f"{c.name_zh}以 {src.text!r} 计量，需声明密度才能换算为 {c.unit}",
                hint="pass density_kg_per_l (kg/L = t/m³), e.g. diesel 0.84, gasoline 0.725, water 1.0",
                hint_zh="请提供密度 density_kg_per_l（kg/L＝t/m³），如柴油 0.84、汽油 0.725、水 1.0",
                location=location or Location(value=src.text),
            )
        _positive(density_kg_per_l, "density_kg_per_l", location)
        # kg/L == t/m3 == 1000 kg/m3 in base units (kg per m3)
        kg_per_m3 = density_kg_per_l * _L_PER_M3
        if src.dims == mass:
            return float(value) * src.scale / kg_per_m3 / dst.scale
        return float(value) * src.scale * kg_per_m3 / dst.scale
    if kinds == {mass, energy}:
        if enthalpy_gj_per_t is None:
            raise UnitError(
                f"{c.name_en} given in {src.text!r} is not converted to {c.unit} without a declared "
                "enthalpy",
                message_zh=f"{c.name_zh}以 {src.text!r} 计量，未声明焓值时不换算为 {c.unit}",
                hint="pass enthalpy_gj_per_t for the steam grade (e.g. from the steam tables), "
                     "or record the quantity in the carrier's unit",
                hint_zh="请提供该蒸汽参数的焓值 enthalpy_gj_per_t（GJ/t），或按该品种的计量单位填写",
                location=location or Location(value=src.text),
            )
        _positive(enthalpy_gj_per_t, "enthalpy_gj_per_t", location)
        kj_per_kg = enthalpy_gj_per_t * 1e6 / _KG_PER_T
        if src.dims == energy:
            return float(value) * src.scale / kj_per_kg / dst.scale
        return float(value) * src.scale * kj_per_kg / dst.scale
    raise UnitError(
        f"{c.name_en} cannot be given in {src.text!r} ({src.dimension}); its unit is {c.unit}",
        message_zh=f"{c.name_zh}不能以 {src.text!r}（{src.dimension}）计量，应为 {c.unit}",
        hint=f"give the quantity in {c.unit} or a unit of the same kind",
        hint_zh=f"请按 {c.unit} 或同类单位填写",
        location=location or Location(value=src.text),
    )


def _positive(x: float, name: str, location: Location | None) -> None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or x <= 0:
        raise QuantityError(
            f"{name} must be a positive finite number, got {x!r}",
            message_zh=f"{name} 必须为正的有限数值，实际为 {x!r}",
            location=location or Location(value=x),
        )
