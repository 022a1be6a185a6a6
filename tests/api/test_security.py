"""SEC-03 (mass assignment), SEC-05 (verifier scoping), SEC-07 (CSRF), bad input and problem+json."""

from __future__ import annotations

import json

from api_helpers import PASSWORD
from sqlalchemy import func, select

from parkcarbon.storage.models import Enterprise, Meter, ReportingPeriod
from parkcarbon.storage.models_auth import AuditRecord

API = "/api/v1"


def _count(api, model) -> int:
    with api.store.reader() as repo:
        return int(repo.session.scalar(select(func.count()).select_from(model)))


# -- SEC-03 -----------------------------------------------------------------------------------

INJECTED = {"tenant_id": "evil", "enterprise_id": "evil", "status": "locked", "approved_by": "me",
            "verified_at": "2024-01-01T00:00:00Z", "factor_value": 0.0, "role": "platform_admin",
            "is_superuser": True, "hash": "0" * 64}


def test_mass_assignment_is_refused_and_changes_nothing(api):
    """Every injected server-owned field → 422 E-VALIDATION and no row written."""
    w = api.world
    cases = [
        ("post", f"{API}/enterprises/{w.enterprises['A1']}/meters",
         {"code": "X1", "carrier": "electricity", "unit": "kWh", "kind": "interval"}, Meter),
        ("post", f"{API}/enterprises", {"park_id": w.parks["A"], "name": "注入企业"}, Enterprise),
        ("post", f"{API}/enterprises/{w.enterprises['A1']}/periods/2024-02/submit", {}, ReportingPeriod),
    ]
    tried = effective = 0
    for method, path, body, model in cases:
        for field, value in INJECTED.items():
            before = _count(api, model)
            r = getattr(api, method)(path, "admin_a", json={**body, field: value})
            tried += 1
            assert r.status_code == 422, (path, field, r.text)
            assert r.json()["code"] == "E-VALIDATION"
            assert field in r.text
            effective += _count(api, model) != before
    assert effective == 0 and tried == len(cases) * len(INJECTED)
    # type confusion
    r = api.post(f"{API}/enterprises/{w.enterprises['A1']}/meters", "admin_a",
                 json={"code": ["x"], "carrier": 1, "unit": None, "kind": "interval"})
    assert r.status_code == 422


def test_responses_never_carry_secrets(api):
    """No password hash, token hash or session token in any user/token/audit response."""
    for path in ("/users", "/tokens", "/auth/me", "/audit?limit=1000"):
        text = api.get(API + path, "root").text
        assert "$argon2" not in text and "token_sha256" not in text and "password_hash" not in text
    with api.store.reader() as repo:
        from parkcarbon.storage.models_auth import ApiToken

        hashes = [t.token_sha256 for t in repo.session.scalars(select(ApiToken))]
    text = api.get(API + "/tokens", "root").text
    assert not any(h in text for h in hashes)


# -- SEC-05 -----------------------------------------------------------------------------------

def test_verifier_engagement_scoping_and_revocation(api):
    w = api.world
    a1 = w.enterprises["A1"]
    # read access to the engaged enterprise-year
    for path in (f"/enterprises/{a1}/ledger", f"/enterprises/{a1}/evidence", f"/audit?enterprise_id={a1}",
                 f"/evidence/{w.evidence['A1']}/content", f"/enterprises/{a1}/periods?year=2024"):
        assert api.get(API + path, "verifier_a1").status_code == 200, path
    # another year → 404 (not part of the engagement)
    assert api.get(f"{API}/enterprises/{a1}/periods?year=2023", "verifier_a1").status_code == 404
    # writes refused, except findings
    denied = [
        ("post", f"/enterprises/{a1}/meters", {"code": "V", "carrier": "electricity", "unit": "kWh", "kind": "interval"}),
        ("post", f"/enterprises/{a1}/periods/2024-02/submit", {}),
        ("post", f"/enterprises/{a1}/results", {"months": ["2024-03"]}),
        ("post", f"/enterprises/{a1}/periods/2024-01/corrections",
         {"reason": "x", "root_cause": "y", "records": [{"carrier": "electricity", "flow": "purchased", "quantity": 1}]}),
    ]
    for method, path, body in denied:
        assert getattr(api, method)(API + path, "verifier_a1", json=body).status_code == 403, path
    assert api.post(f"{API}/enterprises/{a1}/findings", "verifier_a1",
                    json={"year": 2024, "kind": "opinion", "text": "reasonable assurance"}).status_code == 201
    # a browser session of the verifier
    s = api.post(f"{API}/auth/login", json={"username": "verifier_a1", "password": PASSWORD})
    assert s.status_code == 200
    assert api.client.get(f"{API}/enterprises/{a1}/ledger").status_code == 200
    # revoke the engagement: token and session lose access at once
    assert api.delete(f"{API}/verifier-assignments/{w.assignments['A1']}", "admin_a").status_code == 204
    stale = [api.get(f"{API}/enterprises/{a1}/ledger", "verifier_a1").status_code,
             api.client.get(f"{API}/enterprises/{a1}/ledger").status_code]
    assert stale == [404, 404]


