"""Request and response bodies of the REST API (pydantic 2).

Every request body forbids unknown fields (``extra="forbid"`` → 422 ``E-VALIDATION``), so a
client cannot set server-owned fields (tenant, status, approver, factor values, role on the
wrong object, times — SEC-03); strings have length limits and numbers are finite. Every
response model forbids extra fields too, so the OpenAPI document says
``additionalProperties: false`` and Schemathesis can check that no undeclared field (never a
password hash or token hash) leaves the server.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Str100 = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Str200 = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Text2k = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
MonthText = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Year = Annotated[int, Field(ge=1990, le=2100)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Problem(BaseModel):
    """application/problem+json (RFC 9457) with the platform's stable ``code`` and bilingual text."""

    model_config = ConfigDict(extra="forbid")
    type: str
    title: str
    status: int
    detail: str
    code: str
    message_zh: str
    hint: str | None = None
    hint_zh: str | None = None
    location: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    request_id: str | None = None


# -- auth ------------------------------------------------------------------------------------

class LoginIn(In):
    username: Str100
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class LoginOut(Out):
    user_id: str
    username: str
    csrf_token: str
    expires_at: datetime


class LogoutIn(In):
    everywhere: bool = False


class MeOut(Out):
    user_id: str
    username: str
    display_name: str | None
    roles: list[str]
    auth_kind: Literal["session", "token"]
    csrf_token: str | None


class PasswordIn(In):
    old_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Annotated[str, StringConstraints(min_length=12, max_length=1024)]


class TokenIn(In):
    name: Str100
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TokenOut(Out):
    id: str
    name: str
    token_prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(Out):
    id: str
    name: str
    token_prefix: str
    secret: str
    expires_at: datetime | None


# -- users and roles -------------------------------------------------------------------------

class UserIn(In):
    username: Str100
    password: Annotated[str, StringConstraints(min_length=12, max_length=1024)]
    display_name: Str200 | None = None


class UserOut(Out):
    id: str
    username: str
    display_name: str | None
    is_active: bool
    created_at: datetime


class MembershipIn(In):
    role: Literal["platform_admin", "park_admin", "enterprise_manager", "enterprise_viewer", "provincial_operator"]
    park_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    enterprise_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class MembershipOut(Out):
    id: str
    user_id: str
    role: str
    park_id: str | None
    enterprise_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class AssignmentIn(In):
    user_id: Annotated[str, StringConstraints(max_length=64)]
    enterprise_id: Annotated[str, StringConstraints(max_length=64)]
    year: Year
    starts_on: date
    ends_on: date


class AssignmentOut(Out):
    id: str
    user_id: str
    enterprise_id: str
    year: int
    starts_on: date
    ends_on: date
    revoked_at: datetime | None


# -- organisation ----------------------------------------------------------------------------

class ParkIn(In):
    code: Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
    name: Str200
    name_en: Str200 | None = None
    province: Annotated[str, StringConstraints(max_length=50)] | None = None
    city: Annotated[str, StringConstraints(max_length=50)] | None = None


class ParkOut(Out):
    id: str
    code: str
    name: str
    name_en: str | None
    province: str | None
    city: str | None


class EnterpriseIn(In):
    park_id: Annotated[str, StringConstraints(max_length=64)]
    name: Str200
    name_en: Str200 | None = None
    credit_code: Annotated[str, StringConstraints(min_length=18, max_length=18)] | None = None
    industry_code: Annotated[str, StringConstraints(max_length=8)] | None = None
    province: Annotated[str, StringConstraints(max_length=50)] | None = None
    key_energy_unit: bool = False


class EnterpriseOut(Out):
    id: str
    park_id: str | None
    name: str
    name_en: str | None
    credit_code: str | None
    industry_code: str | None
    province: str | None
    key_energy_unit: bool


class MeterIn(In):
    code: Str100
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    kind: Literal["cumulative", "interval"]
    name: Str200 | None = None
    multiplier: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] = 1.0
    register_max: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    interval_s: Annotated[int, Field(ge=60, le=86400)] | None = None
    role: Literal["grid_import", "onsite_generation", "export", "consumption", "submeter"] = "consumption"


class MeterOut(Out):
    id: str
    enterprise_id: str | None
    code: str
    name: str | None
    carrier: str
    unit: str
    kind: str
    multiplier: float
    register_max: float | None
    interval_s: int | None
    role: str


class ReadingOut(Out):
    ts_utc: datetime
    channel: str
    value: float
    gateway_id: str | None
    gateway_seq: int | None
    received_at: datetime


class ReadingItem(In):
    meter: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    ts: Annotated[str, StringConstraints(min_length=1, max_length=40)] | int
    value: Annotated[float, Field(allow_inf_nan=False)]
    channel: Annotated[str, StringConstraints(max_length=40)] | None = None
    seq: Annotated[int, Field(ge=0)] | None = None


class ReadingBatchIn(In):
    gateway: Annotated[str, StringConstraints(max_length=100)] | None = None
    sent_at: Annotated[str, StringConstraints(max_length=40)] | None = None
    readings: Annotated[list[ReadingItem], Field(min_length=1, max_length=10_000)]


class BatchOut(Out):
    batch_id: str
    received: int
    inserted: int
    duplicates: int
    conflicts: int
    quarantined: int
    replayed: bool
    clock_skew_s: float | None


class ImportOut(Out):
    batch_id: str
    kind: str
    file: str
    rows: int
    records_written: int


class ConflictOut(Out):
    id: str
    meter_id: str
    ts_utc: datetime
    channel: str
    existing_value: float
    new_value: float
    status: str
    resolution: str | None


class QualityOut(Out):
    enterprise_id: str
    conflicts_open: int
    conflicts_in_correction_queue: int
    quarantined: int
    conflicts: list[ConflictOut]


