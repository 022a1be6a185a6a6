"""`parkcarbon plan pv|dispatch|size` end to end through Typer."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from parkcarbon.cli import main as cli_main
from parkcarbon.cli.main import app
from parkcarbon.errors import InfeasibleError

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore:.*dayofyear is deprecated")


def load_csv(path: Path, days: int = 2) -> Path:
    idx = pd.date_range("2024-07-01", periods=days * 24, freq="h", tz="Asia/Shanghai")
    h = idx.hour.to_numpy()
    pd.DataFrame({"timestamp": idx.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "load_kw": 2000 + 800 * ((h >= 8) & (h < 20))}).to_csv(path, index=False)
    return path


def test_plan_pv(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "pv", "--lat", "34.03", "--lon", "113.85", "--tilt", "25",
                              "--roof-area-m2", "300000", "--roof-kwp-per-m2", "0.0666667", "--full-load-hours",
                              "1150", "--year", "2023", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "cloudiness factor" in res.output and "written:" in res.output
    data = json.loads((tmp_path / "park" / "plan_pv.json").read_text(encoding="utf-8"))
    assert data["energy_kwh"] == pytest.approx(23_000_000, rel=1e-4)


def test_plan_dispatch(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "dispatch", "--load", str(load_csv(tmp_path / "l.csv")), "--province", "江苏",
                              "--enterprise", "E001", "--pv-kwp", "1500", "--lat", "32", "--lon", "118.8",
                              "--battery-kwh", "2000", "--battery-kw", "1000", "--grid-ef", "0.5978",
                              "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "total cost" in res.output and "sharp_peak" in res.output
    assert (tmp_path / "out" / "E001" / "plan_dispatch_schedule.csv").is_file()


def test_plan_size(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "size", "--load", str(load_csv(tmp_path / "l.csv")), "--province", "Liaoning",
                              "--park", "--lat", "41.8", "--lon", "123.4", "--roof-kwp", "1000",
                              "--max-battery-kwh", "3000", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    for name in ("baseline", "pv_only", "storage_only", "pv_storage"):
        assert name in res.output
    assert (tmp_path / "out" / "park" / "plan_size.json").is_file()


def test_infeasible_is_explained_bilingually(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "dispatch", "--load", str(load_csv(tmp_path / "l.csv")), "--province", "Shandong",
            "--import-limit-kw", "1000", "--grid-ef", "0.6"]
    res = runner.invoke(app, args)
    assert isinstance(res.exception, InfeasibleError)
    monkeypatch.setattr("sys.argv", ["parkcarbon", *args])
    with pytest.raises(SystemExit) as ei:
        cli_main.main()
    assert ei.value.code == 2
    err = capsys.readouterr().err
    assert "E-PLAN-INFEASIBLE" in err and "进线限额" in err and "import limit 1000.0 kW" in err


def test_bad_objective(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "dispatch", "--load", str(load_csv(tmp_path / "l.csv")), "--province",
                              "Shandong", "--objective", "fastest", "--grid-ef", "0.6"])
    assert res.exit_code != 0


def test_plan_dispatch_from_store(sqlite_store: object, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from parkcarbon.storage import Store

    assert isinstance(sqlite_store, Store)
    start = datetime(2024, 3, 31, 16, tzinfo=UTC)
    with sqlite_store.transaction() as repo:
        park = repo.add_park(code="P-CLI", name="园区")
        ent = repo.add_enterprise(name="企业B", park_id=park.id)
        m = repo.add_meter(tenant_id=ent.tenant_id, code="M1", carrier="electricity", unit="kWh", kind="interval",
                           interval_s=900, enterprise_id=ent.id, role="grid_import")
        rows = [{"start_utc": start + timedelta(minutes=15 * i), "end_utc": start + timedelta(minutes=15 * (i + 1)),
                 "energy": 100.0 + (i % 4), "quality": "measured", "method_id": None} for i in range(96)]
        repo.replace_increments({m.id: m}, {m.id: (start, start + timedelta(days=1))}, {m.id: rows},
                                code_version="test")
        ent_id = ent.id
    url = str(sqlite_store.engine.url)
    res = runner.invoke(app, ["plan", "dispatch", "--from-store", "--store", url, "--enterprise", ent_id,
                              "--start", "2024-04-01", "--end", "2024-04-02", "--province", "山东", "--grid-ef", "0.6",
                              "--battery-kwh", "200", "--battery-kw", "100", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "96 steps × 0.25 h" in res.output
    data = json.loads((tmp_path / ent_id / "plan_dispatch.json").read_text(encoding="utf-8"))
    assert data["provenance"]["load_source"] == f"store:{ent_id}"
    res = runner.invoke(app, ["plan", "dispatch", "--province", "山东"])
    assert res.exit_code != 0
