"""Scope 2 location- vs market-based: allocation rules, instruments, caps and double claims."""

from __future__ import annotations

import random

import pytest
from accounting_helpers import YEAR, make_factors, rec
from hypothesis import given, settings
from hypothesis import strategies as st

from parkcarbon.core.activity import Flow
from parkcarbon.core.scope2 import (
    AllocationRule,
    DirectSupply,
    GreenCertificate,
    GreenPowerContract,
    Instruments,
    MarketMethod,
    MatchingPeriod,
    find_double_claims,
    scope2_dual,
)
from parkcarbon.errors import ConflictError, FactorNotFoundError, QuantityError
from parkcarbon.periods import Month

P, G = Flow.PURCHASED, Flow.ONSITE_GENERATED
JAN, FEB = Month(YEAR, 1), Month(YEAR, 2)
RESIDUAL = MarketMethod(AllocationRule.RESIDUAL_EXCL_MARKET)


def certs(n: int, enterprise: str = "E1", claim: Month = JAN, vintage: Month = JAN, prefix: str = "GEC") -> tuple[GreenCertificate, ...]:
    return tuple(GreenCertificate(f"{prefix}{i:06d}", enterprise, claim, vintage, "solar") for i in range(n))


def test_residual_rule_reproduces_certificate_example() -> None:
    f = make_factors(grid=0.2, residual=0.45)
    r = scope2_dual([rec("e", "electricity", P, 1_000_000)], Instruments(certificates=certs(600)), f, RESIDUAL)
    assert r.location_tco2 == pytest.approx(200.0)
    assert r.market_tco2 == pytest.approx(180.0)
    w = r.windows[0]
    assert w.certificate_credited_kwh == 600_000 and w.residual_kwh == 400_000 and w.excess_kwh == 0
    assert w.period == str(YEAR)
    loc, mkt = w.trace
    assert loc.factors[0].key == "grid_ef.average" and "GEC000000" in mkt.records


def test_think_tank_split() -> None:
    inst = Instruments(
        contracts=(GreenPowerContract("C1", "E1", JAN, 200_000, "Wind Co", "Plant W", "wind"),),
        direct_supply=(DirectSupply("D1", "E1", JAN, 100_000, "PV plant", "solar"),),
        certificates=certs(300),
    )
    r = scope2_dual([rec("e", "electricity", P, 1_000_000)], inst, make_factors(),
                    MarketMethod(AllocationRule.THINK_TANK_SPLIT))
    # 300 000 kWh GEC × 0.5856 + 400 000 kWh × 0.8325, green power 300 000 kWh at 0
    assert r.market_tco2 == pytest.approx(175.68 + 333.0)
    assert r.location_tco2 == pytest.approx(536.6)
    w = r.windows[0]
    assert (w.direct_supply_credited_kwh, w.green_power_credited_kwh, w.certificate_credited_kwh) == (100_000, 200_000, 300_000)
    assert r.green_electricity_kwh == 600_000
    with pytest.raises(FactorNotFoundError):
        scope2_dual([rec("e", "electricity", P, 1)], inst, make_factors(fossil=None),
                    MarketMethod(AllocationRule.THINK_TANK_SPLIT))


def test_ghgp_hierarchy_falls_back_to_grid_average_with_flag() -> None:
    rows = [rec("e", "electricity", P, 1_000_000)]
    method = MarketMethod(AllocationRule.GHGP_HIERARCHY)
    with_residual = scope2_dual(rows, Instruments(certificates=certs(100)), make_factors(), method)
    assert with_residual.market_tco2 == pytest.approx(900 * 0.5856) and not with_residual.flags
    without = scope2_dual(rows, Instruments(certificates=certs(100)), make_factors(residual=None), method)
    assert without.market_tco2 == pytest.approx(900 * 0.5366)
    assert any("grid average" in f for f in without.flags)
    with pytest.raises(FactorNotFoundError):
        scope2_dual(rows, Instruments(), make_factors(residual=None), RESIDUAL)


def test_claims_capped_at_purchased_and_excess_reported() -> None:
    r = scope2_dual([rec("e", "electricity", P, 100_000)], Instruments(certificates=certs(250)), make_factors(), RESIDUAL)
    w = r.windows[0]
    assert w.credited_kwh == 100_000 and w.excess_kwh == 150_000 and r.excess_kwh == 150_000
    assert r.market_tco2 == 0.0
    assert any("exceed" in f for f in w.flags)


def test_onsite_pv_has_no_scope2() -> None:
    r = scope2_dual([rec("e", "electricity", P, 10_000), rec("pv", "electricity", G, 5_000)], Instruments(),
                    make_factors(), RESIDUAL)
    assert r.location_tco2 == pytest.approx(10 * 0.5366)
    assert r.windows[0].onsite_generated_kwh == 5_000


