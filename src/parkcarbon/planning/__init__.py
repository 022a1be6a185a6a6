"""Source-grid-load-storage planning (源网荷储规划): PV yield, optimal dispatch, sizing.

Formulation ≠ solving ≠ storage:

* :mod:`~parkcarbon.planning.problem` — the problem as plain data (dataclasses of arrays);
* :mod:`~parkcarbon.planning.model` — the model builder: problem → sparse LP matrices (CSC);
* :mod:`~parkcarbon.planning.solver` — the HiGHS call (``highspy`` matrix API, ``passModel``);
* :mod:`~parkcarbon.planning.results` — the reader: solution → frozen, traceable results;
* :mod:`~parkcarbon.planning.dispatch` / :mod:`~parkcarbon.planning.sizing` — the pipelines;
* :mod:`~parkcarbon.planning.diagnose` — plain-language explanations of infeasibility;
* :mod:`~parkcarbon.planning.pv` — PV yield with pvlib; :mod:`~parkcarbon.planning.economics` — NPV.

Tariffs are reference data in :mod:`parkcarbon.factors.tariffs`; orchestration (load files,
tariff and factor lookup, result files) is in :mod:`parkcarbon.services.planning`.
"""

from parkcarbon.planning.dispatch import optimise_dispatch
from parkcarbon.planning.problem import (
    Battery,
    BatteryInvestment,
    DispatchProblem,
    EmissionBasis,
    GreenContract,
    GreenContractKind,
    Objective,
    ObjectiveKind,
    PVInvestment,
    SizingProblem,
)
from parkcarbon.planning.results import DispatchResult
from parkcarbon.planning.sizing import SizingResult, compare_scenarios, optimise_sizing

__all__ = [
    "Battery",
    "BatteryInvestment",
    "DispatchProblem",
    "DispatchResult",
    "EmissionBasis",
    "GreenContract",
    "GreenContractKind",
    "Objective",
    "ObjectiveKind",
    "PVInvestment",
    "SizingProblem",
    "SizingResult",
    "compare_scenarios",
    "optimise_dispatch",
    "optimise_sizing",
]
