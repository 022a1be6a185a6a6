"""Energy and carbon indicators of an enterprise or a park (能耗与碳排放指标).

All indicators are :class:`Indicator` values: a number with its unit, or ``None`` with the
reason (missing input, partial total, zero denominator) — never a silent 0.

Definitions (documented choices; NOTES §1.1, §4.2–4.3):

* **Energy intensity per 10k CNY of industrial added value** 单位工业增加值能耗 [tce/10k CNY] =
  comprehensive energy consumption / added value **at comparable prices** (可比价). Added value
  is deflated to the base year with a price index: ``comparable = nominal / price_index_frac``,
  where ``price_index_frac`` is the price level of the reporting year relative to the base year
  (1.08 = prices 8 % above the base year; from the statistics bureau's added-value deflator).
  Without a price index the comparable-price intensity is ``None``; the current-price value is
  offered separately and labelled as such.
* **Carbon intensity** 单位工业增加值碳排放 [tCO2/10k CNY]: same denominator.
* **Per unit of product** 单位产品综合能耗 [tce/<product unit>] and [tCO2/<product unit>].
* **Carbon per unit of energy** 单位能耗碳排放 [tCO2/tce] (zero-carbon park core indicator,
  发改环资〔2025〕910号, ≤ 0.20 for parks of 20万–100万 tce): CO2 / comprehensive energy
  consumption. The inventory gives it with location- and market-based electricity.
* **Non-fossil share** 非化石能源消费占比 [fraction] = non-fossil energy / comprehensive energy
  consumption, with non-fossil energy = biomass + on-site renewable electricity net of exports
  (``ONSITE_GENERATED`` − ``EXPORTED``, exports attributed to on-site generation first) + green
  electricity credited in scope 2 (green power contracts, direct supply, certificates — green
  electricity counts as non-fossil) + optionally the non-fossil share of the remaining grid
  electricity (``grid_non_fossil_share_frac``; ``None`` = grid electricity counted as fossil).
  Electricity enters at the same coefficient as in the energy result, i.e. the result's
  :class:`~parkcarbon.core.factorset.ConversionBasis`: at 当量值 electricity weighs 0.1229
  kgce/kWh, so shares computed at 等价值 (the statistical 发电煤耗法 convention) are higher —
  use ``ConversionBasis.PRIMARY_INPUT`` for comparisons with official share statistics.
* **Renewable share** 可再生能源消费占比: as non-fossil, with ``grid_renewable_share_frac`` for
  the grid part (nuclear is non-fossil but not renewable).
* **Clean energy share** 清洁能源消费占比 (zero-carbon park guiding indicator ≥ 90 %) =
  (non-fossil + natural gas + LNG) / comprehensive energy consumption.
* **Year-on-year change** 同比: absolute and relative; ``None`` when either value is missing
  or the previous value is zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parkcarbon.core.activity import Flow
from parkcarbon.core.carriers import CarrierKind, carrier
from parkcarbon.core.energy import EnergyResult
from parkcarbon.core.trace import TraceStep
from parkcarbon.errors import Location, QuantityError

__all__ = [
    "CLEAN_FOSSIL_CARRIERS",
    "Change",
    "EconomicData",
    "EnergyShares",
    "Indicator",
    "comparable_added_value_10k_cny",
    "energy_shares",
    "ratio",
    "year_on_year",
]

CLEAN_FOSSIL_CARRIERS = frozenset({"natural_gas", "lng"})
"""Fossil carriers counted as clean energy (清洁能源 = 非化石能源 + 天然气)."""


@dataclass(frozen=True)
class Indicator:
    """An indicator value [``unit``] or ``None`` with ``reason``."""

    name: str
    value: float | None
    unit: str
    reason: str | None = None
    trace: tuple[TraceStep, ...] = ()

    @property
    def available(self) -> bool:
        return self.value is not None


def _finite(x: float, name: str) -> None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise QuantityError(f"{name} must be a finite number, got {x!r}",
                            message_zh=f"{name} 必须是有限数值，实际为 {x!r}", location=Location(value=x))


def ratio(name: str, numerator: float | None, denominator: float | None, unit: str, *,
          numerator_label: str = "numerator", denominator_label: str = "denominator",
          complete: bool = True) -> Indicator:
    """``numerator / denominator`` as an :class:`Indicator`; ``None`` with a reason when it cannot be given.

    ``complete=False`` (a partial total among the inputs) also gives ``None``: a ratio of a
    partial total would look like a real improvement.
    """
    if numerator is None:
        return Indicator(name, None, unit, f"{numerator_label} missing")
    if denominator is None:
        return Indicator(name, None, unit, f"{denominator_label} missing")
    _finite(numerator, numerator_label)
    _finite(denominator, denominator_label)
    if not complete:
        return Indicator(name, None, unit, "inputs are partial (missing records)")
    if denominator == 0:
        return Indicator(name, None, unit, f"{denominator_label} is zero")
    value = numerator / denominator
    return Indicator(name, value, unit, None, (TraceStep(
        method=f"{name} = {numerator_label} / {denominator_label}", result=value, result_unit=unit,
        inputs=((numerator_label, numerator), (denominator_label, denominator)),
    ),))


def comparable_added_value_10k_cny(nominal_10k_cny: float, price_index_frac: float) -> float:
    """Added value at comparable (base-year) prices [10k CNY] = nominal / price index.

    price_index_frac : price level of the reporting year ÷ price level of the base year [fraction].
    """
    _finite(nominal_10k_cny, "added value")
    _finite(price_index_frac, "price index")
    if price_index_frac <= 0:
        raise QuantityError(f"price index must be positive, got {price_index_frac}",
                            message_zh=f"价格指数必须为正，实际为 {price_index_frac}",
                            hint="give the index as a fraction of the base year (1.08), not 108",
                            hint_zh="请以基年为 1 的小数填写（如 1.08），不要填 108",
                            location=Location(value=price_index_frac))
    if price_index_frac > 20:
        raise QuantityError(f"price index {price_index_frac} looks like a percentage",
                            message_zh=f"价格指数 {price_index_frac} 看起来是百分数",
                            hint="give the index as a fraction of the base year (1.08), not 108",
                            hint_zh="请以基年为 1 的小数填写（如 1.08），不要填 108",
                            location=Location(value=price_index_frac))
    return nominal_10k_cny / price_index_frac


@dataclass(frozen=True)
class EconomicData:
    """Economic and output data of one entity for the period.

    added_value_10k_cny : industrial added value at current prices [10k CNY]; ``None`` if unknown.
    price_index_frac : deflator to the base year (see module docstring); ``None`` if unknown.
    base_year : the price base year of ``price_index_frac``.
    outputs : ``(product, quantity, unit)`` of main products, e.g. ``("cement", 1.2e6, "t")``.
    """

    added_value_10k_cny: float | None = None
    price_index_frac: float | None = None
    base_year: int | None = None
    outputs: tuple[tuple[str, float, str], ...] = ()

    def __post_init__(self) -> None:
        if self.added_value_10k_cny is not None:
            _finite(self.added_value_10k_cny, "added value")
        for product, qty, _unit in self.outputs:
            _finite(qty, f"output of {product}")
            if qty < 0:
                raise QuantityError(f"output of {product} must not be negative",
                                    message_zh=f"{product} 产量不能为负", location=Location(value=qty))

    @property
    def comparable_added_value_10k_cny(self) -> float | None:
        if self.added_value_10k_cny is None or self.price_index_frac is None:
            return None
        return comparable_added_value_10k_cny(self.added_value_10k_cny, self.price_index_frac)

    def missing_reason(self) -> str:
        if self.added_value_10k_cny is None:
            return "added value missing"
        return "price index to the base year missing (comparable prices)"

    @staticmethod
    def combine(parts: tuple[EconomicData, ...]) -> EconomicData:
        """Sum for a park: added values add (nominal, and comparable via an implied index);
        outputs add per (product, unit). Unknown in any part → unknown."""
        if not parts:
            return EconomicData()
        nominal = None if any(p.added_value_10k_cny is None for p in parts) else math.fsum(
            p.added_value_10k_cny for p in parts if p.added_value_10k_cny is not None)
        comps = [p.comparable_added_value_10k_cny for p in parts]
        bases = {p.base_year for p in parts}
        index = None
        if nominal is not None and all(c is not None for c in comps) and len(bases) == 1:
            comparable = math.fsum(c for c in comps if c is not None)
            index = nominal / comparable if comparable > 0 else None
        outputs: dict[tuple[str, str], float] = {}
        for p in parts:
            for product, qty, unit in p.outputs:
                outputs[(product, unit)] = outputs.get((product, unit), 0.0) + qty
        return EconomicData(nominal, index, next(iter(bases)) if len(bases) == 1 else None,
                            tuple((prod, q, u) for (prod, u), q in sorted(outputs.items())))


@dataclass(frozen=True)
class EnergyShares:
    """Non-fossil, renewable and clean energy in tce and as shares of the total."""

    non_fossil_tce: float | None
    renewable_tce: float | None
    clean_tce: float | None
    non_fossil_share: Indicator
    renewable_share: Indicator
    clean_share: Indicator


def energy_shares(
    energy: EnergyResult,
    green_electricity_kwh: float = 0.0,
    *,
    grid_non_fossil_share_frac: float | None = None,
    grid_renewable_share_frac: float | None = None,
) -> EnergyShares:
    """Non-fossil, renewable and clean energy shares of an energy result (see module docstring).

    green_electricity_kwh : green electricity credited in scope 2 (contracts, direct supply,
        certificates) [kWh] — part of purchased electricity, so at most the purchased kWh.
    """
    _finite(green_electricity_kwh, "green electricity")
    for frac, label in ((grid_non_fossil_share_frac, "grid non-fossil share"),
                        (grid_renewable_share_frac, "grid renewable share")):
        if frac is not None and not 0.0 <= frac <= 1.0:
            raise QuantityError(f"{label} must be a fraction 0..1, got {frac}",
                                message_zh=f"{label} 必须是 0 到 1 之间的小数，实际为 {frac}",
                                location=Location(value=frac))
    total = energy.total_tce
    unit = "fraction"
    if not energy.complete:
        reason = "energy total is partial (missing records)"
        none = Indicator("non_fossil_share", None, unit, reason)
        return EnergyShares(None, None, None, none, Indicator("renewable_share", None, unit, reason),
                            Indicator("clean_share", None, unit, reason))

    biomass = math.fsum(ln.energy_tce or 0.0 for ln in energy.lines
                        if ln.counted and carrier(ln.carrier).kind is CarrierKind.BIOMASS)
    clean_fossil = math.fsum(ln.energy_tce or 0.0 for ln in energy.lines
                             if ln.counted and ln.carrier in CLEAN_FOSSIL_CARRIERS)
    onsite_tce: list[float] = []
    purchased_kwh_coef: list[tuple[float, float]] = []
    for ln in energy.lines:
        if ln.carrier != "electricity" or ln.coefficient is None:
            continue
        coef = ln.coefficient.value
        gen, exp, pur = (ln.quantity(Flow.ONSITE_GENERATED) or 0.0, ln.quantity(Flow.EXPORTED) or 0.0,
                         ln.quantity(Flow.PURCHASED) or 0.0)
        onsite_tce.append(max(gen - exp, 0.0) * coef)
        grid_pur = pur - max(exp - gen, 0.0)  # exports beyond on-site generation come from purchases
        purchased_kwh_coef.append((grid_pur, coef))
    purchased_kwh = math.fsum(k for k, _ in purchased_kwh_coef)
    mean_coef = (math.fsum(k * c for k, c in purchased_kwh_coef) / purchased_kwh) if purchased_kwh > 0 else 0.0
    green_kwh = min(green_electricity_kwh, purchased_kwh)
    green_tce = green_kwh * mean_coef
    rest_tce = (purchased_kwh - green_kwh) * mean_coef
    base = math.fsum((biomass, math.fsum(onsite_tce), green_tce))
    non_fossil = base + (rest_tce * grid_non_fossil_share_frac if grid_non_fossil_share_frac else 0.0)
    renewable = base + (rest_tce * grid_renewable_share_frac if grid_renewable_share_frac else 0.0)
    clean = non_fossil + clean_fossil
    return EnergyShares(
        non_fossil_tce=non_fossil,
        renewable_tce=renewable,
        clean_tce=clean,
        non_fossil_share=ratio("non_fossil_share", non_fossil, total, unit,
                               numerator_label="non_fossil_tce", denominator_label="energy_tce"),
        renewable_share=ratio("renewable_share", renewable, total, unit,
                              numerator_label="renewable_tce", denominator_label="energy_tce"),
        clean_share=ratio("clean_share", clean, total, unit,
                          numerator_label="clean_tce", denominator_label="energy_tce"),
    )


@dataclass(frozen=True)
class Change:
    """Year-on-year change 同比: ``absolute`` [unit of the values] and ``relative_frac`` [fraction]."""

    current: float | None
    previous: float | None
    absolute: float | None
    relative_frac: float | None
    reason: str | None = None


def year_on_year(current: Indicator | float | None, previous: Indicator | float | None) -> Change:
    """Change from ``previous`` to ``current``; ``relative_frac`` is ``None`` when previous is 0."""
    cur = current.value if isinstance(current, Indicator) else current
    prev = previous.value if isinstance(previous, Indicator) else previous
    if cur is None or prev is None:
        which = "current" if cur is None else "previous"
        return Change(cur, prev, None, None, f"{which} value missing")
    _finite(cur, "current value")
    _finite(prev, "previous value")
    absolute = cur - prev
    if prev == 0:
        return Change(cur, prev, absolute, None, "previous value is zero")
    return Change(cur, prev, absolute, absolute / abs(prev))
