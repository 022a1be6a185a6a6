"""`parkcarbon targets …` through typer's CliRunner, on a CSV park (fast, deterministic)."""

from __future__ import annotations

import csv
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from parkcarbon.cli.main import app
from parkcarbon.errors import InputError, TemplateError
from parkcarbon.services.warnings import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

runner = CliRunner()
SEASON = np.array([0.86, 0.78, 1.00, 1.01, 1.02, 1.04, 1.10, 1.11, 1.03, 1.01, 1.01, 1.03])
COLS = ["enterprise_id", "month", "energy_tce", "emissions_tco2", "direct_emissions_tco2", "purchased_electricity_mwh",
        "added_value_10k_cny", "output_value_10k_cny", "non_fossil_energy_tce", "renewable_energy_tce",
        "clean_energy_tce", "water_fresh_m3", "water_reused_m3"]


@pytest.fixture(scope="module")
def park_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("park") / "park.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLS)
        for e, (tce, g25) in {"BIG": (14_000, 1.0), "MID": (6_000, 1.0), "SMALL": (1_200, 1.0), "HOT": (4_000, 1.15)}.items():
            for y in range(2020, 2026):
                for k in range(12):
                    v = tce / 12 * SEASON[k] * 0.97 ** (y - 2020) * 1.05 ** (y - 2020) * (g25 if y == 2025 else 1)
                    v *= 1 + 0.02 * rng.standard_normal()
                    av = tce / 12 * 10 * 1.05 ** (y - 2020)
                    w.writerow([e, f"{y}-{k + 1:02d}", v, v * 2.2, v * 1.0, v * 0.55 / 0.1229, av, av * 3, v * 0.05,
                                v * 0.05, v * 0.4, v * 3, v * 20])
    return path


def run(*args: str) -> str:
    res = runner.invoke(app, ["targets", *args])
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output


def test_key_units(park_csv: Path) -> None:
    out = run("key-units", "--year", "2024", "--input", str(park_csv), "--json")
    doc = {d["enterprise_id"]: d["class"] for d in json.loads(out)}
    assert doc == {"BIG": "key", "MID": "designated", "HOT": "local", "SMALL": "none"}
    assert "none" in run("key-units", "--year", "2024", "--input", str(park_csv), "--no-local")


