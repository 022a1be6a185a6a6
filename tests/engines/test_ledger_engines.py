"""Ledger recompute: DuckDB, dense numpy and the pure-Python reference give identical results."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkcarbon.core.activity import Flow, Quality
from parkcarbon.engines.dense import load_dense, monthly_kernel
from parkcarbon.engines.duckdb_engine import recompute_duckdb
from parkcarbon.engines.ledger import ENGINES, LedgerJob, MeterInfo, recompute_ledger
from parkcarbon.engines.synthetic import synthetic_meters, write_synthetic_readings
from parkcarbon.errors import ConflictError, InputError, ParkcarbonError, PeriodError, UnknownCarrierError
from parkcarbon.periods import REPORTING_TZ, Month

Q = 900
MAR = int(datetime(2025, 3, 1, tzinfo=REPORTING_TZ).timestamp())  # 2025-02-28T16:00Z
APR = int(datetime(2025, 4, 1, tzinfo=REPORTING_TZ).timestamp())


def write(path: Path, rows: list[tuple[object, int, float | None, int]], id_type: pa.DataType) -> str:
    table = pa.table(
        {
            "meter_id": pa.array([r[0] for r in rows], type=id_type),
            "ts_s": pa.array([r[1] for r in rows], type=pa.int64()),
            "value": pa.array([r[2] for r in rows], type=pa.float64()),
            "quality": pa.array([r[3] for r in rows], type=pa.uint8()),
        }
    )
    pq.write_table(table, path)
    return str(path)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> LedgerJob:
    path = tmp_path_factory.mktemp("ledger") / "readings.parquet"
    return write_synthetic_readings(
        path, n_enterprises=4, meters_per_enterprise=5, first=Month(2024, 12), last=Month(2025, 3), seed=7,
        absent_frac=0.02, null_frac=0.002, estimated_frac=0.01, suspect_frac=0.003,
    )


def test_engines_identical_on_synthetic_park(synthetic: LedgerJob) -> None:
    results = {e: recompute_ledger(synthetic, e) for e in ENGINES}
    ref = results["python"]
    assert ref.n_rows == 4 * 4 * 4  # enterprises × carriers (elec, gas, steam, water) × months
    for name, table in results.items():
        assert table.engine == name
        assert table.equals(ref), name
    # coverage is carried: something of every category is present, and counts add up
    assert ref.n_estimated.sum() > 0 and ref.n_suspect.sum() > 0 and ref.n_missing.sum() > 0
    assert (ref.n_measured + ref.n_edited + ref.n_estimated + ref.n_suspect + ref.n_missing == ref.n_expected).all()
    # electricity groups have 2 meters: expected = 2 × slots of the month (31 days in December)
    i = ref.carrier.index("electricity")
    assert ref.n_expected[i] == 2 * 31 * 96


def test_hand_computed_month_boundary_and_flags(tmp_path: Path) -> None:
    rows: list[tuple[object, int, float | None, int]] = [
        ("m-a", MAR - Q, 100.0, 0),  # February (local), outside the window
        ("m-a", MAR, 1.5, 0),  # 1 March 00:00 local = 28 Feb 16:00 UTC
        ("m-a", MAR + Q, 2.5, 1),  # estimated: summed
        ("m-a", MAR + 2 * Q, 9.0, 4),  # suspect: not summed
        ("m-a", MAR + 3 * Q, None, 0),  # null value: missing whatever the flag
        ("m-b", APR - Q, 4.0, 2),  # 31 March 23:45 local: March, edited
        ("m-b", APR, 7.0, 0),  # 1 April 00:00 local: April
        ("m-b", APR + Q, -3.0, 0),  # negative: suspect, never summed
        ("m-x", MAR, 50.0, 0),  # not in the register
    ]
    path = write(tmp_path / "r.parquet", rows, pa.string())
    meters = [MeterInfo("m-a", "E1", "electricity"), MeterInfo("m-b", "E1", "electricity"),
              MeterInfo("m-c", "E2", "natural_gas")]
    job = LedgerJob.for_months(path, meters, Month(2025, 3), Month(2025, 4))
    for engine in ENGINES:
        t = recompute_ledger(job, engine)
        assert t.enterprise_id == ("E1", "E1", "E2", "E2")
        assert t.month_start_s.tolist() == [MAR, APR, MAR, APR]
        assert t.quantity[:2].tolist() == [8.0, 7.0], engine
        assert math.isnan(t.quantity[2]) and math.isnan(t.quantity[3])  # missing is not zero
        assert t.n_expected.tolist() == [2 * 2976, 2 * 2880, 2976, 2880]
        assert t.n_measured.tolist() == [1, 1, 0, 0]
        assert t.n_estimated.tolist() == [1, 0, 0, 0]
        assert t.n_edited.tolist() == [1, 0, 0, 0]
        assert t.n_suspect.tolist() == [1, 1, 0, 0]
        assert t.n_missing.tolist() == [2 * 2976 - 4, 2 * 2880 - 2, 2976, 2880]
        assert t.n_unmapped_readings == 1
        recs = t.to_activity_records()
        assert [r.quality for r in recs] == [Quality.ESTIMATED, Quality.MEASURED, Quality.MISSING, Quality.MISSING]
        assert recs[0].quantity == 8.0 and recs[0].month == Month(2025, 3) and recs[0].flow is Flow.CONSUMED
        assert recs[2].quantity is None and "coverage" in recs[0].source


def test_historical_window_uses_tz_database(tmp_path: Path) -> None:
    """July 1988 (China DST, UTC+9): 1 July 00:00 local = 30 June 15:00 UTC."""
    jul = int(datetime(1988, 7, 1, tzinfo=REPORTING_TZ).timestamp())
    assert jul == int(datetime(1988, 6, 30, 15, tzinfo=UTC).timestamp())
    rows: list[tuple[object, int, float | None, int]] = [
        (1, jul - Q, 1.0, 0), (1, jul, 2.0, 0), (1, jul + 3600, 4.0, 0),
    ]
    path = write(tmp_path / "old.parquet", rows, pa.int32())
    job = LedgerJob.for_months(path, [MeterInfo(1, "E", "electricity")], Month(1988, 6), Month(1988, 7))
    tables = [recompute_ledger(job, e) for e in ENGINES]
    assert tables[0].quantity.tolist() == [1.0, 6.0]
    assert all(t.equals(tables[0]) for t in tables)


def test_duplicates_refused(tmp_path: Path) -> None:
    rows: list[tuple[object, int, float | None, int]] = [(1, MAR + i * Q, 1.0, 0) for i in range(2976)]
    rows.append((1, MAR, 1.0, 0))
    path = write(tmp_path / "dup.parquet", rows, pa.int64())
    job = LedgerJob.for_months(path, [MeterInfo(1, "E", "electricity")], Month(2025, 3), Month(2025, 3))
    for engine in ENGINES:
        with pytest.raises(ParkcarbonError):
            recompute_ledger(job, engine)
    with pytest.raises(ConflictError):
        load_dense(job)


def test_off_grid_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "off.parquet", [(1, MAR + 7, 1.0, 0)], pa.int64())
    job = LedgerJob.for_months(path, [MeterInfo(1, "E", "electricity")], Month(2025, 3), Month(2025, 3))
    for engine in ("numpy", "python"):
        with pytest.raises(PeriodError):
            recompute_ledger(job, engine)


def test_job_validation(tmp_path: Path) -> None:
    meters = synthetic_meters(1, 2)
    with pytest.raises(PeriodError):
        LedgerJob((str(tmp_path),), meters, MAR + 3600, APR)
    with pytest.raises(PeriodError):
        LedgerJob((str(tmp_path),), meters, APR, MAR)
    with pytest.raises(InputError):
        LedgerJob((str(tmp_path),), (meters[0], meters[0]), MAR, APR)
    with pytest.raises(InputError):
        LedgerJob((), meters, MAR, APR)
    with pytest.raises(UnknownCarrierError):
        MeterInfo(1, "E", "unobtainium")
    job = LedgerJob((str(tmp_path / "nope.parquet"),), meters, MAR, APR)
    with pytest.raises(InputError):
        job.files()
    with pytest.raises(InputError):
        recompute_ledger(job, "spark")


def test_directory_and_glob_inputs(tmp_path: Path, synthetic: LedgerJob) -> None:
    a = write(tmp_path / "a.parquet", [(0, MAR, 1.0, 0)], pa.int32())
    write(tmp_path / "b.parquet", [(1, MAR, 2.0, 0)], pa.int32())
    meters = synthetic_meters(1, 2)
    by_dir = LedgerJob.for_months(tmp_path, meters, Month(2025, 3), Month(2025, 3))
    by_glob = LedgerJob.for_months(str(tmp_path / "*.parquet"), meters, Month(2025, 3), Month(2025, 3))
    assert by_dir.files() == by_glob.files() and a in by_dir.files()
    for engine in ENGINES:
        t = recompute_ledger(by_glob, engine)
        assert t.quantity.tolist() == [3.0]


def test_dense_kernel_alone_matches(synthetic: LedgerJob) -> None:
    dense = load_dense(synthetic)
    months = synthetic.month_starts()
    sums, counts = monthly_kernel(dense, months)
    assert sums.shape == (len(synthetic.meters), 4)
    assert int(sum(c.sum() for c in counts.values())) == dense.quality.size
    full = recompute_duckdb(synthetic, threads=1)
    assert np.isclose(np.nansum(full.quantity), sums.sum(), rtol=1e-12)


@st.composite
def _readings(draw: st.DrawFn) -> list[tuple[object, int, float | None, int]]:
    keys = draw(
        st.sets(st.tuples(st.integers(0, 4), st.integers(-20, 2 * 2976 + 20)), min_size=1, max_size=120)
    )
    rows: list[tuple[object, int, float | None, int]] = []
    for meter, slot in sorted(keys):
        value = draw(st.one_of(st.none(), st.just(float("nan")), st.just(float("inf")), st.floats(-10, 1e6)))
        rows.append((meter, MAR + slot * Q, value, draw(st.integers(0, 4))))
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_readings())
def test_engines_identical_property(tmp_path: Path, rows: list[tuple[object, int, float | None, int]]) -> None:
    """Random readings (meters 0..4, meter 4 unregistered; some outside the window; nulls, NaN, every
    quality): the three engines agree exactly on counts and within 1e-9 on totals."""
    path = write(tmp_path / "p.parquet", rows, pa.int32())
    meters = [MeterInfo(0, "E1", "electricity"), MeterInfo(1, "E1", "electricity"),
              MeterInfo(2, "E1", "natural_gas"), MeterInfo(3, "E2", "electricity")]
    job = LedgerJob.for_months(path, meters, Month(2025, 3), Month(2025, 4))
    ref = recompute_ledger(job, "python")
    for engine in ("duckdb", "numpy"):
        assert recompute_ledger(job, engine).equals(ref), engine
    inside = [r for r in rows if MAR <= r[1] < MAR + 61 * 86400]
    assert ref.n_unmapped_readings == sum(1 for r in inside if r[0] == 4)


def test_nan_with_finite_parquet_statistics_is_missing(tmp_path: Path) -> None:
    """Regression: DuckDB folds isnan() to false from Parquet min/max statistics (NaN left out)."""
    apr_rows: list[tuple[object, int, float | None, int]] = [
        (1, APR + 30 * 86400 - 2 * 86400, float("nan"), 2),
        (2, MAR + 100 * Q, 659206.89, 4),
        (1, MAR + 5 * Q, float("inf"), 0),
        (0, MAR, 5.0, 0),
    ]
    path = write(tmp_path / "nan.parquet", apr_rows, pa.int32())
    meters = [MeterInfo(0, "E1", "electricity"), MeterInfo(1, "E1", "electricity"), MeterInfo(2, "E2", "steam")]
    job = LedgerJob.for_months(path, meters, Month(2025, 3), Month(2025, 4))
    tables = [recompute_ledger(job, e) for e in ENGINES]
    for t in tables:
        assert t.n_edited.sum() == 0 and t.n_measured.sum() == 1 and t.n_suspect.sum() == 1, t.engine
        assert t.quantity[0] == 5.0
