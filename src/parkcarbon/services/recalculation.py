"""Pinned results and recalculation proposals (核算结果固化与重算, R10; GHG Protocol ch. 5).

A **result snapshot** is the inventory of one enterprise-month, computed by the accounting core
(:func:`parkcarbon.core.inventory.enterprise_inventory` through the helpers of
:mod:`parkcarbon.services.accounting`) and stored with every factor row it used (id, key, value,
unit, set version, source) and every ledger row id, plus a SHA-256 of that content. A period's
snapshot is taken when it is submitted, so what a verifier sees is what was submitted; a
snapshot of a submitted, verified or locked period never changes (DB guard, migration
``0002_auth``), and it can be recomputed bit for bit from the ledger and the pinned factor
versions (MRV-05: :func:`reproduce_snapshot`).

When a factor set gets a new version, :func:`propose_recalculation` recomputes every pinned
period of a park-year with the new factors and writes a **proposal** listing, per period, the
old and new total (location-based, [tCO2]), Δ [tCO2] and Δ% and an action: ``apply`` (draft or
returned period and ``|Δ%| ≥ threshold``), ``below_threshold`` or ``frozen`` (submitted,
verified or locked: never changed by a factor update). :func:`approve_recalculation` — by a
park administrator other than the proposer (four-eyes, R8) — supersedes the snapshots of the
``apply`` items only; everything is audited.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import select

from parkcarbon.core.inventory import Inventory, enterprise_inventory
from parkcarbon.core.trace import CODE_VERSION, FactorRef
from parkcarbon.errors import CalculationError, InputError, Location, PermissionDeniedError
from parkcarbon.periods import Month, parse_month
from parkcarbon.services.accounting import FactorConfig, economic_data, instruments
from parkcarbon.services.audit import audit
from parkcarbon.services.tenancy import Scope, not_found
from parkcarbon.storage import Repository
from parkcarbon.storage.models import Enterprise, Park, ReportingPeriod, utc_now
from parkcarbon.storage.models_auth import RecalculationItem, RecalculationProposal, ResultSnapshot

__all__ = [
    "FROZEN_STATUSES",
    "FactorConfig",
    "approve_recalculation",
    "compute_month",
    "pin_results",
    "propose_recalculation",
    "reject_recalculation",
    "reproduce_snapshot",
]

FROZEN_STATUSES = frozenset({"submitted", "verified", "locked"})


@dataclass(frozen=True)
class MonthResult:
    """A computed enterprise-month: totals [tce, tCO2, kWh], factors used, record ids, content hash."""

    enterprise_id: str
    month: str
    totals: dict[str, Any]
    factors: list[dict[str, Any]]
    records: list[str]
    method: str
    content_sha256: str

    @property
    def total_location_tco2(self) -> float:
        return float(self.totals["total_location_tco2"])

    @property
    def energy_tce(self) -> float:
        return float(self.totals["energy_tce"])


def _factor_refs(inv: Inventory) -> list[dict[str, Any]]:
    seen: dict[str, FactorRef] = {}
    for step in inv.trace:
        for ref in step.factors:
            seen.setdefault(ref.factor_id, ref)
    return [{"factor_id": r.factor_id, "key": r.key, "value": r.value, "unit": r.unit, "set_version": r.set_version,
             "source": r.source, "grade": r.grade, "region": r.region, "year": r.year, "fallback_note": r.fallback_note}
            for _, r in sorted(seen.items())]


def _content_hash(totals: dict[str, Any], factors: list[dict[str, Any]], records: list[str], method: str) -> str:
    body = json.dumps({"totals": totals, "factors": factors, "records": records, "method": method},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _province(repo: Repository, ent: Enterprise) -> str:
    if ent.province:
        return ent.province
    if ent.park_id:
        park = repo.session.get(Park, ent.park_id)
        if park is not None and park.province:
            return park.province
    raise InputError(f"enterprise {ent.id} has no province: grid factors cannot be chosen",
                     message_zh=f"企业 {ent.id} 未填写省份，无法选择电网排放因子",
                     hint="set the enterprise's or the park's province", hint_zh="请填写企业或园区所在省份",
                     location=Location(record=ent.id, column="province"))


def compute_month(repo: Repository, ent: Enterprise, month: Month | str, config: FactorConfig) -> MonthResult:
    """Inventory of ``ent`` for one month from the ledger as this transaction sees it."""
    m = parse_month(str(month)) if not isinstance(month, Month) else month
    records = repo.activity_records(enterprise_ids=[ent.id], first=str(m), last=str(m))
    if not records:
        raise CalculationError(f"no ledger rows for enterprise {ent.id} in {m}: nothing to account",
                               message_zh=f"企业 {ent.id} 在 {m} 没有台账数据，无法核算",
                               hint="upload the month's statistics or meter data first",
                               hint_zh="请先上传该月统计数据或计量数据",
                               location=Location(record=f"{ent.id}:{m}"))
    factors = config.factors(_province(repo, ent), m.year)
    econ = economic_data(repo, [ent.id], m.year).get(ent.id)
    inst = instruments(repo, [ent.id], m.year)
    # process inputs (carbonates) are stored by the ingestion part once its table exists
    reader = getattr(repo, "process_inputs", None)
    carbonates = reader(enterprise_ids=[ent.id], first=str(m), last=str(m)) if reader is not None else []
    inv = enterprise_inventory(ent.id, records, factors, config.options, carbonates=carbonates, instruments=inst,
                               economic=econ, months=[m])
    totals = {f.name: getattr(inv.totals, f.name) for f in fields(inv.totals)}
    refs = _factor_refs(inv)
    rec_ids = sorted(r.record_id for r in records)
    method = config.method
    return MonthResult(ent.id, str(m), totals, refs, rec_ids, method, _content_hash(totals, refs, rec_ids, method))


def _current(repo: Repository, enterprise_id: str, month: str) -> ResultSnapshot | None:
    return repo.session.scalar(select(ResultSnapshot).where(
        ResultSnapshot.enterprise_id == enterprise_id, ResultSnapshot.month == month,
        ResultSnapshot.status == "current"))


def _store(repo: Repository, ent: Enterprise, res: MonthResult, *, actor: str,
           proposal_id: str | None = None) -> ResultSnapshot:
    cur = _current(repo, ent.id, res.month)
    version = 1
    if cur is not None:
        cur.status = "superseded"
        version = cur.version + 1
        repo.session.flush()
    snap = ResultSnapshot(tenant_id=ent.tenant_id, enterprise_id=ent.id, month=res.month, version=version,
                          status="current", method=res.method,
                          totals_json=json.dumps(res.totals, sort_keys=True),
                          factors_json=json.dumps(res.factors, sort_keys=True, ensure_ascii=False),
                          records_json=json.dumps(res.records), total_location_tco2=res.total_location_tco2,
                          energy_tce=res.energy_tce, content_sha256=res.content_sha256, code_version=CODE_VERSION,
                          computed_by=actor, proposal_id=proposal_id)
    repo.session.add(snap)
    repo.session.flush()
    return snap


def pin_results(repo: Repository, ent: Enterprise, months: Iterable[Month | str], config: FactorConfig, *,
                actor: str, request_id: str | None = None) -> list[ResultSnapshot]:
    """Compute and pin the results of ``months`` (unchanged content → the existing snapshot is kept)."""
    out: list[ResultSnapshot] = []
    for month in months:
        res = compute_month(repo, ent, month, config)
        cur = _current(repo, ent.id, res.month)
        if cur is not None and cur.content_sha256 == res.content_sha256:
            audit(repo.session, actor=actor, action="result.pin", object_type="result_snapshot", object_id=cur.id,
                  tenant_id=ent.tenant_id, old={"id": cur.id, "sha256": cur.content_sha256},
                  new={"id": cur.id, "sha256": cur.content_sha256, "unchanged": True}, request_id=request_id)
            out.append(cur)
            continue
        snap = _store(repo, ent, res, actor=actor)
        audit(repo.session, actor=actor, action="result.pin", object_type="result_snapshot", object_id=snap.id,
              tenant_id=ent.tenant_id, old=None if cur is None else {"id": cur.id, "sha256": cur.content_sha256},
              new={"id": snap.id, "month": res.month, "version": snap.version, "sha256": snap.content_sha256,
                   "total_location_tco2": snap.total_location_tco2},
              request_id=request_id)
        out.append(snap)
    return out


def reproduce_snapshot(repo: Repository, snap: ResultSnapshot, config: FactorConfig) -> bool:
    """MRV-05: recompute a snapshot from the ledger rows and factors it pinned; True if identical.

    The period's ledger cannot change once it is submitted (DB guard), so the current ledger rows
    are the pinned ones (their ids are part of the hash); ``config`` must resolve to the same
    factor rows (same ids, values and set versions), otherwise the comparison reports a mismatch.
    """
    ent = repo.session.get(Enterprise, snap.enterprise_id)
    if ent is None:
        raise not_found("enterprise", "企业", snap.enterprise_id)
    res = compute_month(repo, ent, snap.month, config)
    return res.content_sha256 == snap.content_sha256


def _status(repo: Repository, enterprise_id: str, month: str) -> str:
    row = repo.session.scalar(select(ReportingPeriod.status).where(
        ReportingPeriod.enterprise_id == enterprise_id, ReportingPeriod.month == month))
    return "draft" if row is None else str(row)


def _role(f: dict[str, Any]) -> tuple[str, str]:
    """What a factor is used for: its key and method/variant (the part of the id after ``#``)."""
    fid = str(f["factor_id"])
    return str(f["key"]), fid.rsplit("#", 1)[-1] if "#" in fid else ""


def _factor_change(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key_old = {_role(f): f for f in old}
    changes = []
    for f in new:
        o = by_key_old.get(_role(f))
        if o is None or o["factor_id"] != f["factor_id"] or o["value"] != f["value"] or o["set_version"] != f["set_version"]:
            changes.append({"key": f["key"], "region": f["region"],
                            "old": None if o is None else {k: o[k] for k in ("factor_id", "value", "unit", "set_version")},
                            "new": {k: f[k] for k in ("factor_id", "value", "unit", "set_version")}})
    return changes


def propose_recalculation(repo: Repository, scope: Scope, park_id: str, year: int, config: FactorConfig, *,
                          threshold_frac: float, reason: str, request_id: str | None = None) -> RecalculationProposal:
    """Recompute every pinned period of ``park_id``'s ``year`` with ``config``; store the Δ per period.

    ``threshold_frac``: significance threshold on |Δ| / old total [-] (e.g. 0.05 = 5 %).
    Nothing changes until :func:`approve_recalculation`.
    """
    scope.park(repo, park_id, action="admin")
    if not (isinstance(threshold_frac, int | float) and math.isfinite(threshold_frac) and 0 <= threshold_frac < 1):
        raise InputError(f"threshold_frac must be in [0, 1), got {threshold_frac!r}",
                         message_zh=f"显著性阈值须在 [0, 1) 之间，实际为 {threshold_frac!r}",
                         location=Location(column="threshold_frac", value=threshold_frac))
    if not reason or not reason.strip():
        raise InputError("a recalculation needs a reason", message_zh="重算必须说明原因", location=Location(column="reason"))
    prop = RecalculationProposal(park_id=park_id, year=year, reason=reason.strip(), threshold_frac=float(threshold_frac),
                                 factor_change_json="[]", status="open", created_by=scope.username)
    repo.session.add(prop)
    repo.session.flush()
    snaps = list(repo.session.scalars(
        select(ResultSnapshot).join(Enterprise, Enterprise.id == ResultSnapshot.enterprise_id).where(
            Enterprise.park_id == park_id, ResultSnapshot.status == "current",
            ResultSnapshot.month >= f"{year:04d}-01", ResultSnapshot.month <= f"{year:04d}-12",
        ).order_by(ResultSnapshot.enterprise_id, ResultSnapshot.month)))
    changes: dict[tuple[str, str, str], dict[str, Any]] = {}
    items = []
    for snap in snaps:
        ent = repo.session.get(Enterprise, snap.enterprise_id)
        assert ent is not None
        res = compute_month(repo, ent, snap.month, config)
        for c in _factor_change(json.loads(snap.factors_json), res.factors):
            changes.setdefault((c["key"], c["region"], str(c["new"]["factor_id"])), c)
        old_total = snap.total_location_tco2
        delta = res.total_location_tco2 - old_total
        delta_frac = None if old_total == 0 else delta / old_total
        status = _status(repo, snap.enterprise_id, snap.month)
        if status in FROZEN_STATUSES:
            action = "frozen"
        elif res.content_sha256 == snap.content_sha256 or (
                delta_frac is not None and abs(delta_frac) < threshold_frac) or (delta_frac is None and delta == 0):
            action = "below_threshold"
        else:
            action = "apply"
        item = RecalculationItem(proposal_id=prop.id, tenant_id=snap.tenant_id, enterprise_id=snap.enterprise_id,
                                 month=snap.month, period_status=status, old_snapshot_id=snap.id,
                                 old_total_location_tco2=old_total, new_total_location_tco2=res.total_location_tco2,
                                 delta_tco2=delta, delta_frac=delta_frac, action=action,
                                 new_result_json=json.dumps(asdict(res), sort_keys=True, ensure_ascii=False))
        repo.session.add(item)
        items.append(item)
    prop.factor_change_json = json.dumps(list(changes.values()), sort_keys=True, ensure_ascii=False)
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="recalculation.propose", object_type="recalculation_proposal",
          object_id=prop.id, new={"park_id": park_id, "year": year, "threshold_frac": threshold_frac,
                                  "items": len(items), "apply": sum(i.action == "apply" for i in items),
                                  "frozen": sum(i.action == "frozen" for i in items)},
          reason=reason, request_id=request_id)
    return prop


def _proposal(repo: Repository, scope: Scope, proposal_id: str) -> RecalculationProposal:
    prop = repo.session.get(RecalculationProposal, proposal_id) if isinstance(proposal_id, str) else None
    if prop is None or not scope.can_admin_park(prop.park_id):
        if prop is not None and prop.park_id is not None and scope.can_read_park(prop.park_id):
            raise PermissionDeniedError("only a park administrator decides a recalculation",
                                        message_zh="只有园区管理员可以决定重算")
        raise not_found("recalculation proposal", "重算提议", proposal_id)
    return prop


def get_proposal(repo: Repository, scope: Scope, proposal_id: str) -> tuple[RecalculationProposal, list[RecalculationItem]]:
    """A proposal and its items (park administrators and platform admins only)."""
    prop = repo.session.get(RecalculationProposal, proposal_id) if isinstance(proposal_id, str) else None
    if prop is None or not (scope.can_admin_park(prop.park_id) or (prop.park_id is not None and scope.provincial)):
        raise not_found("recalculation proposal", "重算提议", proposal_id)
    items = list(repo.session.scalars(select(RecalculationItem).where(RecalculationItem.proposal_id == prop.id)
                                      .order_by(RecalculationItem.enterprise_id, RecalculationItem.month)))
    return prop, items


def _decidable(prop: RecalculationProposal, scope: Scope) -> None:
    if prop.status != "open":
        raise InputError(f"proposal {prop.id} is already {prop.status}", message_zh=f"重算提议 {prop.id} 已{prop.status}",
                         code="E-STATE")
    if prop.created_by == scope.username:
        raise PermissionDeniedError("the proposer cannot approve their own recalculation (four-eyes)",
                                    message_zh="提议人不能批准自己的重算（四眼原则）", code="E-FOUR-EYES",
                                    hint="ask another park administrator", hint_zh="请由另一位园区管理员审批")


def approve_recalculation(repo: Repository, scope: Scope, proposal_id: str, *,
                          request_id: str | None = None) -> RecalculationProposal:
    """Apply the ``apply`` items of an open proposal (four-eyes); frozen periods are never touched.

    An item whose period was submitted since the proposal became ``frozen`` at approval time.
    """
    prop = _proposal(repo, scope, proposal_id)
    _decidable(prop, scope)
    applied = 0
    for item in repo.session.scalars(select(RecalculationItem).where(RecalculationItem.proposal_id == prop.id)):
        if item.action != "apply":
            continue
        status = _status(repo, item.enterprise_id, item.month)
        if status in FROZEN_STATUSES:
            item.action = "frozen"
            item.period_status = status
            continue
        cur = _current(repo, item.enterprise_id, item.month)
        if cur is None or cur.id != item.old_snapshot_id:
            item.action = "stale"
            continue
        ent = repo.session.get(Enterprise, item.enterprise_id)
        assert ent is not None
        data = json.loads(item.new_result_json)
        res = MonthResult(**data)
        snap = _store(repo, ent, res, actor=scope.username, proposal_id=prop.id)
        item.applied = True
        applied += 1
        audit(repo.session, actor=scope.username, action="result.recalculate", object_type="result_snapshot",
              object_id=snap.id, tenant_id=ent.tenant_id,
              old={"id": cur.id, "total_location_tco2": cur.total_location_tco2},
              new={"id": snap.id, "total_location_tco2": snap.total_location_tco2}, reason=prop.reason,
              request_id=request_id)
    prop.status = "approved"
    prop.approved_by = scope.username
    prop.decided_at = utc_now()
    repo.session.flush()
    audit(repo.session, actor=scope.username, action="recalculation.approve", object_type="recalculation_proposal",
          object_id=prop.id, old={"status": "open"}, new={"status": "approved", "applied": applied},
          reason=prop.reason, request_id=request_id)
    return prop


def reject_recalculation(repo: Repository, scope: Scope, proposal_id: str, *, reason: str,
                         request_id: str | None = None) -> RecalculationProposal:
    """Close an open proposal without applying anything (audited, reason required)."""
    prop = _proposal(repo, scope, proposal_id)
    if prop.status != "open":
        raise InputError(f"proposal {prop.id} is already {prop.status}", message_zh=f"重算提议 {prop.id} 已{prop.status}",
                         code="E-STATE")
    prop.status = "rejected"
    prop.approved_by = scope.username
    prop.decided_at = utc_now()
    audit(repo.session, actor=scope.username, action="recalculation.reject", object_type="recalculation_proposal",
          object_id=prop.id, old={"status": "open"}, new={"status": "rejected"}, reason=reason, request_id=request_id)
    return prop


def snapshots(repo: Repository, enterprise_id: str, *, year: int | None = None,
              include_superseded: bool = False) -> list[ResultSnapshot]:
    """Pinned results of an enterprise (caller has checked the scope)."""
    q = select(ResultSnapshot).where(ResultSnapshot.enterprise_id == enterprise_id)
    if year is not None:
        q = q.where(ResultSnapshot.month >= f"{year:04d}-01", ResultSnapshot.month <= f"{year:04d}-12")
    if not include_superseded:
        q = q.where(ResultSnapshot.status == "current")
    return list(repo.session.scalars(q.order_by(ResultSnapshot.month, ResultSnapshot.version)))
