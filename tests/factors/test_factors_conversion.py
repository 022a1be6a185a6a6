"""Served units: one table, exact decimal conversion, unknown units refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkcarbon.errors import UnitError
from parkcarbon.factors.conversion import KNOWN_UNITS, OPAQUE_UNITS, SERVED_UNIT, serve


@pytest.mark.parametrize(
    ("value", "unit", "expected", "served"),
    [
        ("0.1229", "kgce/kWh", 0.0001229, "tce/kWh"),
        ("0.7143", "kgce/kg", 0.7143, "tce/t"),
        ("0.2571", "kgce/t", 0.0002571, "tce/t"),
        ("1.2143", "kgce/m3", 0.0012143, "tce/m3"),
        ("0.03412", "kgce/MJ", 0.03412, "tce/GJ"),
        ("12.1430", "tce/10^4 m3", 0.0012143, "tce/m3"),
        ("389.31", "GJ/10^4 Nm3", 0.038931, "GJ/m3"),
        ("3763", "MJ/t", 3.763, "GJ/t"),
        ("26.37", "tC/TJ", 0.02637, "tC/GJ"),
        ("90", "%", 0.9, "fraction"),
        ("0.5366", "kgCO2/kWh", 0.5366, "tCO2/MWh"),
        ("0.6205", "kgCO2e/kWh", 0.6205, "tCO2e/MWh"),
        ("21.622", "tCO2/10^4 Nm3", 0.0021622, "tCO2/m3"),
        ("1000", "kWh/certificate", 1000.0, "kWh/certificate"),
    ],
)
def test_served_values_are_exact(value: str, unit: str, expected: float, served: str) -> None:
    assert serve(Decimal(value), unit) == (expected, served)


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(UnitError):
        serve(Decimal("1"), "kgce/furlong")


def test_every_served_unit_is_itself_served_unchanged() -> None:
    for target in set(SERVED_UNIT.values()):
        assert SERVED_UNIT[target] == target
    assert not (OPAQUE_UNITS & set(SERVED_UNIT))
    assert frozenset(SERVED_UNIT) | OPAQUE_UNITS == KNOWN_UNITS


@given(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False))
def test_kgce_to_tce_is_exactly_a_thousandth(value: Decimal) -> None:
    tce, unit = serve(value, "kgce/kWh")
    assert unit == "tce/kWh"
    assert tce == float(value / 1000)  # decimal arithmetic: no binary rounding artefact
    assert serve(value, "kgce/kg")[0] == float(value)