def test_budget_warnings_timeline_backtest(park_csv: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "budgets.csv"
    out = run("budget", "--year", "2025", "--park-budget", "30000", "--input", str(park_csv), "--out", str(out_csv))
    assert "HOT" in out and out_csv.exists()
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert sum(float(r["budget"]) for r in rows) == pytest.approx(30000)
    assert float(rows[0]["budget"]) == pytest.approx(sum(float(rows[0][f"2025-{k:02d}"]) for k in range(1, 13)))
    warn = json.loads(run("warnings", "--as-of", "2025-04", "--budgets", str(out_csv), "--input", str(park_csv), "--json"))
    assert warn["warnings"][0]["enterprise_id"] == "HOT" and warn["warnings"][0]["grade"] == "red"
    assert warn["forecast_accuracy"]["mape_frac"] < 0.05
    table = run("warnings", "--as-of", "2025-04", "--park-budget", "30000", "--input", str(park_csv))
    assert "forecast accuracy" in table and "red 1" in table
    tl = run("timeline", "--year", "2025", "--park-budget", "30000", "--input", str(park_csv))
    assert "overruns flagged red ahead: 1 of 1 (median 11 months before year end)" in tl
    bt = run("backtest", "--years", "2021-2024", "--input", str(park_csv))
    assert "overall MAPE" in bt


def test_warnings_webhook(park_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got: list[tuple[dict[str, str], bytes]] = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append((dict(self.headers.items()), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        monkeypatch.setenv("PARKCARBON_WEBHOOK_SECRET", "k")
        out = run("warnings", "--as-of", "2025-04", "--park-budget", "30000", "--input", str(park_csv),
                  "--webhook", f"http://127.0.0.1:{srv.server_address[1]}/h")
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(5)
    assert "webhook: delivered after 1 attempt(s), status 204" in out
    headers, body = got[0]
    assert verify_signature("k", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert json.loads(body)["warnings"][0]["enterprise_id"] == "HOT"


def test_progress_and_evaluations(park_csv: Path, tmp_path: Path) -> None:
    prog = run("progress", "--set", "carbon_peak_pilot", "--through", "2025-12", "--input", str(park_csv))
    # intensity falls 3 %/yr: −14 % by 2025 misses the −18 % milestone
    assert "carbon_peak_pilot:energy_intensity" in prog and "milestone 2025" in prog and "missed" in prog
    zc = json.loads(run("zero-carbon", "--year", "2024", "--input", str(park_csv), "--json"))
    assert zc["indicators"][0]["verdict"] == "threshold_unknown"  # a 25 000 tce park: band UNVERIFIED
    assert {i["indicator"]: i["verdict"] for i in zc["indicators"]}["water_reuse_frac"] == "pass"
    vals = tmp_path / "gf.json"
    vals.write_text(json.dumps({"GF-E4": 7}), encoding="utf-8")
    gf = run("green-factory", "--enterprise", "BIG", "--year", "2024", "--values", str(vals), "--qualitative", "0.7",
             "--input", str(park_csv))
    assert "GF-E4" in gf and "UNVERIFIED" in gf and "/100" in gf
    gp = run("green-park", "--year", "2024", "--input", str(park_csv))
    assert "GI " in gp and "UNVERIFIED" in gp


def test_macc_pathway_project(park_csv: Path, tmp_path: Path) -> None:
    opts = tmp_path / "options.csv"
    opts.write_text("option_id,enterprise_id,measure_id,size\nf,BIG,FAN-VSD,300\npv,BIG,PV-ROOF,2000\n"
                    "hp,MID,BOIL-HP,500\n", encoding="utf-8")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"electricity": 0.7, "natural_gas": 3.5}), encoding="utf-8")
    out = run("macc", "--options", str(opts), "--prices", str(prices))
    assert "风机变频改造" in out and "屋顶分布式光伏" in out
    sc = tmp_path / "scenario.json"
    sc.write_text(json.dumps({"name": "pv", "end_year": 2030, "added_value_growth_frac": 0.05,
                              "intensity_improvement_frac": 0.03, "grid_ef_tco2_per_mwh": {"2024": 0.5703},
                              "pv": [{"year": 2026, "capacity_kwp": 5000, "yield_kwh_per_kwp": 1150}],
                              "measures": [{"name": "motors", "start_year": 2026, "energy_saving_tce_per_yr": 500}]}),
                  encoding="utf-8")
    pw = run("pathway", "--scenario", str(sc), "--base-year", "2024", "--input", str(park_csv))
    assert "carbon_peak_pilot:energy_intensity: first year missed" in pw
    pj = tmp_path / "project.json"
    pj.write_text(json.dumps({"project_id": "P1", "name": "new furnace", "added_value_10k_cny_per_yr": 1000,
                              "lines": [{"carrier": "electricity", "quantity_per_yr": 2e7},
                                        {"carrier": "natural_gas", "quantity_per_yr": 1e6}]}), encoding="utf-8")
    pr = run("project", "--project", str(pj), "--year", "2024", "--remaining-budget", "1000", "--input", str(park_csv))
    assert "raises the park intensity" in pr and "exceeds" in pr


def test_plan_tracking(tmp_path: Path) -> None:
    items = tmp_path / "plan.csv"
    items.write_text("option_id,measure_id,size,start\nfan,FAN-VSD,400,2025-03\npump,PUMP-VSD,100,2025-10\n",
                     encoding="utf-8")
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"electricity": 0.7}), encoding="utf-8")
    measured = tmp_path / "measured.csv"
    lines = ["option_id,month,saving_tce"] + [f"fan,2025-{k:02d},1.0" for k in range(3, 7)] + ["fan,2025-07,"]
    measured.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = runner.invoke(app, [
        "targets", "plan", "--enterprise", "BIG", "--items", str(items), "--prices", str(prices),
        "--measured", str(measured), "--through", "2025-06"]).output
    # 400 kW × 3 200 h × 25 % = 320 MWh/yr; at 0.1229 tce/MWh ≈ 39.3 tce/yr ≈ 3.28 tce/month; measured 1 tce/month
    assert "behind" in out and "not_started" in out and "风机变频改造" in out
    out2 = runner.invoke(app, ["targets", "plan", "--enterprise", "BIG", "--items", str(items), "--prices", str(prices),
                               "--measured", str(measured), "--through", "2025-07"]).output
    assert "no_data (missing 2025-07)" in out2


def test_errors_are_library_errors(park_csv: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["targets", "warnings", "--as-of", "2025-04", "--input", str(park_csv)])
    assert isinstance(res.exception, InputError)  # neither --budgets nor --park-budget
    bad = tmp_path / "s.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    res = runner.invoke(app, ["targets", "pathway", "--scenario", str(bad), "--base-year", "2024", "--input", str(park_csv)])
    assert isinstance(res.exception, TemplateError)
