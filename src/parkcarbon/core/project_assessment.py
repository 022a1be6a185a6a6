"""Energy and carbon assessment of a new fixed-asset investment project (项目节能审查/碳排放评价).

A new project's annual energy by carrier is converted to tce (当量值 coal coefficients,
GB/T 2589-2020) and CO2 (emission factors per canonical unit), passed in as
:class:`~parkcarbon.core.trace.FactorRef` so every number cites its factor row. The assessment
shows the project's own intensities, and its effect on the park's totals and intensities
(before → after), the remaining energy/carbon budget it would use, and whether the park's
targets for the year still hold (园区能耗和碳排放“双控”影响分析).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from parkcarbon.core.targets import Target, path_value
from parkcarbon.core.trace import FactorRef, TraceStep
from parkcarbon.errors import InputError, Location

__all__ = [
    "ParkTotals",
    "ProjectAssessment",
    "ProjectEnergyLine",
    "ProjectInputs",
    "TargetImpact",
    "assess_project",
]


@dataclass(frozen=True)
class ProjectEnergyLine:
    """Annual use of one carrier by the project.

    quantity_per_yr [carrier canonical unit / yr]; coal_coefficient [tce/unit];
    emission_factor [tCO2/unit]; non_fossil: counts as non-fossil energy (e.g. green power).
    """

    carrier: str
    quantity_per_yr: float
    coal_coefficient: FactorRef
    emission_factor: FactorRef
    non_fossil: bool = False


@dataclass(frozen=True)
class ProjectInputs:
    """A project: its energy lines, process emissions [tCO2/yr] and added value [10k CNY/yr]."""

    project_id: str
    name: str
    lines: tuple[ProjectEnergyLine, ...]
    added_value_10k_cny_per_yr: float
    process_emissions_tco2_per_yr: float = 0.0


@dataclass(frozen=True)
class ParkTotals:
    """Park annual totals: energy [tce], CO2 [tCO2], added value [10k CNY], non-fossil [tce]."""

    year: int
    energy_tce: float
    emissions_tco2: float
    added_value_10k_cny: float
    non_fossil_energy_tce: float = 0.0

    @property
    def energy_intensity_tce_per_10k_cny(self) -> float:
        return self.energy_tce / self.added_value_10k_cny

    @property
    def carbon_intensity_tco2_per_10k_cny(self) -> float:
        return self.emissions_tco2 / self.added_value_10k_cny

    @property
    def carbon_per_energy_tco2_per_tce(self) -> float:
        return self.emissions_tco2 / self.energy_tce

    @property
    def non_fossil_share_frac(self) -> float:
        return self.non_fossil_energy_tce / self.energy_tce

    def indicator(self, code: str) -> float:
        values = {
            "energy_total_tce": self.energy_tce,
            "emissions_total_tco2": self.emissions_tco2,
            "energy_intensity_tce_per_10k_cny": self.energy_intensity_tce_per_10k_cny,
            "carbon_intensity_tco2_per_10k_cny": self.carbon_intensity_tco2_per_10k_cny,
            "carbon_per_energy_tco2_per_tce": self.carbon_per_energy_tco2_per_tce,
            "non_fossil_share_frac": self.non_fossil_share_frac,
        }
        if code not in values:
            raise InputError(f"indicator {code!r} is not available for project assessment",
                             message_zh=f"项目评价不支持指标 {code!r}", location=Location(value=code))
        return values[code]


@dataclass(frozen=True)
class TargetImpact:
    """A park target for the year before and after the project."""

    target_id: str
    required: float | None
    before: float
    after: float
    met_before: bool | None
    met_after: bool | None


@dataclass(frozen=True)
class ProjectAssessment:
    """Result of a project assessment.

    energy_tce_per_yr, emissions_tco2_per_yr : the project's own annual totals.
    *_intensity : project intensities [tce/10k CNY], [tCO2/10k CNY].
    intensity_ratio_to_park : project energy intensity / park energy intensity before [—];
        > 1 means the project raises the park's intensity.
    budget_use_frac : project energy / remaining energy budget [fraction] (if given).
    """

    project_id: str
    energy_tce_per_yr: float
    emissions_tco2_per_yr: float
    non_fossil_energy_tce_per_yr: float
    energy_intensity_tce_per_10k_cny: float | None
    carbon_intensity_tco2_per_10k_cny: float | None
    park_before: ParkTotals
    park_after: ParkTotals
    intensity_ratio_to_park: float | None
    budget_use_frac: float | None
    carbon_budget_use_frac: float | None
    targets: tuple[TargetImpact, ...]
    findings: tuple[str, ...]
    trace: tuple[TraceStep, ...]


def _check_nonneg(value: float, what: str, record: str) -> None:
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise InputError(f"{what} of {record} must be a finite non-negative number, got {value!r}",
                         message_zh=f"{record} 的 {what} 必须为非负有限数，实际为 {value!r}",
                         location=Location(record=record, column=what, value=value))


def assess_project(
    project: ProjectInputs,
    park: ParkTotals,
    *,
    targets: Sequence[Target] = (),
    remaining_energy_budget_tce: float | None = None,
    remaining_carbon_budget_tco2: float | None = None,
) -> ProjectAssessment:
    """Assess ``project`` against the park's totals for ``park.year`` and the park targets."""
    _check_nonneg(project.added_value_10k_cny_per_yr, "added value", project.project_id)
    _check_nonneg(project.process_emissions_tco2_per_yr, "process emissions", project.project_id)
    if park.energy_tce <= 0 or park.added_value_10k_cny <= 0:
        raise InputError("park energy and added value must be positive", message_zh="园区能耗与增加值必须为正")
    steps: list[TraceStep] = []
    energy = emissions = nf = 0.0
    for ln in project.lines:
        _check_nonneg(ln.quantity_per_yr, f"quantity of {ln.carrier}", project.project_id)
        e = ln.quantity_per_yr * ln.coal_coefficient.value
        c = ln.quantity_per_yr * ln.emission_factor.value
        energy += e
        emissions += c
        nf += e if ln.non_fossil else 0.0
        steps.append(TraceStep(method=f"{ln.carrier}: tce = q × coal coefficient; CO2 = q × EF", result=e,
                               result_unit="tce/yr", records=(project.project_id,),
                               factors=(ln.coal_coefficient, ln.emission_factor),
                               inputs=(("quantity", ln.quantity_per_yr), ("tco2", c))))
    emissions += project.process_emissions_tco2_per_yr
    av = project.added_value_10k_cny_per_yr
    after = ParkTotals(park.year, park.energy_tce + energy, park.emissions_tco2 + emissions,
                       park.added_value_10k_cny + av, park.non_fossil_energy_tce + nf)
    ei = energy / av if av > 0 else None
    ci = emissions / av if av > 0 else None
    ratio = ei / park.energy_intensity_tce_per_10k_cny if ei is not None else None
    findings: list[str] = []
    if ratio is not None and ratio > 1.0:
        findings.append(f"project energy intensity is {ratio:.2f}× the park's: it raises the park intensity "
                        f"({park.energy_intensity_tce_per_10k_cny:.4f} → {after.energy_intensity_tce_per_10k_cny:.4f} tce/10k CNY)")
    elif ratio is not None:
        findings.append(f"project energy intensity is {ratio:.2f}× the park's: it lowers the park intensity")
    if av == 0:
        findings.append("project reports no added value: intensities undefined")
    bu = cbu = None
    if remaining_energy_budget_tce is not None:
        _check_nonneg(remaining_energy_budget_tce, "remaining energy budget", "park")
        bu = energy / remaining_energy_budget_tce if remaining_energy_budget_tce > 0 else math.inf
        if bu > 1.0:
            findings.append(f"project needs {bu:.0%} of the remaining energy budget: exceeds it")
    if remaining_carbon_budget_tco2 is not None:
        _check_nonneg(remaining_carbon_budget_tco2, "remaining carbon budget", "park")
        cbu = emissions / remaining_carbon_budget_tco2 if remaining_carbon_budget_tco2 > 0 else math.inf
        if cbu > 1.0:
            findings.append(f"project needs {cbu:.0%} of the remaining carbon budget: exceeds it")
    impacts: list[TargetImpact] = []
    for t in targets:
        req = path_value(t, float(park.year), t.base_value)
        b, a = park.indicator(t.indicator), after.indicator(t.indicator)
        lower = t.definition.direction.value == "lower_is_better"

        def meets(v: float, req: float | None = req, lower: bool = lower) -> bool | None:
            if req is None:
                return None
            tol = 1e-12 * max(1.0, abs(req))
            return v <= req + tol if lower else v >= req - tol

        imp = TargetImpact(t.target_id, req, b, a, meets(b), meets(a))
        if imp.met_before and imp.met_after is False:
            findings.append(f"target {t.target_id} is met without the project and missed with it")
        impacts.append(imp)
    steps.append(TraceStep(method="park after = park before + project", result=after.energy_tce, result_unit="tce",
                           records=(project.project_id, f"park:{park.year}"),
                           inputs=(("project_tce", energy), ("project_tco2", emissions), ("project_av", av))))
    return ProjectAssessment(
        project_id=project.project_id, energy_tce_per_yr=energy, emissions_tco2_per_yr=emissions,
        non_fossil_energy_tce_per_yr=nf, energy_intensity_tce_per_10k_cny=ei, carbon_intensity_tco2_per_10k_cny=ci,
        park_before=park, park_after=after, intensity_ratio_to_park=ratio, budget_use_frac=bu,
        carbon_budget_use_frac=cbu, targets=tuple(impacts), findings=tuple(findings), trace=tuple(steps),
    )
