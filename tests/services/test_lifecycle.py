"""MRV-01 (immutability after submission, incl. raw SQL) and MRV-02 (four-eyes) on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from mrv_helpers import make_park, records
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from parkcarbon.errors import ConflictError, InputError, LockedPeriodError, PermissionDeniedError
from parkcarbon.services import lifecycle
from parkcarbon.services.lifecycle import CorrectionRecord
from parkcarbon.services.tenancy import scoped_transaction
from parkcarbon.storage.models import ActivityRecordRow
from parkcarbon.storage.models_auth import PeriodCorrection, ResultSnapshot


def _do(park, user, fn, *args, **kw):
    scope = park.scope(user)
    with scoped_transaction(park.store, scope) as repo:
        return fn(repo, scope, *args, **kw)


def _raw_mutations(eid: str, month: str) -> list[str]:
    return [
        f"UPDATE activity_record SET quantity = 1 WHERE enterprise_id = '{eid}' AND month = '{month}'",
        f"DELETE FROM activity_record WHERE enterprise_id = '{eid}' AND month = '{month}'",
        f"INSERT INTO activity_record (id, tenant_id, enterprise_id, month, carrier, flow, subtype, quantity, unit, "
        f"source, quality, status, version, created_at) VALUES ('x1', '{eid}', '{eid}', '{month}', 'electricity', "
        f"'consumed', '', 1, 'kWh', 'sql', 'measured', 'current', 99, '2024-01-01')",
        f"UPDATE result_snapshot SET total_location_tco2 = 0 WHERE enterprise_id = '{eid}' AND month = '{month}'",
        f"DELETE FROM result_snapshot WHERE enterprise_id = '{eid}' AND month = '{month}'",
        f"UPDATE evidence_file SET sha256 = 'x' WHERE enterprise_id = '{eid}'",
        f"DELETE FROM evidence_file WHERE enterprise_id = '{eid}' AND month = '{month}'",
    ]


@pytest.mark.parametrize("final", ["submitted", "verified", "locked"])
def test_frozen_periods_refuse_every_mutation_path(store, monkeypatch, tmp_path, final):
    from parkcarbon.services.evidence import add_evidence
    from parkcarbon.settings import get_settings

    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    settings = get_settings(data_dir=tmp_path)
    _do(park, "manager", add_evidence, settings, e1, "2024-01", data=b"%PDF bill", filename="bill.pdf")
    _do(park, "manager", lifecycle.transition, e1, "2024-01", "submit")
    if final in ("verified", "locked"):
        _do(park, "verifier", lifecycle.transition, e1, "2024-01", "verify")
    if final == "locked":
        _do(park, "admin", lifecycle.transition, e1, "2024-01", "lock")
    with store.reader() as repo:
        snapshot = [(r.id, r.quantity, r.version) for r in repo.activity_rows(enterprise_ids=[e1], first="2024-01",
                                                                              last="2024-01")]
    tried = rejected = 0
    # service / repository paths
    for attempt in (
        lambda: _do(park, "manager", lambda repo, scope: repo.put_activity_records(
            records(e1, ["2024-01"], kwh=1.0))),
        lambda: _do(park, "manager", add_evidence, settings, e1, "2024-01", data=b"%PDF new", filename="n.pdf"),
    ):
        tried += 1
        with pytest.raises(LockedPeriodError):
            attempt()
        rejected += 1
    # raw SQL straight at the tables (DB triggers)
    for sql in _raw_mutations(e1, "2024-01"):
        tried += 1
        with pytest.raises(DBAPIError) as exc:
            with store.engine.begin() as conn:
                conn.execute(text(sql))
        assert "E-LOCKED" in str(exc.value) or "E-EVIDENCE-IMMUTABLE" in str(exc.value)
        rejected += 1
    if final == "locked":
        tried += 1
        with pytest.raises(DBAPIError):
            with store.engine.begin() as conn:
                conn.execute(text(f"UPDATE reporting_period SET status = 'draft' WHERE enterprise_id = '{e1}'"))
        rejected += 1
    with store.reader() as repo:
        after = [(r.id, r.quantity, r.version) for r in repo.activity_rows(enterprise_ids=[e1], first="2024-01",
                                                                           last="2024-01")]
    assert after == snapshot
    assert tried == rejected
    # a draft month of the same enterprise stays writable
    _do(park, "manager", lambda repo, scope: repo.put_activity_records(records(e1, ["2024-02"], kwh=5.0)))


def test_correction_is_a_new_version_with_reason_and_approver(store, monkeypatch):
    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    _do(park, "manager", lifecycle.transition, e1, "2024-01", "submit")
    _do(park, "verifier", lifecycle.transition, e1, "2024-01", "verify")
    _do(park, "admin", lifecycle.transition, e1, "2024-01", "lock")
    with pytest.raises(InputError):  # reason and root cause are required
        _do(park, "manager", lifecycle.request_correction, e1, "2024-01", reason=" ", root_cause="x",
            records=[CorrectionRecord("electricity", "purchased", 1.0)])
    corr = _do(park, "manager", lifecycle.request_correction, e1, "2024-01", reason="meter misread",
               root_cause="manual transcription", records=[CorrectionRecord("electricity", "purchased", 123_000.0)])
    with pytest.raises(PermissionDeniedError) as exc:  # the preparer cannot approve (and is no admin)
        _do(park, "manager", lifecycle.approve_correction, corr.id)
    assert exc.value.code == "E-FORBIDDEN"
    applied = _do(park, "admin", lifecycle.approve_correction, corr.id)
    assert applied.status == "applied" and applied.approved_by == "admin" and applied.prepared_by == "manager"
    with store.reader() as repo:
        rows = repo.activity_rows(enterprise_ids=[e1], first="2024-01", last="2024-01", include_superseded=True)
        snaps = list(repo.session.scalars(select(ResultSnapshot).where(ResultSnapshot.enterprise_id == e1,
                                                                       ResultSnapshot.month == "2024-01")))
        assert repo.period_status(e1, "2024-01") == "locked"
    assert [(r.version, r.status, r.quantity) for r in rows] == [(1, "superseded", 100_000.0),
                                                                 (2, "current", 123_000.0)]
    assert sorted((s.version, s.status) for s in snaps) == [(1, "superseded"), (2, "current")]
    with pytest.raises(ConflictError):  # applied once
        _do(park, "admin2", lifecycle.approve_correction, corr.id)
    with store.reader() as repo:  # the guard is closed again after the correction
        assert repo.session.scalar(select(PeriodCorrection.status)) == "applied"
    with pytest.raises(DBAPIError):
        with store.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM activity_record WHERE enterprise_id = '{e1}' AND month = '2024-01'"))


def test_four_eyes_on_every_approval_flow(store, monkeypatch):
    """MRV-02: preparers never approve their own work; verifiers never write data."""
    park = make_park(store, monkeypatch)
    e1, e2 = park.enterprises["E1"], park.enterprises["E2"]
    attempts = rejections = 0

    def refused(user, fn, *a, **kw):
        nonlocal attempts, rejections
        attempts += 1
        with pytest.raises(PermissionDeniedError):
            _do(park, user, fn, *a, **kw)
        rejections += 1

    # the admin prepares E2's ledger and submits it: they cannot lock it
    _do(park, "admin", lambda repo, scope: repo.put_activity_records(records(e2, ["2024-04"]), created_by="admin"))
    _do(park, "admin", lifecycle.transition, e2, "2024-04", "submit")
    # verifier of E1 is not engaged on E2
    from parkcarbon.errors import NotFoundError

    with pytest.raises(NotFoundError):
        _do(park, "verifier", lifecycle.transition, e2, "2024-04", "verify")
    # E1: manager submits; the verifier verifies; the admin who submitted nothing locks
    _do(park, "manager", lifecycle.transition, e1, "2024-01", "submit")
    refused("manager", lifecycle.transition, e1, "2024-01", "verify")  # not a verifier
    refused("admin", lifecycle.transition, e1, "2024-01", "verify")  # admins do not verify
    _do(park, "verifier", lifecycle.transition, e1, "2024-01", "verify")
    # a submitter who is also an admin cannot lock their own submission
    _do(park, "admin", lambda repo, scope: repo.put_activity_records(records(e1, ["2024-05"]), created_by="admin"))
    _do(park, "admin", lifecycle.transition, e1, "2024-05", "submit")
    # verifier-preparer conflict: the verifier prepared nothing; make the verifier a preparer of 2024-06
    _do(park, "manager", lambda repo, scope: repo.put_activity_records(records(e1, ["2024-06"]), created_by="verifier"))
    _do(park, "manager", lifecycle.transition, e1, "2024-06", "submit")
    refused("verifier", lifecycle.transition, e1, "2024-06", "verify")
    # verifier writes are refused
    refused("verifier", lifecycle.transition, e1, "2024-02", "submit")
    refused("verifier", lifecycle.request_correction, e1, "2024-01", reason="r", root_cause="c",
            records=[CorrectionRecord("electricity", "purchased", 1.0)])
    # corrections: the preparer (an admin) cannot approve their own correction
    corr = _do(park, "admin", lifecycle.request_correction, e1, "2024-01", reason="r", root_cause="c",
               records=[CorrectionRecord("electricity", "purchased", 1.0)])
    refused("admin", lifecycle.approve_correction, corr.id)
    assert _do(park, "admin2", lifecycle.approve_correction, corr.id).status == "applied"
    # after verify, lock by an admin who did not submit works
    assert _do(park, "admin2", lifecycle.transition, e1, "2024-01", "lock").status == "locked"
    assert attempts == rejections >= 6


def test_return_needs_a_comment_and_reopens_the_period(store, monkeypatch):
    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    _do(park, "manager", lifecycle.transition, e1, "2024-01", "submit")
    with pytest.raises(InputError):
        _do(park, "verifier", lifecycle.transition, e1, "2024-01", "return", comment="")
    _do(park, "verifier", lifecycle.transition, e1, "2024-01", "return", comment="bill missing")
    _do(park, "manager", lambda repo, scope: repo.put_activity_records(records(e1, ["2024-01"], kwh=7.0)))
    views = _do(park, "manager", lifecycle.list_periods, e1, 2024)
    assert [v.status for v in views][:2] == ["returned", "draft"]
    with store.reader() as repo:
        rows = repo.activity_rows(enterprise_ids=[e1], first="2024-01", last="2024-01", include_superseded=True)
    assert [r.status for r in rows] == ["superseded", "current"]
    assert json.loads("[]") == []


def test_findings_only_by_engaged_verifier(store, monkeypatch):
    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    f = _do(park, "verifier", lifecycle.add_finding, e1, year=2024, month="2024-01", kind="finding",
            text="calibration certificate expired")
    assert f.author == "verifier"
    with pytest.raises(PermissionDeniedError):
        _do(park, "manager", lifecycle.add_finding, e1, year=2024, month=None, kind="opinion", text="self review")
    assert [x.text for x in _do(park, "viewer", lifecycle.list_findings, e1)] == ["calibration certificate expired"]
    with store.reader() as repo:
        assert repo.session.scalar(select(ActivityRecordRow.created_by).limit(1)) == "manager"
