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


def _totals_from_tuples(rows: list[tuple[Any, ...]], level: PeriodLevel, grid: int, meter: Meter) -> PeriodTotals:
    """PeriodTotals from stored aggregate tuples (Repository._AGG_COLS order)."""
    starts = np.array([_epoch(r[0]) for r in rows], dtype=np.int64)
    n_exp = np.array([r[2] for r in rows], dtype=np.int64)
    meas = np.array([r[3] for r in rows], dtype=np.int64)
    edit = np.array([r[4] for r in rows], dtype=np.int64)
    est = np.array([r[5] for r in rows], dtype=np.int64)
    sus = np.array([r[6] for r in rows], dtype=np.int64)
    return PeriodTotals(level, grid, starts, period_end(starts, level) if len(rows) else starts.copy(),
                        np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=np.float64),
                        n_exp, meas, edit, est, sus, n_exp - meas - edit - est - sus, meter.carrier, meter.id)


def _series(meter: Meter, lo: datetime, hi: datetime, prev: datetime | None, nxt: datetime | None,
            data: tuple[list[datetime], list[float], list[int | None]]) -> tuple[int, int, Any]:
    """Grid series of one meter for its window; returns (window start, window end, series) [s]."""
    grid = _grid_of(meter)
    ts_all, vals_all, seqs_all = data
    if meter.kind == "cumulative":
        first_s, last_s = _epoch(prev or lo), _epoch(nxt or hi)
        ws = -(-(first_s - _SNAP_S) // grid) * grid  # first grid boundary at or after the first reading
        we = -(-(last_s - _SNAP_S) // grid) * grid
        keep = [i for i, t in enumerate(ts_all) if first_s <= _epoch(t) <= last_s]
        ts_s = np.array([_epoch(ts_all[i]) for i in keep], dtype=np.int64)
        seqs = [seqs_all[i] for i in keep]
        seq_arr = np.array(seqs, dtype=np.int64) if seqs and all(x is not None for x in seqs) else None
        incs = register_increments(ts_s, np.array([vals_all[i] for i in keep], dtype=np.float64), seq=seq_arr,
                                   register=_register_spec(meter.register_max), expected_interval_s=meter.interval_s,
                                   meter_id=meter.id, unit=meter.unit)
        n_slots = max((we - ws) // grid, 0)
        series = register_increments_to_grid(incs, grid_start_s=ws, n_slots=n_slots, interval_s=grid,
                                             snap_tolerance_s=_SNAP_S)
    else:
        src = meter.interval_s or grid
        ws = (_epoch(lo) // grid) * grid
        we = (_epoch(hi) // grid + 1) * grid
        keep = [i for i, t in enumerate(ts_all) if ws <= _epoch(t) < we]
        series = interval_values_to_grid(np.array([_epoch(ts_all[i]) for i in keep], dtype=np.int64),
                                         np.array([vals_all[i] for i in keep], dtype=np.float64), grid_start_s=ws,
                                         n_slots=(we - ws) // grid, interval_s=grid,
                                         source_interval_s=src if grid % src == 0 else grid,
                                         unit=meter.unit, meter_id=meter.id)
    return ws, we, series


def _slot_rows(meter: Meter, series: Any) -> list[dict[str, Any]]:
    factor = _factor(meter)
    grid = series.interval_s
    starts = series.slot_starts()
    rows: list[dict[str, Any]] = []
    for i in np.flatnonzero(series.quality != QualityCode.MISSING).tolist():
        v = float(series.value[i])
        m = int(series.method[i])
        st = int(starts[i])
        rows.append({"start_utc": _dt(st), "end_utc": _dt(st + grid),
                     "energy": v * factor if np.isfinite(v) else None, "quality": _QUALITY_NAMES[int(series.quality[i])],
                     "method_id": EstimationMethod.from_code(m).value if m else None})
    return rows


def _floor(level: PeriodLevel, s: int) -> int:
    return int(period_start(np.array([s], dtype=np.int64), level)[0])


def _ceil(level: PeriodLevel, s: int) -> int:
    """End of the period containing instant ``s - 1`` (exclusive end covering ``s``)."""
    return int(period_end(period_start(np.array([s - 1], dtype=np.int64), level), level)[0])


def _derive_group(repo: Repository, meters: dict[str, Meter], lo: datetime, hi: datetime,
                  skipped: list[str]) -> tuple[int, int, int, dict[str, set[Month]]]:
    """Recompute meters that received new readings in ``[lo, hi]`` with set-based statements."""
    ids = sorted(meters)
    bounds = repo.reading_bounds(ids, lo, hi)
    # interval meters need the whole grid slots around the new readings (grid ≤ 1 h)
    load_lo = min([lo - timedelta(hours=1), *[p for p, _n in bounds.values() if p is not None]])
    load_hi = max([hi + timedelta(hours=1), *[n for _p, n in bounds.values() if n is not None]])
    data = repo.reading_series(ids, load_lo, load_hi)
    windows: dict[str, tuple[datetime, datetime]] = {}
    slot_rows: dict[str, list[dict[str, Any]]] = {}
    win_s: dict[str, tuple[int, int]] = {}
    for mid in ids:
        meter = meters[mid]
        try:
            ws, we, series = _series(meter, lo, hi, *bounds[mid], data[mid])
        except ParkcarbonError as exc:
            skipped.append(f"meter {meter.code}: {exc}")
            continue
        if we <= ws:
            continue
        windows[mid] = (_dt(ws), _dt(we))
        win_s[mid] = (ws, we)
        slot_rows[mid] = _slot_rows(meter, series)
    if not windows:
        return 0, 0, 0, {}
    n_inc = repo.replace_increments(meters, windows, slot_rows, code_version=CODE_VERSION)
    active = sorted(windows)
    H, D, Mo = PeriodLevel.HOUR, PeriodLevel.DAY, PeriodLevel.MONTH
    h_rng = {m: (_floor(H, win_s[m][0]), _ceil(H, win_s[m][1])) for m in active}
    # hours: the window's slots are in memory; only the edges of the first/last hour are read back
    edge_lo = repo.increment_slots(active, _dt(min(r[0] for r in h_rng.values())),
                                   _dt(max(win_s[m][0] for m in active)))
    edge_hi = repo.increment_slots(active, _dt(min(win_s[m][1] for m in active)),
                                   _dt(max(r[1] for r in h_rng.values())))
    hour_rows: dict[str, list[dict[str, Any]]] = {}
    for m in active:
        h_lo, h_hi = h_rng[m]
        ws, we = win_s[m]
        mine = [x for x in edge_lo[m] if h_lo <= _epoch(x[0]) < ws]
        mine += [(r["start_utc"], r["energy"], r["quality"]) for r in slot_rows[m]]
        mine += [x for x in edge_hi[m] if we <= _epoch(x[0]) < h_hi]
        grid = _grid_of(meters[m])
        hours = aggregate_slots(np.array([_epoch(a) for a, _b, _c in mine], dtype=np.int64),
                                np.array([np.nan if b is None else b for _a, b, _c in mine], dtype=np.float64),
                                np.array([QualityCode.of(c) for _a, _b, c in mine], dtype=np.uint8),
                                interval_s=grid, level=H, periods=np.arange(h_lo, h_hi, 3600, dtype=np.int64),
                                unit=meters[m].carrier, meter_id=m)
        hour_rows[m] = _totals_rows(hours)
    repo.put_aggregates(meters, "hour", hour_rows)
    d_rng = {m: (_floor(D, h_rng[m][0]), _ceil(D, h_rng[m][1])) for m in active}
    stored_h = repo.aggregate_tuples(active, "hour", _dt(min(r[0] for r in d_rng.values())),
                                     _dt(max(r[1] for r in d_rng.values())))
    day_rows = {}
    for m in active:
        d_lo, d_hi = d_rng[m]
        mine_h = [r for r in stored_h[m] if d_lo <= _epoch(r[0]) < d_hi]
        day_rows[m] = _totals_rows(rollup(_totals_from_tuples(mine_h, H, _grid_of(meters[m]), meters[m]), D))
    repo.put_aggregates(meters, "day", day_rows)
    m_rng = {m: (_floor(Mo, d_rng[m][0]), _ceil(Mo, d_rng[m][1])) for m in active}
    stored_d = repo.aggregate_tuples(active, "day", _dt(min(r[0] for r in m_rng.values())),
                                     _dt(max(r[1] for r in m_rng.values())))
    month_rows = {}
    months_of: dict[str, set[Month]] = {}
    for m in active:
        m_lo, m_hi = m_rng[m]
        mine_d = [r for r in stored_d[m] if m_lo <= _epoch(r[0]) < m_hi]
        months = rollup(_totals_from_tuples(mine_d, D, _grid_of(meters[m]), meters[m]), Mo)
        month_rows[m] = _totals_rows(months)
        months_of[m] = {Month.of(_dt(x)) for x in months.period_start_s}
    repo.put_aggregates(meters, "month", month_rows)
    return (n_inc, sum(len(v) for v in hour_rows.values()), sum(len(v) for v in day_rows.values()), months_of)


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
