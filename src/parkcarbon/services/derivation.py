"""Incremental derivation after ingest (派生数据增量更新): raw readings → increments → aggregates → ledger.

Only the meters and periods touched by new readings are recomputed (DESIGN.md §4: new data never
forces a rescan of the year). For each touched meter, the window starts at the last reading
before the new ones and ends at the first reading after them, so register spans that the new
readings split are recomputed exactly, and energy is conserved (R5):

1. normalise with the pure functions of :mod:`parkcarbon.core.metering` — cumulative registers
   by :func:`register_increments` + :func:`register_increments_to_grid`, interval meters by
   :func:`interval_values_to_grid` — values × multiplier, converted to the carrier's canonical
   unit; slots with no value are not stored (missing, never 0);
2. store the increments of the window (estimates superseded, not erased: R4);
3. aggregate the touched hours from the increments, roll hours up to the touched days and days
   up to the touched months (:func:`rollup`), in Asia/Shanghai;
4. write the monthly activity records of the touched enterprise-months from the month
   aggregates of their meters by role: ``grid_import`` → purchased, ``onsite_generation`` →
   onsite generated, ``export`` → exported, ``consumption`` → consumed (``submeter`` meters are
   checked against their parent, not booked). A month with gaps is flagged ``suspect`` (partial
   total), one with estimates ``estimated``; a locked period or a ledger row that came from a
   statistics upload or bill is left unchanged and reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.carriers import carrier as carrier_info
from parkcarbon.core.metering import (
    DEFAULT_INTERVAL_S,
    EstimationMethod,
    PeriodLevel,
    PeriodTotals,
    QualityCode,
    RegisterSpec,
    aggregate_slots,
    interval_values_to_grid,
    period_end,
    period_start,
    register_increments,
    register_increments_to_grid,
    rollup,
)
from parkcarbon.core.trace import CODE_VERSION
from parkcarbon.errors import ParkcarbonError
from parkcarbon.periods import Month
from parkcarbon.storage.models import Meter
from parkcarbon.storage.repository import Repository
from parkcarbon.units import to_canonical

__all__ = ["ROLE_FLOWS", "DerivationResult", "derive_touched", "meter_source_prefix"]

ROLE_FLOWS: dict[str, Flow] = {
    "grid_import": Flow.PURCHASED,
    "onsite_generation": Flow.ONSITE_GENERATED,
    "export": Flow.EXPORTED,
    "consumption": Flow.CONSUMED,
}
meter_source_prefix = "meters:"
_SNAP_S = 60
_QUALITY_NAMES = {int(c): c.quality.value for c in QualityCode}


@dataclass(frozen=True)
class DerivationResult:
    """What an incremental update recomputed."""

    meters: int
    increments_written: int
    hours: int
    days: int
    months: int
    ledger_records: int
    skipped: tuple[str, ...] = field(default_factory=tuple)


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def _dt(s: int | np.integer) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(s))


def _grid_of(meter: Meter) -> int:
    ivl = meter.interval_s or DEFAULT_INTERVAL_S
    if ivl >= DEFAULT_INTERVAL_S and 3600 % ivl == 0:
        return ivl
    return DEFAULT_INTERVAL_S


def _register_spec(register_max: float | None) -> RegisterSpec | None:
    """Register range from its maximum; the resolution is the last decimal of the maximum
    (99 999 999.99 → 0.01, 65 535 → 1), so the register wraps at max + resolution."""
    if not register_max:
        return None
    text = f"{register_max:.6f}".rstrip("0").rstrip(".")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return RegisterSpec(register_max, 10.0**-decimals)


def _factor(meter: Meter) -> float:
    """Raw value → carrier canonical unit: multiplier × unit conversion."""
    return meter.multiplier * to_canonical(1.0, meter.unit, meter.carrier)


def _totals_rows(t: PeriodTotals) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(t.n_periods):
        n_sum = int(t.n_measured[i] + t.n_edited[i] + t.n_estimated[i])
        total = float(t.total[i])
        if n_sum == 0:
            quality = Quality.MISSING.value
        elif int(t.n_estimated[i]) > 0:
            quality = Quality.ESTIMATED.value
        elif n_sum < int(t.n_expected[i]):
            quality = Quality.SUSPECT.value
        else:
            quality = Quality.MEASURED.value
        rows.append({
            "period_start_utc": _dt(t.period_start_s[i]), "energy": None if not np.isfinite(total) else total,
            "n_expected": int(t.n_expected[i]), "n_measured": int(t.n_measured[i]), "n_edited": int(t.n_edited[i]),
            "n_estimated": int(t.n_estimated[i]), "n_suspect": int(t.n_suspect[i]), "interval_s": t.interval_s,
            "quality": quality,
        })
    return rows


def _stored_totals(repo: Repository, meter: Meter, level: PeriodLevel, lo_s: int, hi_s: int,
                   grid: int) -> PeriodTotals:
    rows = repo.aggregates([meter.id], level.value, start_utc=_dt(lo_s), end_utc=_dt(hi_s))
    n = len(rows)
    starts = np.array([_epoch(r.period_start_utc) for r in rows], dtype=np.int64)
    return PeriodTotals(
        level, grid, starts, period_end(starts, level) if n else starts.copy(),
        np.array([np.nan if r.energy is None else r.energy for r in rows], dtype=np.float64),
        np.array([r.n_expected for r in rows], dtype=np.int64), np.array([r.n_measured for r in rows], dtype=np.int64),
        np.array([r.n_edited for r in rows], dtype=np.int64), np.array([r.n_estimated for r in rows], dtype=np.int64),
        np.array([r.n_suspect for r in rows], dtype=np.int64),
        np.array([r.n_expected - r.n_measured - r.n_edited - r.n_estimated - r.n_suspect for r in rows],
                 dtype=np.int64),
        meter.carrier, meter.id)


def _derive_meter(repo: Repository, meter: Meter, lo: datetime, hi: datetime) -> tuple[int, int, int, set[Month]]:
    """Recompute one meter around new readings in ``[lo, hi]``; returns (increments, hours, days, months)."""
    grid = _grid_of(meter)
    factor = _factor(meter)
    prev, nxt = repo.reading_neighbours(meter.id, lo, hi)
    first = prev or lo
    last = nxt or hi
    first_s, last_s = _epoch(first), _epoch(last)
    if meter.kind == "cumulative":
        ws = -(-(first_s - _SNAP_S) // grid) * grid  # first grid boundary at or after the first reading
        we = -(-(last_s - _SNAP_S) // grid) * grid
        ts, vals, seqs = repo.reading_arrays(meter.id, first, last)
        ts_s = np.array([_epoch(t) for t in ts], dtype=np.int64)
        seq_arr = None
        if seqs and all(s is not None for s in seqs):
            seq_arr = np.array(seqs, dtype=np.int64)
        spec = _register_spec(meter.register_max)
        incs = register_increments(ts_s, np.array(vals, dtype=np.float64), seq=seq_arr, register=spec,
                                   expected_interval_s=meter.interval_s, meter_id=meter.id, unit=meter.unit)
        n_slots = max((we - ws) // grid, 0)
        series = register_increments_to_grid(incs, grid_start_s=ws, n_slots=n_slots, interval_s=grid,
                                             snap_tolerance_s=_SNAP_S)
    else:
        src = meter.interval_s or grid
        ws = (_epoch(lo) // grid) * grid
        we = (_epoch(hi) // grid + 1) * grid
        ts, vals, _ = repo.reading_arrays(meter.id, _dt(ws), _dt(we - 1))
        n_slots = (we - ws) // grid
        series = interval_values_to_grid(np.array([_epoch(t) for t in ts], dtype=np.int64),
                                         np.array(vals, dtype=np.float64), grid_start_s=ws, n_slots=n_slots,
                                         interval_s=grid, source_interval_s=src if grid % src == 0 else grid,
                                         unit=meter.unit, meter_id=meter.id)
    rows: list[dict[str, Any]] = []
    starts = series.slot_starts()
    for i in range(series.n_slots):
        q = int(series.quality[i])
        if q == QualityCode.MISSING:
            continue
        v = float(series.value[i])
        m = int(series.method[i])
        rows.append({"start_utc": _dt(starts[i]), "end_utc": _dt(starts[i] + grid),
                     "energy": v * factor if np.isfinite(v) else None, "quality": _QUALITY_NAMES[q],
                     "method_id": EstimationMethod.from_code(m).value if m else None})
    if we <= ws:
        return 0, 0, 0, set()
    n_inc = repo.replace_increments(meter, _dt(ws), _dt(we), rows, code_version=CODE_VERSION)
    # hours touched: from the stored increments (current), whole hours
    h_lo = int(period_start(np.array([ws]), PeriodLevel.HOUR)[0])
    h_hi = int(period_end(period_start(np.array([we - 1]), PeriodLevel.HOUR), PeriodLevel.HOUR)[0])
    slots = repo.increment_slots(meter.id, _dt(h_lo), _dt(h_hi))
    hour_starts = np.arange(h_lo, h_hi, 3600, dtype=np.int64)
    if slots:
        s_ts = np.array([_epoch(a) for a, _, _ in slots], dtype=np.int64)
        s_val = np.array([np.nan if b is None else b for _, b, _ in slots], dtype=np.float64)
        s_q = np.array([QualityCode.of(c) for _, _, c in slots], dtype=np.uint8)
    else:
        s_ts, s_val, s_q = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.uint8))
    hours = aggregate_slots(s_ts, s_val, s_q, interval_s=grid, level=PeriodLevel.HOUR, periods=hour_starts,
                            unit=meter.carrier, meter_id=meter.id)
    repo.put_aggregates(meter, "hour", _totals_rows(hours))
    # days touched: roll up the stored hours of each whole day
    d_lo = int(period_start(np.array([h_lo]), PeriodLevel.DAY)[0])
    d_hi = int(period_end(period_start(np.array([h_hi - 1]), PeriodLevel.DAY), PeriodLevel.DAY)[0])
    days = rollup(_stored_totals(repo, meter, PeriodLevel.HOUR, d_lo, d_hi, grid), PeriodLevel.DAY)
    repo.put_aggregates(meter, "day", _totals_rows(days))
    m_lo = int(period_start(np.array([d_lo]), PeriodLevel.MONTH)[0])
    m_hi = int(period_end(period_start(np.array([d_hi - 1]), PeriodLevel.MONTH), PeriodLevel.MONTH)[0])
    months = rollup(_stored_totals(repo, meter, PeriodLevel.DAY, m_lo, m_hi, grid), PeriodLevel.MONTH)
    repo.put_aggregates(meter, "month", _totals_rows(months))
    touched_months = {Month.of(_dt(s)) for s in months.period_start_s}
    return n_inc, hours.n_periods, days.n_periods, touched_months


def _update_ledger(repo: Repository, touched: Mapping[str, set[Month]], skipped: list[str]) -> int:
    """Write meter-derived ledger rows for the touched enterprise-months."""
    written = 0
    for ent_id, months in sorted(touched.items()):
        meters = [m for m in repo.list_meters(enterprise_id=ent_id) if m.role in ROLE_FLOWS and m.kind != "virtual"]
        if not meters or not months:
            continue
        locked = repo.locked_months([ent_id])
        current = {(r.month, r.carrier, r.flow, r.subtype): r for r in repo.activity_rows(
            enterprise_ids=[ent_id], first=min(months), last=max(months))}
        records: list[ActivityRecord] = []
        for month in sorted(months):
            if (ent_id, str(month)) in locked:
                skipped.append(f"{ent_id} {month}: period not writable (meter data kept for a correction)")
                continue
            groups: dict[tuple[str, Flow], list[Meter]] = defaultdict(list)
            for m in meters:
                groups[(m.carrier, ROLE_FLOWS[m.role])].append(m)
            for (carrier, flow), ms in sorted(groups.items()):
                row = current.get((str(month), carrier, flow.value, ""))
                if row is not None and not row.source.startswith(meter_source_prefix):
                    skipped.append(f"{ent_id} {month} {carrier} {flow.value}: ledger value from {row.source!r} kept")
                    continue
                aggs = repo.aggregates([m.id for m in ms], "month", start_utc=month.start_utc, end_utc=month.end_utc)
                if not aggs:
                    continue
                known = [a for a in aggs if a.energy is not None]
                codes = ", ".join(sorted(m.code for m in ms))
                if not known:
                    quantity, quality = None, Quality.MISSING
                else:
                    quantity = float(sum(a.energy for a in known if a.energy is not None))
                    complete = len(aggs) == len(ms) and all(
                        a.n_measured + a.n_edited + a.n_estimated == a.n_expected for a in aggs)
                    if not complete:
                        quality = Quality.SUSPECT
                    elif any(a.n_estimated for a in aggs):
                        quality = Quality.ESTIMATED
                    else:
                        quality = Quality.MEASURED
                carrier_info(carrier)
                records.append(ActivityRecord(
                    record_id="", enterprise_id=ent_id, month=month, carrier=carrier, flow=flow, quantity=quantity,
                    source=f"{meter_source_prefix} {codes}"[:300], quality=quality))
        if records:
            written += len(repo.put_activity_records(records, created_by="meter-pipeline"))
    return written


def derive_touched(repo: Repository, touched: Mapping[str, tuple[datetime, datetime]]) -> DerivationResult:
    """Recompute derived data for ``touched`` (meter id → (first, last) new reading time) in ``repo``'s transaction."""
    n_inc = n_h = n_d = n_m = 0
    months_by_ent: dict[str, set[Month]] = defaultdict(set)
    skipped: list[str] = []
    for meter_id, (lo, hi) in sorted(touched.items()):
        meter = repo.get_meter(meter_id)
        if meter.kind == "virtual":
            continue
        try:
            inc, h, d, months = _derive_meter(repo, meter, lo, hi)
        except ParkcarbonError as exc:
            skipped.append(f"meter {meter.code}: {exc}")
            continue
        n_inc, n_h, n_d, n_m = n_inc + inc, n_h + h, n_d + d, n_m + len(months)
        if meter.enterprise_id is not None and meter.role in ROLE_FLOWS and meter.enterprise_id:
            months_by_ent[meter.enterprise_id].update(months)
    ledger = _update_ledger(repo, months_by_ent, skipped)
    return DerivationResult(meters=len(touched), increments_written=n_inc, hours=n_h, days=n_d, months=n_m,
                            ledger_records=ledger, skipped=tuple(skipped))

