"""Data-quality checks on meter data, declared before use (数据质量校验, RELIABILITY.md R12).

Each check is a pure function returning a tuple of :class:`QualityFinding` (empty = passed).
Codes:

* ``DQ-COMPLETENESS`` — real data (measured + edited) below the threshold of expected intervals
  (default 90 %), per meter and period;
* ``DQ-DAY-MONTH`` — the sum of daily totals deviates from an independent monthly total (e.g. the
  bill or the monthly statistics) by more than 5 %;
* ``DQ-BALANCE`` — a parent meter and the sum of its sub-meters differ by more than the tolerance
  (``DQ-BALANCE-INCOMPLETE`` when coverage is too low to judge);
* ``DQ-OUTLIER`` — robust z-score (modified z, Iglewicz & Hoaglin: 0.6745·(x − median)/MAD)
  above 3.5;
* ``DQ-YOY`` — a month changes by more than the allowed fraction versus the same month a year
  earlier.

Basis: EU MRR 2018/2066 Art. 63 (control activities), online-monitoring practice; R12.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from parkcarbon.core.metering_aggregate import PeriodTotals, rollup
from parkcarbon.core.metering_series import COMPLETENESS_THRESHOLD_FRAC
from parkcarbon.core.metering_time import PeriodLevel, period_label
from parkcarbon.errors import CalculationError

__all__ = [
    "DAY_MONTH_TOLERANCE_FRAC",
    "FindingSeverity",
    "QualityFinding",
    "check_completeness",
    "check_day_vs_month",
    "check_submeter_balance",
    "check_year_on_year",
    "find_outliers",
    "robust_z_scores",
]

#: daily sum vs monthly total: allowed relative deviation (R12) [-]
DAY_MONTH_TOLERANCE_FRAC = 0.05


class FindingSeverity(StrEnum):
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class QualityFinding:
    """One data-quality finding: code, where, the measured figure vs its threshold, bilingual text."""

    code: str
    severity: FindingSeverity
    meter_id: str
    level: PeriodLevel | None
    period_start_s: int | None
    value: float
    threshold: float
    message: str
    message_zh: str


def _label(start_s: int, level: PeriodLevel) -> str:
    return period_label(start_s, level)


def check_completeness(
    totals: PeriodTotals, *, threshold_frac: float = COMPLETENESS_THRESHOLD_FRAC
) -> tuple[QualityFinding, ...]:
    """Periods whose real-data share (measured + edited over expected) is below ``threshold_frac``."""
    frac = totals.measured_frac()
    out = []
    for i in np.flatnonzero(frac < threshold_frac).tolist():
        lab = totals.label(i)
        out.append(
            QualityFinding(
                "DQ-COMPLETENESS", FindingSeverity.WARNING, totals.meter_id, totals.level,
                int(totals.period_start_s[i]), float(frac[i]), threshold_frac,
                f"meter {totals.meter_id} {lab}: {frac[i]:.1%} of expected intervals measured "
                f"(< {threshold_frac:.0%})",
                f"计量点 {totals.meter_id} {lab}：实测数据完整率 {frac[i]:.1%}，低于 {threshold_frac:.0%}",
            )
        )
    return tuple(out)


def check_day_vs_month(
    day_totals: PeriodTotals,
    month_totals_reported: Mapping[int, float],
    *,
    tolerance_frac: float = DAY_MONTH_TOLERANCE_FRAC,
) -> tuple[QualityFinding, ...]:
    """Compare Σ daily totals of each month with an independent monthly total (bill, statistics).

    ``month_totals_reported`` maps the month's start (UTC epoch seconds, Asia/Shanghai month) to
    the reported total [unit]. Deviation = |Σ days − reported| / reported. A month whose days
    have no data at all is reported as a deviation of 100 %.
    """
    if day_totals.level is not PeriodLevel.DAY:
        raise CalculationError(
            "day-vs-month check needs daily totals", message_zh="日-月核对需要日汇总数据"
        )
    months = rollup(day_totals, PeriodLevel.MONTH)
    by_start = {int(s): i for i, s in enumerate(months.period_start_s.tolist())}
    out = []
    for start, reported in sorted(month_totals_reported.items()):
        i = by_start.get(int(start))
        days_sum = float(months.total[i]) if i is not None and np.isfinite(months.total[i]) else None
        if days_sum is None:
            dev = 1.0
        elif reported == 0:
            dev = 0.0 if days_sum == 0 else float("inf")
        else:
            dev = abs(days_sum - reported) / abs(reported)
        if dev > tolerance_frac:
            lab = _label(int(start), PeriodLevel.MONTH)
            shown = "no data" if days_sum is None else f"{days_sum:g}"
            shown_zh = "无数据" if days_sum is None else f"{days_sum:g}"
            out.append(
                QualityFinding(
                    "DQ-DAY-MONTH", FindingSeverity.WARNING, day_totals.meter_id, PeriodLevel.MONTH,
                    int(start), dev, tolerance_frac,
                    f"meter {day_totals.meter_id} {lab}: sum of days {shown} deviates from the monthly "
                    f"total {reported:g} by {dev:.1%} (> {tolerance_frac:.0%})",
                    f"计量点 {day_totals.meter_id} {lab}：日数据合计 {shown_zh} 与月度总量 {reported:g} "
                    f"偏差 {dev:.1%}，超过 {tolerance_frac:.0%}",
                )
            )
    return tuple(out)


def check_submeter_balance(
    parent: PeriodTotals,
    children: Sequence[PeriodTotals],
    *,
    tolerance_frac: float = 0.05,
    min_coverage_frac: float = COMPLETENESS_THRESHOLD_FRAC,
) -> tuple[QualityFinding, ...]:
    """Parent meter vs the sum of its sub-meters per period (总表-分表平衡).

    Imbalance = |parent − Σ children| / parent. Periods where the parent or any child covers less
    than ``min_coverage_frac`` of its expected intervals are not judged but reported as
    ``DQ-BALANCE-INCOMPLETE`` (an incomplete sub-meter is not an imbalance).
    """
    for c in children:
        if c.level is not parent.level:
            raise CalculationError(
                "parent and sub-meter totals must have the same level",
                message_zh="总表与分表的汇总层级必须一致",
            )
    out = []
    child_idx = [
        {int(s): i for i, s in enumerate(c.period_start_s.tolist())} for c in children
    ]
    cov_parent = parent.coverage_frac()
    for i, start in enumerate(parent.period_start_s.tolist()):
        lab = parent.label(i)
        covs = [float(cov_parent[i])]
        child_sum = 0.0
        for c, idx in zip(children, child_idx, strict=True):
            j = idx.get(int(start))
            if j is None or not np.isfinite(c.total[j]):
                covs.append(0.0)
                continue
            covs.append(float(c.coverage_frac()[j]))
            child_sum += float(c.total[j])
        if min(covs) < min_coverage_frac or not np.isfinite(parent.total[i]):
            out.append(
                QualityFinding(
                    "DQ-BALANCE-INCOMPLETE", FindingSeverity.WARNING, parent.meter_id, parent.level,
                    int(start), min(covs), min_coverage_frac,
                    f"meter {parent.meter_id} {lab}: balance not checked, coverage {min(covs):.1%}",
                    f"计量点 {parent.meter_id} {lab}：数据覆盖率 {min(covs):.1%}，未做总分表平衡核对",
                )
            )
            continue
        p = float(parent.total[i])
        imb = abs(p - child_sum) / abs(p) if p else (0.0 if child_sum == 0 else float("inf"))
        if imb > tolerance_frac:
            out.append(
                QualityFinding(
                    "DQ-BALANCE", FindingSeverity.WARNING, parent.meter_id, parent.level, int(start),
                    imb, tolerance_frac,
                    f"meter {parent.meter_id} {lab}: parent {p:g} vs sub-meters {child_sum:g}, "
                    f"imbalance {imb:.1%} (> {tolerance_frac:.0%})",
                    f"计量点 {parent.meter_id} {lab}：总表 {p:g}，分表合计 {child_sum:g}，"
                    f"不平衡率 {imb:.1%}，超过 {tolerance_frac:.0%}",
                )
            )
    return tuple(out)


def robust_z_scores(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Modified z-scores 0.6745·(x − median)/MAD of the finite values (NaN elsewhere).

    When MAD is 0 (more than half the values equal), the mean absolute deviation ×1.2533 is used
    (Iglewicz & Hoaglin); if that is 0 too, every score is 0.
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(x)
    if not ok.any():
        return out
    xs = x[ok]
    med = float(np.median(xs))
    mad = float(np.median(np.abs(xs - med)))
    if mad > 0:
        out[ok] = 0.6745 * (xs - med) / mad
    else:
        meanad = float(np.mean(np.abs(xs - med)))
        out[ok] = (xs - med) / (1.253314 * meanad) if meanad > 0 else 0.0
    return out


def find_outliers(
    totals: PeriodTotals, *, threshold: float = 3.5
) -> tuple[QualityFinding, ...]:
    """Periods whose total has a robust |z| above ``threshold`` among the meter's periods."""
    z = robust_z_scores(totals.total)
    out = []
    for i in np.flatnonzero(np.abs(np.nan_to_num(z, nan=0.0)) > threshold).tolist():
        lab = totals.label(i)
        out.append(
            QualityFinding(
                "DQ-OUTLIER", FindingSeverity.WARNING, totals.meter_id, totals.level,
                int(totals.period_start_s[i]), float(z[i]), threshold,
                f"meter {totals.meter_id} {lab}: total {float(totals.total[i]):g} is an outlier "
                f"(robust z = {float(z[i]):.1f})",
                f"计量点 {totals.meter_id} {lab}：总量 {float(totals.total[i]):g} 为异常值"
                f"（稳健 z 值 {float(z[i]):.1f}）",
            )
        )
    return tuple(out)