class QualityFindingOut(Out):
    code: str
    severity: str
    meter_id: str
    level: str | None
    period_start_s: int | None
    value: float
    threshold: float
    message: str
    message_zh: str


class QualityChecksOut(Out):
    enterprise_id: str
    meters_checked: int
    months: list[str]
    ok: bool
    findings: list[QualityFindingOut]


class LedgerRowOut(Out):
    id: str
    month: str
    carrier: str
    flow: str
    subtype: str
    quantity: float | None
    unit: str
    source: str
    quality: str
    status: str
    version: int
    created_by: str | None
    created_at: datetime


# -- periods, corrections, evidence, findings -------------------------------------------------

class CommentIn(In):
    comment: Text2k | None = None


class PeriodOut(Out):
    enterprise_id: str
    month: str
    status: str
    changed_by: str | None
    changed_at: datetime | None


class CorrectionRecordIn(In):
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    flow: Literal["consumed", "purchased", "onsite_generated", "exported", "non_energy_use"]
    quantity: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    quality: Literal["measured", "estimated", "edited", "missing", "suspect"] = "measured"
    subtype: Annotated[str, StringConstraints(max_length=60)] | None = None
    source: Annotated[str, StringConstraints(max_length=300)] = ""


class CorrectionIn(In):
    reason: Text2k
    root_cause: Text2k
    records: Annotated[list[CorrectionRecordIn], Field(min_length=1, max_length=500)]


class CorrectionOut(Out):
    id: str
    enterprise_id: str
    month: str
    version: int
    reason: str
    root_cause: str
    status: str
    prepared_by: str
    prepared_at: datetime
    approved_by: str | None
    decided_at: datetime | None
    period_status: str


class ReasonIn(In):
    reason: Text2k


class EvidenceOut(Out):
    id: str
    enterprise_id: str | None
    month: str | None
    sha256: str
    size_bytes: int
    original_name: str
    title: str | None
    uploader: str
    uploaded_at: datetime
    replaces_id: str | None


class EvidenceCheckOut(Out):
    evidence_id: str
    expected_sha256: str
    actual_sha256: str | None
    ok: bool


class StagedEvidenceOut(Out):
    sha256: str
    size_bytes: int
    original_name: str
    title: str | None
    replaces_id: str | None


class FindingIn(In):
    year: Year
    month: MonthText | None = None
    kind: Literal["opinion", "finding"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class FindingOut(Out):
    id: str
    enterprise_id: str
    year: int
    month: str | None
    kind: str
    text: str
    author: str
    created_at: datetime


# -- results, recalculation, inventories, dashboards -----------------------------------------

class PinIn(In):
    months: Annotated[list[MonthText], Field(min_length=1, max_length=12)]


class ResultOut(Out):
    id: str
    enterprise_id: str
    month: str
    version: int
    status: str
    method: str
    energy_tce: float
    total_location_tco2: float
    content_sha256: str
    code_version: str
    computed_by: str
    computed_at: datetime
    factors: list[dict[str, Any]]
    totals: dict[str, Any]


class RecalculationIn(In):
    park_id: Annotated[str, StringConstraints(max_length=64)]
    year: Year
    threshold_frac: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
    reason: Text2k


class RecalculationItemOut(Out):
    enterprise_id: str
    month: str
    period_status: str
    old_total_location_tco2: float | None
    new_total_location_tco2: float
    delta_tco2: float | None
    delta_frac: float | None
    action: str
    applied: bool


class ProposalOut(Out):
    id: str
    park_id: str | None
    year: int
    reason: str
    threshold_frac: float
    status: str
    created_by: str
    created_at: datetime
    approved_by: str | None
    decided_at: datetime | None
    factor_changes: list[dict[str, Any]]
    items: list[RecalculationItemOut]


class IndicatorOut(Out):
    name: str
    value: float | None
    unit: str
    note: str | None


class InventoryOut(Out):
    subject_id: str
    year: int
    months: list[str]
    totals: dict[str, Any]
    indicators: list[IndicatorOut]
    coverage: dict[str, Any]
    factor_notes: list[str]


class DashboardEnterpriseRow(Out):
    enterprise_id: str
    name: str
    energy_tce: float
    total_location_tco2: float
    months_pinned: int


class ParkDashboardOut(Out):
    park_id: str
    year: int
    enterprises: int
    enterprises_reporting: int
    energy_tce: float | None
    total_location_tco2: float | None
    periods_by_status: dict[str, int]
    per_enterprise: list[DashboardEnterpriseRow]


class DashboardMonth(Out):
    month: str
    status: str
    ledger_rows: int
    energy_tce: float | None
    total_location_tco2: float | None


class EnterpriseDashboardOut(Out):
    enterprise_id: str
    name: str
    year: int
    months: list[DashboardMonth]


class FactorSetOut(Out):
    set_id: str
    version: str
    title: str
    title_zh: str
    kind: str
    published: date | None
    rows: int


class FactorRowOut(Out):
    key: str
    variant: str
    region: str
    year: int | None
    method: str
    value: float
    unit: str
    source_ids: list[str]
    grade: str
    valid_from: date | None
    valid_to: date | None


class FactorSetDetailOut(Out):
    set_id: str
    version: str
    title: str
    rows: list[FactorRowOut]


class AuditOut(Out):
    seq: int
    ts: datetime
    actor: str
    tenant_id: str | None
    action: str
    object_type: str
    object_id: str | None
    old_json: str | None
    new_json: str | None
    reason: str | None
    request_id: str | None
    outcome: str
    hash: str


class ChainOut(Out):
    records: int
    ok: bool
    problems: list[dict[str, Any]]


class HealthOut(Out):
    status: Literal["ok"]
    backend: str
    revision: str | None
