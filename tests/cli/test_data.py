"""`parkcarbon data` commands end to end on a temporary SQLite store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from parkcarbon.cli.main import app


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKCARBON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args: str):
    return CliRunner().invoke(app, ["data", *args], catch_exceptions=False)


def test_data_commands(env):
    r = _run("init")
    assert r.exit_code == 0 and "revision" in r.output
    assert _run("template", "monthly", "-o", "m.xlsx").exit_code == 0 and (env / "m.xlsx").exists()
    from parkcarbon.storage import open_store

    st = open_store()
    with st.transaction() as repo:
        repo.add_enterprise(name="精锻公司", enterprise_id="E01")
    st.dispose()
    (env / "meters.csv").write_text("表计编号,企业,能源品种,计量单位,类型,用途,采集间隔（秒）\nM1,精锻公司,电力,kWh,区间,电网购入,900\n",
                                    encoding="utf-8")
    r = _run("import", "meters.csv", "--tenant", "E01")
    assert r.exit_code == 0 and "as meters" in r.output
    (env / "r.csv").write_text("表计编号,时间,读数\nM1,2025-03-01 00:00,5\nM1,2025-03-01 00:15,7\n", encoding="utf-8")
    r = _run("readings", "r.csv", "--tenant", "E01", "--naive-tz", "Asia/Shanghai")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.splitlines()[0])["inserted"] == 2
    (env / "s.csv").write_text("企业,月份,能源品种,计量单位,购进量\n精锻公司,2025-03,电力,kWh,1000\n", encoding="utf-8")
    r = _run("import", "s.csv")
    assert r.exit_code == 0 and "as monthly" in r.output
    r = _run("quality", "--enterprise", "E01", "--month", "2025-03")
    assert r.exit_code == 0 and "DQ-DAY-MONTH" in r.output  # 12 kWh of meter data vs 1000 kWh reported
    (env / "replay.jsonl").write_text(json.dumps({"tenant": "E01", "readings": [
        {"meter": "M1", "ts": "2025-03-01T00:15:00+08:00", "value": 7}]}) + "\n", encoding="utf-8")
    r = _run("replay", "replay.jsonl")
    assert r.exit_code == 0 and json.loads(r.output)["duplicates"] == 1
    r = _run("backup", "b.sqlite")
    assert r.exit_code == 0 and (env / "b.sqlite").exists()


def test_rejected_import_prints_located_errors_and_exits_2(env):
    _run("init")
    (env / "bad.csv").write_text("企业,月份,能源品种,计量单位,购进量\n无名,2025-13,电力,furlong,abc\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["data", "import", "bad.csv", "--kind", "monthly"])
    assert r.exit_code == 2
    out = r.output
    assert "E-PERIOD" in out and "E-QTY" in out and "bad.csv" in out and "月份" in out