def check_year_on_year(
    month_totals: PeriodTotals, *, max_change_frac: float = 0.3
) -> tuple[QualityFinding, ...]:
    """Months whose total changes by more than ``max_change_frac`` vs the same month a year earlier.

    Change = (this − last year) / last year. Months without a previous-year value are not judged.
    """
    if month_totals.level is not PeriodLevel.MONTH:
        raise CalculationError(
            "year-on-year check needs monthly totals", message_zh="同比核对需要月度汇总数据"
        )
    by_label = {month_totals.label(i): i for i in range(month_totals.n_periods)}
    out = []
    for i in range(month_totals.n_periods):
        lab = month_totals.label(i)
        prev_lab = f"{int(lab[:4]) - 1:04d}{lab[4:]}"
        j = by_label.get(prev_lab)
        if j is None:
            continue
        cur, prev = float(month_totals.total[i]), float(month_totals.total[j])
        if not (np.isfinite(cur) and np.isfinite(prev)) or prev == 0:
            continue
        change = (cur - prev) / abs(prev)
        if abs(change) > max_change_frac:
            out.append(
                QualityFinding(
                    "DQ-YOY", FindingSeverity.WARNING, month_totals.meter_id, PeriodLevel.MONTH,
                    int(month_totals.period_start_s[i]), change, max_change_frac,
                    f"meter {month_totals.meter_id} {lab}: {cur:g} vs {prev:g} a year earlier "
                    f"({change:+.1%}, limit ±{max_change_frac:.0%})",
                    f"计量点 {month_totals.meter_id} {lab}：{cur:g}，去年同期 {prev:g}，"
                    f"同比 {change:+.1%}，超过 ±{max_change_frac:.0%}",
                )
            )
    return tuple(out)
