"""Incremental derivation after ingest (派生数据增量更新): raw readings → increments → aggregates → ledger.

Only the meters and periods touched by new readings are recomputed (DESIGN.md §4: new data never
forces a rescan of the year). For each touched meter, the window starts at the last reading
before the new ones and ends at the first reading after them, so register spans that the new
readings split are recomputed exactly, and energy is conserved (R5):

1. normalise with the pure functions of :mod:`parkcarbon.core.metering` — cumulative registers
   by :func:`register_increments` + :func:`register_increments_to_grid`, interval meters by
   :func:`interval_values_to_grid` — values × multiplier, converted to the carrier's canonical
   unit; slots with no value stay gaps (missing, never 0);
2. write the window into the meter's day blocks (columnar increments, one row per meter and
   local day; estimates superseded, not erased: R4);
3. total the touched days from their blocks in one vectorised step (:func:`aggregate_blocks`)
   and roll the touched months up from their stored days (counts kept, so a month's coverage is
   exact), in Asia/Shanghai; hourly totals are computed from the blocks when read;
4. write the monthly activity records of the touched enterprise-months from the month
   aggregates of their meters by role: ``grid_import`` → purchased, ``onsite_generation`` →
   onsite generated, ``export`` → exported, ``consumption`` → consumed (``submeter`` meters are
   checked against their parent, not booked). A month with gaps is flagged ``suspect`` (partial
   total), one with estimates ``estimated``; a locked period or a ledger row that came from a
   statistics upload or bill is left unchanged and reported.

Meters are processed in groups with the same new-data range, each step one set-based statement
per group (the reading arrays, the block upsert, the day and month rows, the ledger write).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.carriers import carrier as carrier_info
from parkcarbon.core.metering import (
    DEFAULT_INTERVAL_S,
    IntervalSeries,
    PeriodLevel,
    QualityCode,
    RegisterSpec,
    aggregate_blocks,
    epoch_s,
    interval_values_to_grid,
    period_end,
    period_quality,
    period_start,
    register_increments,
    register_increments_to_grid,
    regular_register_grid,
    utc_datetime,
)
from parkcarbon.core.trace import CODE_VERSION
from parkcarbon.errors import ParkcarbonError
from parkcarbon.periods import Month
from parkcarbon.storage import IncrementWindow, Repository
from parkcarbon.storage.derived import group_blocks, period_row
from parkcarbon.storage.models import Meter
from parkcarbon.units import to_canonical

__all__ = ["ROLE_FLOWS", "DerivationResult", "derive_pending", "derive_touched", "gc_paused", "meter_source_prefix"]

ROLE_FLOWS: dict[str, Flow] = {
    "grid_import": Flow.PURCHASED,
    "onsite_generation": Flow.ONSITE_GENERATED,
    "export": Flow.EXPORTED,
    "consumption": Flow.CONSUMED,
}
meter_source_prefix = "meters:"
_SNAP_S = 60


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch of readings is converted, stored or
    derived.

    Such a step builds one tuple per reading (hundreds of thousands) that lives until the step
    ends; each counts towards the collector's thresholds, so the step set off full collections
    that walked every live object of the process (≈10–15 % of ingest time, ≈7 % of a park's
    incremental update). These tuples hold no reference cycles (reference counting frees them),
    so nothing is lost by collecting after the step instead. Process-wide, so other threads'
    cycles wait too, for the length of the step. Left as it was if the collector was already off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class DerivationResult:
    """What an incremental update recomputed (``hours``: hours whose totals changed)."""

    meters: int
    increments_written: int
    hours: int
    days: int
    months: int
    ledger_records: int
    skipped: tuple[str, ...] = field(default_factory=tuple)


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


def _series(meter: Meter, lo_s: int, hi_s: int, prev_s: int | None, nxt_s: int | None,
            data: tuple[Any, Any, Any]) -> tuple[int, int, IntervalSeries]:
    """Grid series of one meter for its window; returns (window start, window end, series) [s]."""
    grid = _grid_of(meter)
    ts, vals, seqs = data
    if meter.kind == "cumulative":
        first_s, last_s = (lo_s if prev_s is None else prev_s), (hi_s if nxt_s is None else nxt_s)
        ws = -(-(first_s - _SNAP_S) // grid) * grid  # first grid boundary at or after the first reading
        we = -(-(last_s - _SNAP_S) // grid) * grid
        keep = (ts >= first_s) & (ts <= last_s)
        spec = _register_spec(meter.register_max)
        fast = regular_register_grid(ts[keep], vals[keep], interval_s=grid, seq=None if seqs is None else seqs[keep],
                                     register=spec, unit=meter.unit, meter_id=meter.id)
        if fast is not None and fast.start_s == ws and fast.n_slots == (we - ws) // grid:
            return ws, we, fast
        incs = register_increments(ts[keep], vals[keep], seq=None if seqs is None else seqs[keep],
                                   register=spec, expected_interval_s=meter.interval_s,
                                   meter_id=meter.id, unit=meter.unit)
        series = register_increments_to_grid(incs, grid_start_s=ws, n_slots=max((we - ws) // grid, 0),
                                             interval_s=grid, snap_tolerance_s=_SNAP_S)
    else:
        src = meter.interval_s or grid
        ws = (lo_s // grid) * grid
        we = (hi_s // grid + 1) * grid
        keep = (ts >= ws) & (ts < we)
        series = interval_values_to_grid(ts[keep], vals[keep], grid_start_s=ws, n_slots=(we - ws) // grid,
                                         interval_s=grid, source_interval_s=src if grid % src == 0 else grid,
                                         unit=meter.unit, meter_id=meter.id)
    return ws, we, series


def _window(meter: Meter, ws: int, series: IntervalSeries) -> IncrementWindow:
    """The series in the carrier's canonical unit, gaps without a value."""
    quality = np.asarray(series.quality, dtype=np.uint8)
    energy = np.where(quality == QualityCode.MISSING, np.nan, np.asarray(series.value, dtype=np.float64) * _factor(meter))
    return IncrementWindow(meter.id, ws, series.interval_s, energy, quality, np.asarray(series.method, dtype=np.uint8))


