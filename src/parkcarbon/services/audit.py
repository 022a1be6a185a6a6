"""Audit trail (审计追踪): append-only, hash-chained records of who did what, when, and why (R9).

Every mutating service call writes one :class:`~parkcarbon.storage.models_auth.AuditRecord` in
the same transaction as the change (so a change without its record cannot be committed):
who (``actor``), when (server UTC), ``action``, object type and id, old value, new value,
reason, request id, client IP, outcome. Security events (logins, failures, denials, token
creation and revocation) are audited too (SEC-10).

Chain: ``hash_n = SHA-256(prev_hash ‖ canonical JSON of record n)`` with ``prev_hash_1`` =
64 zeros and ``seq`` = 1, 2, 3… without gaps. :func:`verify_chain` recomputes it and reports
every changed byte (hash mismatch), deleted row (gap or broken link) and reordering. UPDATE and
DELETE on the table are refused by triggers (migration ``0002_auth``); on PostgreSQL appends are
serialised with a transaction-level advisory lock and the tail is read through a SECURITY DEFINER
function so row-level security never forks the chain. Basis: 21 CFR 11.10(e), MRR Art. 64.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from parkcarbon.storage.models import utc_now
from parkcarbon.storage.models_auth import AuditRecord

__all__ = ["GENESIS_HASH", "ChainReport", "audit", "canonical_json", "load_chain", "record_hash", "verify_chain"]

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK = 0x70A5C0DE  # advisory lock key serialising appends on PostgreSQL


def canonical_json(value: Any) -> str | None:
    """Stable JSON (sorted keys, no spaces, UTF-8 kept) of ``value``; None stays None."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 hex of ``prev_hash`` and the canonical JSON of the record's fields."""
    payload = prev_hash + (canonical_json(fields) or "")
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _fields(rec: AuditRecord) -> dict[str, Any]:
    return {
        "seq": rec.seq, "ts": rec.ts.isoformat(), "actor": rec.actor, "tenant_id": rec.tenant_id,
        "action": rec.action, "object_type": rec.object_type, "object_id": rec.object_id,
        "old": rec.old_json, "new": rec.new_json, "reason": rec.reason, "request_id": rec.request_id,
        "ip": rec.ip, "outcome": rec.outcome,
    }


def _tail(session: Session) -> tuple[int, str]:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
        row = session.execute(text("SELECT seq, hash FROM parkcarbon_audit_tail()")).first()
    else:
        row = session.execute(select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).first()
    if row is None:
        return 0, GENESIS_HASH
    return int(row[0]), str(row[1])


def audit(session: Session, *, actor: str, action: str, object_type: str, object_id: str | None = None,
          tenant_id: str | None = None, old: Any = None, new: Any = None, reason: str | None = None,
          request_id: str | None = None, ip: str | None = None, outcome: str = "success",
          now: datetime | None = None) -> AuditRecord:
    """Append one audit record in the caller's transaction and return it."""
    seq, prev = _tail(session)
    ts = now or utc_now()
    rec = AuditRecord(seq=seq + 1, ts=ts, actor=actor, tenant_id=tenant_id, action=action,
                      object_type=object_type, object_id=object_id, old_json=canonical_json(old),
                      new_json=canonical_json(new), reason=reason, request_id=request_id, ip=ip,
                      outcome=outcome, prev_hash=prev, hash="")
    rec.hash = record_hash(prev, _fields(rec))
    session.add(rec)
    session.flush()
    return rec


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`: ``ok`` and every problem found as ``(seq, what)``."""

    records: int
    problems: tuple[tuple[int, str], ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(records: Iterable[AuditRecord]) -> ChainReport:
    """Recompute the chain over ``records`` (in ``seq`` order) and list every inconsistency.

    Detects: a changed field (hash mismatch), a deleted record (gap in ``seq`` or a
    ``prev_hash`` that does not link), reordered records (links broken), a forged genesis.
    """
    problems: list[tuple[int, str]] = []
    prev_hash = GENESIS_HASH
    expected_seq = 1
    n = 0
    for rec in records:
        n += 1
        if rec.seq != expected_seq:
            problems.append((rec.seq, f"sequence gap or reorder: expected {expected_seq}, found {rec.seq}"))
        if rec.prev_hash != prev_hash:
            problems.append((rec.seq, "previous-hash link broken (a record was deleted, inserted or reordered)"))
        recomputed = record_hash(rec.prev_hash, _fields(rec))
        if recomputed != rec.hash:
            problems.append((rec.seq, "content hash mismatch (the record was altered)"))
        prev_hash = rec.hash
        expected_seq = rec.seq + 1
    return ChainReport(records=n, problems=tuple(problems))


def load_chain(session: Session) -> list[AuditRecord]:
    """All audit records in ``seq`` order (run in an all-tenant context on PostgreSQL)."""
    return list(session.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
