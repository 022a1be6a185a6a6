"""Incremental derivation on SQLite and PostgreSQL: deferred (queued) derivation equals immediate
derivation; a failed run keeps the queue; the CLI runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from parkcarbon.ingest.readings import ParsedReading
from parkcarbon.services.derivation import derive_pending
from parkcarbon.services.ingestion import ingest_readings
from parkcarbon.settings import Settings
from parkcarbon.storage import open_store

T0 = datetime(2025, 2, 28, 16, 0, tzinfo=UTC)  # 2025-03-01 00:00 Asia/Shanghai
NOW = datetime(2025, 4, 1, tzinfo=UTC)


def _park(store) -> None:
    with store.transaction() as repo:
        p = repo.add_park(code="BJ", name="滨江")
        for e in ("E01", "E02"):
            repo.add_enterprise(name=f"企业{e}", park_id=p.id, enterprise_id=e)
            repo.add_meter(tenant_id=e, enterprise_id=e, code=f"{e}-G", carrier="electricity", unit="kWh",
                           kind="cumulative", interval_s=900, role="grid_import", register_max=99_999.99)
            repo.add_meter(tenant_id=e, enterprise_id=e, code=f"{e}-PV", carrier="electricity", unit="kWh",
                           kind="interval", interval_s=900, role="onsite_generation")


def _day(e: str, d: int, *, skip: int | None = None) -> list[ParsedReading]:
    out = []
    for i in range(96):
        if i == skip:
            continue
        t = T0 + timedelta(days=d, minutes=15 * i)
        out.append(ParsedReading(f"{e}-G", t, 1000.0 + 2.0 * (96 * d + i)))
        out.append(ParsedReading(f"{e}-PV", t, 0.5 if 24 <= i < 72 else 0.0))
    return out


def _state(store) -> tuple[list[object], list[object], list[object]]:
    with store.reader() as repo:
        meters = sorted(repo.list_meters(), key=lambda m: m.code)
        incs = [(m.code, i.start_utc, i.energy, i.quality) for m in meters for i in repo.increments(m.id)]
        aggs = [(m.code, g, a.period_start_utc, a.energy, a.n_measured, a.quality) for m in meters
                for g in ("day", "month") for a in repo.aggregates([m.id], g)]
        ledger = sorted((r.enterprise_id, str(r.month), r.carrier, r.flow.value, r.quantity, r.quality.value)
                        for r in repo.activity_records())
    return incs, aggs, ledger


def test_deferred_derivation_equals_immediate(store, tmp_path):
    """Readings stored with derive=False and derived later in one pass give exactly the
    increments, day/month totals and ledger of deriving every batch at once (DESIGN §4)."""
    settings = Settings(data_dir=tmp_path / "data")
    other = open_store(f"sqlite:///{tmp_path / 'immediate.sqlite'}", settings=settings)
    _park(store)
    _park(other)
    # day 1 arrives with a gap (slot 40 of E01), day 2 fills it late: a register span recomputed
    batches = [("E01", _day("E01", 0, skip=40)), ("E02", _day("E02", 0)), ("E01", _day("E01", 1)),
               ("E02", _day("E02", 1)), ("E01", [r for r in _day("E01", 0) if r.ts_utc == T0 + timedelta(minutes=600)])]
    for tenant, readings in batches:
        ingest_readings(other, tenant, readings, kind="t", settings=settings, now=NOW, derive=True)
        ingest_readings(store, tenant, readings, kind="t", settings=settings, now=NOW, derive=False)
    with store.reader() as repo:
        assert repo.aggregates([m.id for m in repo.list_meters()], "day") == []  # nothing derived yet
        ids, span = repo.pending_derivation()
        assert len(ids) == 10 and len(span) == 4  # one row per meter and batch; spans merged per meter
    with store.transaction() as repo:
        res = derive_pending(repo)
    assert res.meters == 4 and res.ledger_records == 4 and res.skipped == ()
    assert _state(store) == _state(other)
    incs, _aggs, ledger = _state(store)
    assert len(incs) == 4 * 96 * 2 - 2  # the first register slot of each E-G meter has no earlier reading
    assert ("E01", "2025-03", "electricity", "purchased", pytest.approx(2.0 * (2 * 96 - 1)), "suspect") in ledger
    with store.transaction() as repo:  # queue empty: a second run does nothing
        assert repo.pending_derivation() == ([], {})
        assert derive_pending(repo).meters == 0
    other.dispose()


def test_failed_derivation_keeps_the_queue(store, tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data")
    _park(store)
    ingest_readings(store, "E01", _day("E01", 0), kind="t", settings=settings, now=NOW, derive=False)
    import parkcarbon.services.derivation as derivation

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(derivation, "_update_ledger", boom)
    with pytest.raises(RuntimeError), store.transaction() as repo:
        derive_pending(repo)
    with store.reader() as repo:
        ids, _span = repo.pending_derivation()
        assert len(ids) == 2 and repo.aggregates([m.id for m in repo.list_meters()], "day") == []
    monkeypatch.undo()
    with store.transaction() as repo:
        assert derive_pending(repo, tenant_ids=["E02"]).meters == 0  # another tenant's queue is left alone
        assert derive_pending(repo, tenant_ids=["E01"]).meters == 2


def test_cli_data_derive(tmp_path, monkeypatch):
    from parkcarbon.cli.main import app

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    settings = Settings(data_dir=tmp_path / "data")
    st = open_store(url, settings=settings)
    _park(st)
    ingest_readings(st, "E01", _day("E01", 0), kind="t", settings=settings, now=NOW, derive=False)
    st.dispose()
    out = CliRunner().invoke(app, ["data", "derive", "--url", url])
    assert out.exit_code == 0, out.output
    assert "derived: 2 meters, 191 increments" in out.output
    out = CliRunner().invoke(app, ["data", "derive", "--url", url])
    assert "derived: 0 meters" in out.output