def test_double_claims_detected_across_enterprises_months_and_contracts() -> None:
    a = GreenCertificate("S1", "E1", JAN, JAN, "wind")
    b = GreenCertificate("S1", "E2", FEB, JAN, "wind")
    doubles = find_double_claims(Instruments(certificates=(a, b)))
    assert len(doubles) == 1 and {c[0] for c in doubles[0].claims} == {"E1", "E2"}
    with pytest.raises(ConflictError, match="S1"):
        scope2_dual([rec("e", "electricity", P, 1e6)], Instruments(certificates=(a, b)), make_factors(), RESIDUAL)
    bundled = GreenPowerContract("C1", "E1", JAN, 1000, "X", "Y", certificate_serials=("S1",))
    with pytest.raises(ConflictError):
        scope2_dual([rec("e", "electricity", P, 1e6)], Instruments(contracts=(bundled,), certificates=(a,)),
                    make_factors(), RESIDUAL)
    with pytest.raises(ConflictError):
        scope2_dual([], Instruments(contracts=(bundled, bundled)), make_factors(), RESIDUAL)


def test_certificate_validity_and_vintage() -> None:
    old = GreenCertificate("OLD", "E1", Month(YEAR, 1), Month(YEAR - 2, 1), "wind")
    future = GreenCertificate("FUT", "E1", Month(YEAR, 1), Month(YEAR, 3), "wind")
    ok = GreenCertificate("OK", "E1", Month(YEAR, 1), Month(YEAR - 1, 2), "wind")
    r = scope2_dual([rec("e", "electricity", P, 1e6)], Instruments(certificates=(old, future, ok)),
                    make_factors(), RESIDUAL)
    assert r.windows[0].certificate_credited_kwh == 1000
    assert {n[0] for n in r.not_credited} == {"E1:OLD", "E1:FUT"}
    no_check = scope2_dual([rec("e", "electricity", P, 1e6)], Instruments(certificates=(old,)), make_factors(),
                           MarketMethod(AllocationRule.RESIDUAL_EXCL_MARKET, certificate_validity_months=None))
    assert no_check.windows[0].certificate_credited_kwh == 1000


def test_monthly_matching() -> None:
    rows = [rec("e1", "electricity", P, 100_000), rec("e2", "electricity", P, 100_000, month=FEB)]
    method = MarketMethod(AllocationRule.RESIDUAL_EXCL_MARKET, matching=MatchingPeriod.MONTH)
    r = scope2_dual(rows, Instruments(certificates=certs(150, claim=FEB)), make_factors(), method)
    jan, feb = r.windows
    assert (jan.period, feb.period) == (str(JAN), str(FEB))
    assert jan.credited_kwh == 0 and feb.credited_kwh == 100_000 and feb.excess_kwh == 50_000
    yearly = scope2_dual(rows, Instruments(certificates=certs(150, claim=FEB)), make_factors(), RESIDUAL)
    assert yearly.windows[0].credited_kwh == 150_000 and yearly.excess_kwh == 0


def test_missing_purchase_gives_none_not_zero() -> None:
    r = scope2_dual([rec("e", "electricity", P, None)], Instruments(certificates=certs(1)), make_factors(), RESIDUAL)
    w = r.windows[0]
    assert w.location_tco2 is None and w.market_tco2 is None and not r.complete
    assert r.coverage.missing_records == ("e",)


def test_bad_instrument_quantities() -> None:
    with pytest.raises(QuantityError):
        GreenPowerContract("C", "E1", JAN, -5, "X", "Y")
    with pytest.raises(QuantityError):
        DirectSupply("D", "E1", JAN, float("nan"), "Y")


@settings(max_examples=50, deadline=None)
@given(
    purchased=st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=4),
    n_certs=st.integers(0, 3000),
    contract_kwh=st.floats(0, 1e7, allow_nan=False),
    rule=st.sampled_from(list(AllocationRule)),
    seed=st.integers(0, 1000),
)
def test_credited_never_exceeds_purchased(purchased: list[float], n_certs: int, contract_kwh: float,
                                          rule: AllocationRule, seed: int) -> None:
    rows = [rec(f"e{i}", "electricity", P, q, enterprise=f"E{i % 2}", month=Month(YEAR, 1 + i))
            for i, q in enumerate(purchased)]
    inst = Instruments(contracts=(GreenPowerContract("C", "E0", JAN, contract_kwh, "X", "Y"),),
                       certificates=certs(n_certs, enterprise="E1", claim=FEB))
    r = scope2_dual(rows, inst, make_factors(), MarketMethod(rule))
    for w in r.windows:
        assert w.purchased_kwh is not None
        assert w.credited_kwh <= w.purchased_kwh + 1e-6
        assert w.credited_kwh + (w.excess_kwh or 0) == pytest.approx(w.claimed_kwh)
        assert w.market_tco2 is not None and w.market_tco2 >= 0
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    again = scope2_dual(shuffled, Instruments(contracts=inst.contracts, certificates=tuple(reversed(inst.certificates))),
                        make_factors(), MarketMethod(rule))
    assert again == r