def _derive_group(repo: Repository, meters: dict[str, Meter], lo: datetime, hi: datetime,
                  skipped: list[str]) -> tuple[int, int, int, dict[str, set[Month]]]:
    """Recompute meters that received new readings in ``[lo, hi]`` with set-based statements."""
    ids = sorted(meters)
    lo_s, hi_s = epoch_s(lo), epoch_s(hi)
    bounds = repo.reading_bounds(ids, lo, hi)
    # interval meters need the whole grid slots around the new readings (grid ≤ 1 h)
    load_lo = min([lo_s - 3600, *[p for p, _n in bounds.values() if p is not None]])
    load_hi = max([hi_s + 3600, *[n for _p, n in bounds.values() if n is not None]])
    data = repo.reading_arrays(ids, utc_datetime(load_lo), utc_datetime(load_hi))
    windows: list[IncrementWindow] = []
    n_hours = 0
    for mid in ids:
        meter = meters[mid]
        try:
            ws, we, series = _series(meter, lo_s, hi_s, *bounds[mid], data[mid])
        except ParkcarbonError as exc:
            skipped.append(f"meter {meter.code}: {exc}")
            continue
        if we <= ws:
            continue
        windows.append(_window(meter, ws, series))
        n_hours += (-(-we // 3600) - ws // 3600)
    if not windows:
        return 0, 0, 0, {}
    n_inc, blocks = repo.write_increment_windows(meters, windows, code_version=CODE_VERSION)
    # days: every touched day is a whole block → one vectorised total per group of equal-length blocks
    day_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for same in group_blocks(blocks).values():
        tot = aggregate_blocks(np.stack([b.energy for b in same]), np.stack([b.quality for b in same]))
        for i, b in enumerate(same):
            day_rows[b.meter_id].append({"period_start_utc": utc_datetime(b.day_start_s), "interval_s": b.interval_s,
                                         **period_row(tot, i)})
    repo.put_aggregates(meters, "day", day_rows)
    # months: rolled up from the stored days of each touched month (absent days count as missing)
    by_month: dict[int, set[str]] = defaultdict(set)
    month_of_block = period_start(np.array([b.day_start_s for b in blocks], dtype=np.int64), PeriodLevel.MONTH)
    for b, m0 in zip(blocks, month_of_block.tolist(), strict=True):
        by_month[m0].add(b.meter_id)
    month_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    months_of: dict[str, set[Month]] = defaultdict(set)
    for m0, mids in sorted(by_month.items()):
        m1 = int(period_end(np.array([m0]), PeriodLevel.MONTH)[0])
        sums = repo.day_sums(sorted(mids), utc_datetime(m0), utc_datetime(m1))
        for mid in sorted(mids):
            energy, meas, edit, est, sus = sums.get(mid, (None, 0, 0, 0, 0))
            grid = _grid_of(meters[mid])
            n_exp = (m1 - m0) // grid
            month_rows[mid].append({
                "period_start_utc": utc_datetime(m0), "energy": None if energy is None else float(energy), "n_expected": n_exp,
                "n_measured": int(meas), "n_edited": int(edit), "n_estimated": int(est), "n_suspect": int(sus),
                "interval_s": grid, "quality": period_quality(n_exp, int(meas), int(edit), int(est)).value})
            months_of[mid].add(Month.of(utc_datetime(m0)))
    repo.put_aggregates(meters, "month", month_rows)
    return n_inc, n_hours, sum(len(v) for v in day_rows.values()), months_of


def _update_ledger(repo: Repository, touched: Mapping[str, set[Month]], skipped: list[str]) -> int:
    """Write meter-derived ledger rows for the touched enterprise-months (one write for all)."""
    ent_ids = sorted(e for e, months in touched.items() if months)
    if not ent_ids:
        return 0
    meters_of = {e: [m for m in ms if m.role in ROLE_FLOWS and m.kind != "virtual"]
                 for e, ms in repo.meters_of_enterprises(ent_ids).items()}
    all_months = sorted({m for e in ent_ids for m in touched[e]})
    locked = repo.locked_months(ent_ids)
    current = repo.current_ledger(ent_ids, all_months[0], all_months[-1])
    meter_ids = sorted(m.id for ms in meters_of.values() for m in ms)
    # (meter, month start) → (energy, n_expected, n_measured, n_edited, n_estimated)
    aggs = repo.month_totals(meter_ids, all_months[0].start_utc, all_months[-1].end_utc)
    records: list[ActivityRecord] = []
    for ent_id in ent_ids:
        groups: dict[tuple[str, Flow], list[Meter]] = defaultdict(list)
        for m in meters_of.get(ent_id, []):
            groups[(m.carrier, ROLE_FLOWS[m.role])].append(m)
        for month in sorted(touched[ent_id]):
            if not groups:
                continue
            if (ent_id, str(month)) in locked:
                skipped.append(f"{ent_id} {month}: period not writable (meter data kept for a correction)")
                continue
            for (carrier, flow), ms in sorted(groups.items()):
                row = current.get((ent_id, str(month), carrier, flow.value, ""))
                if row is not None and not row.source.startswith(meter_source_prefix):
                    skipped.append(f"{ent_id} {month} {carrier} {flow.value}: ledger value from {row.source!r} kept")
                    continue
                m0 = epoch_s(month.start_utc)
                found = [aggs[(m.id, m0)] for m in ms if (m.id, m0) in aggs]
                if not found:
                    continue
                known = [a[0] for a in found if a[0] is not None]
                codes = ", ".join(sorted(m.code for m in ms))
                if not known:
                    quantity, quality = None, Quality.MISSING
                else:
                    quantity = float(sum(known))
                    complete = len(found) == len(ms) and all(meas + edit + est == n_exp
                                                             for _e, n_exp, meas, edit, est in found)
                    if not complete:
                        quality = Quality.SUSPECT
                    elif any(a[4] for a in found):
                        quality = Quality.ESTIMATED
                    else:
                        quality = Quality.MEASURED
                carrier_info(carrier)
                records.append(ActivityRecord(
                    record_id="", enterprise_id=ent_id, month=month, carrier=carrier, flow=flow, quantity=quantity,
                    source=f"{meter_source_prefix} {codes}"[:300], quality=quality))
    return len(repo.put_activity_records(records, created_by="meter-pipeline")) if records else 0


def derive_touched(repo: Repository, touched: Mapping[str, tuple[datetime, datetime]]) -> DerivationResult:
    """Recompute derived data for ``touched`` (meter id → (first, last) new reading time) in ``repo``'s
    transaction. Meters with the same new-data range are processed together (one statement per step)."""
    meters = repo.meters_by_ids(touched)
    groups: dict[tuple[datetime, datetime], dict[str, Meter]] = defaultdict(dict)
    for mid, rng in touched.items():
        meter = meters.get(mid)
        if meter is None or meter.kind == "virtual":
            continue
        groups[rng][mid] = meter
    n_inc = n_h = n_d = 0
    months_by_ent: dict[str, set[Month]] = defaultdict(set)
    skipped: list[str] = []
    n_months = 0
    for (lo, hi), group in sorted(groups.items()):
        inc, h, d, months_of = _derive_group(repo, group, lo, hi, skipped)
        n_inc, n_h, n_d = n_inc + inc, n_h + h, n_d + d
        for mid, months in months_of.items():
            n_months += len(months)
            meter = group[mid]
            if meter.enterprise_id and meter.role in ROLE_FLOWS and months:
                months_by_ent[meter.enterprise_id].update(months)
    ledger = _update_ledger(repo, months_by_ent, skipped)
    return DerivationResult(meters=len(touched), increments_written=n_inc, hours=n_h, days=n_d, months=n_months,
                            ledger_records=ledger, skipped=tuple(skipped))


def derive_pending(repo: Repository, *, tenant_ids: Iterable[str] | None = None) -> DerivationResult:
    """Derive every queued span (readings stored with ``derive=False``) in ``repo``'s transaction,
    all meters of all tenants (or of ``tenant_ids``) in one pass, and clear the queue. If the
    derivation fails the transaction rolls back and the queue is kept."""
    ids, touched = repo.pending_derivation(tenant_ids)
    if not ids:
        return DerivationResult(meters=0, increments_written=0, hours=0, days=0, months=0, ledger_records=0)
    with gc_paused():
        result = derive_touched(repo, touched)
    repo.clear_derivation(ids)
    return result
