"""Dashboard endpoints under concurrent load on loopback (OPS-03 read part): requests/s, p50/p99.

A synthetic park of ``--enterprises`` enterprises (default 2 000) with 12 pinned monthly results
each and mixed period statuses is written straight into a fresh store (SQLite file, and a
scratch PostgreSQL database when the server is reachable). The API runs in its own process
(uvicorn, 2 workers; PostgreSQL through the non-owner RLS application role); ``wrk`` then
hammers, with an API token of the park administrator / an enterprise manager:

* ``GET /api/v1/parks/{park}/dashboard?year=2024`` — park overview (aggregates over 24 000 rows);
* ``GET /api/v1/enterprises/{e}/dashboard?year=2024`` — one enterprise's 12 months.

``wrk`` is a Debian package (``apt-get install -y wrk``; ``make bench`` installs it when
missing); without it the benchmark prints a message and skips.

    python -m bench.api_dashboard                        # 2 000 enterprises, SQLite + PostgreSQL, 10 s each
    python -m bench.api_dashboard --backend sqlite --duration 5 --connections 8
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("PARKCARBON_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, n_enterprises: int) -> dict[str, str]:
    """Write the synthetic park; return the park id, one enterprise id and two API token secrets."""
    from argon2 import PasswordHasher
    from sqlalchemy import insert

    from parkcarbon.services import auth as auth_module
    from parkcarbon.services.auth import create_api_token, create_user
    from parkcarbon.services.scoped import grant_role
    from parkcarbon.services.tenancy import scoped_transaction, system_scope
    from parkcarbon.storage import open_store
    from parkcarbon.storage.models import Enterprise, Park, ReportingPeriod, new_id
    from parkcarbon.storage.models_auth import ResultSnapshot

    auth_module._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # seeding only
    store = open_store(url)
    now = datetime.now(UTC)
    park_id = new_id()
    ents = [new_id() for _ in range(n_enterprises)]
    with store.session() as sess:
        sess.execute(insert(Park), [{"id": park_id, "code": "BENCH", "name": "基准园区", "province": "江苏",
                                     "created_at": now}])
        sess.execute(insert(Enterprise), [{"id": e, "tenant_id": e, "park_id": park_id, "name": f"企业{i:04d}",
                                           "province": "江苏", "key_energy_unit": i % 50 == 0, "created_at": now}
                                          for i, e in enumerate(ents)])
        rows = []
        for i, e in enumerate(ents):
            for m in range(1, 13):
                total = 100.0 + (i * 7 + m * 13) % 900
                rows.append({"id": new_id(), "tenant_id": e, "enterprise_id": e, "month": f"2024-{m:02d}",
                             "version": 1, "status": "current", "method": "bench", "totals_json": "{}",
                             "factors_json": "[]", "records_json": "[]", "total_location_tco2": total,
                             "energy_tce": total / 3, "content_sha256": "0" * 64, "code_version": "bench",
                             "computed_by": "bench", "computed_at": now})
        for k in range(0, len(rows), 5000):
            sess.execute(insert(ResultSnapshot), rows[k:k + 5000])
        periods = [{"id": new_id(), "tenant_id": e, "enterprise_id": e, "month": f"2024-{m:02d}",
                    "status": ("submitted", "verified", "locked")[(i + m) % 3], "changed_by": "bench",
                    "changed_at": now} for i, e in enumerate(ents) for m in range(1, 4)]
        for k in range(0, len(periods), 5000):
            sess.execute(insert(ReportingPeriod), periods[k:k + 5000])
    with scoped_transaction(store, system_scope("bench")) as repo:
        admin = create_user(repo.session, username="bench_admin", password="bench password 123")
        grant_role(repo, system_scope(), admin.id, role="park_admin", park_id=park_id, enterprise_id=None)
        manager = create_user(repo.session, username="bench_manager", password="bench password 123")
        grant_role(repo, system_scope(), manager.id, role="enterprise_manager", park_id=None, enterprise_id=ents[0])
        admin_token = create_api_token(repo.session, repo.session.merge(admin), name="bench").secret
        manager_token = create_api_token(repo.session, repo.session.merge(manager), name="bench").secret
    store.dispose()
    return {"park": park_id, "enterprise": ents[0], "admin_token": admin_token, "manager_token": manager_token}


def _wrk(url: str, token: str, duration_s: int, connections: int, threads: int) -> dict[str, float]:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency", "--timeout", "10s",
                          "-H", f"Authorization: Bearer {token}", url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    return {"requests_per_s": float(rps.group(1)) if rps else float("nan"), "p50_ms": ms("50"), "p99_ms": ms("99"),
            "non_2xx": float(errors.group(1)) if errors else 0.0,
            "timeouts": float(timeouts.group(1)) if timeouts else 0.0}


def _serve(url: str, data_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {**os.environ, "PARKCARBON_DATABASE_URL": url, "PARKCARBON_DATA_DIR": str(data_dir),
           "PARKCARBON_INSECURE_COOKIES": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "parkcarbon.cli.serve:app_from_env", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning"], env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the API did not start")


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    cleanup: list[Any] = []
    try:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / 'bench.sqlite'}"
            serve_url, workers = url, 2  # WAL: readers in both processes, writers serialised
            ids = seed(url, args.enterprises)
        else:
            import psycopg

            admin = PG_ADMIN.replace("+psycopg", "")
            tag = uuid.uuid4().hex[:8]
            db, role = f"h7_bench_{tag}", f"h7_bench_app_{tag}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')

            def drop() -> None:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                    conn.execute(f'DROP ROLE IF EXISTS "{role}"')

            cleanup.append(drop)
            url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
            ids = seed(url, args.enterprises)
            from parkcarbon.services.tenancy import provision_app_role
            from parkcarbon.storage import open_store

            owner = open_store(url)
            provision_app_role(owner, role, "bench")
            owner.dispose()
            serve_url, workers = f"postgresql+psycopg://{role}:bench@127.0.0.1:5432/{db}", 2
        proc, port = _serve(serve_url, tmp / f"data-{backend}", workers)
        cleanup.insert(0, lambda: (proc.terminate(), proc.wait(timeout=30)))
        base = f"http://127.0.0.1:{port}/api/v1"
        results = []
        for name, path, token in (
            ("park_dashboard", f"/parks/{ids['park']}/dashboard?year=2024", ids["admin_token"]),
            ("enterprise_dashboard", f"/enterprises/{ids['enterprise']}/dashboard?year=2024", ids["manager_token"]),
        ):
            _wrk(base + path, token, 2, 2, 1)  # warm-up
            fig = _wrk(base + path, token, args.duration, args.connections, args.threads)
            row = {"bench": "api_dashboard", "backend": backend, "endpoint": name, "enterprises": args.enterprises,
                   "connections": args.connections, "duration_s": args.duration, **fig}
            print(json.dumps(row))
            results.append(row)
        return results
    finally:
        for fn in cleanup:
            fn()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--enterprises", type=int, default=2000)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="append the figures as JSON lines to this file")
    args = p.parse_args(argv)
    if shutil.which("wrk") is None:
        print("api_dashboard: skipped — wrk is not installed (apt-get install -y wrk)")
        return 0
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pc-bench-api-") as tmp:
        for b in backends:
            if b == "postgres":
                try:
                    import psycopg

                    psycopg.connect(PG_ADMIN.replace("+psycopg", ""), connect_timeout=3).close()
                except Exception:
                    print("api_dashboard: PostgreSQL not reachable — postgres backend skipped")
                    continue
            rows += run_backend(b, args, Path(tmp))
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
