"""Derived meter data on SQLite and PostgreSQL: increment blocks, superseded estimates, hourly totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkcarbon.core.metering import QualityCode, aggregate_blocks, aggregate_slots
from parkcarbon.errors import InputError
from parkcarbon.storage import IncrementWindow

DAY0 = datetime(2025, 3, 1, 16, 0, tzinfo=UTC)  # 2025-03-02 00:00 Asia/Shanghai
D0 = int(DAY0.timestamp())
M, E, X = int(QualityCode.MEASURED), int(QualityCode.ESTIMATED), int(QualityCode.MISSING)


def _meter(store):
    with store.transaction() as repo:
        repo.add_enterprise(name="精锻公司", enterprise_id="E01")
        m = repo.add_meter(tenant_id="E01", enterprise_id="E01", code="M1", carrier="electricity", unit="kWh",
                           kind="interval", interval_s=900, role="grid_import")
    return m


def _window(mid, start_s, values, quality, method=None):
    q = np.asarray(quality, dtype=np.uint8)
    return IncrementWindow(mid, start_s, 900, np.where(q == X, np.nan, np.asarray(values, dtype=np.float64)), q,
                           np.zeros(len(q), dtype=np.uint8) if method is None else np.asarray(method, dtype=np.uint8))


def test_window_overlays_the_day_block_and_keeps_the_rest(store):
    m = _meter(store)
    with store.transaction() as repo:
        n, blocks = repo.write_increment_windows({m.id: m}, [_window(m.id, D0, [1.0] * 96, [M] * 96)],
                                                 code_version="t")
        assert n == 96 and [(b.day_start_s, b.n_slots) for b in blocks] == [(D0, 96)]
    with store.transaction() as repo:  # a later window over slots 10..12: slot 11 became a gap
        n, blocks = repo.write_increment_windows(
            {m.id: m}, [_window(m.id, D0 + 10 * 900, [2.0, 0.0, 3.0], [M, X, M])], code_version="t")
        assert n == 2
    with store.reader() as repo:
        incs = repo.increments(m.id)
        assert len(incs) == 95  # the gap is not stored as 0 (R4)
        by_start = {i.start_utc: i for i in incs}
        assert by_start[DAY0 + timedelta(minutes=150)].energy == 2.0
        assert DAY0 + timedelta(minutes=165) not in by_start
        assert by_start[DAY0 + timedelta(minutes=180)].energy == 3.0
        assert by_start[DAY0].energy == 1.0 and by_start[DAY0].quality == "measured"
        slots = repo.increment_slots([m.id], DAY0, DAY0 + timedelta(hours=1))[m.id]
        assert [(s, e, q) for s, e, q in slots] == [(DAY0 + timedelta(minutes=15 * i), 1.0, "measured")
                                                     for i in range(4)]


def test_window_across_midnight_writes_two_day_blocks(store):
    m = _meter(store)
    with store.transaction() as repo:
        _n, blocks = repo.write_increment_windows(
            {m.id: m}, [_window(m.id, D0 - 2 * 900, [1.0] * 4, [M] * 4)], code_version="t")
    assert sorted((b.day_start_s, int(np.count_nonzero(b.quality == M))) for b in blocks) == [
        (D0 - 86400, 2), (D0, 2)]
    with store.reader() as repo:
        assert len(repo.increments(m.id)) == 4
        assert len(repo.increments(m.id, start_utc=DAY0)) == 2


def test_replaced_estimates_are_kept_as_history(store):
    """R4: an estimate replaced by real data stays visible; the same estimate again is a no-op."""
    m = _meter(store)
    lump = 5  # EstimationMethod.PRORATED_LUMP code
    with store.transaction() as repo:
        repo.write_increment_windows({m.id: m}, [_window(m.id, D0, [2.0, 2.0, 2.0], [E, E, E], [lump] * 3)],
                                     code_version="t")
    with store.transaction() as repo:  # the same estimates again: nothing superseded
        repo.write_increment_windows({m.id: m}, [_window(m.id, D0, [2.0, 2.0, 2.0], [E, E, E], [lump] * 3)],
                                     code_version="t")
        assert len(repo.increments(m.id, include_superseded=True)) == 3
    with store.transaction() as repo:  # real data for slots 0 and 1; slot 2 becomes a gap
        repo.write_increment_windows({m.id: m}, [_window(m.id, D0, [1.5, 2.5, 0.0], [M, M, X])], code_version="t")
    with store.reader() as repo:
        current = repo.increments(m.id)
        assert [(i.energy, i.quality) for i in current] == [(1.5, "measured"), (2.5, "measured")]
        full = repo.increments(m.id, include_superseded=True)
        assert [(i.energy, i.quality, i.superseded, i.method_id) for i in full] == [
            (2.0, "estimated", True, "prorated_register_lump"), (1.5, "measured", False, None),
            (2.0, "estimated", True, "prorated_register_lump"), (2.5, "measured", False, None)]


def test_hour_totals_are_computed_from_the_blocks(store):
    m = _meter(store)
    q = [M] * 96
    q[5] = X
    q[6] = E
    vals = np.arange(96, dtype=np.float64)
    with store.transaction() as repo:
        repo.write_increment_windows({m.id: m}, [_window(m.id, D0, vals, q)], code_version="t")
    with store.reader() as repo:
        hours = repo.aggregates([m.id], "hour", start_utc=DAY0, end_utc=DAY0 + timedelta(hours=3))
    assert [h.period_start_utc for h in hours] == [DAY0 + timedelta(hours=h) for h in range(3)]
    assert [h.energy for h in hours] == [0 + 1 + 2 + 3, 4 + 6 + 7, 8 + 9 + 10 + 11]
    assert [h.quality for h in hours] == ["measured", "estimated", "measured"]
    assert [(h.n_expected, h.n_measured, h.n_estimated) for h in hours] == [(4, 4, 0), (4, 2, 1), (4, 4, 0)]


def test_only_day_and_month_aggregates_are_stored(store):
    m = _meter(store)
    with pytest.raises(InputError), store.transaction() as repo:
        repo.put_aggregates({m.id: m}, "hour", {m.id: [{"period_start_utc": DAY0}]})


def test_reading_bounds_find_the_neighbours_in_a_long_history(store):
    from parkcarbon.storage import ReadingIn

    m = _meter(store)
    with store.transaction() as repo:
        batch = repo.create_batch(tenant_id="E01", kind="test")
        repo.write_readings("E01", [ReadingIn(m.id, DAY0 + timedelta(minutes=15 * i), 1.0 + i) for i in range(2000)],
                            batch_id=batch.id)
    lo, hi = DAY0 + timedelta(days=5), DAY0 + timedelta(days=6)
    with store.reader() as repo:
        (prev, nxt), = repo.reading_bounds([m.id], lo, hi).values()
        assert prev == int((lo - timedelta(minutes=15)).timestamp()) and nxt == int((hi + timedelta(minutes=15)).timestamp())
        ts, vals, seq = repo.reading_arrays([m.id], lo, hi)[m.id]
        assert len(ts) == 97 and ts[0] == int(lo.timestamp()) and vals[0] == 1.0 + 5 * 96 and seq is None
        assert repo.reading_bounds(["nope"], lo, hi) == {"nope": (None, None)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from([0, 1, 2, 3, 4]), min_size=8, max_size=8), min_size=1, max_size=5),
       st.integers(0, 10_000))
def test_aggregate_blocks_equals_aggregate_slots_per_block(qualities, seed):
    q = np.array(qualities, dtype=np.uint8)
    vals = np.random.default_rng(seed).uniform(0, 10, q.shape)
    vals[q == X] = np.nan
    tot = aggregate_blocks(vals, q)
    for i in range(q.shape[0]):
        one = aggregate_slots(D0 + 900 * np.arange(8), vals[i], q[i], interval_s=900, level="hour",
                              periods=[D0, D0 + 3600])
        assert np.isnan(tot.total[i]) == np.isnan(one.grand_total() if one.grand_total() is not None else np.nan)
        if not np.isnan(tot.total[i]):
            assert tot.total[i] == pytest.approx(float(np.nansum(one.total)))
        for k in ("n_measured", "n_edited", "n_estimated", "n_suspect", "n_missing"):
            assert int(getattr(tot, k)[i]) == int(getattr(one, k).sum())
        assert int(tot.n_expected[i]) == 8


def test_migration_0007_converts_slot_rows_to_blocks_and_back(store):
    """Increments written by revision 0006 (one row per slot, superseded estimates linked by id)
    survive the upgrade to blocks and the downgrade back, values and history included."""
    import sqlalchemy as sa

    m = _meter(store)
    store.downgrade("0006_targets")
    pg = store.engine.dialect.name == "postgresql"

    def ts(dt: datetime) -> object:
        return dt if pg else dt.replace(tzinfo=None).isoformat(" ", "microseconds")

    def begin(conn: sa.Connection) -> None:
        if pg:
            conn.exec_driver_sql("SET LOCAL app.all_tenants = 'on'")

    ins = sa.text("INSERT INTO interval_increment (tenant_id, meter_id, start_utc, end_utc, energy, quality, method_id, "
                  "superseded_by, code_version, computed_at) VALUES ('E01', :m, :s, :e, :v, :q, :meth, :sup, 'old', :s)")
    with store.engine.begin() as conn:
        begin(conn)
        est_id = None
        for i, (v, q) in enumerate([(1.0, "measured"), (2.0, "estimated"), (3.0, "measured"), (None, "suspect")]):
            s = DAY0 + timedelta(minutes=15 * i)
            conn.execute(ins, {"m": m.id, "s": ts(s), "e": ts(s + timedelta(minutes=15)), "v": v, "q": q,
                               "meth": "prorated_register_lump" if q == "estimated" else None, "sup": None})
        current_1 = conn.execute(sa.text("SELECT id FROM interval_increment WHERE quality = 'estimated'")).scalar()
        conn.execute(sa.text("UPDATE interval_increment SET quality = 'measured', energy = 2.5, method_id = NULL "
                             "WHERE id = :i"), {"i": current_1})
        s = DAY0 + timedelta(minutes=15)
        conn.execute(ins, {"m": m.id, "s": ts(s), "e": ts(s + timedelta(minutes=15)), "v": 2.0, "q": "estimated",
                           "meth": "prorated_register_lump", "sup": current_1})
        est_id = conn.execute(sa.text("SELECT id FROM interval_increment WHERE superseded_by IS NOT NULL")).scalar()
        assert est_id is not None
        conn.execute(sa.text("INSERT INTO meter_aggregate (meter_id, granularity, period_start_utc, tenant_id, energy, "
                             "n_expected, n_measured, n_edited, n_estimated, n_suspect, interval_s, quality, "
                             "computed_at) VALUES (:m, 'hour', :s, 'E01', 6.5, 4, 3, 0, 0, 1, 900, 'suspect', :s)"),
                     {"m": m.id, "s": ts(DAY0)})
    store.upgrade("head")
    with store.reader() as repo:
        assert [(i.energy, i.quality) for i in repo.increments(m.id)] == [
            (1.0, "measured"), (2.5, "measured"), (3.0, "measured"), (None, "suspect")]
        old = [i for i in repo.increments(m.id, include_superseded=True) if i.superseded]
        assert [(i.start_utc, i.energy, i.method_id) for i in old] == [(s, 2.0, "prorated_register_lump")]
        (hour,) = repo.aggregates([m.id], "hour", start_utc=DAY0, end_utc=DAY0 + timedelta(hours=1))
        assert (hour.energy, hour.n_measured, hour.n_suspect, hour.quality) == (6.5, 3, 1, "suspect")
    with store.engine.begin() as conn:
        begin(conn)
        assert conn.execute(sa.text("SELECT count(*) FROM meter_aggregate WHERE granularity = 'hour'")).scalar() == 0
    store.downgrade("0006_targets")
    with store.engine.begin() as conn:
        begin(conn)
        rows = conn.execute(sa.text("SELECT id, energy, quality, superseded_by FROM interval_increment "
                                    "ORDER BY start_utc, id")).all()
        current = [(r.energy, r.quality) for r in rows if r.superseded_by is None]
        assert current == [(1.0, "measured"), (2.5, "measured"), (3.0, "measured"), (None, "suspect")]
        (sup,) = [r for r in rows if r.superseded_by is not None]
        assert sup.energy == 2.0 and sup.quality == "estimated"
        assert conn.execute(sa.text("SELECT energy FROM interval_increment WHERE id = :i"),
                            {"i": sup.superseded_by}).scalar() == 2.5
        hours = conn.execute(sa.text("SELECT energy, quality FROM meter_aggregate WHERE granularity = 'hour' "
                                     "ORDER BY period_start_utc")).all()
        assert (hours[0].energy, hours[0].quality) == (6.5, "suspect")
    store.upgrade("head")


def test_binary_copy_rows_are_checked():
    """The PostgreSQL fast read refuses a stream whose layout is not the expected fixed-width rows."""
    from parkcarbon.errors import StoreError
    from parkcarbon.storage.derived import _PG_COPY_SIGNATURE, _PG_READING_ROW, _copy_binary_rows

    row = np.zeros(1, dtype=_PG_READING_ROW)
    row["n"], row["l_ix"], row["ix"], row["l_ts"], row["ts"] = 5, 4, 1, 8, 1.7e9
    row["l_value"], row["value"], row["l_seq"], row["l_seq_null"], row["seq_null"] = 8, 2.5, 8, 1, 1
    good = _PG_COPY_SIGNATURE + bytes(8) + row.tobytes() + b"\xff\xff"
    (r,) = _copy_binary_rows(good, _PG_READING_ROW)
    assert (int(r["ix"]), float(r["ts"]), float(r["value"]), bool(r["seq_null"])) == (1, 1.7e9, 2.5, True)
    assert len(_copy_binary_rows(_PG_COPY_SIGNATURE + bytes(8) + b"\xff\xff", _PG_READING_ROW)) == 0
    bad = row.copy()
    bad["l_seq"] = -1  # a NULL field where a fixed-width value was expected
    for data in (b"PGCOPY" + bytes(20), good[:-1], _PG_COPY_SIGNATURE + bytes(8) + bad.tobytes() + b"\xff\xff"):
        with pytest.raises(StoreError):
            _copy_binary_rows(data, _PG_READING_ROW)
