"""Derived meter data in the store (派生计量数据): increment blocks, superseded estimates, aggregates.

The 15-minute increments of a meter are kept columnar: one :class:`IncrementBlock` row per meter
and Asia/Shanghai day holding the day's slots as packed arrays (energy float64 with NaN for no
value, quality and estimation-method codes uint8). A new day for a 2,000-meter park therefore
writes about 2,000 block rows instead of 192,000 slot rows. Hourly totals are computed from the
blocks when asked for; day and month totals are stored in :class:`AggregateRow`. Estimates that
real data replaces are kept in :class:`SupersededEstimate` (R4). Everything here is derived from
the raw readings and can be recomputed (R3).

These methods are mixed into :class:`parkcarbon.storage.Repository`; the pure computations
(normalisation, aggregation) live in :mod:`parkcarbon.core.metering`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from parkcarbon.core.metering import (
    EstimationMethod,
    QualityCode,
    aggregate_blocks,
    epoch_s,
    local_day_end,
    local_day_start,
    period_quality,
    utc_datetime,
)
from parkcarbon.errors import InputError, StoreError
from parkcarbon.storage.models import (
    AggregateRow,
    DerivationQueue,
    Meter,
    SupersededEstimate,
    utc_now,
)

__all__ = ["DayBlock", "DerivedData", "IncrementView", "IncrementWindow"]

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

_QUALITY_NAMES = {int(c): c.quality.value for c in QualityCode}
_MISSING = int(QualityCode.MISSING)
_ESTIMATED = int(QualityCode.ESTIMATED)
_CHUNK = 500
_FIRST_S = -2_208_988_800  # 1900-01-01: open ranges of block queries
_LAST_S = 7_258_118_400  # 2200-01-01


def sqlite_ts(ts: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME storage text of a UTC instant (``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    if ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC)
    return ts.replace(tzinfo=None).isoformat(" ", "microseconds")


def _method_id(code: int) -> str | None:
    return EstimationMethod.from_code(code).value if code else None


@dataclass(frozen=True)
class IncrementView:
    """One slot of derived energy (区间增量): ``energy`` [carrier canonical unit] or None;
    ``quality`` a :class:`parkcarbon.core.activity.Quality` value; ``superseded`` for an estimate
    that was replaced (history, R4)."""

    meter_id: str
    start_utc: datetime
    end_utc: datetime
    energy: float | None
    quality: str
    method_id: str | None = None
    superseded: bool = False


@dataclass(frozen=True, eq=False)
class IncrementWindow:
    """New grid slots of one meter replacing ``[start_s, start_s + len × interval_s)``.

    ``energy`` [carrier canonical unit] (NaN: no value), ``quality`` :class:`QualityCode`,
    ``method`` :class:`EstimationMethod` code (0 = none); slots with quality ``MISSING`` are gaps.
    """

    meter_id: str
    start_s: int
    interval_s: int
    energy: F64
    quality: U8
    method: U8

    @property
    def end_s(self) -> int:
        return self.start_s + self.interval_s * int(self.energy.shape[0])


@dataclass(frozen=True, eq=False)
class DayBlock:
    """All slots of one meter's Asia/Shanghai day (as stored in :class:`IncrementBlock`)."""

    meter_id: str
    day_start_s: int
    interval_s: int
    energy: F64
    quality: U8
    method: U8

    @property
    def n_slots(self) -> int:
        return int(self.energy.shape[0])


#: one row of :meth:`DerivedData._reading_arrays_pg` in PostgreSQL's binary COPY format (big-endian):
#: field count, then (length, value) per field — int4, float8, float8, int8, bool
_PG_READING_ROW = np.dtype([
    ("n", ">i2"), ("l_ix", ">i4"), ("ix", ">i4"), ("l_ts", ">i4"), ("ts", ">f8"), ("l_value", ">i4"),
    ("value", ">f8"), ("l_seq", ">i4"), ("seq", ">i8"), ("l_seq_null", ">i4"), ("seq_null", "u1")])
