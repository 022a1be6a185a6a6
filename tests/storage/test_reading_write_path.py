"""The bulk write path of raw readings (``Repository.write_readings``), SQLite and PostgreSQL.

* the vectorised SQLite timestamp text equals :func:`_sqlite_ts` exactly (property test);
* write_readings against a plain-Python model of R1/R2 (property test): counts, stored values,
  conflicts and ``touched`` for batches with in-batch and stored duplicates and conflicts;
* columns that are constant, NULL or mixed within a batch, and text needing SQL quoting;
* a concurrent writer of the same key (PostgreSQL): the batch fails as a whole and the service
  runs it again, never storing half of it.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkcarbon.errors import InputError
from parkcarbon.storage import ReadingIn
from parkcarbon.storage.repository import _keys_distinct, _sqlite_text_literal, _sqlite_ts, _sqlite_ts_many

T0 = datetime(2025, 3, 1, 16, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30)), ZoneInfo("Asia/Shanghai"),
         ZoneInfo("America/New_York")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                             timezones=st.sampled_from(ZONES)), max_size=30),
       st.lists(st.integers(-(2**40), 2**40), max_size=5))
def test_vectorised_sqlite_text_equals_sqlite_ts(values, offsets_s):
    # plus instants around 1970 and 2038 with microseconds, given as offsets from those epochs
    values = values + [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=o) for o in offsets_s] + [
        datetime(2038, 1, 19, 3, 14, 7, 999_999, tzinfo=UTC) + timedelta(microseconds=o % 10**12)
        for o in offsets_s]
    assert _sqlite_ts_many(values) == [_sqlite_ts(v) for v in values]


def test_sqlite_text_edge_instants():
    values = [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
              datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC),
              datetime(2038, 1, 19, 3, 14, 8, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
              datetime(2024, 3, 1, 0, 0, 0, 1, tzinfo=ZoneInfo("Asia/Shanghai"))]
    assert _sqlite_ts_many(values) == [_sqlite_ts(v) for v in values]
    assert _sqlite_ts_many(values[:1] * 3) == [_sqlite_ts(values[0])] * 3
    assert _sqlite_ts_many([]) == []
    with pytest.raises(InputError):
        _sqlite_ts_many([datetime(2024, 1, 1)])  # naive: never guessed
    assert _sqlite_text_literal("O'Brien") == "'O''Brien'" and _sqlite_text_literal("a\x00b") is None


def test_key_check_with_and_without_room_for_one_int64_key():
    for n_meters in (2, 2**40):  # 2**40 × 2**22 instants leave no room for one int64 key: tuples compared
        assert _keys_distinct(np.array([0, 1, 1]), np.array([0, 0, 1]), ["", "", ""], n_meters, 2**22)
        assert not _keys_distinct(np.array([1, 1, 0]), np.array([0, 0, 0]), ["", "", ""], n_meters, 2**22)
        assert _keys_distinct(np.array([1, 1, 0]), np.array([0, 0, 0]), ["", "b", ""], n_meters, 2**22)
        assert not _keys_distinct(np.array([1, 1, 0]), np.array([0, 0, 0]), ["b", "b", ""], n_meters, 2**22)


# ---------------------------------------------------------------------------------------------
# write_readings against a model
# ---------------------------------------------------------------------------------------------


def _model(stored: dict[tuple[str, datetime, str], float], batch: list[ReadingIn]) -> dict[str, Any]:
    """R1/R2 in plain Python, as specified: within the batch the first value per key wins (a later
    equal value is a duplicate, a different one a conflict); that first value is then compared
    with the stored one (equal → duplicate, different → conflict, none → inserted)."""
    first: dict[tuple[str, datetime, str], float] = {}
    dup = conflicts = 0
    for r in batch:
        k = (r.meter_id, r.ts_utc, r.channel)
        if k not in first:
            first[k] = float(r.value)
        elif first[k] == r.value:
            dup += 1
        else:
            conflicts += 1
    new: dict[tuple[str, datetime, str], float] = {}
    for k, v in first.items():
        if k not in stored:
            new[k] = v
        elif stored[k] == v:
            dup += 1
        else:
            conflicts += 1
    touched: dict[str, tuple[datetime, datetime]] = {}
    for (m, ts, _c) in new:
        lo, hi = touched.get(m, (ts, ts))
        touched[m] = (min(lo, ts), max(hi, ts))
    stored.update(new)
    return {"inserted": len(new), "duplicates": dup, "conflicts": conflicts, "touched": touched}


@st.composite
def _batches(draw: Any) -> list[list[tuple[int, int, int, float, int]]]:
    """Batches of (meter, slot, channel, value, zone) with repeats inside and across batches."""
    item = st.tuples(st.integers(0, 2), st.integers(0, 12), st.integers(0, 1), st.sampled_from([1.0, 2.0, 2.5]),
                     st.integers(0, len(ZONES) - 1))
    return draw(st.lists(st.lists(item, max_size=25), min_size=1, max_size=3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=_batches())
def test_write_readings_matches_the_model(store, batches):
    tenant = f"T{uuid.uuid4().hex[:10]}"
    with store.transaction() as repo:
        repo.add_enterprise(name=tenant, enterprise_id=tenant)
        meters = [repo.add_meter(tenant_id=tenant, code=f"M{i}", carrier="electricity", unit="kWh",
                                 kind="interval").id for i in range(3)]
    stored: dict[tuple[str, datetime, str], float] = {}
    for items in batches:
        batch = [ReadingIn(meters[m], (T0 + timedelta(minutes=15 * s)).astimezone(ZONES[z]), v, ["", "B"][c],
                           gateway_id=None if s % 3 else "gw'1", gateway_seq=s if s % 2 else None,
                           source_offset_min=480 if z == 3 else None) for m, s, c, v, z in items]
        expected = _model(stored, batch)
        with store.transaction() as repo:
            b = repo.create_batch(tenant_id=tenant, kind="test")
            res = repo.write_readings(tenant, batch, batch_id=b.id, received_at=NOW)
        assert (res.inserted, res.duplicates, res.conflicts) == (
            expected["inserted"], expected["duplicates"], expected["conflicts"])
        assert dict(res.touched) == expected["touched"]
        for lo, hi in res.touched.values():
            assert lo.utcoffset() is not None and hi.utcoffset() is not None
    with store.reader() as repo:
        got = {(r.meter_id, r.ts_utc, r.channel): r.value for m in meters for ch in ("", "B")
               for r in repo.raw_readings(m, channel=ch)}
        assert got == stored
        assert all(r.received_at == NOW for m in meters for r in repo.raw_readings(m))


def test_mixed_columns_and_quoted_text_round_trip(store):
    tenant = "it's-a-tenant"
    with store.transaction() as repo:
        repo.add_enterprise(name="q", enterprise_id="E", tenant_id=tenant)
        m = repo.add_meter(tenant_id=tenant, code="M'1", carrier="electricity", unit="kWh", kind="interval")
        b = repo.create_batch(tenant_id=tenant, kind="test")
        res = repo.write_readings(tenant, [
            ReadingIn(m.id, T0, 1.0, "ch'a", 480, "gw'x", 1),
            ReadingIn(m.id, T0 + timedelta(minutes=15), 2, "ch'a"),  # an int value is stored as float
            ReadingIn(m.id, T0 + timedelta(minutes=30), 3.0, "ch'a", gateway_seq=2**40),
        ], batch_id=b.id, received_at=NOW)
        assert res.inserted == 3
        res = repo.write_readings(tenant, [ReadingIn(m.id, T0, 1.0, "")], batch_id=b.id, received_at=NOW)
        assert res.inserted == 1
    with store.reader() as repo:
        rows = repo.raw_readings(m.id, channel="ch'a")
        assert [(r.value, r.source_offset_min, r.gateway_id, r.gateway_seq, r.tenant_id, r.batch_id)
                for r in rows] == [(1.0, 480, "gw'x", 1, tenant, b.id), (2.0, None, None, None, tenant, b.id),
                                   (3.0, None, None, 2**40, tenant, b.id)]
        assert isinstance(rows[1].value, float)
        assert [r.ts_utc for r in rows] == [T0 + timedelta(minutes=15 * i) for i in range(3)]
        assert len(repo.raw_readings(m.id)) == 1
        assert repo.count_readings(tenant) == 4


def test_naive_timestamp_is_refused(store):
    with store.transaction() as repo:
        repo.add_enterprise(name="e", enterprise_id="E")
        m = repo.add_meter(tenant_id="E", code="M1", carrier="electricity", unit="kWh", kind="interval")
        b = repo.create_batch(tenant_id="E", kind="test")
    with pytest.raises(InputError), store.transaction() as repo:
        repo.write_readings("E", [ReadingIn(m.id, T0, 1.0), ReadingIn(m.id, datetime(2025, 3, 1), 1.0)],
                            batch_id=b.id)


# ---------------------------------------------------------------------------------------------
# a concurrent writer of the same key (PostgreSQL)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
@pytest.mark.parametrize("their_value", [5.0, 6.0])
def test_batch_racing_a_concurrent_writer_is_run_again(store, their_value):
    """Another transaction inserts a key of the batch after the batch's duplicate check: the
    batch's COPY waits for it, then fails with a unique violation; the whole transaction rolls
    back and ingest_readings runs the batch again, which now sees that reading as stored."""
    import psycopg

    from parkcarbon.ingest.readings import ParsedReading
    from parkcarbon.services.ingestion import ingest_readings

    with store.transaction() as repo:
        repo.add_enterprise(name="e", enterprise_id="E")
        m = repo.add_meter(tenant_id="E", code="M1", carrier="electricity", unit="kWh", kind="interval")
        b0 = repo.create_batch(tenant_id="E", kind="other")
    url = store.url.render_as_string(hide_password=False).replace("+psycopg", "")
    out: dict[str, Any] = {}
    with psycopg.connect(url) as other:
        other.execute("INSERT INTO raw_reading (meter_id, ts_utc, channel, tenant_id, value, received_at, batch_id) "
                      "VALUES (%s, %s, '', 'E', %s, now(), %s)", (m.id, T0, their_value, b0.id))  # not committed

        def run() -> None:
            try:
                out["result"] = ingest_readings(store, "E", [ParsedReading("M1", T0, 5.0),
                                                             ParsedReading("M1", T0 + timedelta(minutes=15), 7.0)],
                                                kind="test", now=NOW, derive=False)
            except BaseException as exc:  # pragma: no cover - reported below
                out["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        with psycopg.connect(url, autocommit=True) as watch:  # wait until the batch's COPY waits for us
            for _ in range(200):
                if watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock'").fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the batch never waited for the concurrent writer")
        other.commit()
        worker.join(30)
    assert "error" not in out, out.get("error")
    res = out["result"]
    assert (res.inserted, res.duplicates, res.conflicts) == ((1, 1, 0) if their_value == 5.0 else (1, 0, 1))
    with store.reader() as repo:
        assert [(r.value, r.batch_id) for r in repo.raw_readings(m.id)] == [(their_value, b0.id), (7.0, res.batch_id)]
        assert [x.kind for x in repo.batches(tenant_id="E")] == ["other", "test"]  # the failed attempt left nothing
        assert len(repo.reading_conflicts(tenant_id="E")) == (0 if their_value == 5.0 else 1)
