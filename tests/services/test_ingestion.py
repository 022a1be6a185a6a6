"""Ingestion service on SQLite and PostgreSQL: uploads all-or-nothing, readings, derivation, HTTP idempotency."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from parkcarbon.core.activity import Flow, Quality
from parkcarbon.errors import BatchRejectedError, LockedPeriodError
from parkcarbon.periods import Month
from parkcarbon.services.ingestion import (
    MqttIngestHandler,
    import_readings,
    import_statistics,
    ingest_http_batch,
    replay_file,
)
from parkcarbon.settings import Settings

T0 = datetime(2025, 2, 28, 16, 0, tzinfo=UTC)  # 2025-03-01 00:00 Asia/Shanghai
NOW = datetime(2025, 4, 1, tzinfo=UTC)


def _csv(rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def park(store, settings):
    with store.transaction() as repo:
        p = repo.add_park(code="BJ", name="滨江")
        repo.add_enterprise(name="精锻公司", park_id=p.id, enterprise_id="E01", credit_code="91320000123456789X")
        repo.add_enterprise(name="化工公司", park_id=p.id, enterprise_id="E02", tenant_id="T2")
    meters = _csv([["表计编号", "企业", "能源品种", "计量单位", "类型", "倍率", "满量程", "用途", "采集间隔（秒）", "上级表计"],
                   ["M-SUB", "精锻公司", "电力", "kWh", "区间", "", "", "分项", "900", "M1"],
                   ["M1", "精锻公司", "电力", "kWh", "累计", "2", "99999.99", "电网购入", "900", ""],
                   ["PV1", "精锻公司", "电力", "MWh", "区间", "", "", "自发电", "900", ""]])
    res = import_statistics(store, meters, "meters.csv", "meters", uploader="t", tenant_id="E01", settings=settings)
    assert res.records_written == 3
    return store


MONTHLY_HDR = ["企业", "月份", "能源品种", "计量单位", "购进量", "消费量", "其中：非能源用途", "外供量", "自产量", "数据质量"]


def test_monthly_statistics_import(park, settings):
    data = _csv([MONTHLY_HDR,
                 ["91320000123456789X", "2025年3月", "电力", "万kWh", "12.5", "", "", "", "3", ""],
                 ["精锻公司", "2025-03", "天然气", "万Nm³", "", "2", "0.5", "", "", "估算"],
                 ["化工公司", "2025-03", "原煤", "吨", "", "缺失", "", "", "", ""]])
    res = import_statistics(park, data, "2025-03.csv", "monthly", uploader="alice", settings=settings)
    assert res.records_written == 5 and res.stored_name and res.stored_name.endswith(".csv")
    with park.reader() as repo:
        recs = {(r.enterprise_id, r.carrier, r.flow): r for r in repo.activity_records()}
    assert recs[("E01", "electricity", Flow.PURCHASED)].quantity == pytest.approx(125_000.0)
    assert recs[("E01", "electricity", Flow.ONSITE_GENERATED)].quantity == pytest.approx(30_000.0)  # row unit 万kWh
    gas = recs[("E01", "natural_gas", Flow.CONSUMED)]
    assert gas.quantity == pytest.approx(20_000.0) and gas.quality is Quality.ESTIMATED
    assert recs[("E01", "natural_gas", Flow.NON_ENERGY_USE)].quantity == pytest.approx(5_000.0)
    coal = recs[("E02", "raw_coal", Flow.CONSUMED)]
    assert coal.quantity is None and coal.quality is Quality.MISSING  # never 0
    assert all(r.month == Month(2025, 3) for r in recs.values())
    assert ("E01", "electricity", Flow.CONSUMED) not in recs  # blank cell: not reported, not 0


def test_upload_is_all_or_nothing_with_all_errors(park, settings):
    data = _csv([MONTHLY_HDR,
                 ["精锻公司", "2025-03", "电力", "kWh", "100", "", "", "", "", ""],
                 ["精锻公司", "2025-03", "蒸汽", "GJ", "100", "", "", "", "", ""],
                 ["精锻公司", "2025-13", "电力", "kWh", "100", "", "", "", "", ""],
                 ["外星公司", "2025-03", "电力", "kWh", "100", "", "", "", "", ""],
                 ["精锻公司", "2025-04", "原煤", "吨", "", "5", "9", "", "", ""]])
    with pytest.raises(BatchRejectedError) as exc:
        import_statistics(park, data, "bad.csv", "monthly", uploader="a", settings=settings)
    errs = exc.value.errors
    assert {(e.code, e.location.row) for e in errs} >= {("E-UNIT", 3), ("E-PERIOD", 4), ("E-NOTFOUND", 5), ("E-QTY", 6)}
    assert all(e.location.file == "bad.csv" and e.message_zh and e.message for e in errs)
    with park.reader() as repo:
        assert repo.activity_records() == []
        assert [b.kind for b in repo.batches()] == ["meters"]
    assert sorted(p.suffix for p in settings.upload_dir.iterdir()) == [".csv"]  # only the meters upload


def test_enterprise_user_cannot_import_for_another_tenant(park, settings):
    data = _csv([MONTHLY_HDR, ["化工公司", "2025-03", "电力", "kWh", "1", "", "", "", "", ""]])
    with pytest.raises(BatchRejectedError) as exc:
        import_statistics(park, data, "x.csv", "monthly", uploader="a", tenant_id="E01", settings=settings)
    assert exc.value.errors[0].code == "E-NOTFOUND"


def test_import_into_locked_period_is_refused(park, settings):
    with park.transaction() as repo:
        for s in ("submitted", "verified", "locked"):
            repo.set_period_status("E01", Month(2025, 3), s, by="admin")
    data = _csv([MONTHLY_HDR, ["精锻公司", "2025-03", "电力", "kWh", "1", "", "", "", "", ""]])
    with pytest.raises(BatchRejectedError) as exc:
        import_statistics(park, data, "x.csv", "monthly", uploader="a", settings=settings)
    assert exc.value.errors[0].code == "E-LOCKED"
    with pytest.raises(LockedPeriodError), park.transaction() as repo:
        repo.ensure_writable("E01", "2025-03")


def test_bills_and_production_import(park, settings):
    bills = _csv([["企业", "账单编号", "所属月份", "能源品种", "计量单位", "数量", "金额（元）"],
                  ["精锻公司", "B1", "2025-03", "电力", "kWh", "1000", "700"],
                  ["精锻公司", "B2", "2025-03", "电力", "MWh", "2", "1400"]])
    res = import_statistics(park, bills, "bills.csv", "bills", uploader="a", settings=settings)
    assert res.records_written == 1
    with park.reader() as repo:
        (rec,) = repo.activity_records()
    assert rec.quantity == pytest.approx(3000.0) and rec.flow is Flow.PURCHASED and "B1" in rec.source
    prod = _csv([["企业", "期间", "工业总产值（万元）", "工业增加值（万元）", "价格口径", "基准年", "产品名称", "产品产量", "产量单位"],
                 ["精锻公司", "2025-03", "1200", "300", "可比价", "2020", "锻件", "420", "t"],
                 ["精锻公司", "2025", "", "3600", "现价", "", "", "", ""]])
    res = import_statistics(park, prod, "prod.csv", "production", uploader="a", settings=settings)
    assert res.records_written == 2
    with park.reader() as repo:
        rows = repo.production_records(enterprise_ids=["E01"])
    assert [(r.period, r.price_basis, r.base_year, r.added_value_10k_cny) for r in rows] == [
        ("2025", "current", None, 3600.0), ("2025-03", "comparable", 2020, 300.0)]


def _readings_csv(meter: str, start: datetime, values: list[float], step_min: int = 15) -> list[list[object]]:
    return [[meter, (start + timedelta(minutes=step_min * i)).isoformat(), v] for i, v in enumerate(values)]


def test_readings_derivation_and_ledger(park, settings):
    vals = [1000.0 + 1.5 * i for i in range(96 * 2 + 1)]  # two full local days of a register
    data = _csv([["表计编号", "时间", "读数"], *_readings_csv("M1", T0, vals)])
    res = import_readings(park, data, "r.csv", tenant_id="E01", uploader="a", settings=settings, now=NOW)
    assert (res.inserted, res.duplicates, res.conflicts, res.quarantined) == (193, 0, 0, 0)
    with park.reader() as repo:
        m1 = repo.meters_by_code("E01")["M1"]
        days = repo.aggregates([m1.id], "day")
        assert [(d.energy, d.n_measured, d.quality) for d in days] == [(288.0, 96, "measured")] * 2  # ×2 multiplier
        (month,) = repo.aggregates([m1.id], "month")
        assert month.energy == 576.0 and month.n_expected == 31 * 96
        (rec,) = repo.activity_records()
        assert (rec.flow, rec.quantity, rec.quality) == (Flow.PURCHASED, 576.0, Quality.SUSPECT)  # month incomplete
    # resend (idempotent), then a conflicting value, then a rollover across the register max
    res2 = import_readings(park, data, "r.csv", tenant_id="E01", uploader="a", settings=settings, now=NOW)
    assert (res2.inserted, res2.duplicates) == (0, 193)
    conflict = _csv([["表计编号", "时间", "读数"], ["M1", T0.isoformat(), 999.0]])
    assert import_readings(park, conflict, "c.csv", tenant_id="E01", uploader="a", settings=settings,
                           now=NOW).conflicts == 1
    t2 = T0 + timedelta(days=2, minutes=15)
    roll = _csv([["表计编号", "时间", "读数"], ["M1", t2.isoformat(), 99_999.0],
                 ["M1", (t2 + timedelta(minutes=15)).isoformat(), 1.0]])
    import_readings(park, roll, "roll.csv", tenant_id="E01", uploader="a", settings=settings, now=NOW)
    with park.reader() as repo:
        incs = repo.increments(m1.id, start_utc=t2 - timedelta(minutes=15))
        # 99 999 → 1 across the register max 99 999.99 (wraps at 100 000): 100 000 − 99 999 + 1 = 2, × multiplier 2
        assert incs[-1].energy == pytest.approx(4.0)
        assert incs[-1].quality == "measured"
        assert [r.value for r in repo.raw_readings(m1.id, end_utc=T0 + timedelta(minutes=1))] == [1000.0]


def test_future_readings_quarantined_and_units(park, settings):
    now = T0 + timedelta(minutes=20)
    rows = [["表计编号", "时间", "读数"],
            ["PV1", T0.isoformat(), 0.25],
            ["PV1", (T0 + timedelta(minutes=15)).isoformat(), 0.25],
            ["PV1", (T0 + timedelta(minutes=30)).isoformat(), 0.25]]  # 10 min ahead of the server clock
    res = import_readings(park, _csv(rows), "pv.csv", tenant_id="E01", uploader="a", settings=settings, now=now)
    assert (res.inserted, res.quarantined) == (2, 1)
    with park.reader() as repo:
        (q,) = repo.quarantined(tenant_id="E01")
        assert q.reason == "future_timestamp"
        pv = repo.meters_by_code("E01")["PV1"]
        assert repo.increments(pv.id)[0].energy == pytest.approx(250.0)  # MWh → kWh


def test_unknown_meter_rejects_file(park, settings):
    rows = [["表计编号", "时间", "读数"], ["M1", T0.isoformat(), 1.0], ["NOPE", T0.isoformat(), 1.0]]
    with pytest.raises(BatchRejectedError) as exc:
        import_readings(park, _csv(rows), "x.csv", tenant_id="E01", uploader="a", settings=settings, now=NOW)
    assert exc.value.errors[0].location.row == 3
    with park.reader() as repo:
        assert repo.count_readings() == 0


def test_http_idempotency_contract(park, settings, monkeypatch):
    """ING-09: same key+body → stored once; different body → 422; missing key → 400; tenant-scoped; race → 409."""
    body = json.dumps({"gateway": "gw1", "readings": [{"meter": "M1", "ts": T0.isoformat(), "value": 5.0, "seq": 1}]}).encode()
    first = ingest_http_batch(park, "E01", "k1", body, settings=settings, now=NOW)
    assert first.status == 201 and first.body["inserted"] == 1
    again = ingest_http_batch(park, "E01", "k1", body, settings=settings, now=NOW)
    assert again.status == 200 and again.body["batch_id"] == first.body["batch_id"] and again.body["replayed"]
    other = json.dumps({"readings": [{"meter": "M1", "ts": T0.isoformat(), "value": 6.0}]}).encode()
    assert ingest_http_batch(park, "E01", "k1", other, settings=settings, now=NOW).status == 422
    assert ingest_http_batch(park, "E01", None, body, settings=settings, now=NOW).status == 400
    assert ingest_http_batch(park, "E01", "", body, settings=settings, now=NOW).status == 400
    # another tenant with the same key: independent (its own meters; no cached response leaked)
    foreign = ingest_http_batch(park, "T2", "k1", body, settings=settings, now=NOW)
    assert foreign.status == 422 and "batch_id" not in foreign.body  # M1 is not T2's meter
    with park.reader() as repo:
        assert repo.count_readings() == 1 and len(repo.reading_conflicts()) == 0
    # a concurrent duplicate: the prior-check misses the other request, the unique key catches it
    from parkcarbon.storage.repository import Repository

    monkeypatch.setattr(Repository, "find_batch", lambda self, **kw: None)
    assert ingest_http_batch(park, "E01", "k1", body, settings=settings, now=NOW).status == 409
    with park.reader() as repo:
        assert repo.count_readings() == 1


def test_mqtt_handler_quarantines_bad_messages(park, settings):
    from parkcarbon.ingest.mqtt import MqttMessage

    good = json.dumps({"readings": [{"meter": "M1", "ts": T0.isoformat(), "value": 1.0, "seq": 3},
                                    {"meter": "ZZ", "ts": T0.isoformat(), "value": 1.0}]}).encode()
    msgs = [MqttMessage("parkcarbon/E01/gw1/readings", good, 1, 1, 1, 0.0),
            MqttMessage("parkcarbon/E01/gw1/readings", b"{not json", 2, 1, 1, 0.0),
            MqttMessage("other/topic", b"{}", 3, 1, 1, 0.0)]
    handler = MqttIngestHandler(park, settings)
    handler(msgs)
    with park.reader() as repo:
        assert repo.count_readings("E01") == 1
        reasons = sorted(q.reason for q in repo.quarantined())
        (r,) = repo.raw_readings(repo.meters_by_code("E01")["M1"].id)
        assert r.gateway_id == "gw1" and r.gateway_seq == 3
    assert reasons == ["bad_payload", "bad_topic", "unknown_meter"]


def test_replay_file_is_idempotent(park, settings):
    lines = "\n".join(json.dumps({"tenant": "E01", "gateway": "g", "readings": [
        {"meter": "M1", "ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "value": 10.0 + i}]}) for i in range(4))
    r1 = replay_file(park, lines.encode(), settings=settings)
    r2 = replay_file(park, lines.encode(), settings=settings)
    assert sum(r.inserted for r in r1) == 4 and sum(r.inserted for r in r2) == 0
    assert sum(r.duplicates for r in r2) == 4
    with pytest.raises(BatchRejectedError):
        replay_file(park, b'{"tenant": "E01", "readings": [{"meter": "M1", "ts": "2025-03-01 00:00 CST", "value": 1}]}',
                    settings=settings)


def test_gateway_clock_skew_is_flagged(park, settings):
    body = {"sent_at": (NOW + timedelta(minutes=3)).isoformat(),
            "readings": [{"meter": "M1", "ts": T0.isoformat(), "value": 1.0}]}
    res = ingest_http_batch(park, "E01", "skew", json.dumps(body).encode(), settings=settings, now=NOW)
    assert res.status == 201 and res.body["clock_skew_s"] == pytest.approx(180.0)
    body["sent_at"] = (NOW + timedelta(seconds=30)).isoformat()
    res = ingest_http_batch(park, "E01", "ok", json.dumps(body).encode(), settings=settings, now=NOW)
    assert res.body["clock_skew_s"] is None  # within the 60 s flag threshold


def test_evidence_files_kept_with_hash_and_versions(park, settings):
    import hashlib

    from parkcarbon.errors import UploadRejectedError
    from parkcarbon.services.ingestion import store_evidence

    ev = store_evidence(park, b"%PDF-1.7 bill", "电费单 2025-03.pdf", uploader="alice", tenant_id="E01",
                        enterprise_id="E01", month="2025-03", settings=settings)
    path = settings.evidence_dir / ev.stored_name
    assert path.read_bytes() == b"%PDF-1.7 bill" and ev.sha256 == hashlib.sha256(b"%PDF-1.7 bill").hexdigest()
    assert ev.original_name == "电费单 2025-03.pdf" and "电费单" not in ev.stored_name and ev.uploaded_at.tzinfo
    ev2 = store_evidence(park, b"%PDF-1.7 bill v2", "bill.pdf", uploader="alice", tenant_id="E01",
                         replaces_id=ev.id, settings=settings)
    with park.reader() as repo:
        files = repo.evidence_files(tenant_id="E01")
    assert [f.id for f in files] == [ev.id, ev2.id] and files[1].replaces_id == ev.id
    assert path.read_bytes() == b"%PDF-1.7 bill"  # the old version stays
    for bad in ("../x.pdf", "x.exe", "x", "a\x00.pdf"):
        with pytest.raises(UploadRejectedError):
            store_evidence(park, b"x", bad, uploader="a", tenant_id="E01", settings=settings)
    assert len(list(settings.evidence_dir.iterdir())) == 2