_PG_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _copy_binary_rows(data: bytes, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """Rows of a PostgreSQL binary ``COPY`` stream whose rows are all fixed-width ``dtype``
    (no NULL fields), checked: signature, field count and every field length."""
    if not data.startswith(_PG_COPY_SIGNATURE) or len(data) < 21:
        raise StoreError("unexpected COPY stream from PostgreSQL", message_zh="PostgreSQL 返回的 COPY 数据格式异常")
    ext = int.from_bytes(data[15:19], "big")
    body = data[19 + ext:]
    if body[-2:] != b"\xff\xff" or (len(body) - 2) % dtype.itemsize:
        raise StoreError("unexpected COPY stream from PostgreSQL", message_zh="PostgreSQL 返回的 COPY 数据格式异常")
    rows = np.frombuffer(body[:-2], dtype=dtype)
    widths = {name: dtype[name.replace("l_", "", 1)].itemsize for name in dtype.names or () if name.startswith("l_")}
    if len(rows) and (not (rows["n"] == len(widths)).all()
                      or any(not (rows[k] == w).all() for k, w in widths.items())):
        raise StoreError("unexpected COPY row layout from PostgreSQL", message_zh="PostgreSQL 返回的 COPY 行格式异常")
    return rows


def _empty_block(meter_id: str, day_start_s: int, interval_s: int) -> DayBlock:
    n = (local_day_end(day_start_s) - day_start_s) // interval_s
    return DayBlock(meter_id, day_start_s, interval_s, np.full(n, np.nan), np.full(n, _MISSING, dtype=np.uint8),
                    np.zeros(n, dtype=np.uint8))


def _day_starts(lo_s: int, hi_s: int) -> list[int]:
    """Starts of the local days overlapping ``[lo_s, hi_s)``."""
    out: list[int] = []
    d = local_day_start(lo_s)
    while d < hi_s:
        out.append(d)
        d = local_day_end(d)
    return out


class DerivedData:
    """Repository methods for derived meter data (mixed into :class:`Repository`)."""

    session: Session

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.session.get_bind().dialect.name

    # -- driver-level helpers (hot paths: no ORM or row objects per reading) ------------------

    def _ts_param(self, ts: datetime | int) -> Any:
        """A UTC instant (datetime or epoch s) as the driver stores it (SQLite: SQLAlchemy's text)."""
        if not isinstance(ts, datetime):
            ts = utc_datetime(ts)
        return sqlite_ts(ts) if self.backend == "sqlite" else ts

    def _epoch_sql(self, col: str) -> str:
        """SQL of a timestamp column as the driver returns it for :meth:`_epochs`."""
        return col if self.backend == "sqlite" else f"date_part('epoch', {col})"  # float8: cheaper than numeric

    def _epochs(self, values: Sequence[Any]) -> I64:
        """Whole UTC epoch seconds of the values selected with :meth:`_epoch_sql` (floor)."""
        if self.backend == "sqlite":
            return np.array(values, dtype="datetime64[us]").astype(np.int64) // 1_000_000
        return np.floor(np.array(values, dtype=np.float64)).astype(np.int64)

    def _in(self, col: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        """``col`` in ``values`` as SQL and parameters (PostgreSQL: one array parameter)."""
        if self.backend == "postgresql":
            return f"{col} = ANY(?)", [list(values)]
        return f"{col} IN ({', '.join('?' * len(values))})", list(values)

    def _chunks(self, values: Sequence[str]) -> list[list[str]]:
        """Id lists small enough for one statement (SQLite binds each id as a parameter)."""
        size = 10_000 if self.backend == "postgresql" else _CHUNK
        return [list(values[i:i + size]) for i in range(0, len(values), size)]

    def _driver(self, sql: str, params: Sequence[Any] = (), *, many: bool = False) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) on the session's own DB-API connection, so in the same
        transaction and, on PostgreSQL, under the same tenant settings (R13)."""
        dbapi = self.session.connection().connection.dbapi_connection
        if self.backend == "postgresql":
            sql = sql.replace("?", "%s")
        cur = dbapi.cursor(binary=True) if self.backend == "postgresql" else dbapi.cursor()  # type: ignore[union-attr]
        try:
            if many:
                cur.executemany(sql, params)
                return []
            cur.execute(sql, tuple(params))
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    def _upsert(self, table: str, cols: Sequence[str], key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows, replacing the non-key columns of rows whose key exists (see :meth:`_insert_rows`)."""
        self._insert_rows(table, cols, rows, on_conflict=f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in cols if c not in key))

    def _insert_rows(self, table: str, cols: Sequence[str], rows: Sequence[Sequence[Any]], *,
                     on_conflict: str = "") -> None:
        """Insert many rows as one statement's worth of work. SQLite: one ``executemany``;
        PostgreSQL: ``COPY`` into a transaction-local staging table, then one ``INSERT … SELECT``
        (one statement, so statement-level triggers run once). Timestamps as :meth:`_ts_param`."""
        if not rows:
            return
        names = ", ".join(cols)
        if self.backend != "postgresql":
            self._driver(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))}) {on_conflict}", rows,
                         many=True)
            return
        stage = f"_stage_{table}"
        dbapi = self.session.connection().connection.dbapi_connection
        with dbapi.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) "
                        "ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY {stage} ({names}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
            cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} {on_conflict}")
            cur.execute(f"TRUNCATE {stage}")

    def meters_by_ids(self, meter_ids: Iterable[str]) -> dict[str, Meter]:
        ids = sorted(set(meter_ids))
        out: dict[str, Meter] = {}
        for i in range(0, len(ids), _CHUNK):
            for m in self.session.scalars(select(Meter).where(Meter.id.in_(ids[i:i + _CHUNK]))):
                out[m.id] = m
        return out

    def meters_of_enterprises(self, enterprise_ids: Iterable[str]) -> dict[str, list[Meter]]:
        """Per enterprise: its meters (by code)."""
        ids = sorted(set(enterprise_ids))
        out: dict[str, list[Meter]] = {e: [] for e in ids}
        for i in range(0, len(ids), _CHUNK):
            for m in self.session.scalars(select(Meter).where(Meter.enterprise_id.in_(ids[i:i + _CHUNK]))
                                          .order_by(Meter.code)):
                out[str(m.enterprise_id)].append(m)
        return out

    def reading_bounds(self, meter_ids: Sequence[str], lo: datetime, hi: datetime,
                       channel: str = "") -> dict[str, tuple[int | None, int | None]]:
        """Per meter: the last raw reading before ``lo`` and the first after ``hi`` [UTC epoch s].

        One index probe per meter (a correlated ``ORDER BY … LIMIT 1`` on the reading key), however
        long the meter's history is."""
        out: dict[str, tuple[int | None, int | None]] = {}
        lo_p, hi_p = self._ts_param(lo), self._ts_param(hi)
        for chunk in self._chunks(meter_ids):
            in_sql, in_params = self._in("m.id", chunk)
            rows = self._driver(
                "SELECT m.id, (SELECT r.ts_utc FROM raw_reading r WHERE r.meter_id = m.id AND r.channel = ? "
                "AND r.ts_utc < ? ORDER BY r.ts_utc DESC LIMIT 1), (SELECT r.ts_utc FROM raw_reading r "
                "WHERE r.meter_id = m.id AND r.channel = ? AND r.ts_utc > ? ORDER BY r.ts_utc LIMIT 1) "
                f"FROM meter m WHERE {in_sql}", [channel, lo_p, channel, hi_p, *in_params])
            for mid, prev, nxt in rows:
                out[mid] = (None if prev is None else self._epoch_one(prev),
                            None if nxt is None else self._epoch_one(nxt))
        return {m: out.get(m, (None, None)) for m in meter_ids}

    def _epoch_one(self, value: Any) -> int:
        if isinstance(value, datetime):
            return epoch_s(value if value.tzinfo is not None else value.replace(tzinfo=UTC))
        return int(self._epochs([value])[0])

    def month_totals(self, meter_ids: Sequence[str], lo: datetime, hi: datetime) -> dict[tuple[str, int], tuple[Any, ...]]:
        """Stored month aggregates with start in ``[lo, hi)``: (meter id, month start [UTC epoch s]) →
        (energy or None, n_expected, n_measured, n_edited, n_estimated)."""
        out: dict[tuple[str, int], tuple[Any, ...]] = {}
        for chunk in self._chunks(meter_ids):
            in_sql, in_params = self._in("meter_id", chunk)
            rows = self._driver(
                f"SELECT meter_id, {self._epoch_sql('period_start_utc')}, energy, n_expected, n_measured, n_edited, "
                f"n_estimated FROM meter_aggregate WHERE {in_sql} "
                "AND granularity = 'month' AND period_start_utc >= ? AND period_start_utc < ?",
                [*in_params, self._ts_param(lo), self._ts_param(hi)])
            if rows:
                starts = self._epochs([r[1] for r in rows]).tolist()
                for r, st in zip(rows, starts, strict=True):
                    out[(r[0], st)] = tuple(r[2:])
        return out

    def reading_arrays(self, meter_ids: Sequence[str], lo: datetime, hi: datetime,
                       channel: str = "") -> dict[str, tuple[I64, F64, I64 | None]]:
        """Per meter: raw readings in ``[lo, hi]`` by time as arrays (UTC epoch s, raw value,
        gateway sequence numbers or None when any is unknown)."""
        if self.backend == "postgresql":
            return self._reading_arrays_pg(meter_ids, lo, hi, channel)
        out: dict[str, tuple[I64, F64, I64 | None]] = {}
        for chunk in self._chunks(meter_ids):
            in_sql, in_params = self._in("meter_id", chunk)
            rows = self._driver(
                f"SELECT meter_id, {self._epoch_sql('ts_utc')}, value, gateway_seq FROM raw_reading "
                f"WHERE {in_sql} AND channel = ? AND ts_utc >= ? AND ts_utc <= ? "
                "ORDER BY meter_id, ts_utc", [*in_params, channel, self._ts_param(lo), self._ts_param(hi)])
            if not rows:
                continue
            n = len(rows)
            mids = np.array(list(map(itemgetter(0), rows)), dtype=object)
            ts_a = self._epochs(list(map(itemgetter(1), rows)))
            val_a = np.fromiter(map(itemgetter(2), rows), dtype=np.float64, count=n)
            seqs = list(map(itemgetter(3), rows))
            cuts = np.flatnonzero(mids[1:] != mids[:-1]) + 1  # rows come grouped by meter
            for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, n].tolist(), strict=True):
                seq = seqs[a:b]
                out[mids[a]] = (ts_a[a:b], val_a[a:b], None if None in seq else np.array(seq, dtype=np.int64))
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), None)
        return {m: out.get(m, empty) for m in meter_ids}

    def _reading_arrays_pg(self, meter_ids: Sequence[str], lo: datetime, hi: datetime,
                           channel: str) -> dict[str, tuple[I64, F64, I64 | None]]:
        """:meth:`reading_arrays` on PostgreSQL: one binary ``COPY … TO STDOUT`` of fixed-width rows
        (meter position, epoch, value, sequence number and its null flag) read straight into numpy,
        with no Python object per reading."""
        ids = list(meter_ids)
        # LATERAL … OFFSET 0 (not pulled up into a join): one index range scan per meter, whatever
        # the statistics say about rows that arrived since the last ANALYZE
        sql = ("COPY (SELECT k.ix::int4, date_part('epoch', r.ts_utc), r.value, coalesce(r.gateway_seq, 0)::int8, "
               "r.gateway_seq IS NULL FROM unnest(%s::varchar[]) WITH ORDINALITY AS k(id, ix), LATERAL ("
               "SELECT ts_utc, value, gateway_seq FROM raw_reading WHERE meter_id = k.id AND channel = %s "
               "AND ts_utc >= %s AND ts_utc <= %s OFFSET 0) r) TO STDOUT (FORMAT BINARY)")
        dbapi = self.session.connection().connection.dbapi_connection
        with dbapi.cursor() as cur, cur.copy(sql, (ids, channel, lo, hi)) as cp:  # type: ignore[union-attr]
            data = b"".join(bytes(block) for block in cp)
        rows = _copy_binary_rows(data, _PG_READING_ROW)
        empty: tuple[I64, F64, I64 | None] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), None)
        out: dict[str, tuple[I64, F64, I64 | None]] = dict.fromkeys(ids, empty)
        if not len(rows):
            return out
        rows = rows[np.lexsort((rows["ts"], rows["ix"]))]  # by meter, then time
        ix = rows["ix"].astype(np.int64) - 1
        ts = np.floor(rows["ts"].astype(np.float64)).astype(np.int64)
        val = rows["value"].astype(np.float64)
        seq = rows["seq"].astype(np.int64)
        null = rows["seq_null"].astype(bool)
        cuts = np.flatnonzero(ix[1:] != ix[:-1]) + 1
        for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(rows)].tolist(), strict=True):
            out[ids[int(ix[a])]] = (ts[a:b], val[a:b], None if null[a:b].any() else seq[a:b])
        return out

    # -- increment blocks ------------------------------------------------------------------

    def increment_blocks(self, meter_ids: Sequence[str], lo_s: int, hi_s: int) -> dict[str, list[DayBlock]]:
        """Per meter: stored day blocks overlapping ``[lo_s, hi_s)`` [UTC epoch s], by day."""
        day_lo = local_day_start(lo_s)
        out: dict[str, list[DayBlock]] = {m: [] for m in meter_ids}
        for chunk in self._chunks(meter_ids):
            in_sql, in_params = self._in("meter_id", chunk)
            rows = self._driver(
                f"SELECT meter_id, {self._epoch_sql('day_start_utc')}, interval_s, energy, quality, method "
                f"FROM increment_block WHERE {in_sql} AND day_start_utc >= ? "
                "AND day_start_utc < ? ORDER BY meter_id, day_start_utc",
                [*in_params, self._ts_param(day_lo), self._ts_param(hi_s)])
            if not rows:
                continue
            days = self._epochs([r[1] for r in rows])
            for (mid, _d, ivl, e, qual, mth), d0 in zip(rows, days.tolist(), strict=True):
                out[mid].append(DayBlock(mid, d0, int(ivl), np.frombuffer(e, dtype="<f8").astype(np.float64),
                                         np.frombuffer(qual, dtype=np.uint8).copy(),
                                         np.frombuffer(mth, dtype=np.uint8).copy()))
        return out

    def write_increment_windows(self, meters: Mapping[str, Meter], windows: Sequence[IncrementWindow], *,
                                code_version: str) -> tuple[int, list[DayBlock]]:
        """Replace the slots of each window in the meters' day blocks (R3/R4).

        Slots of a window replace whatever was stored there (a gap in the window becomes a
        gap); slots of the day outside the window are kept. A stored *estimate* replaced by
        another value is kept in :class:`SupersededEstimate`. Returns (slots with a value
        written, the resulting day blocks).
        """
        if not windows:
            return 0, []
        lo = min(w.start_s for w in windows)
        hi = max(w.end_s for w in windows)
        existing = self.increment_blocks(sorted({w.meter_id for w in windows}), lo, hi)
        stored = {(b.meter_id, b.day_start_s): b for bs in existing.values() for b in bs}
        blocks: dict[tuple[str, int], DayBlock] = {}
        history: list[dict[str, Any]] = []
        now = utc_now()
        n_written = 0
        for w in windows:
            ivl = w.interval_s
            n_written += int(np.count_nonzero(w.quality != _MISSING))
            for d0 in _day_starts(w.start_s, w.end_s):
                key = (w.meter_id, d0)
                block = blocks.get(key)
                if block is None:
                    old = stored.get(key)
                    if old is not None and old.interval_s == ivl:
                        block = DayBlock(w.meter_id, d0, ivl, old.energy.copy(), old.quality.copy(), old.method.copy())
                    else:  # no block yet, or the meter's grid changed: the day is rebuilt from the window
                        block = _empty_block(w.meter_id, d0, ivl)
                    blocks[key] = block
                a = max(w.start_s, d0)
                b = min(w.end_s, d0 + block.n_slots * ivl)
                if b <= a:
                    continue
                bi, wi, n = (a - d0) // ivl, (a - w.start_s) // ivl, (b - a) // ivl
                old_q, old_e, old_m = block.quality[bi:bi + n], block.energy[bi:bi + n], block.method[bi:bi + n]
                new_q, new_e, new_m = w.quality[wi:wi + n], w.energy[wi:wi + n], w.method[wi:wi + n]
                replaced = (old_q == _ESTIMATED) & (new_q != _MISSING) & (
                    (new_q != _ESTIMATED) | (new_m != old_m) | ~((new_e == old_e) | (np.isnan(new_e) & np.isnan(old_e))))
                for j in np.flatnonzero(replaced).tolist():
                    st = d0 + (bi + j) * ivl
                    history.append({"tenant_id": meters[w.meter_id].tenant_id, "meter_id": w.meter_id,
                                    "start_utc": utc_datetime(st), "end_utc": utc_datetime(st + ivl),
                                    "energy": None if np.isnan(old_e[j]) else float(old_e[j]),
                                    "method_id": _method_id(int(old_m[j])),
                                    "replaced_by_quality": _QUALITY_NAMES[int(new_q[j])],
                                    "code_version": code_version, "superseded_at": now})
                block.quality[bi:bi + n] = new_q
                block.energy[bi:bi + n] = new_e
                block.method[bi:bi + n] = new_m
        self._upsert_blocks(meters, list(blocks.values()), code_version, now)
        if history:
            self.session.execute(insert(SupersededEstimate), history)
        return n_written, list(blocks.values())

    def _upsert_blocks(self, meters: Mapping[str, Meter], blocks: Sequence[DayBlock], code_version: str,
                       now: datetime) -> None:
        at = self._ts_param(now)
        self._upsert("increment_block", _BLOCK_COLS, ("meter_id", "day_start_utc"), [
            (b.meter_id, self._ts_param(b.day_start_s), meters[b.meter_id].tenant_id, b.interval_s, b.n_slots,
             b.energy.astype("<f8").tobytes(), b.quality.tobytes(), b.method.tobytes(), code_version, at)
            for b in blocks])

    def replace_increments(self, meters: Mapping[str, Meter], windows: Mapping[str, tuple[datetime, datetime]],
                           rows: Mapping[str, Sequence[Mapping[str, Any]]], *, code_version: str) -> int:
        """Replace the increments of each meter in its window ``[start, end)`` from slot rows.

        ``rows[meter_id]``: dicts with start_utc, end_utc, energy, quality and optionally
        method_id, one per slot that is not missing (slots of the window without a row become
        gaps). The grid is the rows' slot length (the meter's interval when there are none).
        Returns the number of slots written. See :meth:`write_increment_windows`.
        """
        out: list[IncrementWindow] = []
        for mid, (ws, we) in windows.items():
            mrows = rows.get(mid, ())
            ivl = (epoch_s(mrows[0]["end_utc"]) - epoch_s(mrows[0]["start_utc"])) if mrows else (meters[mid].interval_s or 900)
            if ivl <= 0:
                raise InputError(f"meter {mid}: slot end must be after its start",
                                 message_zh=f"表计 {mid}：时段结束须晚于开始")
            start_s = epoch_s(ws)
            n = max(-(-(epoch_s(we) - start_s) // ivl), 0)
            energy = np.full(n, np.nan)
            quality = np.full(n, _MISSING, dtype=np.uint8)
            method = np.zeros(n, dtype=np.uint8)
            for r in mrows:
                i = (epoch_s(r["start_utc"]) - start_s) // ivl
                if not 0 <= i < n:
                    raise InputError(f"meter {mid}: slot {r['start_utc']} is outside its window",
                                     message_zh=f"表计 {mid}：时段 {r['start_utc']} 不在写入窗口内")
                energy[i] = np.nan if r["energy"] is None else float(r["energy"])
                quality[i] = QualityCode.of(r["quality"])
                method[i] = EstimationMethod(r["method_id"]).code if r.get("method_id") else 0
            out.append(IncrementWindow(mid, start_s, ivl, energy, quality, method))
        n_written, _blocks = self.write_increment_windows(meters, out, code_version=code_version)
        return n_written

    def increments(self, meter_id: str, *, start_utc: datetime | None = None, end_utc: datetime | None = None,
                   include_superseded: bool = False) -> list[IncrementView]:
        """Derived increments of a meter by slot start (with the superseded estimates on request,
        each before the value that replaced it)."""
        lo = epoch_s(start_utc) if start_utc is not None else _FIRST_S
        hi = epoch_s(end_utc) if end_utc is not None else _LAST_S
        out = [v for v in self._slot_views([meter_id], lo, hi)[meter_id]]
        if include_superseded:
            t = cast(Table, SupersededEstimate.__table__)
            q = select(SupersededEstimate).where(t.c.meter_id == meter_id)
            if start_utc is not None:
                q = q.where(t.c.start_utc >= start_utc)
            if end_utc is not None:
                q = q.where(t.c.start_utc < end_utc)
            old = [IncrementView(meter_id, r.start_utc, r.end_utc, r.energy, "estimated", r.method_id, True)
                   for r in self.session.scalars(q.order_by(t.c.start_utc, t.c.id))]
            out = sorted(old + out, key=lambda v: (v.start_utc, not v.superseded))
        return out

    def _slot_views(self, meter_ids: Sequence[str], lo_s: int, hi_s: int) -> dict[str, list[IncrementView]]:
        out: dict[str, list[IncrementView]] = {m: [] for m in meter_ids}
        for mid, blocks in self.increment_blocks(meter_ids, lo_s, hi_s).items():
            for b in blocks:
                starts = b.day_start_s + b.interval_s * np.arange(b.n_slots, dtype=np.int64)
                for i in np.flatnonzero((b.quality != _MISSING) & (starts >= lo_s) & (starts < hi_s)).tolist():
                    st = int(starts[i])
                    e = float(b.energy[i])
                    out[mid].append(IncrementView(mid, utc_datetime(st), utc_datetime(st + b.interval_s), None if np.isnan(e) else e,
                                                  _QUALITY_NAMES[int(b.quality[i])], _method_id(int(b.method[i]))))
        return out

    def increment_slots(self, meter_ids: Sequence[str], lo: datetime,
                        hi: datetime) -> dict[str, list[tuple[datetime, float | None, str]]]:
        """Per meter: (slot start, energy, quality) of the current increments in ``[lo, hi)``."""
        return {m: [(v.start_utc, v.energy, v.quality) for v in vs]
                for m, vs in self._slot_views(meter_ids, epoch_s(lo), epoch_s(hi)).items()}

    # -- deferred derivation -------------------------------------------------------------------

    def queue_derivation(self, tenant_id: str, touched: Mapping[str, tuple[datetime, datetime]], *,
                         batch_id: str) -> int:
        """Queue the spans of newly stored readings (meter id → (first, last)) for a later
        :func:`~parkcarbon.services.derivation.derive_pending`."""
        now = self._ts_param(utc_now())
        self._driver("INSERT INTO derivation_queue (tenant_id, meter_id, first_utc, last_utc, batch_id, queued_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     [(tenant_id, mid, self._ts_param(a), self._ts_param(b), batch_id, now)
                      for mid, (a, b) in sorted(touched.items())], many=True)
        return len(touched)

    def pending_derivation(self, tenant_ids: Iterable[str] | None = None
                           ) -> tuple[list[int], dict[str, tuple[datetime, datetime]]]:
        """Queued rows (ids) and, per meter, the span covering all its queued readings."""
        t = cast(Table, DerivationQueue.__table__)
        q = select(t.c.id, t.c.meter_id, t.c.first_utc, t.c.last_utc)
        if tenant_ids is not None:
            q = q.where(t.c.tenant_id.in_(sorted(set(tenant_ids))))
        ids: list[int] = []
        span: dict[str, tuple[datetime, datetime]] = {}
        for rid, mid, a, b in self.session.execute(q.order_by(t.c.id)):
            ids.append(int(rid))
            old = span.get(mid)
            span[mid] = (a, b) if old is None else (min(old[0], a), max(old[1], b))
        return ids, span

    def clear_derivation(self, ids: Sequence[int]) -> None:
        """Delete processed queue rows."""
        t = cast(Table, DerivationQueue.__table__)
        for i in range(0, len(ids), 5000):
            self.session.execute(t.delete().where(t.c.id.in_(list(ids[i:i + 5000]))))

    # -- aggregates ----------------------------------------------------------------------------

    def aggregates(self, meter_ids: Iterable[str], granularity: str, *, start_utc: datetime | None = None,
                   end_utc: datetime | None = None) -> list[AggregateRow]:
        """Aggregates of the meters at ``granularity`` with period start in ``[start_utc, end_utc)``.

        Day and month totals are stored; hour totals are computed from the increment blocks
        (returned as unsaved rows of the same shape)."""
        ids = sorted(set(meter_ids))
        if granularity == "hour":
            return self._hour_rows(ids, start_utc, end_utc)
        q = select(AggregateRow).where(AggregateRow.meter_id.in_(ids), AggregateRow.granularity == granularity)
        if start_utc is not None:
            q = q.where(AggregateRow.period_start_utc >= start_utc)
        if end_utc is not None:
            q = q.where(AggregateRow.period_start_utc < end_utc)
        return list(self.session.scalars(q.order_by(AggregateRow.meter_id, AggregateRow.period_start_utc)))

    def _hour_rows(self, ids: Sequence[str], start_utc: datetime | None, end_utc: datetime | None) -> list[AggregateRow]:
        lo = epoch_s(start_utc) if start_utc is not None else _FIRST_S
        hi = epoch_s(end_utc) if end_utc is not None else _LAST_S
        tenants = {m.id: m.tenant_id for m in self.meters_by_ids(ids).values()}
        out: list[AggregateRow] = []
        for mid, blocks in self.increment_blocks(ids, lo, hi).items():
            for b in blocks:
                per_h = 3600 // b.interval_s
                tot = aggregate_blocks(b.energy.reshape(-1, per_h), b.quality.reshape(-1, per_h))
                for h in range(tot.total.shape[0]):
                    st = b.day_start_s + 3600 * h
                    if lo <= st < hi:
                        row = period_row(tot, h)
                        out.append(AggregateRow(meter_id=mid, granularity="hour", period_start_utc=utc_datetime(st),
                                                tenant_id=tenants.get(mid, ""), interval_s=b.interval_s, **row))
        return out

    def put_aggregates(self, meters: Mapping[str, Meter], granularity: str,
                       rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> int:
        """Replace stored day or month aggregates (each row: period_start_utc, energy, n_expected,
        n_measured, n_edited, n_estimated, n_suspect, interval_s, quality) of many meters."""
        if granularity not in ("day", "month"):
            raise InputError(f"only day and month aggregates are stored, not {granularity!r}",
                             message_zh=f"只存储日、月汇总，不存储 {granularity!r}")
        at = self._ts_param(utc_now())
        flat = [(mid, granularity, meters[mid].tenant_id, at, self._ts_param(r["period_start_utc"]),
                 *(r[c] for c in _AGG_COLS[1:])) for mid, mrows in rows.items() for r in mrows]
        self._upsert("meter_aggregate", ("meter_id", "granularity", "tenant_id", "computed_at", *_AGG_COLS),
                     ("meter_id", "granularity", "period_start_utc"), flat)
        return len(flat)

    def day_sums(self, meter_ids: Sequence[str], lo: datetime, hi: datetime) -> dict[str, tuple[Any, ...]]:
        """Per meter: sums over the stored day aggregates with start in ``[lo, hi)``: (energy or
        None when nothing is known, n_measured, n_edited, n_estimated, n_suspect)."""
        t = cast(Table, AggregateRow.__table__)
        out: dict[str, tuple[Any, ...]] = {}
        for i in range(0, len(meter_ids), _CHUNK):
            q = select(t.c.meter_id, func.sum(t.c.energy), func.sum(t.c.n_measured), func.sum(t.c.n_edited),
                       func.sum(t.c.n_estimated), func.sum(t.c.n_suspect)).where(
                t.c.meter_id.in_(list(meter_ids[i:i + _CHUNK])), t.c.granularity == "day",
                t.c.period_start_utc >= lo, t.c.period_start_utc < hi).group_by(t.c.meter_id)
            for mid, *vals in self.session.execute(q):
                out[mid] = tuple(vals)
        return out


_BLOCK_COLS = ("meter_id", "day_start_utc", "tenant_id", "interval_s", "n_slots", "energy", "quality", "method",
               "code_version", "computed_at")
_AGG_COLS = ("period_start_utc", "energy", "n_expected", "n_measured", "n_edited", "n_estimated", "n_suspect",
             "interval_s", "quality")


def period_row(tot: Any, i: int) -> dict[str, Any]:
    """Aggregate-row fields (energy, counts, quality) of row ``i`` of block or period totals."""
    total = float(tot.total[i])
    counts = {k: int(getattr(tot, k)[i]) for k in ("n_expected", "n_measured", "n_edited", "n_estimated",
                                                   "n_suspect")}
    return {"energy": total if np.isfinite(total) else None, **counts,
            "quality": period_quality(counts["n_expected"], counts["n_measured"], counts["n_edited"],
                                      counts["n_estimated"]).value}


def group_blocks(blocks: Iterable[DayBlock]) -> dict[int, list[DayBlock]]:
    """Blocks grouped by slot count (blocks of one group stack into a 2-D array)."""
    out: dict[int, list[DayBlock]] = defaultdict(list)
    for b in blocks:
        out[b.n_slots].append(b)
    return out
