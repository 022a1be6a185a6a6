"""SEC-01 / SEC-02: the authorization matrix, generated from the OpenAPI operation list.

Every OpenAPI operation × every role (anonymous, platform admin, park admin of A, manager,
viewer and verifier of A1, provincial operator) × every object relation (own enterprise A1,
another enterprise A2 of the same park, an enterprise B1 of another park; park A / park B) is
called with a seeded object of that relation. The expected answer comes from the policy class
of the operation: allowed → anything but 401/403/404/5xx (a 409/422 still proves access was
granted: authorization is checked before the state); denied → exactly 404 for an object the
role cannot see (identical to a missing id) and 403 for a visible object with a forbidden
action; anonymous → 401. A meta-test fails if an operation is missing from the matrix.
A second sweep (SEC-02) checks that no response of a foreign request contains a byte of the
foreign object (its id) and that foreign and non-existent ids give identical bodies.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api_helpers import PASSWORD, World, make_api

ROLES = ("anonymous", "province", "viewer_a1", "verifier_a1", "manager_a1", "admin_a", "root")
VIS_E = {"root": {"A1", "A2", "B1"}, "admin_a": {"A1", "A2"}, "manager_a1": {"A1"}, "viewer_a1": {"A1"},
         "verifier_a1": {"A1"}, "province": set(), "anonymous": set()}
VIS_P = {"root": {"A", "B"}, "admin_a": {"A"}, "province": {"A", "B"}}
WRITERS = {"root", "admin_a", "manager_a1"}
ADMINS = {"root", "admin_a"}
_counter = itertools.count()


def _uniq() -> int:
    return next(_counter)


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    policy: str  # see expected()
    targets: tuple[str, ...] = ("-",)
    build: Callable[[World, str, str], dict[str, Any]] | None = None
    path_args: Callable[[World, str, str], dict[str, str]] | None = None
    needs_accounting: bool = False


def expected(policy: str, role: str, target: str) -> int | None:
    """None = allowed; otherwise the exact denial status."""
    if policy == "public":
        return None
    if role == "anonymous":
        return 401
    if policy.startswith("e_"):
        if target not in VIS_E[role]:
            return 404
        allowed = {"e_read": True, "e_write": role in WRITERS, "e_admin": role in ADMINS,
                   "e_verify": role == "verifier_a1", "e_return": role in ADMINS | {"verifier_a1"}}[policy]
        return None if allowed else 403
    if policy.startswith("p_"):
        visible = target in VIS_P.get(role, set())
        if policy == "p_list":
            visible = visible or (target == "A" and bool(VIS_E[role] & {"A1", "A2"}))
            return None if visible else 404
        if not visible:
            return 404
        if policy == "p_read":
            return None
        return None if (role == "root" or (role == "admin_a" and target == "A")) else 403
    if policy == "g_any":
        return None
    if policy == "g_platform":
        return None if role == "root" else 403
    if policy == "g_admins":
        return None if role in ADMINS else 403
    if policy == "g_audit":
        return None if role != "province" else 403
    if policy == "self":
        return None if target == "own" else 404
    raise AssertionError(policy)


E3 = ("A1", "A2", "B1")
P2 = ("A", "B")


def ent(w: World, t: str, _r: str) -> dict[str, str]:
    return {"enterprise_id": w.enterprises[t]}


def park(w: World, t: str, _r: str) -> dict[str, str]:
    return {"park_id": w.parks[t]}


def _json(body: dict[str, Any]) -> Callable[[World, str, str], dict[str, Any]]:
    return lambda w, t, r: {"json": body}


def _csv(_w: World, _t: str, _r: str) -> dict[str, Any]:
    return {"files": {"file": ("x.csv", b"not,a,template\n1,2,3\n", "text/csv")}}


def _pdf(_w: World, t: str, _r: str) -> dict[str, Any]:
    return {"files": {"file": ("scan.pdf", f"%PDF-1.4 evidence {t} {_uniq()}".encode(), "application/pdf")}}


def _readings(w: World, t: str, _r: str) -> dict[str, Any]:
    n = _uniq()
    return {"json": {"readings": [{"meter": f"M-{t}", "ts": f"2024-04-01T{n % 24:02d}:00:00+08:00", "value": 10.0 + n}]},
            "headers": {"Idempotency-Key": f"k-{n}"}}


#: a small PV yield plan (hourly, one year, clear-sky calibrated: ~0.1 s)
PV_PLAN = {"pv": {"latitude_deg": 32.0, "longitude_deg": 118.8, "tilt_deg": 25.0, "capacity_kwp": 50.0}, "year": 2024}

OPS: list[Op] = [
    Op("GET", "/api/v1/health", "public"),
    Op("POST", "/api/v1/auth/login", "public",
       build=lambda w, t, r: {"json": {"username": "viewer_a1", "password": PASSWORD}}),
    Op("POST", "/api/v1/auth/logout", "g_any", build=_json({})),
    Op("GET", "/api/v1/auth/me", "g_any"),
    Op("POST", "/api/v1/auth/password", "g_any",
       build=lambda w, t, r: {"json": {"old_password": PASSWORD, "new_password": "another long password"}}),
    Op("GET", "/api/v1/tokens", "g_any"),
    Op("POST", "/api/v1/tokens", "g_any", build=_json({"name": "ci"})),
    Op("DELETE", "/api/v1/tokens/{token_id}", "self", ("other", "own"),
       path_args=lambda w, t, r: {"token_id": w.token_ids[r if t == "own" and r in w.token_ids else "manager_b1"]}),
    Op("POST", "/api/v1/users", "g_admins",
       build=lambda w, t, r: {"json": {"username": f"new-{_uniq()}", "password": "a long enough password"}}),
    Op("GET", "/api/v1/users", "g_admins"),
    Op("POST", "/api/v1/users/{user_id}/memberships", "e_admin", E3,
       path_args=lambda w, t, r: {"user_id": w.users["viewer_x_a1"]},
       build=lambda w, t, r: {"json": {"role": "enterprise_viewer", "enterprise_id": w.enterprises[t]}}),
    Op("DELETE", "/api/v1/memberships/{membership_id}", "e_admin", E3,
       path_args=lambda w, t, r: {"membership_id": w.memberships[t]}),
    Op("POST", "/api/v1/verifier-assignments", "e_admin", E3,
       build=lambda w, t, r: {"json": {"user_id": w.users["verifier_a2"], "enterprise_id": w.enterprises[t],
                                       "year": 2024, "starts_on": "2024-01-01", "ends_on": "2024-12-31"}}),
    Op("DELETE", "/api/v1/verifier-assignments/{assignment_id}", "e_admin", E3,
       path_args=lambda w, t, r: {"assignment_id": w.assignments[t]}),
    Op("GET", "/api/v1/parks", "g_any"),
    Op("POST", "/api/v1/parks", "g_platform",
       build=lambda w, t, r: {"json": {"code": f"P{_uniq()}", "name": "新园区", "province": "江苏"}}),
    Op("GET", "/api/v1/parks/{park_id}", "p_read", P2, path_args=park),
    Op("GET", "/api/v1/parks/{park_id}/dashboard", "p_read", P2, path_args=park,
       build=lambda w, t, r: {"params": {"year": 2024}}),
    Op("GET", "/api/v1/parks/{park_id}/inventory", "p_read", P2, path_args=park,
       build=lambda w, t, r: {"params": {"year": 2024}}, needs_accounting=True),
    Op("GET", "/api/v1/parks/{park_id}/report", "p_admin", P2, path_args=park,
       build=lambda w, t, r: {"params": {"year": 2024}}, needs_accounting=True),
    Op("POST", "/api/v1/parks/{park_id}/uploads", "p_admin", P2, path_args=park,
       build=lambda w, t, r: {**_csv(w, t, r), "params": {"kind": "monthly"}}),
    Op("GET", "/api/v1/enterprises", "p_list", P2, build=lambda w, t, r: {"params": {"park_id": w.parks[t]}}),
    Op("POST", "/api/v1/enterprises", "p_admin", P2,
       build=lambda w, t, r: {"json": {"park_id": w.parks[t], "name": f"新企业{_uniq()}"}}),
    Op("GET", "/api/v1/enterprises/{enterprise_id}", "e_read", E3, path_args=ent),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/dashboard", "e_read", E3, path_args=ent,
       build=lambda w, t, r: {"params": {"year": 2024}}),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/inventory", "e_read", E3, path_args=ent,
       build=lambda w, t, r: {"params": {"year": 2024}}, needs_accounting=True),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/meters", "e_read", E3, path_args=ent),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/meters", "e_write", E3, path_args=ent,
       build=lambda w, t, r: {"json": {"code": f"N{_uniq()}", "carrier": "electricity", "unit": "kWh",
                                       "kind": "interval", "interval_s": 900}}),
    Op("GET", "/api/v1/meters/{meter_id}", "e_read", E3, path_args=lambda w, t, r: {"meter_id": w.meters[t]}),
    Op("GET", "/api/v1/meters/{meter_id}/readings", "e_read", E3,
       path_args=lambda w, t, r: {"meter_id": w.meters[t]}),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/readings", "e_write", E3, path_args=ent, build=_readings),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/uploads", "e_write", E3, path_args=ent,
       build=lambda w, t, r: {**_csv(w, t, r), "params": {"kind": "monthly"}}),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/quality", "e_read", E3, path_args=ent),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/quality/checks", "e_read", E3, path_args=ent,
       build=lambda w, t, r: {"params": {"month": "2024-02"}}),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/ledger", "e_read", E3, path_args=ent),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/periods", "e_read", E3, path_args=ent,
       build=lambda w, t, r: {"params": {"year": 2024}}),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/periods/{month}/submit", "e_write", E3,
       path_args=lambda w, t, r: {**ent(w, t, r), "month": "2024-02"}, build=_json({})),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/periods/{month}/return", "e_return", E3,
       path_args=lambda w, t, r: {**ent(w, t, r), "month": "2024-01"}, build=_json({"comment": "please fix"})),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/periods/{month}/verify", "e_verify", E3,
       path_args=lambda w, t, r: {**ent(w, t, r), "month": "2024-01"}, build=_json({})),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/periods/{month}/lock", "e_admin", E3,
       path_args=lambda w, t, r: {**ent(w, t, r), "month": "2024-01"}, build=_json({})),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/corrections", "e_read", E3, path_args=ent),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/periods/{month}/corrections", "e_write", E3,
       path_args=lambda w, t, r: {**ent(w, t, r), "month": "2024-01"},
       build=_json({"reason": "typo", "root_cause": "manual entry",
                    "records": [{"carrier": "electricity", "flow": "purchased", "quantity": 1.0}]})),
    Op("POST", "/api/v1/corrections/{correction_id}/evidence", "e_write", E3,
       path_args=lambda w, t, r: {"correction_id": w.corrections[t]}, build=_pdf),
    Op("POST", "/api/v1/corrections/{correction_id}/approve", "e_admin", E3,
       path_args=lambda w, t, r: {"correction_id": w.corrections[t]}),
    Op("POST", "/api/v1/corrections/{correction_id}/reject", "e_admin", E3,
       path_args=lambda w, t, r: {"correction_id": w.corrections[t]}, build=_json({"reason": "not justified"})),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/evidence", "e_read", E3, path_args=ent),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/periods/{month}/evidence", "e_write", E3,
       path_args=lambda w, t, r: {**ent(w, t, r), "month": "2024-02"}, build=_pdf),
    Op("GET", "/api/v1/evidence/{evidence_id}", "e_read", E3,
       path_args=lambda w, t, r: {"evidence_id": w.evidence[t]}),
    Op("GET", "/api/v1/evidence/{evidence_id}/check", "e_read", E3,
       path_args=lambda w, t, r: {"evidence_id": w.evidence[t]}),
    Op("GET", "/api/v1/evidence/{evidence_id}/content", "e_read", E3,
       path_args=lambda w, t, r: {"evidence_id": w.evidence[t]}),
    Op("DELETE", "/api/v1/evidence/{evidence_id}", "e_write", E3,
       path_args=lambda w, t, r: {"evidence_id": w.evidence[t]}, build=lambda w, t, r: {"params": {"reason": "dup"}}),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/findings", "e_read", E3, path_args=ent),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/findings", "e_verify", E3, path_args=ent,
       build=_json({"year": 2024, "kind": "finding", "text": "meter M1 calibration overdue"})),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/results", "e_read", E3, path_args=ent,
       build=lambda w, t, r: {"params": {"year": 2024}}),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/results", "e_write", E3, path_args=ent,
       build=_json({"months": ["2024-03"]})),
    Op("POST", "/api/v1/recalculations", "p_admin", P2,
       build=lambda w, t, r: {"json": {"park_id": w.parks[t], "year": 2024, "threshold_frac": 0.05,
                                       "reason": "new grid factor"}}),
    Op("GET", "/api/v1/recalculations/{proposal_id}", "p_read", P2,
       path_args=lambda w, t, r: {"proposal_id": w.proposals[t]}),
    Op("POST", "/api/v1/recalculations/{proposal_id}/approve", "p_admin", P2,
       path_args=lambda w, t, r: {"proposal_id": w.proposals[t]}),
    Op("POST", "/api/v1/recalculations/{proposal_id}/reject", "p_admin", P2,
       path_args=lambda w, t, r: {"proposal_id": w.proposals[t]}, build=_json({"reason": "wait for review"})),
    Op("POST", "/api/v1/enterprises/{enterprise_id}/plans/{kind}", "e_write", E3,
       path_args=lambda w, t, r: {**ent(w, t, r), "kind": "pv"}, build=_json(PV_PLAN)),
    Op("POST", "/api/v1/parks/{park_id}/plans/{kind}", "p_admin", P2,
       path_args=lambda w, t, r: {**park(w, t, r), "kind": "pv"}, build=_json(PV_PLAN)),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/plans", "e_read", E3, path_args=ent),
    Op("GET", "/api/v1/parks/{park_id}/plans", "p_read", P2, path_args=park),
    Op("GET", "/api/v1/plans/{plan_id}", "e_read", E3, path_args=lambda w, t, r: {"plan_id": w.plans[t]}),
    Op("GET", "/api/v1/plans/{plan_id}", "p_read", P2, path_args=lambda w, t, r: {"plan_id": w.park_plans[t]}),
    Op("GET", "/api/v1/plans/{plan_id}/schedule", "e_read", E3, path_args=lambda w, t, r: {"plan_id": w.plans[t]},
       build=lambda w, t, r: {"params": {"format": "csv"}}),
    Op("GET", "/api/v1/plans/{plan_id}/schedule", "p_read", P2,
       path_args=lambda w, t, r: {"plan_id": w.park_plans[t]}),
    # targets, budgets, warnings (routes_targets)
    Op("GET", "/api/v1/parks/{park_id}/targets", "p_read", P2, path_args=park),
    Op("POST", "/api/v1/parks/{park_id}/targets", "p_admin", P2, path_args=park, build=_json(
        {"indicator": "energy_total_tce", "base_year": 2023, "milestones": [{"year": 2025, "reduction_frac": 0.05}],
         "source": "park plan"})),
    Op("POST", "/api/v1/parks/{park_id}/targets/import", "p_admin", P2, path_args=park,
       build=_json({"set_id": "carbon_peak_pilot", "target_year": 2030})),
    Op("DELETE", "/api/v1/parks/{park_id}/targets/{target_id}", "p_admin", P2,
       path_args=lambda w, t, r: {**park(w, t, r), "target_id": w.targets[t]}),
    Op("GET", "/api/v1/parks/{park_id}/targets/progress", "p_read", P2, path_args=park,
       build=lambda w, t, r: {"params": {"through": "2024-03"}}, needs_accounting=True),
    Op("PUT", "/api/v1/parks/{park_id}/budgets/{year}", "p_admin", P2,
       path_args=lambda w, t, r: {**park(w, t, r), "year": "2025"}, build=_json({"park_budget_qty": 1000.0}),
       needs_accounting=True),
    Op("GET", "/api/v1/parks/{park_id}/budgets", "p_list", P2, path_args=park),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/budgets", "e_read", E3, path_args=ent),
    Op("PUT", "/api/v1/parks/{park_id}/warning-thresholds", "p_admin", P2, path_args=park,
       build=_json({"yellow_frac": 0.85, "orange_frac": 0.95, "red_frac": 1.0, "source": "park decision"})),
    Op("POST", "/api/v1/parks/{park_id}/warnings/check", "p_admin", P2, path_args=park,
       build=_json({"as_of": "2024-03"})),
    Op("GET", "/api/v1/parks/{park_id}/warnings", "p_list", P2, path_args=park),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/warnings", "e_read", E3, path_args=ent),
    Op("GET", "/api/v1/parks/{park_id}/webhooks", "p_admin", P2, path_args=park),
    Op("POST", "/api/v1/parks/{park_id}/webhooks", "p_admin", P2, path_args=park,
       build=_json({"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"})),
    Op("DELETE", "/api/v1/parks/{park_id}/webhooks/{webhook_id}", "p_admin", P2,
       path_args=lambda w, t, r: {**park(w, t, r), "webhook_id": w.webhooks[t]}),
    Op("GET", "/api/v1/parks/{park_id}/zero-carbon", "p_read", P2, path_args=park,
       build=lambda w, t, r: {"params": {"year": 2024}}, needs_accounting=True),
    Op("GET", "/api/v1/parks/{park_id}/key-units", "p_admin", P2, path_args=park,
       build=lambda w, t, r: {"params": {"year": 2024}}, needs_accounting=True),
    Op("GET", "/api/v1/enterprises/{enterprise_id}/green-factory", "e_read", E3, path_args=ent,
       build=lambda w, t, r: {"params": {"year": 2024}}, needs_accounting=True),
    Op("GET", "/api/v1/factor-sets", "g_any"),
    Op("GET", "/api/v1/factor-sets/{set_id}", "g_any", path_args=lambda w, t, r: {"set_id": "gbt2589"},
       build=lambda w, t, r: {"params": {"limit": 5}}),
    Op("GET", "/api/v1/audit", "g_audit"),
    Op("GET", "/api/v1/audit/verify", "g_platform"),
]

# the own-park administrator of a proposal cannot approve it when they proposed it: proposals are by admin_a2


def _accounting_ready() -> bool:
    from parkcarbon.storage import Repository

    return hasattr(Repository, "process_inputs")


def test_every_openapi_operation_is_in_the_matrix(api):
    spec = api.client.app.openapi()
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    in_matrix = {(o.method, o.path) for o in OPS}
    assert documented - in_matrix == set(), "operations missing from the authorization matrix"
    assert in_matrix - documented == set(), "matrix rows for operations that do not exist"


def _call(api, op: Op, role: str, target: str) -> Any:
    w = api.world
    path = op.path.format(**(op.path_args(w, target, role) if op.path_args else {}))
    kw = op.build(w, target, role) if op.build else {}
    user = None if role == "anonymous" else role
    return api.client.request(op.method, path, headers={**api.h(user), **kw.pop("headers", {})}, **kw)


@pytest.mark.parametrize("op", OPS, ids=[f"{o.method} {o.path}" for o in OPS])
def test_authorization_matrix(op: Op, world_template: World, tmp_path: Path) -> None:
    if op.needs_accounting and not _accounting_ready():
        pytest.skip("accounting service needs Repository.process_inputs (storage part, in progress)")
    unexpected: list[str] = []
    # denied roles first (they change nothing), then the allowed ones from least to most privileged
    combos = [(r, t) for t in op.targets for r in ROLES]
    combos.sort(key=lambda rt: (expected(op.policy, rt[0], rt[1]) is None, ROLES.index(rt[0])))
    per_role_copy = op.method == "DELETE" and any(k in op.path for k in ("evidence", "targets", "webhooks"))
    gen = make_api(world_template, tmp_path / "w")
    api = next(gen)
    try:
        for i, (role, target) in enumerate(combos):
            if per_role_copy and expected(op.policy, role, target) is None:
                next(gen, None)
                gen = make_api(world_template, tmp_path / f"w{i}")
                api = next(gen)
            want = expected(op.policy, role, target)
            r = _call(api, op, role, target)
            got = r.status_code
            ok = (got not in (401, 403, 404) and got < 500) if want is None else got == want
            if not ok:
                unexpected.append(f"{role} on {target}: want {'allow' if want is None else want}, got {got} "
                                  f"{r.text[:160]}")
    finally:
        next(gen, None)
    assert not unexpected, "\n".join(unexpected)


FOREIGN_READS = [o for o in OPS if o.method == "GET" and o.policy.startswith("e_") and not o.needs_accounting]


def test_cross_tenant_reads_leak_nothing_and_match_missing_ids(api):
    """SEC-02: manager A1 asks for every B1/A2 object: 404, no foreign id in the body, same as a random id."""
    w = api.world
    tried = 0
    for op in FOREIGN_READS:
        for target in ("A2", "B1"):
            r = _call(api, op, "manager_a1", target)
            tried += 1
            assert r.status_code == 404, (op.path, target, r.text)
            args = op.path_args(w, target, "manager_a1") if op.path_args else {}
            asked = set(args.values())
            foreign = {w.enterprises[target], w.meters[target], w.evidence[target], w.corrections[target],
                       w.plans[target], f"企业{target}", f"M-{target}"} - asked
            leaked = [x for x in foreign if x in r.text]
            assert not leaked, (op.path, target, leaked)
            body = r.json()
            assert body["code"] == "E-NOTFOUND"
            # identical status and body for a non-existent id (only the echoed id differs)
            missing = {k: "00000000-0000-4000-8000-000000000000" for k in args}
            path = op.path.format(**missing)
            kw = op.build(w, target, "manager_a1") if op.build else {}
            r2 = api.client.request("GET", path, headers=api.h("manager_a1"), **kw)
            assert r2.status_code == 404
            b2 = r2.json()
            strip = {"detail", "message_zh", "request_id"}
            assert {k: v for k, v in body.items() if k not in strip} == {k: v for k, v in b2.items() if k not in strip}
    # lists filtered: manager A1 never sees another tenant's ids
    for path in ("/api/v1/enterprises", "/api/v1/parks", "/api/v1/audit?limit=1000"):
        text = api.get(path, "manager_a1").text
        for target in ("A2", "B1"):
            assert w.enterprises[target] not in text
    assert tried >= 2 * len(FOREIGN_READS)

