"""SEC-08: Schemathesis against the OpenAPI document (in-process ASGI), reduced budget in CI.

Every operation is fuzzed from its schema (positive and negative data) as an enterprise
manager and as a verifier; no response may be a 5xx and every documented response must match
its schema (``additionalProperties: false`` on all bodies, so no undeclared field leaves the
server). CI (marker ``t2``) uses 2 examples per operation and mode (~1 min on 2 cores);
``-m t3`` runs 50 per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_helpers import World, make_api
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def fuzz_api(world_template: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    yield from make_api(world_template, tmp_path_factory.mktemp("fuzz") / "data")


def _operations(app: object) -> list[object]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return [r.ok() for r in schema.get_all_operations()]


def _skip_for_caller(case: object) -> bool:
    """Keep the fuzzer off the caller's own logout / password / token revocation: they would end
    its credentials mid-run (covered by the matrix and SEC-06)."""
    path, method = case.operation.path, case.method  # type: ignore[attr-defined]
    return path in ("/api/v1/auth/logout", "/api/v1/auth/password") or (
        method == "DELETE" and path.startswith("/api/v1/tokens"))


def fuzz(api: object, user: str, examples: int, *, seed: int = 0) -> dict[str, object]:
    """Run every operation with positive and negative generated cases; return failures per operation."""
    from schemathesis import GenerationMode

    failures: dict[str, str] = {}
    server_errors = 0
    cases = 0
    headers = api.h(user)  # type: ignore[attr-defined]
    for op in _operations(api.client.app):  # type: ignore[attr-defined]
        negatable = bool(op.path_parameters or op.query or op.body)  # type: ignore[attr-defined]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not negatable:
                continue
            @given(case=op.as_strategy(generation_mode=mode))  # type: ignore[attr-defined]
            @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                      derandomize=True, database=None)
            def run(case: object) -> None:
                nonlocal cases, server_errors
                if _skip_for_caller(case):
                    return
                cases += 1
                response = case.call(headers=headers)  # type: ignore[attr-defined]
                if response.status_code >= 500:
                    server_errors += 1
                case.validate_response(response, checks=CHECKS)  # type: ignore[attr-defined]

            try:
                run()
            except Unsatisfiable:  # nothing to negate (no parameters, no body): not a failure
                continue
            except Exception as exc:  # collect every failing operation, then fail once
                failures[f"{op.method.upper()} {op.path} [{mode.value}]"] = str(exc)[:600]  # type: ignore[attr-defined]
    return {"cases": cases, "server_errors": server_errors, "failures": failures}


@pytest.mark.t2
@pytest.mark.parametrize("user", ["manager_a1", "verifier_a1"])
def test_fuzz_reduced(fuzz_api, user: str) -> None:
    report = fuzz(fuzz_api, user, examples=2)
    assert report["server_errors"] == 0 and report["failures"] == {}, report["failures"]
    assert int(report["cases"]) > 100  # type: ignore[call-overload]


@pytest.mark.t3
def test_fuzz_long(fuzz_api) -> None:
    report = fuzz(fuzz_api, "admin_a", examples=50)
    assert report["server_errors"] == 0 and report["failures"] == {}, report["failures"]


def test_openapi_document_is_complete(fuzz_api, tmp_path: Path) -> None:
    spec = fuzz_api.client.app.openapi()
    assert spec["info"]["version"] and spec["openapi"].startswith("3.")
    for path, ops in spec["paths"].items():
        assert path.startswith("/api/v1/")
        for method, op in ops.items():
            assert "401" in op["responses"] and "404" in op["responses"], (method, path)
    for name, comp in spec["components"]["schemas"].items():
        if comp.get("type") == "object" and not name.startswith(("Body_", "HTTPValidationError", "ValidationError")):
            assert comp.get("additionalProperties") is False, name