# -- SEC-07 -----------------------------------------------------------------------------------

def _login(api, user: str = "manager_a1") -> str:
    r = api.post(f"{API}/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    return str(r.json()["csrf_token"])


def test_csrf_on_cookie_sessions(api):
    csrf = _login(api)
    a1 = api.world.enterprises["A1"]
    path = f"{API}/enterprises/{a1}/meters"
    body = {"code": "C1", "carrier": "electricity", "unit": "kWh", "kind": "interval"}
    variants = [{}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
                {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}]
    accepted = 0
    for headers in variants:
        r = api.client.post(path, json=body, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["code"] == "E-CSRF"
        accepted += r.status_code < 400
    # uploads and deletes too
    r = api.client.post(f"{API}/enterprises/{a1}/periods/2024-02/evidence",
                        files={"file": ("a.pdf", b"%PDF", "application/pdf")})
    assert r.status_code == 403
    r = api.client.delete(f"{API}/evidence/{api.world.evidence['A1']}", params={"reason": "x"})
    assert r.status_code == 403
    assert accepted == 0
    # the right token from the same origin works; safe methods need no token
    ok = api.client.post(path, json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://testserver",
                                                   "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 201, ok.text
    assert api.client.get(path).status_code == 200


def test_gateway_token_is_not_accepted_from_a_cookie(api):
    api.client.cookies.set("pc_session", api.world.tokens["manager_a1"], domain="testserver")
    assert api.client.get(f"{API}/auth/me").status_code == 401


# -- bad input --------------------------------------------------------------------------------

def test_bad_input_gives_coded_4xx_and_no_partial_write(api):
    a1 = api.world.enterprises["A1"]
    path = f"{API}/enterprises/{a1}/meters"
    before = _count(api, Meter)
    h = {**api.h("manager_a1"), "Content-Type": "application/json"}
    bad = [b"{not json", b'{"code": 1', b"[]", b'{"code":"M","carrier":"electricity","unit":"kWh","kind":"bogus"}',
           b'{"code":"M","carrier":"electricity","unit":"kWh","kind":"interval","multiplier":"NaN"}',
           "\ufeff{}".encode()]
    for body in bad:
        r = api.client.post(path, content=body, headers=h)
        assert 400 <= r.status_code < 500, (body, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
        p = r.json()
        assert p["code"] and p["message_zh"] and p["type"].startswith("urn:parkcarbon:error:")
    assert _count(api, Meter) == before
    # unknown carrier → coded domain error
    r = api.post(path, "manager_a1", json={"code": "M9", "carrier": "plutonium", "unit": "kg", "kind": "interval"})
    assert r.status_code == 422 and r.json()["code"] == "E-CARRIER"


def test_oversized_body_is_refused_before_reading(api):
    limit = api.settings.upload_max_bytes + 256 * 1024
    a1 = api.world.enterprises["A1"]
    r = api.client.post(f"{API}/enterprises/{a1}/meters", content=b"x" * 16,
                        headers={**api.h("manager_a1"), "Content-Length": str(limit + 1),
                                 "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "E-BODY-SIZE"

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    r = api.client.post(f"{API}/enterprises/{a1}/meters", content=chunks(),
                        headers={**api.h("manager_a1"), "Content-Type": "application/json"})
    assert r.status_code == 413


def test_idempotency_keys(api):
    """ING-09 through the API: replay same body → same result stored once; different body → 422;
    missing key → 400; another tenant's identical key is independent."""
    w = api.world
    body = {"readings": [{"meter": "M-A1", "ts": "2024-04-01T00:00:00+08:00", "value": 5.0}]}
    url = f"{API}/enterprises/{w.enterprises['A1']}/readings"
    r1 = api.post(url, "manager_a1", json=body, headers={"Idempotency-Key": "same"})
    r2 = api.post(url, "manager_a1", json=body, headers={"Idempotency-Key": "same"})
    assert r1.status_code == 201 and r2.status_code == 200
    assert r1.json()["batch_id"] == r2.json()["batch_id"] and r2.json()["replayed"] is True
    body2 = {"readings": [{"meter": "M-A1", "ts": "2024-04-01T00:00:00+08:00", "value": 6.0}]}
    r3 = api.post(url, "manager_a1", json=body2, headers={"Idempotency-Key": "same"})
    assert r3.status_code == 422 and r3.headers["content-type"].startswith("application/problem+json")
    r4 = api.post(url, "manager_a1", json=body)
    assert r4.status_code == 400
    other = {"readings": [{"meter": "M-B1", "ts": "2024-04-01T00:00:00+08:00", "value": 5.0}]}
    r5 = api.post(f"{API}/enterprises/{w.enterprises['B1']}/readings", "manager_b1", json=other,
                  headers={"Idempotency-Key": "same"})
    assert r5.status_code == 201 and r5.json()["batch_id"] != r1.json()["batch_id"]
    with api.store.reader() as repo:
        assert repo.count_readings() == 2


def test_problem_json_and_request_id(api):
    r = api.get(f"{API}/enterprises/nope", "manager_a1", headers={"X-Request-ID": "req-123"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "req-123"
    p = r.json()
    assert p["request_id"] == "req-123" and p["status"] == 404 and p["code"] == "E-NOTFOUND"
    assert api.client.put(f"{API}/parks", headers=api.h("root")).status_code == 405
    assert api.get(f"{API}/no/such/route", "root").json()["code"] == "E-NOTFOUND"


def test_login_failures_are_audited_and_do_not_reveal_users(api):
    r1 = api.post(f"{API}/auth/login", json={"username": "manager_a1", "password": "wrong password!"})
    r2 = api.post(f"{API}/auth/login", json={"username": "nobody", "password": "wrong password!"})
    assert r1.status_code == r2.status_code == 401
    assert r1.json()["detail"] == r2.json()["detail"]
    with api.store.reader() as repo:
        outcomes = [a.outcome for a in repo.session.scalars(select(AuditRecord).where(
            AuditRecord.action == "auth.login").order_by(AuditRecord.seq))]
    assert outcomes[-2:] == ["failure", "failure"]
    assert json.loads(api.get(f"{API}/audit/verify", "root").text)["ok"] is True


def test_permission_denials_are_security_events(api):
    """SEC-10: a 403 leaves an audit record (who, IP, what, outcome) and the chain still verifies."""
    a1 = api.world.enterprises["A1"]
    r = api.post(f"{API}/enterprises/{a1}/meters", "viewer_a1", headers={"X-Request-ID": "deny-1"},
                 json={"code": "V1", "carrier": "electricity", "unit": "kWh", "kind": "interval"})
    assert r.status_code == 403
    with api.store.reader() as repo:
        rec = repo.session.scalars(select(AuditRecord).where(AuditRecord.request_id == "deny-1")).one()
    assert (rec.actor, rec.action, rec.outcome) == ("viewer_a1", "access.denied", "denied")
    assert rec.ip and f"/enterprises/{a1}/meters" in (rec.object_id or "")
    assert json.loads(api.get(f"{API}/audit/verify", "root").text)["ok"] is True


def test_quality_checks_flag_incomplete_meter_data(api):
    """The declared completeness rule (R12) is reachable through the API, scoped to the tenant."""
    w = api.world
    rd = [{"meter": "M-A1", "ts": f"2024-04-01T{h:02d}:00:00+08:00", "value": 100.0 + 10 * h} for h in range(6)]
    assert api.post(f"{API}/enterprises/{w.enterprises['A1']}/readings", "manager_a1", json={"readings": rd},
                    headers={"Idempotency-Key": "q1"}).status_code == 201
    r = api.get(f"{API}/enterprises/{w.enterprises['A1']}/quality/checks", "manager_a1", params={"month": "2024-04"})
    body = r.json()
    assert r.status_code == 200 and body["ok"] is False and body["meters_checked"] == 1
    assert [f["code"] for f in body["findings"]] == ["DQ-COMPLETENESS"]
    assert body["findings"][0]["threshold"] == 0.9 and body["findings"][0]["value"] < 0.9
    assert api.get(f"{API}/enterprises/{w.enterprises['A1']}/quality/checks", "manager_b1",
                   params={"month": "2024-04"}).status_code == 404
