"""MRV-04 (a new factor version → a recalculation proposal; locked periods never change) and
MRV-05 (pinned results are reproducible exactly)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from mrv_helpers import make_park
from sqlalchemy import select

from parkcarbon.errors import PermissionDeniedError
from parkcarbon.factors import FactorRegistry
from parkcarbon.factors.loader import FACTOR_COLUMNS, MANIFEST_COLUMNS
from parkcarbon.services import lifecycle, recalculation
from parkcarbon.services.accounting import FactorConfig
from parkcarbon.services.tenancy import scoped_transaction
from parkcarbon.storage.models_auth import AuditRecord, ResultSnapshot


def _new_grid_version(root: Path, value: str) -> FactorRegistry:
    """A user factor set publishing a 2024 provincial grid factor for 江苏 (a new factor version)."""
    d = root / "js-2024"
    d.mkdir(parents=True)
    with open(d / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerow({"set_id": "js-2024", "version": "v2", "title": "JS 2024 grid factor", "title_zh": "江苏2024电网因子",
                    "kind": "statistical", "published": "2025-06-01", "description": "test", "default": "yes",
                    "overrides": ""})
    with open(d / "factors.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(FACTOR_COLUMNS), lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerow({"key": "grid_ef", "variant": "", "region": "CN-JS", "year": 2024, "method": "average",
                    "value": value, "unit": "kgCO2/kWh", "source_id": "USER-JS", "grade": "B",
                    "evidence": "provincial notice", "note": "test"})
    with open(d / "sources.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["source_id", "publisher", "citation", "url", "note"], lineterminator="\n")
        w.writeheader()
        w.writerow({"source_id": "USER-JS", "publisher": "江苏省生态环境厅", "citation": "test notice",
                    "url": "https://example.org/js", "note": ""})
    return FactorRegistry.load([d])


def _do(park, user, fn, *args, **kw):
    scope = park.scope(user)
    with scoped_transaction(park.store, scope) as repo:
        return fn(repo, scope, *args, **kw)


def _pin(park, user, eid, months, config):
    def run(repo, scope):
        ent = scope.enterprise(repo, eid, action="write")
        return recalculation.pin_results(repo, ent, months, config, actor=scope.username)

    return _do(park, user, run)


def _snapshots(store, eid):
    with store.reader() as repo:
        return {(s.month, s.version): (s.status, s.content_sha256, s.totals_json, s.factors_json)
                for s in repo.session.scalars(select(ResultSnapshot).where(ResultSnapshot.enterprise_id == eid))}


def test_factor_version_change_and_recalculation_policy(store, monkeypatch, tmp_path):
    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    v1 = FactorConfig()
    # 2024-01 locked, 2024-02 submitted, 2024-03 draft — all pinned with v1
    _pin(park, "manager", e1, ["2024-03"], v1)
    _do(park, "manager", lifecycle.transition, e1, "2024-01", "submit", config=v1)
    _do(park, "verifier", lifecycle.transition, e1, "2024-01", "verify")
    _do(park, "admin", lifecycle.transition, e1, "2024-01", "lock")
    _do(park, "manager", lifecycle.transition, e1, "2024-02", "submit", config=v1)
    before = _snapshots(store, e1)
    v1_factor = json.loads(before[("2024-03", 1)][3])
    grid_v1 = next(f for f in v1_factor if f["key"] == "grid_ef" and f["factor_id"].endswith("#average"))
    # publish v2 with a value 2 % lower than the pinned one
    new_value = round(grid_v1["value"] * 0.98, 6)
    v2 = FactorConfig(registry=_new_grid_version(tmp_path, f"{new_value:.6f}"))
    delta = new_value / grid_v1["value"] - 1  # electricity only: Δ% of the total = Δ% of the factor
    # threshold just above |Δ|: nothing to apply
    above = _do(park, "admin", recalculation.propose_recalculation, park.park_id, 2024, v2,
                threshold_frac=abs(delta) + 1e-4, reason="MEE 2024 factor published")
    _, items = _do(park, "admin", recalculation.get_proposal, above.id)
    actions = {i.month: i.action for i in items if i.enterprise_id == e1}
    assert actions == {"2024-01": "frozen", "2024-02": "frozen", "2024-03": "below_threshold"}
    # threshold just below |Δ|: the draft month is proposed, with its Δ%
    below = _do(park, "admin", recalculation.propose_recalculation, park.park_id, 2024, v2,
                threshold_frac=abs(delta) - 1e-4, reason="MEE 2024 factor published")
    p, items = _do(park, "admin", recalculation.get_proposal, below.id)
    mine = {i.month: i for i in items if i.enterprise_id == e1}
    assert {m: i.action for m, i in mine.items()} == {"2024-01": "frozen", "2024-02": "frozen", "2024-03": "apply"}
    assert mine["2024-03"].delta_frac == pytest.approx(delta, rel=1e-6)
    changes = json.loads(p.factor_change_json)
    assert any(c["key"] == "grid_ef" and c["new"]["set_version"] != c["old"]["set_version"] for c in changes)
    assert _snapshots(store, e1) == before  # nothing applied before approval
    # four-eyes: the proposer cannot approve
    with pytest.raises(PermissionDeniedError):
        _do(park, "admin", recalculation.approve_recalculation, below.id)
    _do(park, "admin2", recalculation.approve_recalculation, below.id)
    after = _snapshots(store, e1)
    for key in (("2024-01", 1), ("2024-02", 1)):  # frozen results byte-identical, still pinning v1
        assert after[key] == before[key]
        assert any(f["factor_id"] == grid_v1["factor_id"] for f in json.loads(after[key][3]))
    assert after[("2024-03", 1)][0] == "superseded"
    new_factors = json.loads(after[("2024-03", 2)][3])
    assert any(f["key"] == "grid_ef" and f["value"] == pytest.approx(new_value) and "js-2024" in f["factor_id"]
               for f in new_factors)
    with store.reader() as repo:
        actions_logged = set(repo.session.scalars(select(AuditRecord.action)))
    assert {"recalculation.propose", "recalculation.approve", "result.recalculate"} <= actions_logged


def test_verified_results_are_reproducible(store, monkeypatch):
    """MRV-05: recomputing a submitted/verified snapshot from the ledger and the pinned factors matches exactly."""
    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    _do(park, "manager", lifecycle.transition, e1, "2024-01", "submit")
    _do(park, "verifier", lifecycle.transition, e1, "2024-01", "verify")
    with store.reader() as repo:
        snaps = list(repo.session.scalars(select(ResultSnapshot)))
        assert snaps and all(recalculation.reproduce_snapshot(repo, s, FactorConfig()) for s in snaps)
        totals = json.loads(snaps[0].totals_json)
    # electricity 100 000 kWh × the pinned grid factor [tCO2/MWh] = the pinned total
    grid = next(f for f in json.loads(snaps[0].factors_json)
                if f["key"] == "grid_ef" and f["factor_id"].endswith("#average"))
    assert totals["total_location_tco2"] == pytest.approx(100.0 * grid["value"], rel=1e-12)
    assert totals["energy_tce"] == pytest.approx(100_000 * 0.1229 / 1000, rel=1e-9)
