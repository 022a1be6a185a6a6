"""Evaluations (评价): zero-carbon park "1 + 5", green factory GB/T 36132-2025, green park.

* :func:`evaluate_zero_carbon_park` — the zero-carbon park indicator report (零碳园区指标报告,
  发改环资〔2025〕910号, NOTES §4.2–4.3): the binding core indicator 单位能耗碳排放 with its
  scale band (≤ 0.20 tCO2/tce for 20万–100万 tce, ≤ 0.30 for ≥ 100万 tce; the threshold for
  < 20万 tce is UNVERIFIED, so the verdict there is ``THRESHOLD_UNKNOWN``, never a guess) and
  the five guiding indicators, each with its evidence list.
* :func:`assess_scored` — a generic linear scoring engine over indicator definitions with a
  基准值 (baseline) and a 引领值 (leading value): 0 points when worse than the baseline, full
  weight at or better than the leading value, linear in between (sign-adjusted for 逆向
  indicators) — the GB/T 36132-2025 §5 rule as implemented in ≥ 3 independent code bases (NOTES
  §5.2, C). :func:`green_factory_score` combines it with the qualitative part (quantitative
  indicators weigh 60 %, NOTES §5.2, A mirror).
* :func:`green_park_index` — the MIIT green park composite "GI": indicator/引领值 ratios, capped at
  1, averaged ×100 (the exact formula is UNVERIFIED, NOTES §5.1; the report says so).

Fractions are fractions (0.9, not 90) everywhere in this module; data loaders convert "%".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from parkcarbon.core.targets import Direction, EntitySeries, IndicatorValue, annual_indicator
from parkcarbon.core.trace import TraceStep
from parkcarbon.errors import InputError, Location

__all__ = [
    "Comparison",
    "Criterion",
    "CriterionResult",
    "GreenFactoryScore",
    "GreenParkIndex",
    "IndicatorScore",
    "ProductEnergyCheck",
    "ScoredAssessment",
    "ScoredIndicator",
    "Verdict",
    "ZeroCarbonParkReport",
    "assess_scored",
    "evaluate_zero_carbon_park",
    "green_factory_score",
    "green_park_index",
    "score_linear",
    "select_tier",
]

UNRELIABLE_GRADES = frozenset({"C", "UNVERIFIED"})


class Comparison(StrEnum):
    """How a value is compared with a threshold."""

    AT_MOST = "<="
    AT_LEAST = ">="

    def holds(self, value: float, threshold: float) -> bool:
        tol = 1e-12 * max(1.0, abs(threshold))
        return value <= threshold + tol if self is Comparison.AT_MOST else value >= threshold - tol


class Verdict(StrEnum):
    """Outcome of one criterion."""

    PASS = "pass"  # 达标
    FAIL = "fail"  # 未达标
    NOT_ASSESSED = "not_assessed"  # data missing (缺数据)
    THRESHOLD_UNKNOWN = "threshold_unknown"  # no verified threshold for this case
    NOT_APPLICABLE = "not_applicable"  # 不适用 (explained)


@dataclass(frozen=True)
class Criterion:
    """A pass/fail criterion: ``indicator`` compared with ``threshold``.

    indicator : an indicator code of :mod:`parkcarbon.core.targets`, or ``product_energy_vs_limit``
        for the product-energy indicator (checked from :class:`ProductEnergyCheck` rows).
    threshold : [indicator unit; fractions for shares] or ``None`` when not numeric.
    energy_min_tce / energy_max_tce : scale band of the park's annual energy [tce], half-open
        ``[min, max)``; ``None`` = unbounded.
    evidence : evidence items required for this indicator (证明材料).
    """

    criterion_id: str
    indicator: str
    name_zh: str
    binding: bool
    comparison: Comparison
    threshold: float | None
    unit: str
    source: str
    grade: str
    energy_min_tce: float | None = None
    energy_max_tce: float | None = None
    evidence: tuple[str, ...] = ()
    note: str = ""

    def applies_to(self, energy_tce: float) -> bool:
        lo = self.energy_min_tce if self.energy_min_tce is not None else -math.inf
        hi = self.energy_max_tce if self.energy_max_tce is not None else math.inf
        return lo <= energy_tce < hi


@dataclass(frozen=True)
class ProductEnergyCheck:
    """A main product's unit energy against its GB 限额 standard level-2 value.

    unit_energy / limit_level2 : [kgce per product unit] (same unit for both).
    """

    enterprise_id: str
    product: str
    unit_energy: float
    limit_level2: float
    standard: str


@dataclass(frozen=True)
class CriterionResult:
    """One indicator of an evaluation report with its verdict and evidence list."""

    criterion: Criterion | None
    indicator: str
    name_zh: str
    value: float | None
    unit: str
    verdict: Verdict
    evidence_required: tuple[str, ...]
    computed: IndicatorValue | None = None
    note: str = ""


@dataclass(frozen=True)
class ZeroCarbonParkReport:
    """Zero-carbon park indicator report for one year.

    core_passed : the binding core indicator passes (``None`` when not assessable); a park that
        fails it may not apply for acceptance (达不到不得申请验收).
    unverified_notes : criteria whose thresholds are not grade A (or carry UNVERIFIED wording) —
        to be confirmed against the 910号 annex — and thresholds that are missing.
    """

    year: int
    park_energy_tce: float | None
    core: CriterionResult
    guiding: tuple[CriterionResult, ...]
    core_passed: bool | None
    guiding_passed: int
    guiding_assessed: int
    unverified_notes: tuple[str, ...]


def _verdict(comparison: Comparison, value: float | None, threshold: float | None) -> Verdict:
    if threshold is None:
        return Verdict.THRESHOLD_UNKNOWN
    if value is None:
        return Verdict.NOT_ASSESSED
    return Verdict.PASS if comparison.holds(value, threshold) else Verdict.FAIL


def evaluate_zero_carbon_park(
    data: EntitySeries,
    year: int,
    criteria: Sequence[Criterion],
    *,
    product_checks: Sequence[ProductEnergyCheck] | None = None,
    not_applicable: Mapping[str, str] | None = None,
    entity_id: str = "park",
) -> ZeroCarbonParkReport:
    """Evaluate a park against the "1 + 5" zero-carbon park indicators for calendar ``year``.

    Parameters
    ----------
    data : monthly park series (energy_tce, emissions_tco2, clean_energy_tce, solid waste,
        water, waste heat quantities — see :mod:`parkcarbon.core.targets`).
    criteria : threshold rows (from :func:`parkcarbon.factors.evaluation_data.load_zero_carbon_criteria`).
        Binding rows are the core indicator, one per scale band.
    product_checks : products against 限额 level 2 (indicator ``product_energy_vs_limit``).
    not_applicable : criterion id → explanation, e.g. no recoverable waste heat (客观条件不具备时需说明).
    """
    na = dict(not_applicable or {})
    energy = annual_indicator("energy_total_tce", data, year, entity_id)
    core_rows = [c for c in criteria if c.binding]
    if not core_rows:
        raise InputError("no binding (core) criterion given", message_zh="未提供核心（约束性）指标",
                         hint="load the zero-carbon park criteria", hint_zh="请加载零碳园区指标阈值")
    core_ind = core_rows[0].indicator
    core_val = annual_indicator(core_ind, data, year, entity_id)
    unverified: list[str] = []
    if energy.value is None:
        core = CriterionResult(None, core_ind, core_rows[0].name_zh, core_val.value, core_rows[0].unit,
                               Verdict.NOT_ASSESSED, core_rows[0].evidence, core_val,
                               "park energy consumption incomplete: scale band unknown")
    else:
        band = [c for c in core_rows if c.applies_to(energy.value)]
        if not band:
            core = CriterionResult(
                None, core_ind, core_rows[0].name_zh, core_val.value, core_rows[0].unit, Verdict.THRESHOLD_UNKNOWN,
                core_rows[0].evidence, core_val,
                f"no threshold for a park of {energy.value:,.0f} tce (below 200 000 tce: UNVERIFIED in 910号 sources)",
            )
            unverified.append("core threshold for parks below the lowest scale band is UNVERIFIED")
        else:
            c = band[0]
            core = CriterionResult(c, core_ind, c.name_zh, core_val.value, c.unit,
                                   _verdict(c.comparison, core_val.value, c.threshold), c.evidence, core_val, c.note)
    guiding: list[CriterionResult] = []
    for c in criteria:
        if c.binding:
            continue
        if c.criterion_id in na:
            guiding.append(CriterionResult(c, c.indicator, c.name_zh, None, c.unit, Verdict.NOT_APPLICABLE,
                                           c.evidence, None, na[c.criterion_id]))
            continue
        if c.indicator == "product_energy_vs_limit":
            if not product_checks:
                guiding.append(CriterionResult(c, c.indicator, c.name_zh, None, c.unit, Verdict.NOT_ASSESSED,
                                               c.evidence, None, "no product energy data against 限额 standards"))
                continue
            worst = max(p.unit_energy / p.limit_level2 for p in product_checks)
            failing = [f"{p.enterprise_id}/{p.product}" for p in product_checks if p.unit_energy > p.limit_level2]
            guiding.append(CriterionResult(
                c, c.indicator, c.name_zh, worst, "ratio to level-2 limit", Verdict.FAIL if failing else Verdict.PASS,
                c.evidence, None, "failing: " + ", ".join(failing) if failing else "all products at or below level 2",
            ))
            continue
        val = annual_indicator(c.indicator, data, year, entity_id)
        guiding.append(CriterionResult(c, c.indicator, c.name_zh, val.value, c.unit,
                                       _verdict(c.comparison, val.value, c.threshold), c.evidence, val, c.note))
    for c in criteria:
        if not c.grade.strip().upper().startswith("A") or "UNVERIFIED" in c.grade.upper():
            unverified.append(f"{c.criterion_id}: grade {c.grade} — confirm against the official text")
    assessed = [g for g in guiding if g.verdict in (Verdict.PASS, Verdict.FAIL)]
    core_passed = None if core.verdict not in (Verdict.PASS, Verdict.FAIL) else core.verdict is Verdict.PASS
    return ZeroCarbonParkReport(
        year=year, park_energy_tce=energy.value, core=core, guiding=tuple(guiding), core_passed=core_passed,
        guiding_passed=sum(g.verdict is Verdict.PASS for g in assessed), guiding_assessed=len(assessed),
        unverified_notes=tuple(unverified),
    )


# --- scored evaluations: green factory (GB/T 36132-2025) and green park --------------------


@dataclass(frozen=True)
class ScoredIndicator:
    """An indicator scored between a baseline (基准值) and a leading value (引领值).

    weight : points at or better than the leading value.
    baseline, leading : [unit]; ``None`` = no benchmark (the indicator cannot be scored).
    energy_min_tce / energy_max_tce : tier of the enterprise's annual energy [tce] this row
        applies to, half-open ``[min, max)`` (e.g. renewable-use tiers); ``None`` = unbounded.
    platform_indicator : indicator code of :mod:`parkcarbon.core.targets` the platform fills the
        value from, or ``""`` when the value is supplied by the user.
    """

    indicator_id: str
    group: str
    name_zh: str
    name_en: str
    unit: str
    direction: Direction
    weight: float
    baseline: float | None
    leading: float | None
    source: str
    grade: str
    energy_min_tce: float | None = None
    energy_max_tce: float | None = None
    platform_indicator: str = ""
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not math.isfinite(self.weight) or self.weight < 0:
            raise InputError(f"indicator {self.indicator_id}: weight must be ≥ 0", message_zh=f"指标 {self.indicator_id}：权重必须 ≥ 0",
                             location=Location(record=self.indicator_id, value=self.weight))
        if self.baseline is not None and self.leading is not None:
            wrong = (self.leading < self.baseline) if self.direction is Direction.HIGHER_IS_BETTER else (
                self.leading > self.baseline)
            if wrong:
                raise InputError(
                    f"indicator {self.indicator_id}: leading value {self.leading} is worse than baseline {self.baseline}",
                    message_zh=f"指标 {self.indicator_id}：引领值 {self.leading} 劣于基准值 {self.baseline}",
                    hint="check the direction (正向/逆向) and the two values", hint_zh="请检查指标方向及两值",
                    location=Location(record=self.indicator_id),
                )

    def applies_to(self, energy_tce: float | None) -> bool:
        if self.energy_min_tce is None and self.energy_max_tce is None:
            return True
        if energy_tce is None:
            return False
        lo = self.energy_min_tce if self.energy_min_tce is not None else -math.inf
        hi = self.energy_max_tce if self.energy_max_tce is not None else math.inf
        return lo <= energy_tce < hi


def select_tier(definitions: Sequence[ScoredIndicator], energy_tce: float | None) -> tuple[ScoredIndicator, ...]:
    """Keep, per indicator id, the row whose energy tier contains ``energy_tce`` [tce]."""
    out: dict[str, ScoredIndicator] = {}
    for d in definitions:
        if d.applies_to(energy_tce) and d.indicator_id not in out:
            out[d.indicator_id] = d
    return tuple(out.values())


def score_linear(defn: ScoredIndicator, value: float) -> float:
    """Points for ``value``: 0 worse than 基准值, ``weight`` at/better than 引领值, linear between."""
    if defn.baseline is None or defn.leading is None:
        raise InputError(f"indicator {defn.indicator_id} has no baseline/leading value", message_zh=f"指标 {defn.indicator_id} 缺少基准值/引领值",
                         location=Location(record=defn.indicator_id))
    b, lead = defn.baseline, defn.leading
    sign = 1.0 if defn.direction is Direction.HIGHER_IS_BETTER else -1.0
    if sign * (value - lead) >= 0:
        return defn.weight
    if sign * (value - b) < 0:
        return 0.0
    if lead == b:
        return defn.weight
    return defn.weight * (value - b) / (lead - b)


@dataclass(frozen=True)
class IndicatorScore:
    """Score of one indicator; ``status`` is ``scored`` / ``missing value`` / ``no benchmark``."""

    definition: ScoredIndicator
    value: float | None
    score: float | None
    status: str
    evidence_required: tuple[str, ...]
    computed: IndicatorValue | None = None


@dataclass(frozen=True)
class ScoredAssessment:
    """Scored assessment over a set of indicators.

    total_score : Σ scores [points]; max_score : Σ weights of the selected indicators [points].
    score_frac : total/max [fraction]; completeness_frac : share of weight that could be scored.
    unverified : indicators whose benchmark has grade C or UNVERIFIED (replaceable defaults).
    """

    scheme: str
    entity_id: str
    year: int
    scores: tuple[IndicatorScore, ...]
    group_scores: Mapping[str, tuple[float, float]]
    total_score: float
    max_score: float
    score_frac: float | None
    completeness_frac: float
    unverified: tuple[str, ...]
    trace: tuple[TraceStep, ...] = field(default=())


def assess_scored(
    definitions: Sequence[ScoredIndicator],
    *,
    year: int,
    data: EntitySeries | None = None,
    values: Mapping[str, float | None] | None = None,
    energy_tce: float | None = None,
    scheme: str = "GB/T 36132-2025",
    entity_id: str = "",
) -> ScoredAssessment:
    """Score an entity: values filled from platform data, overridden by user ``values``.

    A row with a ``platform_indicator`` gets its value from ``data`` for calendar ``year`` (the
    trace is kept); ``values`` (indicator id → value) supply or override the rest. Energy tiers
    are selected with ``energy_tce`` (defaults to the annual energy from ``data``).
    """
    user = dict(values or {})
    if energy_tce is None and data is not None:
        energy_tce = annual_indicator("energy_total_tce", data, year, entity_id).value
    selected = select_tier(definitions, energy_tce)
    scores: list[IndicatorScore] = []
    groups: dict[str, list[float]] = {}
    unverified: list[str] = []
    for d in selected:
        computed = None
        value: float | None = None
        if d.indicator_id in user:
            value = user[d.indicator_id]
        elif d.platform_indicator and data is not None:
            computed = annual_indicator(d.platform_indicator, data, year, entity_id)
            value = computed.value
        if d.baseline is None or d.leading is None:
            s, status = None, "no benchmark"
        elif value is None:
            s, status = None, "missing value"
        else:
            s, status = score_linear(d, value), "scored"
        if d.grade.strip().upper() in UNRELIABLE_GRADES:
            unverified.append(f"{d.indicator_id} ({d.grade})")
        scores.append(IndicatorScore(d, value, s, status, d.evidence, computed))
        g = groups.setdefault(d.group, [0.0, 0.0])
        g[0] += s or 0.0
        g[1] += d.weight
    total = math.fsum(x.score or 0.0 for x in scores)
    max_score = math.fsum(x.definition.weight for x in scores)
    scored_w = math.fsum(x.definition.weight for x in scores if x.score is not None)
    step = TraceStep(method=f"{scheme}: linear scoring between 基准值 and 引领值, Σ points", result=total,
                     result_unit="points", records=(entity_id,), inputs=(("max_score", max_score),))
    return ScoredAssessment(
        scheme=scheme, entity_id=entity_id, year=year, scores=tuple(scores),
        group_scores={k: (v[0], v[1]) for k, v in groups.items()}, total_score=total, max_score=max_score,
        score_frac=total / max_score if max_score > 0 else None,
        completeness_frac=scored_w / max_score if max_score > 0 else 0.0,
        unverified=tuple(unverified), trace=(step,),
    )


@dataclass(frozen=True)
class GreenFactoryScore:
    """GB/T 36132-2025 overall score [points out of 100].

    quantitative_weight_frac : weight of the quantitative indicators (0.60, NOTES §5.2).
    total_points : ``100 × (w × quantitative score_frac + (1 − w) × qualitative_frac)``, or ``None``
        when the qualitative self-assessment is not given.
    """

    quantitative: ScoredAssessment
    qualitative_frac: float | None
    quantitative_weight_frac: float
    total_points: float | None


def green_factory_score(
    quantitative: ScoredAssessment, qualitative_frac: float | None, quantitative_weight_frac: float = 0.60
) -> GreenFactoryScore:
    """Combine the quantitative score with the qualitative self-assessment [fraction of its points]."""
    if qualitative_frac is not None and not 0.0 <= qualitative_frac <= 1.0:
        raise InputError(f"qualitative_frac must be within [0, 1], got {qualitative_frac}",
                         message_zh=f"定性得分率必须在 [0,1] 内，实际为 {qualitative_frac}")
    total = None
    if qualitative_frac is not None and quantitative.score_frac is not None:
        total = 100.0 * (quantitative_weight_frac * quantitative.score_frac
                         + (1.0 - quantitative_weight_frac) * qualitative_frac)
    return GreenFactoryScore(quantitative, qualitative_frac, quantitative_weight_frac, total)


@dataclass(frozen=True)
class GreenParkIndex:
    """MIIT green park composite index GI [0..100] (formula UNVERIFIED, NOTES §5.1).

    ratios : indicator id → min(value/引领值, 1) (inverted for lower-is-better indicators).
    group_index : group → mean ratio × 100.
    """

    year: int
    index: float | None
    ratios: Mapping[str, float | None]
    group_index: Mapping[str, float]
    missing: tuple[str, ...]
    note: str


def green_park_index(
    definitions: Sequence[ScoredIndicator],
    *,
    year: int,
    data: EntitySeries | None = None,
    values: Mapping[str, float | None] | None = None,
    entity_id: str = "park",
) -> GreenParkIndex:
    """Green park composite: mean over indicators of min(value/引领值, 1), ×100.

    Lower-is-better indicators use 引领值/value. The capping at 1 and the equal weighting are
    the reading of DB21/T 3662-2022's GI symbols in NOTES §5.1 and are UNVERIFIED.
    """
    user = dict(values or {})
    ratios: dict[str, float | None] = {}
    groups: dict[str, list[float]] = {}
    missing: list[str] = []
    for d in definitions:
        v: float | None = user.get(d.indicator_id)
        if v is None and d.indicator_id not in user and d.platform_indicator and data is not None:
            v = annual_indicator(d.platform_indicator, data, year, entity_id).value
        if v is None or d.leading is None or d.leading <= 0:
            ratios[d.indicator_id] = None
            missing.append(d.indicator_id)
            continue
        if d.direction is Direction.HIGHER_IS_BETTER:
            r = v / d.leading
        else:
            r = d.leading / v if v > 0 else 1.0
        r = min(max(r, 0.0), 1.0)
        ratios[d.indicator_id] = r
        groups.setdefault(d.group, []).append(r)
    vals = [r for r in ratios.values() if r is not None]
    return GreenParkIndex(
        year=year,
        index=100.0 * sum(vals) / len(vals) if vals else None,
        ratios=ratios,
        group_index={g: 100.0 * sum(rs) / len(rs) for g, rs in groups.items()},
        missing=tuple(missing),
        note="GI = 100 × mean(min(x/引领值, 1)); formula, cap and pass line UNVERIFIED (NOTES §5.1)",
    )
