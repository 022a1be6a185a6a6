"""MRV-07: evidence (存证) integrity — SHA-256, no replacement in place, corrections keep the old file."""

from __future__ import annotations

import hashlib
import os

import pytest
from mrv_helpers import make_park

from parkcarbon.errors import LockedPeriodError, StoreError, UploadRejectedError
from parkcarbon.services import evidence, lifecycle
from parkcarbon.services.lifecycle import CorrectionRecord
from parkcarbon.services.tenancy import scoped_transaction
from parkcarbon.settings import get_settings


def _do(park, user, fn, *args, **kw):
    scope = park.scope(user)
    with scoped_transaction(park.store, scope) as repo:
        return fn(repo, scope, *args, **kw)


def test_evidence_lifecycle(store, monkeypatch, tmp_path):
    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    settings = get_settings(data_dir=tmp_path)
    data = b"%PDF-1.4 electricity bill 2024-01"
    ev = _do(park, "manager", evidence.add_evidence, settings, e1, "2024-01", data=data, filename="../../etc/bill.pdf",
             title="电费单")
    assert ev.sha256 == hashlib.sha256(data).hexdigest() and ev.uploader == "manager"
    assert ev.original_name == "bill.pdf" and ev.stored_name != "bill.pdf" and "/" not in ev.stored_name
    stored = settings.evidence_dir / ev.stored_name
    assert stored.read_bytes() == data and stored.parent == settings.evidence_dir
    # disallowed types and macro workbooks
    for name in ("macro.xlsm", "run.exe", "noext", "a\x00.pdf"):
        with pytest.raises(UploadRejectedError):
            _do(park, "manager", evidence.add_evidence, settings, e1, "2024-01", data=b"x", filename=name)
    _do(park, "manager", lifecycle.transition, e1, "2024-01", "submit")
    checked = detected = rejected = 0
    # (b) replacing and (c) deleting after submission are refused
    with pytest.raises(LockedPeriodError):
        _do(park, "manager", evidence.add_evidence, settings, e1, "2024-01", data=b"%PDF new", filename="b.pdf",
            replaces_id=ev.id)
    rejected += 1
    with pytest.raises(LockedPeriodError):
        _do(park, "manager", evidence.delete_evidence, ev.id, reason="wrong file")
    rejected += 1
    # (a) altered bytes on disk are detected
    assert evidence.verify_file(settings, ev).ok
    os.chmod(stored, 0o640)
    stored.write_bytes(data[:-1] + b"!")
    checked += 1
    report = evidence.verify_file(settings, ev)
    detected += not report.ok
    with pytest.raises(StoreError) as exc:
        evidence.read_evidence(settings, ev)
    assert exc.value.code == "E-EVIDENCE-ALTERED"
    stored.write_bytes(data)
    # (d) a replacement through an approved correction: new version, old one still retrievable
    corr = _do(park, "manager", lifecycle.request_correction, e1, "2024-01", reason="bill re-issued",
               root_cause="supplier error", records=[CorrectionRecord("electricity", "purchased", 99_000.0)])
    _do(park, "manager", evidence.stage_for_correction, settings, corr.id, data=b"%PDF corrected bill",
        filename="bill-v2.pdf", replaces_id=ev.id)
    _do(park, "admin", lifecycle.approve_correction, corr.id)
    files = _do(park, "viewer", evidence.list_evidence, e1)
    assert len(files) == 2
    new = next(f for f in files if f.replaces_id == ev.id)
    assert evidence.read_evidence(settings, new) == b"%PDF corrected bill"
    assert evidence.read_evidence(settings, next(f for f in files if f.id == ev.id)) == data
    assert new.uploader == "manager" and new.uploaded_at >= ev.uploaded_at
    assert (checked, detected, rejected) == (1, 1, 2)


def test_draft_deletion_keeps_bytes_and_is_audited(store, monkeypatch, tmp_path):
    from sqlalchemy import select

    from parkcarbon.storage.models_auth import AuditRecord

    park = make_park(store, monkeypatch)
    e1 = park.enterprises["E1"]
    settings = get_settings(data_dir=tmp_path)
    ev = _do(park, "manager", evidence.add_evidence, settings, e1, "2024-02", data=b"oops", filename="x.txt")
    _do(park, "manager", evidence.delete_evidence, ev.id, reason="uploaded the wrong file")
    assert (settings.evidence_dir / ev.stored_name).read_bytes() == b"oops"
    with store.reader() as repo:
        rec = repo.session.scalars(select(AuditRecord).where(AuditRecord.action == "evidence.delete")).one()
    assert rec.reason == "uploaded the wrong file" and ev.sha256 in (rec.old_json or "")
