"""The dense-array engine: readings on the fixed 15-minute grid as ``[meter, slot]`` arrays.

DESIGN.md §4: readings on a fixed grid fit dense per-meter arrays, which a kernel sums near
memory bandwidth. :func:`load_dense` builds :class:`DenseReadings` from the Parquet files (once);
:func:`monthly_kernel` then reduces them to meter × month sums and quality counts with
``numpy.add.reduceat`` over contiguous month slices; :func:`recompute_numpy` = load + kernel +
grouping. Keep the arrays in memory where recomputation is hot (e.g. after every factor-set or
estimation change) and call the kernel alone.

Memory: ``9 bytes × meters × slots`` (float64 value + uint8 quality): 2 000 meters × one year of
15-minute slots ≈ 630 MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc
import pyarrow.dataset as ds

from parkcarbon.core.metering import PeriodLevel, QualityCode, period_label
from parkcarbon.engines.ledger import LedgerJob, LedgerTable, build_table, meter_index
from parkcarbon.errors import ConflictError, Location, PeriodError

__all__ = ["DenseReadings", "load_dense", "monthly_kernel", "recompute_numpy"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class DenseReadings:
    """Interval values of ``n_meters`` meters (``job.meters`` order) on one grid.

    ``quality[m, i]`` is the :class:`QualityCode` (missing where no row exists) and says what a
    slot is. ``value[m, i]`` [unit] is the summable quantity: the value where the slot is summed
    (measured/edited/estimated) and ``0.0`` where it is not — a packed kernel input, never read
    without ``quality`` (:meth:`value_or_nan` gives the missing-is-NaN view).
    ``n_unmapped`` counts rows of meters not in the register.
    """

    start_s: int
    interval_s: int
    value: F64
    quality: npt.NDArray[np.uint8]
    n_unmapped: int = 0

    def value_or_nan(self) -> F64:
        """Values with ``NaN`` where the slot is not summed (missing or suspect)."""
        return np.where(self.quality <= QualityCode.EDITED, self.value, np.nan)


def load_dense(job: LedgerJob, *, batch_rows: int = 1 << 20) -> DenseReadings:
    """Read the job's window from Parquet into dense arrays (refuses duplicate and off-grid keys).

    Streams record batches of ``batch_rows`` rows, so temporary memory stays small next to the
    dense arrays themselves.
    """
    n_m = len(job.meters)
    n_slots = (job.end_s - job.start_s) // job.interval_s
    dataset = ds.dataset(job.files(), format="parquet")
    flt = (pc.field("ts_s") >= job.start_s) & (pc.field("ts_s") < job.end_s)
    val = np.zeros(n_m * n_slots)
    q = np.full(n_m * n_slots, QualityCode.MISSING, dtype=np.uint8)
    seen = np.zeros(n_m * n_slots, dtype=np.bool_)
    n_unmapped = 0
    n_rows = 0
    for batch in dataset.to_batches(
        columns=["meter_id", "ts_s", "value", "quality"], filter=flt, batch_size=batch_rows
    ):
        if batch.num_rows == 0:
            continue
        mi = meter_index(job, batch.column(0).to_numpy(zero_copy_only=False))
        ts = batch.column(1).to_numpy().astype(np.int64, copy=False)
        value = batch.column(2).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        quality = batch.column(3).to_numpy().astype(np.uint8, copy=False)
        known = mi >= 0
        if not known.all():
            n_unmapped += int((~known).sum())
            mi, ts, value, quality = mi[known], ts[known], value[known], quality[known]
        off = ts - job.start_s
        slot, rem = np.divmod(off, job.interval_s)
        if rem.any():
            i = int(np.argmax(rem != 0))
            raise PeriodError(
                f"reading at {int(ts[i])} is not on the {job.interval_s}-second grid",
                message_zh=f"时刻 {int(ts[i])} 的读数不在 {job.interval_s} 秒网格上",
                location=Location(record=str(job.meters[int(mi[i])].meter_id), value=int(ts[i])),
            )
        flat = mi * n_slots + slot
        quality = np.where(np.isfinite(value), quality, np.uint8(QualityCode.MISSING)).astype(np.uint8)
        quality[(value < 0) & (quality <= QualityCode.EDITED)] = QualityCode.SUSPECT
        q[flat] = quality
        seen[flat] = True
        summed = quality <= QualityCode.EDITED
        val[flat[summed]] = value[summed]
        n_rows += flat.shape[0]
    if int(np.count_nonzero(seen)) != n_rows:
        raise ConflictError(
            "duplicate (meter_id, ts_s) keys in the readings",
            message_zh="读数中存在重复的（表号，时间）键",
            hint="the store keeps one row per natural key; export again from the store",
            hint_zh="存储层每个自然键只保留一行，请从存储层重新导出",
        )
    del seen
    return DenseReadings(job.start_s, job.interval_s, val.reshape(n_m, n_slots), q.reshape(n_m, n_slots), n_unmapped)


def monthly_kernel(dense: DenseReadings, month_starts: I64) -> tuple[F64, dict[int, I64]]:
    """Sum values and count qualities per meter × month: ``(sums [m, M], {code: counts [m, M]})``.

    ``month_starts`` [s] must lie on the grid; the last month ends at the end of the arrays.
    Sums are one ``add.reduceat`` over contiguous month slices of the packed values; quality
    counts visit only the slots that are not ``measured`` (usually a few per cent), measured =
    slots − the others. A meter-month with nothing summed has sum 0 and no summed count here
    (the ledger turns it into NaN).
    """
    n_m, n_slots = dense.quality.shape
    bounds = ((month_starts - dense.start_s) // dense.interval_s).astype(np.intp)
    n_months = bounds.shape[0]
    sums = np.add.reduceat(dense.value, bounds, axis=1) if n_slots else np.zeros((n_m, n_months))
    qf = dense.quality.reshape(-1)
    nz = np.flatnonzero(qf)
    meter = nz // n_slots
    month = np.searchsorted(bounds, nz - meter * n_slots, side="right") - 1
    flat = (meter * n_months + month) * 5 + qf[nz]
    c = np.bincount(flat, minlength=n_m * n_months * 5).reshape(n_m, n_months, 5).astype(np.int64)
    slots_per_month = np.diff(np.append(bounds, n_slots)).astype(np.int64)
    c[:, :, QualityCode.MEASURED] = slots_per_month[None, :] - c[:, :, 1:].sum(axis=2)
    return sums.astype(np.float64, copy=False), {int(code): c[:, :, int(code)] for code in QualityCode}


def recompute_numpy(job: LedgerJob) -> LedgerTable:
    """Recompute the ledger of ``job`` with the dense-array engine (load + kernel + grouping)."""
    dense = load_dense(job)
    months = job.month_starts()
    if ((months - job.start_s) % job.interval_s).any():
        raise PeriodError(
            f"a month of the window does not start on the {job.interval_s}-second grid: "
            f"{period_label(int(months[0]), PeriodLevel.MONTH)}",
            message_zh="任务窗口中有月份起点不在时间网格上",
        )
    sums, counts = monthly_kernel(dense, months)
    return build_table(job, sums, counts, "numpy", dense.n_unmapped)
