"""The pure meter-data pipeline (计量数据处理): one import path for services and engines.

Stages (DESIGN.md §3), each keeping its input unchanged (R3):

1. normalise — cumulative registers → classified increments
   (:func:`register_increments`, :func:`register_increments_to_grid`), interval meters → a dense
   fixed grid (:func:`interval_values_to_grid`); gaps stay ``NaN`` + ``missing``;
2. validate — gaps (:func:`find_gaps`, :func:`expected_vs_found`), completeness
   (:func:`completeness`), data-quality checks (:func:`check_completeness`,
   :func:`check_day_vs_month`, :func:`check_submeter_balance`, :func:`find_outliers`,
   :func:`check_year_on_year`);
3. estimate — explicit, flagged (:func:`estimate_gaps`), superseded by real data
   (:func:`merge_real_over_estimates`);
4. aggregate — interval → hour → day → month in Asia/Shanghai with quality counts
   (:func:`aggregate`, :func:`aggregate_slots`, :func:`rollup`), incrementally
   (:func:`touched_periods`, :func:`replace_periods`);
5. virtual meters — :func:`parse_formula`, :func:`evaluate_virtual_meter`.

Conventions: instants are ``int64`` UTC epoch seconds (``*_s``); quantities are in the carrier's
canonical unit; quality codes are :class:`QualityCode` (``uint8``); ``NaN`` + a flag, never 0, for
unknown values. The implementation lives in ``core/metering_*.py``; import from here.
"""

from __future__ import annotations

from parkcarbon.core.metering_aggregate import (
    BlockTotals,
    PeriodTotals,
    aggregate,
    aggregate_blocks,
    aggregate_slots,
    period_quality,
    replace_periods,
    rollup,
    touched_periods,
)
from parkcarbon.core.metering_quality import (
    DAY_MONTH_TOLERANCE_FRAC,
    FindingSeverity,
    QualityFinding,
    check_completeness,
    check_day_vs_month,
    check_submeter_balance,
    check_year_on_year,
    find_outliers,
    robust_z_scores,
)
from parkcarbon.core.metering_registers import (
    COUNTED_KINDS,
    IncrementKind,
    MeterReplacement,
    RegisterEvent,
    RegisterIncrements,
    RegisterSpec,
    register_increments,
    register_increments_to_grid,
    regular_register_grid,
)
from parkcarbon.core.metering_series import (
    COMPLETENESS_THRESHOLD_FRAC,
    Completeness,
    EstimationMethod,
    EstimationResult,
    Gap,
    GapEstimate,
    GapReport,
    IntervalSeries,
    QualityCode,
    SupersededSlot,
    SupersessionResult,
    completeness,
    estimate_gaps,
    expected_vs_found,
    find_gaps,
    interval_values_to_grid,
    merge_real_over_estimates,
)
from parkcarbon.core.metering_time import (
    DEFAULT_INTERVAL_S,
    DST_FREE_FROM_S,
    REPORTING_OFFSET_S,
    PeriodLevel,
    epoch_s,
    local_day_end,
    local_day_start,
    period_end,
    period_label,
    period_start,
    to_epoch_seconds,
    utc_datetime,
    utc_offsets,
)
from parkcarbon.core.metering_virtual import VirtualMeterFormula, evaluate_virtual_meter, parse_formula

__all__ = [
    "COMPLETENESS_THRESHOLD_FRAC",
    "COUNTED_KINDS",
    "DAY_MONTH_TOLERANCE_FRAC",
    "DEFAULT_INTERVAL_S",
    "DST_FREE_FROM_S",
    "REPORTING_OFFSET_S",
    "BlockTotals",
    "Completeness",
    "EstimationMethod",
    "EstimationResult",
    "FindingSeverity",
    "Gap",
    "GapEstimate",
    "GapReport",
    "IncrementKind",
    "IntervalSeries",
    "MeterReplacement",
    "PeriodLevel",
    "PeriodTotals",
    "QualityCode",
    "QualityFinding",
    "RegisterEvent",
    "RegisterIncrements",
    "RegisterSpec",
    "SupersededSlot",
    "SupersessionResult",
    "VirtualMeterFormula",
    "aggregate",
    "aggregate_blocks",
    "aggregate_slots",
    "check_completeness",
    "check_day_vs_month",
    "check_submeter_balance",
    "check_year_on_year",
    "completeness",
    "epoch_s",
    "estimate_gaps",
    "evaluate_virtual_meter",
    "expected_vs_found",
    "find_gaps",
    "find_outliers",
    "interval_values_to_grid",
    "local_day_end",
    "local_day_start",
    "merge_real_over_estimates",
    "parse_formula",
    "period_end",
    "period_label",
    "period_quality",
    "period_start",
    "register_increments",
    "register_increments_to_grid",
    "regular_register_grid",
    "replace_periods",
    "robust_z_scores",
    "rollup",
    "to_epoch_seconds",
    "touched_periods",
    "utc_datetime",
    "utc_offsets",
]
