"""Data-quality report of the store (数据质量核查, RELIABILITY.md R12), from stored aggregates.

Checks, declared before use, with the pure functions of :mod:`parkcarbon.core.metering`:

* ``DQ-COMPLETENESS`` — measured share of each meter-month below the threshold (default 90 %);
* ``DQ-DAY-MONTH`` — Σ daily meter totals of an enterprise's meters of one carrier and role vs
  the monthly statistics / bill value of the ledger (≤ 5 %);
* ``DQ-BALANCE`` / ``DQ-BALANCE-INCOMPLETE`` — parent meter vs the sum of its sub-meters;
* ``DQ-CONFLICTS`` / ``DQ-QUARANTINE`` — open reading conflicts and quarantined readings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from parkcarbon.core.metering import (
    FindingSeverity,
    PeriodLevel,
    PeriodTotals,
    QualityFinding,
    check_completeness,
    check_day_vs_month,
    check_submeter_balance,
    period_end,
)
from parkcarbon.periods import Month, parse_month
from parkcarbon.services.derivation import ROLE_FLOWS, meter_source_prefix
from parkcarbon.settings import Settings, get_settings
from parkcarbon.storage import Store
from parkcarbon.storage.models import AggregateRow, Meter

__all__ = ["QualityReport", "quality_report"]


@dataclass(frozen=True)
class QualityReport:
    """Findings of a quality run plus what was checked."""

    meters_checked: int
    months: tuple[str, ...]
    findings: tuple[QualityFinding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def _totals(rows: Sequence[AggregateRow], level: PeriodLevel, meter_id: str, unit: str) -> PeriodTotals:
    """Aggregate rows (possibly of several meters) summed per period into one PeriodTotals."""
    by: dict[int, list[float]] = defaultdict(lambda: [0.0, 0, 0, 0, 0, 0, 0, 0])
    interval = rows[0].interval_s if rows else 900
    for r in rows:
        acc = by[int(r.period_start_utc.timestamp())]
        if r.energy is not None:
            acc[0] += r.energy
            acc[7] = 1
        acc[1] += r.n_expected
        acc[2] += r.n_measured
        acc[3] += r.n_edited
        acc[4] += r.n_estimated
        acc[5] += r.n_suspect
    starts = np.array(sorted(by), dtype=np.int64)
    arr = [by[int(s)] for s in starts]

    def col(i: int) -> np.ndarray:
        return np.array([a[i] for a in arr], dtype=np.int64)

    total = np.array([a[0] if a[7] else np.nan for a in arr], dtype=np.float64)
    n_exp = col(1)
    missing = n_exp - col(2) - col(3) - col(4) - col(5)
    return PeriodTotals(level, interval, starts, period_end(starts, level) if len(starts) else starts, total,
                        n_exp, col(2), col(3), col(4), col(5), missing, unit, meter_id)


def quality_report(store: Store, *, enterprise_id: str | None = None, month: Month | str | None = None,
                   settings: Settings | None = None) -> QualityReport:
    """Run the declared checks for one enterprise (or all) and one month (or all stored months)."""
    settings = settings or get_settings()
    m = None if month is None else parse_month(month)
    start = None if m is None else m.start_utc
    end = None if m is None else m.end_utc
    findings: list[QualityFinding] = []
    months: set[str] = set()
    with store.reader() as repo:
        meters: list[Meter] = [x for x in repo.list_meters(enterprise_id=enterprise_id) if x.kind != "virtual"]
        by_id = {x.id: x for x in meters}
        for meter in meters:
            rows = repo.aggregates([meter.id], "month", start_utc=start, end_utc=end)
            if rows:
                t = _totals(rows, PeriodLevel.MONTH, meter.code, meter.carrier)
                months.update(t.label(i) for i in range(t.n_periods))
                findings.extend(check_completeness(t, threshold_frac=settings.completeness_min_frac))
        # parent vs sub-meters
        children: dict[str, list[Meter]] = defaultdict(list)
        for meter in meters:
            if meter.parent_meter_id in by_id:
                children[meter.parent_meter_id].append(meter)
        for parent_id, kids in children.items():
            parent = by_id[parent_id]
            prow = repo.aggregates([parent_id], "month", start_utc=start, end_utc=end)
            if not prow:
                continue
            p_t = _totals(prow, PeriodLevel.MONTH, parent.code, parent.carrier)
            c_t = [_totals(repo.aggregates([k.id], "month", start_utc=start, end_utc=end), PeriodLevel.MONTH,
                           k.code, k.carrier) for k in kids]
            findings.extend(check_submeter_balance(p_t, c_t, tolerance_frac=settings.day_month_tolerance_frac,
                                                   min_coverage_frac=settings.completeness_min_frac))
        # day sums of meters vs ledger values from statistics or bills
        groups: dict[tuple[str, str, str], list[Meter]] = defaultdict(list)
        for meter in meters:
            if meter.enterprise_id and meter.role in ROLE_FLOWS:
                groups[(meter.enterprise_id, meter.carrier, ROLE_FLOWS[meter.role].value)].append(meter)
        for (ent, carrier, flow), ms in sorted(groups.items()):
            reported = {
                int(parse_month(r.month).start_utc.timestamp()): r.quantity
                for r in repo.activity_rows(enterprise_ids=[ent], first=m, last=m)
                if r.carrier == carrier and r.flow == flow and r.quantity is not None
                and not r.source.startswith(meter_source_prefix)
            }
            if not reported:
                continue
            day_rows = repo.aggregates([x.id for x in ms], "day", start_utc=start, end_utc=end)
            label = f"{ent}/{carrier}/{flow}"
            days = _totals(day_rows, PeriodLevel.DAY, label, carrier)
            findings.extend(check_day_vs_month(days, {k: float(v) for k, v in reported.items() if v is not None},
                                               tolerance_frac=settings.day_month_tolerance_frac))
        n_conf = len([c for c in repo.reading_conflicts(status="open")
                      if enterprise_id is None or by_id.get(c.meter_id) is not None])
        if n_conf:
            findings.append(QualityFinding("DQ-CONFLICTS", FindingSeverity.WARNING, "*", None, None, float(n_conf), 0.0,
                                           f"{n_conf} reading conflict(s) await resolution",
                                           f"{n_conf} 条读数冲突待处理"))
        tenant = None if enterprise_id is None else repo.get_enterprise(enterprise_id).tenant_id
        n_q = len(repo.quarantined(tenant_id=tenant))
        if n_q:
            findings.append(QualityFinding("DQ-QUARANTINE", FindingSeverity.WARNING, "*", None, None, float(n_q), 0.0,
                                           f"{n_q} reading(s) quarantined (future time or unknown meter)",
                                           f"{n_q} 条读数被隔离（时间超前或表计未登记）"))
    return QualityReport(meters_checked=len(meters), months=tuple(sorted(months)), findings=tuple(findings))
