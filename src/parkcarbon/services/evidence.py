"""Evidence files (存证, R11; CN monthly 存证 rules): original bytes, SHA-256, uploader, server time.

* The bytes are written once under a server-generated name in ``settings.evidence_dir``
  (``<uuid>.<ext>``, never the client's name; the client name is only metadata), with
  ``O_EXCL`` so nothing is ever overwritten; size limit ``settings.upload_max_bytes``;
  allowed types: pdf, png, jpg/jpeg, csv, xlsx, txt (``xlsm`` and anything else refused).
* The row records SHA-256, size, original name, uploader and the *server's* upload time.
* A file is never replaced in place: a replacement is a new row with ``replaces_id`` and the
  old file stays retrievable. For a submitted, verified or locked period, new or replacement
  files enter only through an approved correction (:func:`stage_for_correction`); deletion is
  refused (DB triggers), and in a draft period deletion removes the row only after audit —
  the bytes are kept (retention, R16).
* :func:`verify_file` recomputes the SHA-256 of the stored bytes (MRV-07 a).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from parkcarbon.errors import InputError, Location, StoreError, UploadRejectedError
from parkcarbon.periods import parse_month
from parkcarbon.services.audit import audit
from parkcarbon.services.lifecycle import _correction, attach_correction_evidence, ensure_not_frozen
from parkcarbon.services.tenancy import Scope, not_found
from parkcarbon.settings import Settings
from parkcarbon.storage import Repository
from parkcarbon.storage.models import Enterprise, EvidenceFile

__all__ = ["ALLOWED_EXTENSIONS", "IntegrityReport", "add_evidence", "delete_evidence", "get_evidence",
           "list_evidence", "read_evidence", "stage_for_correction", "verify_file"]

ALLOWED_EXTENSIONS = frozenset({"pdf", "png", "jpg", "jpeg", "csv", "xlsx", "txt"})


def _extension(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    if "\x00" in name or not name or len(name) > 255:
        raise UploadRejectedError("bad file name", message_zh="文件名无效", location=Location(file=name[:80]))
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_EXTENSIONS:
        raise UploadRejectedError(
            f"evidence type .{ext} is not allowed", message_zh=f"不允许的存证文件类型 .{ext}",
            hint=f"allowed: {', '.join(sorted(ALLOWED_EXTENSIONS))}",
            hint_zh=f"允许的类型：{', '.join(sorted(ALLOWED_EXTENSIONS))}", location=Location(file=name[:80]))
    return ext


def _write_bytes(settings: Settings, data: bytes, filename: str) -> dict[str, Any]:
    ext = _extension(filename)
    if len(data) > settings.upload_max_bytes:
        raise UploadRejectedError(f"evidence file larger than {settings.upload_max_bytes} bytes",
                                  message_zh=f"存证文件超过 {settings.upload_max_bytes} 字节",
                                  location=Location(file=filename[:80]))
    if not data:
        raise UploadRejectedError("empty evidence file", message_zh="存证文件为空", location=Location(file=filename[:80]))
    folder = settings.evidence_dir
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4()}.{ext}"
    path = folder / stored
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"stored_name": stored, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data),
            "original_name": filename.replace("\\", "/").rsplit("/", 1)[-1][:300]}


def _check_replaces(repo: Repository, ent: Enterprise, replaces_id: str | None) -> None:
    if replaces_id is None:
        return
    old = repo.session.get(EvidenceFile, replaces_id) if isinstance(replaces_id, str) else None
    if old is None or old.tenant_id != ent.tenant_id or old.enterprise_id != ent.id:
        raise not_found("evidence file", "存证文件", replaces_id)


def add_evidence(repo: Repository, scope: Scope, settings: Settings, enterprise_id: str, month: str, *,
                 data: bytes, filename: str, title: str | None = None, replaces_id: str | None = None,
                 request_id: str | None = None) -> EvidenceFile:
    """Store an evidence file for a draft/returned period (new row; a replacement keeps the old one)."""
    m = parse_month(month)
    ent = scope.enterprise(repo, enterprise_id, action="write", year=m.year)
    ensure_not_frozen(repo, ent.id, str(m))
    _check_replaces(repo, ent, replaces_id)
    meta = _write_bytes(settings, data, filename)
    ev = repo.add_evidence(tenant_id=ent.tenant_id, enterprise_id=ent.id, month=m, title=title,
                           uploader=scope.username, replaces_id=replaces_id, **meta)
    audit(repo.session, actor=scope.username, action="evidence.add", object_type="evidence_file", object_id=ev.id,
          tenant_id=ent.tenant_id, new={**meta, "month": str(m), "title": title, "replaces_id": replaces_id},
          request_id=request_id)
    return ev


def stage_for_correction(repo: Repository, scope: Scope, settings: Settings, correction_id: str, *, data: bytes,
                         filename: str, title: str | None = None, replaces_id: str | None = None,
                         request_id: str | None = None) -> dict[str, Any]:
    """Store the bytes of a new/replacement file for a frozen period; recorded when the correction is approved."""
    corr, ent = _correction(repo, scope, correction_id, "write")
    _check_replaces(repo, ent, replaces_id)
    meta = _write_bytes(settings, data, filename)
    staged = {**meta, "title": title, "replaces_id": replaces_id, "uploader": scope.username}
    attach_correction_evidence(repo, corr, staged)
    audit(repo.session, actor=scope.username, action="evidence.stage", object_type="period_correction",
          object_id=corr.id, tenant_id=ent.tenant_id, new=staged, request_id=request_id)
    return staged


def _visible(repo: Repository, scope: Scope, ev: EvidenceFile | None, key: object) -> EvidenceFile:
    if ev is None or ev.enterprise_id is None:
        raise not_found("evidence file", "存证文件", key)
    year = int(ev.month[:4]) if ev.month else None
    try:
        scope.enterprise(repo, ev.enterprise_id, year=year)
    except Exception:
        raise not_found("evidence file", "存证文件", key) from None
    return ev


def get_evidence(repo: Repository, scope: Scope, evidence_id: str) -> EvidenceFile:
    ev = repo.session.get(EvidenceFile, evidence_id) if isinstance(evidence_id, str) else None
    return _visible(repo, scope, ev, evidence_id)


def list_evidence(repo: Repository, scope: Scope, enterprise_id: str) -> list[EvidenceFile]:
    """All evidence rows of an enterprise, replaced ones included (verifiers: engagement years only)."""
    ent = scope.enterprise(repo, enterprise_id)
    rows = repo.evidence_files(tenant_id=ent.tenant_id, enterprise_id=ent.id)
    return [r for r in rows if r.month is None or scope.can_read_year(ent.id, ent.park_id, int(r.month[:4]))]


def read_evidence(settings: Settings, ev: EvidenceFile) -> bytes:
    """The stored bytes (the SHA-256 is checked: altered bytes raise StoreError)."""
    path = settings.evidence_dir / ev.stored_name
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise StoreError(f"evidence file {ev.id} is missing from the store", message_zh=f"存证文件 {ev.id} 在存储中缺失",
                         code="E-EVIDENCE-MISSING") from exc
    if hashlib.sha256(data).hexdigest() != ev.sha256:
        raise StoreError(f"evidence file {ev.id} was altered: SHA-256 mismatch", message_zh=f"存证文件 {ev.id} 已被篡改：SHA-256 不符",
                         code="E-EVIDENCE-ALTERED", hint="restore the file from backup", hint_zh="请从备份恢复该文件")
    return data


@dataclass(frozen=True)
class IntegrityReport:
    """SHA-256 check of one stored file."""

    evidence_id: str
    expected_sha256: str
    actual_sha256: str | None

    @property
    def ok(self) -> bool:
        return self.actual_sha256 == self.expected_sha256


def verify_file(settings: Settings, ev: EvidenceFile) -> IntegrityReport:
    path = settings.evidence_dir / ev.stored_name
    try:
        actual: str | None = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        actual = None
    return IntegrityReport(ev.id, ev.sha256, actual)


def delete_evidence(repo: Repository, scope: Scope, evidence_id: str, *, reason: str,
                    request_id: str | None = None) -> None:
    """Remove a mistaken upload from a draft/returned period (row only, audited; bytes kept)."""
    ev = get_evidence(repo, scope, evidence_id)
    assert ev.enterprise_id is not None
    scope.enterprise(repo, ev.enterprise_id, action="write")
    if ev.month:
        ensure_not_frozen(repo, ev.enterprise_id, ev.month)
    if not (reason or "").strip():
        raise InputError("deleting evidence needs a reason", message_zh="删除存证必须说明原因", location=Location(column="reason"))
    if repo.session.scalar(select(EvidenceFile.id).where(EvidenceFile.replaces_id == ev.id)) is not None:
        raise InputError("this file has been replaced: it stays as history", message_zh="该文件已被替换，作为历史保留",
                         code="E-STATE")
    old = {"sha256": ev.sha256, "stored_name": ev.stored_name, "original_name": ev.original_name, "month": ev.month}
    repo.session.delete(ev)
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="evidence.delete", object_type="evidence_file",
          object_id=evidence_id, tenant_id=ev.tenant_id, old=old, reason=reason, request_id=request_id)
