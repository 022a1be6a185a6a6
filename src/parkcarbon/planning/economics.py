"""Investment economics (投资经济性): annuity, NPV, payback. Pure functions.

* Capital recovery factor (资金回收系数) ``CRF = r(1+r)^n / ((1+r)^n − 1)``, ``1/n`` at ``r = 0``.
* Net present value (净现值) of a project with capex at year 0, constant yearly net savings for
  ``years`` years, and replacements of shorter-lived components at the end of their life.
* Simple payback (静态投资回收期) = capex / yearly net savings; ``None`` when savings ≤ 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from parkcarbon.errors import QuantityError

__all__ = ["Component", "capital_recovery_factor", "net_present_value", "simple_payback_years"]


def capital_recovery_factor(rate_frac: float, years: int) -> float:
    """Capital recovery factor [1/a] for discount rate ``rate_frac`` and ``years`` of life."""
    if years < 1 or not math.isfinite(rate_frac) or rate_frac < 0 or rate_frac >= 1:
        raise QuantityError(
            f"capital recovery factor needs years ≥ 1 and 0 ≤ rate < 1, got {years}, {rate_frac}",
            message_zh=f"资金回收系数要求年限 ≥ 1 且 0 ≤ 折现率 < 1，实际为 {years}、{rate_frac}",
            hint="write 6 % as 0.06", hint_zh="6% 请填 0.06",
        )
    if rate_frac == 0:
        return 1.0 / years
    g = (1.0 + rate_frac) ** years
    return rate_frac * g / (g - 1.0)


@dataclass(frozen=True)
class Component:
    """One investment: capex [CNY] and lifetime [a]; replaced at end of life within the analysis."""

    name: str
    capex_cny: float
    lifetime_years: int


def net_present_value(components: Sequence[Component], yearly_net_savings_cny: float,
                      rate_frac: float, years: int) -> float:
    """NPV [CNY] over ``years``: −capex at year 0, replacements, + discounted yearly savings.

    ``yearly_net_savings_cny`` is the operating saving minus fixed O&M [CNY/a]. No residual value.
    """
    npv = 0.0
    for c in components:
        age = 0
        while age < years:
            npv -= c.capex_cny / (1.0 + rate_frac) ** age
            age += max(int(c.lifetime_years), 1)
    for y in range(1, years + 1):
        npv += yearly_net_savings_cny / (1.0 + rate_frac) ** y
    return npv


def simple_payback_years(capex_cny: float, yearly_net_savings_cny: float) -> float | None:
    """Static payback [a]; ``None`` when the investment never pays back (savings ≤ 0)."""
    if yearly_net_savings_cny <= 0:
        return None if capex_cny > 0 else 0.0
    return capex_cny / yearly_net_savings_cny
