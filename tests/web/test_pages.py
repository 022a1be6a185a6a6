"""Dashboard pages through the API's app (TestClient): roles, numbers = API = XLSX = PDF,
uploads with errors in place, verification flow, CSRF, language."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from webdemo import ENTERPRISE, OTHER_ENTERPRISE, PARK_ID, YEAR, login


@pytest.fixture(scope="module")
def client(web_app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(web_app) as c:
        yield c


def _as(web_app, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(web_app)
    login(c, role)
    return c


def _value(html: str, testid: str) -> float:
    m = re.search(rf'data-testid="{testid}" data-value="([^"]+)"', html)
    assert m, f"{testid} not on the page"
    return float(m.group(1))


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m
    return m.group(1)


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    r = client.get(f"/web/parks/{PARK_ID}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/web/login?next=")
    assert client.get("/web/login").status_code == 200
    bad = client.post("/web/login", data={"username": "park-admin", "password": "wrong password!!"})
    assert bad.status_code == 401 and 'data-testid="login-error"' in bad.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/web/"


def test_open_redirect_is_refused(web_app) -> None:  # type: ignore[no-untyped-def]
    from webdemo import PASSWORD, USERS

    c = TestClient(web_app)
    r = c.post("/web/login", data={"username": USERS["park_admin"], "password": PASSWORD,
                                   "next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/web/"


def test_park_numbers_equal_api_xlsx_and_pdf(web_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "park_admin")
    assert c.get("/web/", follow_redirects=False).headers["location"] == f"/web/parks/{PARK_ID}"
    page = c.get(f"/web/parks/{PARK_ID}?year={YEAR}")
    assert page.status_code == 200
    energy = _value(page.text, "kpi-energy")
    loc = _value(page.text, "kpi-co2-location")
    api = c.get(f"/api/v1/parks/{PARK_ID}/inventory?year={YEAR}").json()["totals"]
    assert energy == api["energy_tce"] and loc == api["total_location_tco2"]
    assert _value(page.text, "kpi-co2-market") == api["total_market_tco2"]
    assert 'data-testid="drill-E001"' in page.text and 'data-chart="flow"' in page.text
    # every demo year can be accounted under the declared choices (2020 with the ETS reporting factor)
    assert 'data-testid="skipped-years"' not in page.text
    assert '"years": [2020, 2021, 2022, 2023, 2024, 2025]' in page.text
    assert 'data-testid="budgets"' in page.text
    from openpyxl import load_workbook

    x = c.get(f"/web/parks/{PARK_ID}/report.xlsx?year={YEAR}")
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxml")
    wb = load_workbook(io.BytesIO(x.content), read_only=True)
    assert "Targets" in wb.sheetnames  # the park's target milestones are in the report
    ws = wb["Yearly"]
    rows = [r for r in ws.iter_rows(values_only=True) if r and r[0] == YEAR]
    assert rows and rows[0][1] == pytest.approx(energy, rel=1e-12)
    if shutil.which("chromium") and shutil.which("pdftotext"):
        pdf = c.get(f"/web/parks/{PARK_ID}/report.pdf?year={YEAR}")
        assert pdf.content.startswith(b"%PDF")
        (tmp_path / "p.pdf").write_bytes(pdf.content)
        text = subprocess.run(["pdftotext", str(tmp_path / "p.pdf"), "-"], capture_output=True, check=True).stdout
        assert f"{energy:,.0f} tce".encode() in text and "能源与碳排放清单报告".encode() in text


def test_enterprise_page_equals_api(web_app) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "enterprise_manager")
    assert c.get("/web/", follow_redirects=False).headers["location"] == f"/web/enterprises/{ENTERPRISE}"
    page = c.get(f"/web/enterprises/{ENTERPRISE}?year={YEAR}")
    assert page.status_code == 200 and 'data-testid="ledger"' in page.text
    api = c.get(f"/api/v1/enterprises/{ENTERPRISE}/inventory?year={YEAR}").json()["totals"]
    assert _value(page.text, "ent-energy") == api["energy_tce"]
    assert _value(page.text, "ent-co2-location") == api["total_location_tco2"]
    assert _value(page.text, "ent-co2-market") == api["total_market_tco2"]
    x = c.get(f"/web/enterprises/{ENTERPRISE}/report.xlsx?year={YEAR}")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(x.content), read_only=True)["Results"]
    values = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r and isinstance(r[0], str)}
    assert values["排放总量(基于市场) Total market-based"] == pytest.approx(api["total_market_tco2"], rel=1e-12)
    html = c.get(f"/web/enterprises/{ENTERPRISE}/report.html?year={YEAR}").text
    assert "报告主体基本信息" in html and "数据质量管理" in html


def test_tenancy_on_pages(web_app) -> None:  # type: ignore[no-untyped-def]
    other = _as(web_app, "other_manager")
    assert other.get(f"/web/enterprises/{ENTERPRISE}").status_code == 404
    assert other.get(f"/web/enterprises/{ENTERPRISE}/report.pdf").status_code == 404
    assert other.get(f"/web/parks/{PARK_ID}").status_code == 404
    mgr = _as(web_app, "enterprise_manager")
    assert mgr.get(f"/web/parks/{PARK_ID}/report.xlsx").status_code == 404
    prov = _as(web_app, "provincial_operator")
    page = prov.get(f"/web/parks/{PARK_ID}")
    assert page.status_code == 200 and 'data-testid="enterprises"' not in page.text
    assert 'data-testid="drill-E001"' not in page.text and '"enterprises": []' in page.text
    assert prov.get(f"/web/parks/{PARK_ID}/report.xlsx").status_code == 403
    assert prov.get(f"/web/enterprises/{ENTERPRISE}").status_code == 404


def _bad_csv() -> bytes:
    head = "企业,月份,能源品种,计量单位,购进量,消费量\n"
    rows = [f"{ENTERPRISE},2026-01,电力,kWh,1000,\n", f"{ENTERPRISE},2026-13,电力,kWh,1000,\n",
            f"{ENTERPRISE},2026-02,unobtainium,t,,5\n"]
    return (head + "".join(rows)).encode("utf-8")


def test_upload_with_errors_shows_them_in_place(web_app) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "enterprise_manager")
    page = c.get("/web/data")
    assert page.status_code == 200 and f'value="ent:{ENTERPRISE}"' in page.text
    assert f'value="ent:{OTHER_ENTERPRISE}"' not in page.text
    token = _csrf(page.text)
    r = c.post("/web/data/upload", data={"csrf_token": token, "kind": "monthly", "target": f"ent:{ENTERPRISE}"},
               files={"file": ("bad.csv", _bad_csv(), "text/csv")})
    assert r.status_code == 422
    assert 'data-testid="error-list"' in r.text and 'data-testid="error-grid"' in r.text
    marked = re.findall(r'data-error="(\d+):(\d+)"', r.text)
    assert {row for row, _ in marked} >= {"3", "4"}  # the bad month (row 3) and the bad carrier (row 4)
    assert "unobtainium" in r.text
    good = ("企业,月份,能源品种,计量单位,购进量,消费量\n" f"{ENTERPRISE},2026-01,电力,kWh,1000,\n").encode()
    ok = c.post("/web/data/upload", data={"csrf_token": token, "kind": "monthly", "target": f"ent:{ENTERPRISE}"},
                files={"file": ("good.csv", good, "text/csv")})
    assert ok.status_code == 200 and 'data-testid="upload-ok"' in ok.text
    forged = c.post("/web/data/upload", data={"csrf_token": "forged", "kind": "monthly",
                                              "target": f"ent:{ENTERPRISE}"},
                    files={"file": ("good.csv", good, "text/csv")})
    assert forged.status_code == 403 and "E-CSRF" in forged.text
    foreign = c.post("/web/data/upload", data={"csrf_token": token, "kind": "monthly",
                                               "target": f"ent:{OTHER_ENTERPRISE}"},
                     files={"file": ("good.csv", good, "text/csv")})
    assert foreign.status_code == 404


def test_templates_and_registers(web_app) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "park_admin")
    t = c.get("/web/templates/monthly.xlsx")
    assert t.status_code == 200 and t.content[:2] == b"PK"
    reg = c.get("/web/registers")
    assert reg.status_code == 200 and 'data-testid="enterprise-register"' in reg.text and ENTERPRISE in reg.text
    flow = c.get(f"/web/parks/{PARK_ID}/flow?year={YEAR}&top=5")
    assert flow.status_code == 200 and "其他企业 Other enterprises" in flow.text


def test_verification_flow_by_roles(web_app) -> None:  # type: ignore[no-untyped-def]
    month = f"{YEAR}-03"
    mgr = _as(web_app, "enterprise_manager")
    page = mgr.get(f"/web/verification?enterprise={ENTERPRISE}&year={YEAR}")
    assert f'data-testid="submit-{month}"' in page.text and f'data-testid="verify-{month}"' not in page.text
    r = mgr.post(f"/web/verification/{ENTERPRISE}/{month}/submit", data={"csrf_token": _csrf(page.text)},
                 follow_redirects=False)
    assert r.status_code == 303
    ver = _as(web_app, "verifier")
    assert ver.get("/web/", follow_redirects=False).headers["location"] == "/web/verification"
    vpage = ver.get(f"/web/verification?enterprise={ENTERPRISE}&year={YEAR}")
    assert f'data-testid="status-{month}">submitted' in vpage.text and f'data-testid="verify-{month}"' in vpage.text
    r = ver.post(f"/web/verification/{ENTERPRISE}/{month}/verify", data={"csrf_token": _csrf(vpage.text)},
                 follow_redirects=False)
    assert r.status_code == 303
    boss = _as(web_app, "park_admin")
    bpage = boss.get(f"/web/verification?enterprise={ENTERPRISE}&year={YEAR}")
    assert f'data-testid="lock-{month}"' in bpage.text
    r = boss.post(f"/web/verification/{ENTERPRISE}/{month}/lock", data={"csrf_token": _csrf(bpage.text)})
    assert r.status_code == 200 and f'data-testid="status-{month}">locked' in r.text
    again = boss.post(f"/web/verification/{ENTERPRISE}/{month}/lock", data={"csrf_token": _csrf(bpage.text)})
    assert again.status_code == 409  # locked is final


def test_language_switch_and_logout(web_app) -> None:  # type: ignore[no-untyped-def]
    c = _as(web_app, "enterprise_manager")
    zh = c.get(f"/web/enterprises/{ENTERPRISE}")
    assert "综合能耗" in zh.text
    c.get("/web/lang/en?next=/web/")
    en = c.get(f"/web/enterprises/{ENTERPRISE}")
    assert "Energy consumption" in en.text and "综合能耗" not in en.text
    out = c.post("/web/logout", data={"csrf_token": _csrf(en.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert c.get(f"/web/enterprises/{ENTERPRISE}", follow_redirects=False).status_code == 303


def test_mount_is_idempotent(web_app) -> None:  # type: ignore[no-untyped-def]
    from parkcarbon.web import mount_web

    n = len(web_app.routes)
    mount_web(web_app)
    assert len(web_app.routes) == n
    assert web_app.state.park_energy_budgets_tce == {PARK_ID: 280_000.0}
    with TestClient(web_app) as c:
        js = c.get("/web/static/dashboard.js")
        assert js.status_code == 200 and "echarts.init" in js.text
        vendor = c.get("/web/static/vendor/echarts.min.js")
        assert vendor.status_code == 200 and len(vendor.content) > 500_000  # built by `make web-assets`
