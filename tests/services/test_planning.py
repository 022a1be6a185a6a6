"""Planning service: load files, tariff + factor assembly, result files for the dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parkcarbon.errors import PeriodError, QuantityError, TemplateError
from parkcarbon.planning.problem import Battery, GreenContract, GreenContractKind
from parkcarbon.planning.pv import PVSystemSpec
from parkcarbon.services.planning import (
    GridSetup,
    InvestmentCosts,
    build_dispatch_problem,
    load_series_from_array,
    load_series_from_file,
    plan_dispatch,
    plan_pv,
    plan_sizing,
    scenario_table,
    stored_plans,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*dayofyear is deprecated")


def write_load(path: Path, days: int = 3, freq: str = "15min", column: str = "load_kw", tz: bool = True) -> Path:
    idx = pd.date_range("2024-04-01", periods=days * (96 if freq == "15min" else 24), freq=freq, tz="Asia/Shanghai")
    h = idx.hour.to_numpy()
    load = 2000 + 800 * ((h >= 8) & (h < 20))
    values = load * (0.25 if column == "energy_kwh" else 1.0)
    ts = idx.strftime("%Y-%m-%dT%H:%M:%S%z") if tz else idx.strftime("%Y-%m-%d %H:%M:%S")
    pd.DataFrame({"timestamp": ts, column: values}).to_csv(path, index=False)
    return path


class TestLoadFiles:
    def test_kw_and_kwh_columns_agree(self, tmp_path: Path) -> None:
        a = load_series_from_file(write_load(tmp_path / "a.csv"))
        b = load_series_from_file(write_load(tmp_path / "b.csv", column="energy_kwh"))
        assert a.step_h == 0.25 and str(a.timestamps_utc.tz) == "UTC"
        np.testing.assert_allclose(a.load_kw, b.load_kw)
        assert a.timestamps_utc[0] == pd.Timestamp("2024-03-31T16:00Z")

    def test_parquet(self, tmp_path: Path) -> None:
        csv = write_load(tmp_path / "a.csv", freq="h")
        pq = tmp_path / "a.parquet"
        pd.read_csv(csv).to_parquet(pq)
        assert load_series_from_file(pq).step_h == 1.0

    def test_gap_is_an_error_not_zero(self, tmp_path: Path) -> None:
        p = write_load(tmp_path / "a.csv")
        df = pd.read_csv(p).drop(index=10)
        df.to_csv(p, index=False)
        with pytest.raises(PeriodError, match="gap") as ei:
            load_series_from_file(p)
        assert ei.value.location is not None and ei.value.location.file == "a.csv"

    def test_naive_timestamps_need_a_zone(self, tmp_path: Path) -> None:
        p = write_load(tmp_path / "a.csv", tz=False)
        with pytest.raises(PeriodError, match="time zone"):
            load_series_from_file(p)
        assert load_series_from_file(p, assume_tz="Asia/Shanghai").load_kw.size == 288

    def test_bad_values_and_columns(self, tmp_path: Path) -> None:
        p = write_load(tmp_path / "a.csv")
        df = pd.read_csv(p)
        df.loc[5, "load_kw"] = -1
        df.to_csv(p, index=False)
        with pytest.raises(QuantityError) as ei:
            load_series_from_file(p)
        assert ei.value.location is not None and ei.value.location.row == 7
        df.rename(columns={"load_kw": "x"}).to_csv(p, index=False)
        with pytest.raises(TemplateError):
            load_series_from_file(p)
        df = pd.read_csv(write_load(tmp_path / "b.csv"))
        pd.concat([df, df.iloc[[3]]]).sort_values("timestamp").to_csv(p, index=False)
        with pytest.raises(PeriodError, match="strictly increasing"):
            load_series_from_file(p)


class TestPlanning:
    def test_dispatch_writes_results(self, tmp_path: Path) -> None:
        load = load_series_from_file(write_load(tmp_path / "l.csv"))
        grid = GridSetup("Shandong", grid_ef_location_tco2_per_mwh=0.641)
        bat = Battery("bess", energy_kwh=2000, charge_power_kw=1000)
        ppa = GreenContract("ppa", GreenContractKind.GRID_TRADED, 300.0, 0.45)
        out = plan_dispatch(load, grid, pv=PVSystemSpec(36.65, 117.0, tilt_deg=30, capacity_kwp=3000),
                            batteries=[bat], contracts=[ppa], out_dir=tmp_path / "out", subject="E001")
        r = out.result
        assert r.max_balance_residual_kw < 1e-6
        assert [f.name for f in out.files] == ["plan_dispatch.json", "plan_dispatch_schedule.csv"]
        data = json.loads(out.files[0].read_text(encoding="utf-8"))
        assert data["subject"] == "E001"
        assert data["summary"]["emissions"]["location_tco2"] == pytest.approx(r.emissions.location_tco2)
        assert data["provenance"]["grid_ef_location"]["value"] == 0.641
        assert data["provenance"]["tariffs"][0]["grade"] == "UNVERIFIED"
        sched = pd.read_csv(out.files[1])
        assert len(sched) == 288 and {"bess.soc_kwh", "ppa.supply_kw", "tou_period"} <= set(sched.columns)
        assert r.cost.demand_charge_cny > 0  # Shandong demand charge applied on the monthly peak
        stored = stored_plans(tmp_path / "out", "E001")
        assert set(stored) == {"dispatch"} and stored["dispatch"]["summary"]["steps"] == 288

    def test_registry_factors_with_fallback_recorded(self, tmp_path: Path) -> None:
        load = load_series_from_file(write_load(tmp_path / "l.csv", days=1))
        p, prov = build_dispatch_problem(load, GridSetup("Jiangsu", ef_year=2022))
        assert p.grid_ef_location_ref is not None
        assert p.grid_ef_location_ref.value == pytest.approx(0.5978)
        assert p.grid_ef_market_ref is not None and p.grid_ef_market_ref.value == pytest.approx(0.5856)
        assert prov["warnings"] == []
        p2, prov2 = build_dispatch_problem(load, GridSetup("Jiangsu"))
        assert prov2["warnings"] and p2.grid_ef_location_ref is not None
        assert p2.grid_ef_location_ref.fallback_note

    def test_pv_plan_offline(self, tmp_path: Path) -> None:
        out = plan_pv(PVSystemSpec(34.03, 113.85, tilt_deg=25, capacity_kwp=20_000), year=2023,
                      province="Henan", out_dir=tmp_path, subject="park")
        assert out.result.energy_kwh == pytest.approx(23_000_000, rel=1e-9)
        data = json.loads(out.files[0].read_text(encoding="utf-8"))
        assert data["cloudiness_factor_frac"] == pytest.approx(out.result.cloudiness_factor_frac)

    def test_sizing_scenarios(self, tmp_path: Path) -> None:
        load = load_series_from_array(np.tile(np.where((np.arange(24) >= 8) & (np.arange(24) < 20), 300.0, 150.0), 4),
                                      "2024-05-01T00:00+08:00", 1.0)
        out = plan_sizing(load, GridSetup("Jiangsu", grid_ef_location_tco2_per_mwh=0.5978),
                          PVSystemSpec(32.0, 118.8, tilt_deg=25, capacity_kwp=400), costs=InvestmentCosts(),
                          max_battery_kwh=2000, out_dir=tmp_path, subject="park")
        rows, best = out.result
        table = scenario_table(rows)
        assert list(table.index) == ["baseline", "pv_only", "storage_only", "pv_storage"]
        assert table.loc["pv_storage", "total_cost_cny_per_year"] <= table.loc["baseline", "total_cost_cny_per_year"]
        assert best.pv_capacity_kwp is not None and best.pv_capacity_kwp <= 400 + 1e-6
        data = json.loads(out.files[0].read_text(encoding="utf-8"))
        assert len(data["scenarios"]) == 4 and "indicators" in data["pv_storage"]


class TestStoredLoad:
    """Load read from the platform's stored interval increments (SQLite store fixture)."""

    def setup_store(self, store: object, *, gap: bool = False) -> tuple[str, str]:
        from datetime import UTC, datetime, timedelta

        from parkcarbon.storage import Store

        assert isinstance(store, Store)
        start = datetime(2024, 3, 31, 16, tzinfo=UTC)  # 2024-04-01 00:00 Asia/Shanghai
        with store.transaction() as repo:
            park = repo.add_park(code="P-PLAN", name="规划测试园区")
            ent = repo.add_enterprise(name="企业A", park_id=park.id)
            imp = repo.add_meter(tenant_id=ent.tenant_id, code="M-IMP", carrier="electricity", unit="kWh",
                                 kind="interval", interval_s=900, enterprise_id=ent.id, role="grid_import")
            pv = repo.add_meter(tenant_id=ent.tenant_id, code="M-PV", carrier="electricity", unit="kWh",
                                kind="interval", interval_s=900, enterprise_id=ent.id, role="onsite_generation")
            for meter, kwh in ((imp, 250.0), (pv, 50.0)):
                rows = [{"start_utc": start + timedelta(minutes=15 * i), "end_utc": start + timedelta(minutes=15 * (i + 1)),
                         "energy": kwh, "quality": "measured", "method_id": None}
                        for i in range(96) if not (gap and meter is imp and i == 40)]
                repo.replace_increments({meter.id: meter}, {meter.id: (start, start + timedelta(days=1))},
                                        {meter.id: rows}, code_version="test")
            return ent.id, park.id

    def test_enterprise_and_park_load(self, sqlite_store: object) -> None:
        from datetime import UTC, datetime

        from parkcarbon.services.planning import load_series_from_store
        from parkcarbon.storage import Store

        assert isinstance(sqlite_store, Store)
        ent, park = self.setup_store(sqlite_store)
        start, end = datetime(2024, 3, 31, 16, tzinfo=UTC), datetime(2024, 4, 1, 16, tzinfo=UTC)
        q = load_series_from_store(sqlite_store, enterprise_id=ent, start_utc=start, end_utc=end, step_h=0.25)
        np.testing.assert_allclose(q.load_kw, (250 + 50) / 0.25)
        h = load_series_from_store(sqlite_store, park_id=park, start_utc=start, end_utc=end, step_h=1.0)
        assert h.load_kw.size == 24
        np.testing.assert_allclose(h.load_kw, 4 * 300.0)
        assert h.source == f"store:{park}"

    def test_missing_interval_is_an_error(self, sqlite_store: object) -> None:
        from datetime import UTC, datetime

        from parkcarbon.services.planning import load_series_from_store
        from parkcarbon.storage import Store

        assert isinstance(sqlite_store, Store)
        ent, _ = self.setup_store(sqlite_store, gap=True)
        with pytest.raises(QuantityError, match="M-IMP: 1 of 96 steps are incomplete") as ei:
            load_series_from_store(sqlite_store, enterprise_id=ent, start_utc=datetime(2024, 3, 31, 16, tzinfo=UTC),
                                   end_utc=datetime(2024, 4, 1, 16, tzinfo=UTC))
        assert ei.value.location is not None and ei.value.location.record == "M-IMP"
