"""Tests of parkcarbon.units: parsing of Chinese/English unit strings and conversions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkcarbon.errors import QuantityError, UnitError, UnknownCarrierError
from parkcarbon.units import (
    KJ_PER_KGCE,
    Dimension,
    conversion_factor,
    convert,
    heat_to_kgce,
    parse_unit,
    same_unit,
    to_canonical,
)


@pytest.mark.parametrize(
    ("text", "to", "factor"),
    [
        ("kWh", "kWh", 1.0),
        ("万kWh", "kWh", 1e4),
        ("千瓦时", "kWh", 1.0),
        ("度", "kWh", 1.0),
        ("kW·h", "kWh", 1.0),
        ("MWh", "kWh", 1e3),
        ("GWh", "MWh", 1e3),
        ("万千瓦时", "kWh", 1e4),
        ("亿kWh", "万kWh", 1e4),
        ("m³", "m3", 1.0),
        ("立方米", "m3", 1.0),
        ("Nm³", "m3", 1.0),
        ("万m³", "m3", 1e4),
        ("万Nm³", "m3", 1e4),
        ("万立方米", "m3", 1e4),
        ("10⁴ Nm³", "m3", 1e4),
        ("10^4Nm3", "m3", 1e4),
        ("L", "m3", 1e-3),
        ("t", "kg", 1e3),
        ("吨", "t", 1.0),
        ("千克", "t", 1e-3),
        ("公斤", "kg", 1.0),
        ("万吨", "t", 1e4),
        ("GJ", "MJ", 1e3),
        ("百万千焦", "GJ", 1.0),
        ("千焦", "kJ", 1.0),
        ("TJ", "GJ", 1e3),
        ("MWh", "GJ", 3.6),
        ("kgce", "tce", 1e-3),
        ("吨标准煤", "tce", 1.0),
        ("吨标煤", "kgce", 1e3),
        ("万tce", "tce", 1e4),
        ("万吨标准煤", "tce", 1e4),
        ("千克标准煤", "kgce", 1.0),
        ("万元", "元", 1e4),
        ("亿元", "万元", 1e4),
        ("千元", "CNY", 1e3),
        ("kcal", "kJ", 4.1868),
        ("tCO2/MWh", "kgCO2/kWh", 1.0),
        ("tCO₂e", "kgCO2", 1e3),
        ("吨二氧化碳", "tCO2", 1.0),
        ("tC/TJ", "tC/GJ", 1e-3),
        ("kgce/kg", "tce/t", 1.0),
        ("kgce/kWh", "tce/kWh", 1e-3),
        ("GJ/10^4Nm3", "GJ/m3", 1e-4),
        ("%", "1", 0.01),
        ("percent", "%", 1.0),
        ("kgce/MJ", "tce/GJ", 1.0),
        ("tce/10⁴m³", "tce/m3", 1e-4),
        ("kgCO2 per kWh", "tCO2/MWh", 1.0),
        ("吨 / 万元", "t/元", 1e-4),
    ],
)
def test_conversion_factors(text: str, to: str, factor: float) -> None:
    assert conversion_factor(text, to) == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    ["ｋＷｈ", " 万 kWh ", "万ｋＷｈ", "万\u3000kWh", "万KWH", "10⁴kWh"],
)
def test_full_width_and_spaces_tolerated(text: str) -> None:
    unit = parse_unit(text)
    assert unit.dims == ((Dimension.ENERGY, 1),)
    expected = 1.0 if text.strip().upper() == "ＫＷＨ" else 1e4
    assert convert(1.0, unit, "kWh") == pytest.approx(expected)


def test_dimension_text() -> None:
    assert parse_unit("kgce/kWh").dimension == "coal_equiv/energy"
    assert parse_unit("GJ").dimension == "energy"
    assert parse_unit("%").dimension == "1"


@pytest.mark.parametrize("text", ["", "furlong", "kWh/m3/t", "万", "0kWh", "吨标准油", 3])
def test_unknown_units_raise(text: object) -> None:
    with pytest.raises(UnitError) as exc:
        parse_unit(text)
    assert exc.value.code == "E-UNIT"
    assert exc.value.message_zh
    assert exc.value.hint


@pytest.mark.parametrize(
    ("a", "b"),
    [("kWh", "t"), ("kWh", "kgce"), ("tce", "GJ"), ("tCO2", "t"), ("tC", "tCO2"), ("万元", "kWh"),
     ("kgce/kWh", "kgce")],
)
def test_incompatible_dimensions_raise(a: str, b: str) -> None:
    with pytest.raises(UnitError):
        convert(1.0, a, b)


def test_coal_from_heat_is_not_a_unit_conversion_but_has_a_named_function() -> None:
    with pytest.raises(UnitError, match="heat_to_kgce"):
        convert(1.0, "kWh", "kgce")
    # kcal -> kgce is kcal / 7000 (GB/T 2589 definition, NOTES §1.2)
    assert heat_to_kgce(7000.0, "kcal") == 1.0
    assert heat_to_kgce(5000.0, "kcal") == pytest.approx(0.7143, abs=1e-4)
    assert heat_to_kgce(1.0, "百万千卡") == pytest.approx(1e6 / 7000)
    assert heat_to_kgce(KJ_PER_KGCE, "kJ") == pytest.approx(1.0)
    # electricity at its exact heat content, 3600 kJ / 29307.6 kJ = 0.122835 kgce/kWh; the
    # Appendix-A coefficient 0.1229 (= 860/7000 rounded) is a factor, never this conversion
    assert heat_to_kgce(1.0, "kWh") == pytest.approx(0.1228350, abs=1e-7)
    with pytest.raises(UnitError):
        heat_to_kgce(1.0, "t")


def test_same_unit() -> None:
    assert same_unit("kgce/kg", "tce/t")
    assert same_unit("kgCO2/kWh", "tCO2/MWh")
    assert not same_unit("kgce/kWh", "tce/kWh")
    assert not same_unit("kWh", "t")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True])
def test_non_finite_values_rejected(bad: float) -> None:
    with pytest.raises(QuantityError):
        convert(bad, "kWh", "MWh")
    with pytest.raises(QuantityError):
        to_canonical(bad, "kWh", "electricity")


def test_to_canonical_examples() -> None:
    assert to_canonical(3, "万kWh", "electricity") == pytest.approx(30000.0)
    assert to_canonical(2, "万Nm³", "natural_gas") == pytest.approx(20000.0)
    assert to_canonical(500, "千克", "diesel") == pytest.approx(0.5)
    assert to_canonical(2, "万吨", "raw_coal") == pytest.approx(20000.0)
    assert to_canonical(1, "MWh", "heat") == pytest.approx(3.6)
    assert to_canonical(4, "吨", "steam") == 4.0


def test_declared_density_and_enthalpy() -> None:
    # 12 340 L gasoline at 0.725 kg/L = 8.9465 t (energy_tce example)
    assert to_canonical(12340, "L", "gasoline", density_kg_per_l=0.725) == pytest.approx(8.9465)
    assert to_canonical(2500, "m3", "fresh_water", density_kg_per_l=1.0) == pytest.approx(2500.0)
    assert to_canonical(1, "t", "natural_gas", density_kg_per_l=0.0007174) == pytest.approx(1393.92, rel=1e-4)
    # steam in GJ only with a declared enthalpy [GJ/t]
    assert to_canonical(27.9, "GJ", "steam", enthalpy_gj_per_t=2.79) == pytest.approx(10.0)
    assert to_canonical(10, "t", "heat", enthalpy_gj_per_t=2.79) == pytest.approx(27.9)


def test_undeclared_cross_dimension_conversions_raise() -> None:
    with pytest.raises(UnitError, match="enthalpy"):
        to_canonical(10, "GJ", "steam")
    with pytest.raises(UnitError, match="density"):
        to_canonical(100, "L", "diesel")
    with pytest.raises(UnitError):
        to_canonical(1, "tce", "raw_coal")
    with pytest.raises(UnitError):
        to_canonical(1, "kWh", "natural_gas")
    with pytest.raises(UnknownCarrierError):
        to_canonical(1, "kWh", "unobtainium")
    with pytest.raises(QuantityError):
        to_canonical(1, "L", "diesel", density_kg_per_l=0.0)


_SAME_KIND = st.sampled_from(
    [
        ("kWh", "万kWh"), ("MWh", "度"), ("GJ", "百万千焦"), ("kcal", "TJ"), ("GWh", "kJ"),
        ("t", "千克"), ("万吨", "公斤"), ("m3", "万Nm³"), ("L", "立方米"),
        ("kgce", "万吨标准煤"), ("tce", "千克标煤"), ("元", "亿元"), ("kgce/kWh", "tce/MWh"),
        ("tCO2/MWh", "kgCO2/kWh"),
    ]
)


@given(pair=_SAME_KIND, value=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_round_trip(pair: tuple[str, str], value: float) -> None:
    a, b = pair
    back = convert(convert(value, a, b), b, a)
    assert back == pytest.approx(value, rel=1e-12, abs=1e-300)


@given(
    value=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    unit=st.sampled_from(["kWh", "万kWh", "MWh", "GJ", "千瓦时"]),
)
def test_canonical_is_convert_for_same_dimension(value: float, unit: str) -> None:
    assert to_canonical(value, unit, "electricity") == pytest.approx(convert(value, unit, "kWh"))


@given(value=st.floats(min_value=1e-6, max_value=1e9), density=st.floats(min_value=0.1, max_value=2.0))
def test_density_round_trip(value: float, density: float) -> None:
    t = to_canonical(value, "L", "diesel", density_kg_per_l=density)
    m3 = to_canonical(t, "t", "natural_gas", density_kg_per_l=density)
    assert m3 * 1000 == pytest.approx(value, rel=1e-9)
