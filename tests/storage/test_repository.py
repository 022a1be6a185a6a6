"""Repository API on SQLite and PostgreSQL: organisation, ledger versions, periods, green power, readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.errors import ConflictError, InputError, LockedPeriodError, NotFoundError, QuantityError
from parkcarbon.periods import Month
from parkcarbon.storage import ReadingIn

M = Month(2024, 3)


def _park(store):
    with store.transaction() as repo:
        park = repo.add_park(code="BJ", name="滨江低碳产业园", province="江苏")
        repo.add_enterprise(name="精锻公司", park_id=park.id, enterprise_id="E01",
                            credit_code="91320000123456789x", industry_code="C3391", key_energy_unit=True)
        repo.add_enterprise(name="化工公司", park_id=park.id, enterprise_id="E02", tenant_id="T2")
    return park.id


def test_enterprise_registration_and_lookup(store):
    park_id = _park(store)
    with store.reader() as repo:
        e = repo.get_enterprise("E01")
        assert e.tenant_id == "E01" and e.credit_code == "91320000123456789X" and e.key_energy_unit
        assert repo.find_enterprise("91320000123456789X").id == "E01"
        assert repo.find_enterprise("化工公司").id == "E02"
        assert repo.find_enterprise("nobody") is None
        assert [x.id for x in repo.list_enterprises(park_id=park_id)] == ["E01", "E02"]
        with pytest.raises(NotFoundError):
            repo.get_enterprise("E02", tenant_id="E01")  # foreign tenant looks like missing (R13)
    with pytest.raises(ConflictError), store.transaction() as repo:
        repo.add_enterprise(name="dup", credit_code="91320000123456789X")
    with pytest.raises(InputError), store.transaction() as repo:
        repo.add_enterprise(name="bad", credit_code="123")


def test_ledger_versions_and_noop(store):
    _park(store)
    r1 = ActivityRecord("a1", "E01", M, "electricity", Flow.PURCHASED, 1000.0, source="bill 1")
    with store.transaction() as repo:
        repo.put_activity_records([r1])
        repo.put_activity_records([r1])  # identical → no new version
    with store.transaction() as repo:
        repo.put_activity_records([ActivityRecord("a2", "E01", M, "electricity", Flow.PURCHASED, 1100.0)])
        repo.put_activity_records([ActivityRecord("a3", "E01", M, "natural_gas", Flow.CONSUMED, None,
                                                  quality=Quality.MISSING)])
    with store.reader() as repo:
        rows = repo.activity_rows(include_superseded=True)
        elec = [r for r in rows if r.carrier == "electricity"]
        assert [(r.version, r.status, r.quantity) for r in elec] == [(1, "superseded", 1000.0), (2, "current", 1100.0)]
        recs = repo.activity_records(enterprise_ids=["E01"], first="2024-01", last="2024-12")
        assert {(r.carrier, r.quantity) for r in recs} == {("electricity", 1100.0), ("natural_gas", None)}
        gas = next(r for r in recs if r.carrier == "natural_gas")
        assert gas.quality is Quality.MISSING  # missing stays NULL, never 0 (R4)
        assert repo.activity_records(first="2024-04") == []


def test_locked_period_refuses_ledger_writes(store):
    _park(store)
    with store.transaction() as repo:
        repo.put_activity_records([ActivityRecord("a1", "E01", M, "electricity", Flow.PURCHASED, 1.0)])
        for status in ("submitted", "verified", "locked"):
            repo.set_period_status("E01", M, status, by="admin")
    with pytest.raises(LockedPeriodError), store.transaction() as repo:
        repo.put_activity_records([ActivityRecord("a2", "E01", M, "electricity", Flow.PURCHASED, 2.0)])
    with pytest.raises(LockedPeriodError), store.transaction() as repo:
        repo.put_production(enterprise_id="E01", period=M, added_value_10k_cny=1.0)
    with pytest.raises(LockedPeriodError), store.transaction() as repo:
        repo.set_period_status("E01", M, "draft", by="admin")  # no way back from locked
    with store.reader() as repo:
        assert [r.quantity for r in repo.activity_records()] == [1.0]
        assert repo.period_status("E01", M) == "locked" and repo.period_status("E01", M.next()) == "draft"


def test_failed_transaction_writes_nothing(store):
    _park(store)
    good = ActivityRecord("a1", "E01", M, "electricity", Flow.PURCHASED, 1.0)
    with pytest.raises(NotFoundError), store.transaction() as repo:
        repo.put_activity_records([good, ActivityRecord("a2", "E99", M, "electricity", Flow.PURCHASED, 1.0)])
    with store.reader() as repo:
        assert repo.activity_records() == []


def test_production_green_power_certificates_assets(store):
    _park(store)
    with store.transaction() as repo:
        repo.put_production(enterprise_id="E01", period=M, gross_output_value_10k_cny=1200.0,
                            added_value_10k_cny=300.0, price_basis="comparable", base_year=2020,
                            product_name="锻件", product_output=420.0, product_unit="t")
        repo.put_production(enterprise_id="E01", period=2024, added_value_10k_cny=3600.0)
        repo.add_green_power_contract(enterprise_id="E01", kind="green_power_trade", counterparty="风电场",
                                      technology="wind", price_cny_per_kwh=0.42, contract_id="C1",
                                      deliveries={M: 120_000.0})
        repo.add_green_power_contract(enterprise_id="E01", kind="green_power_trade", counterparty="风电场",
                                      contract_id="C1", deliveries={M.next(): 90_000.0})
        repo.add_green_certificates(serial="GEC-1", enterprise_id="E01", vintage=M, technology="solar", count=5)
        repo.claim_green_certificates("GEC-1", M)
        repo.add_pv_asset(enterprise_id="E01", capacity_kwp=800.0, commissioned=Month(2021, 6), asset_id="PV1")
        repo.add_storage_asset(enterprise_id="E01", power_kw=500.0, energy_kwh=1000.0,
                               round_trip_efficiency_frac=0.88)
    with store.reader() as repo:
        prod = repo.production_records(enterprise_ids=["E01"])
        assert [(p.period, p.period_kind) for p in prod] == [("2024", "year"), ("2024-03", "month")]
        assert prod[1].base_year == 2020 and prod[1].added_value_10k_cny == 300.0
        gp = repo.green_power(enterprise_ids=["E01"])
        assert [(g.month, g.energy_kwh) for g in gp] == [(M, 120_000.0), (M.next(), 90_000.0)]
        certs = repo.green_certificates(claimed_first=M, claimed_last=M)
        assert [(c.serial, c.energy_kwh, c.claimed_month) for c in certs] == [("GEC-1", 5000.0, "2024-03")]
        assert {a.kind for a in repo.energy_assets()} == {"pv", "storage"}
    with pytest.raises(ConflictError), store.transaction() as repo:
        repo.add_green_certificates(serial="GEC-1", enterprise_id="E02", vintage=M, technology="solar", count=1)
    with pytest.raises(ConflictError), store.transaction() as repo:
        repo.claim_green_certificates("GEC-1", M.next())
    with pytest.raises(InputError), store.transaction() as repo:
        repo.put_production(enterprise_id="E01", period=M, added_value_10k_cny=1.0, price_basis="comparable")
    with pytest.raises(QuantityError), store.transaction() as repo:
        repo.put_production(enterprise_id="E01", period=M, added_value_10k_cny=-1.0)


def test_readings_duplicates_conflicts_and_correction_queue(store):
    _park(store)
    t0 = datetime(2024, 3, 5, 0, 0, tzinfo=UTC)
    with store.transaction() as repo:
        m = repo.add_meter(tenant_id="E01", code="M1", carrier="electricity", unit="kWh", kind="cumulative",
                           enterprise_id="E01", role="grid_import")
        b = repo.create_batch(tenant_id="E01", kind="test")
        res = repo.write_readings("E01", [ReadingIn(m.id, t0 + timedelta(minutes=15 * i), 100.0 + i)
                                          for i in range(4)], batch_id=b.id)
        assert (res.inserted, res.duplicates, res.conflicts) == (4, 0, 0)
        assert res.touched[m.id] == (t0, t0 + timedelta(minutes=45))
    with store.transaction() as repo:
        b = repo.create_batch(tenant_id="E01", kind="test")
        res = repo.write_readings("E01", [ReadingIn(m.id, t0, 100.0), ReadingIn(m.id, t0, 999.0),
                                          ReadingIn(m.id, t0 + timedelta(hours=1), 104.0)], batch_id=b.id)
        assert (res.inserted, res.duplicates, res.conflicts) == (1, 1, 1)
        repo.set_period_status("E01", M, "submitted", by="x")
        res = repo.write_readings("E01", [ReadingIn(m.id, t0, 555.0)], batch_id=b.id)
        assert res.conflicts == 1
    with store.reader() as repo:
        assert repo.count_readings("E01") == 5
        assert [r.value for r in repo.raw_readings(m.id, end_utc=t0 + timedelta(minutes=1))] == [100.0]  # never overwritten
        conflicts = repo.reading_conflicts(tenant_id="E01")
        assert sorted((c.existing_value, c.new_value, c.status) for c in conflicts) == [
            (100.0, 555.0, "correction_queue"), (100.0, 999.0, "open")]
        with pytest.raises(NotFoundError):
            repo.get_meter(m.id, tenant_id="T2")
    with store.transaction() as repo:
        c = repo.resolve_conflict(conflicts[0].id, resolution="keep_existing", by="admin")
        assert c.resolved_by == "admin" and c.status == "resolved"
    with pytest.raises(NotFoundError), store.transaction() as repo:  # another tenant's meter
        b = repo.create_batch(tenant_id="T2", kind="test")
        repo.write_readings("T2", [ReadingIn(m.id, t0, 1.0)], batch_id=b.id)


def test_timestamps_are_utc_aware_round_trip(store):
    _park(store)
    from zoneinfo import ZoneInfo

    local = datetime(2024, 3, 1, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with store.transaction() as repo:
        m = repo.add_meter(tenant_id="E01", code="M1", carrier="electricity", unit="kWh", kind="interval")
        b = repo.create_batch(tenant_id="E01", kind="test")
        repo.write_readings("E01", [ReadingIn(m.id, local.astimezone(UTC), 1.0, source_offset_min=480)],
                            batch_id=b.id)
    with store.reader() as repo:
        (r,) = repo.raw_readings(m.id)
        assert r.ts_utc == datetime(2024, 2, 29, 16, 0, tzinfo=UTC) and r.ts_utc.tzinfo is not None
        assert r.source_offset_min == 480


def test_meter_validation(store):
    _park(store)
    with pytest.raises(InputError), store.transaction() as repo:
        repo.add_meter(tenant_id="E01", code="V", carrier="electricity", unit="kWh", kind="virtual")
    with pytest.raises(InputError), store.transaction() as repo:
        repo.add_meter(tenant_id="E01", code="X", carrier="electricity", unit="kWh", kind="interval", role="bogus")
    with store.transaction() as repo:
        p = repo.add_meter(tenant_id="E01", code="P", carrier="electricity", unit="kWh", kind="cumulative",
                           register_max=99_999_999.99, multiplier=80.0)
        repo.add_meter(tenant_id="E01", code="S", carrier="electricity", unit="kWh", kind="interval",
                       parent_meter_id=p.id, role="submeter")
        repo.add_meter(tenant_id="E01", code="V", carrier="electricity", unit="kWh", kind="virtual",
                       formula="P - S")
    with pytest.raises(ConflictError), store.transaction() as repo:
        repo.add_meter(tenant_id="E01", code="P", carrier="electricity", unit="kWh", kind="cumulative")
    with store.reader() as repo:
        assert set(repo.meters_by_code("E01")) == {"P", "S", "V"}


def test_one_locked_row_rejects_the_whole_ledger_statement(store):
    """The database guard (per row on SQLite, per statement on PostgreSQL since 0009) rejects a
    multi-row write that touches a submitted period, and nothing of the statement stays."""
    import sqlalchemy as sa

    _park(store)
    with store.transaction() as repo:
        repo.put_activity_records([ActivityRecord("a1", "E01", M, "electricity", Flow.PURCHASED, 1.0),
                                   ActivityRecord("a2", "E01", Month(2024, 4), "electricity", Flow.PURCHASED, 2.0)])
        repo.set_period_status("E01", M, "submitted", by="admin")
    with pytest.raises(sa.exc.DBAPIError) as exc, store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL app.all_tenants = 'on'")
        conn.execute(sa.text("UPDATE activity_record SET quantity = quantity + 1 WHERE enterprise_id = 'E01'"))
    assert "E-LOCKED" in str(exc.value)
    with store.reader() as repo:
        assert sorted(r.quantity for r in repo.activity_records()) == [1.0, 2.0]
