"""Delivery of graded budget warnings by webhook (预警推送).

A :class:`~parkcarbon.services.targets.WarningReport` becomes a JSON document and is POSTed to
the park's endpoint (an OA system, a DingTalk/WeCom relay, the dashboard's inbox…) with:

* ``X-Parkcarbon-Event`` — ``budget.warning``;
* ``X-Parkcarbon-Delivery`` — a delivery id, the same on every retry (idempotency key);
* ``X-Parkcarbon-Timestamp`` — Unix seconds of the attempt;
* ``X-Parkcarbon-Signature`` — ``sha256=<hex>``: HMAC-SHA256 with the shared secret over
  ``"<timestamp>.<body>"``. Receivers check it with :func:`verify_signature` (constant-time,
  with a freshness window against replays).

Retries: connection errors, time-outs, HTTP 429 and 5xx are retried with exponential back-off
(``backoff_s × 2^(n−1)``) up to ``max_attempts``; other 4xx and redirects are not (the request
itself is wrong). Standard library only (``urllib``): no extra dependency for one POST.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from parkcarbon.core.budget import WarningGrade
from parkcarbon.errors import InputError, Location
from parkcarbon.services.targets import WarningReport

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryAttempt",
    "DeliveryResult",
    "WebhookConfig",
    "deliver",
    "deliver_warnings",
    "sign",
    "verify_signature",
    "warning_payload",
]

SIGNATURE_HEADER = "X-Parkcarbon-Signature"
TIMESTAMP_HEADER = "X-Parkcarbon-Timestamp"
DELIVERY_HEADER = "X-Parkcarbon-Delivery"
EVENT_HEADER = "X-Parkcarbon-Event"


@dataclass(frozen=True)
class WebhookConfig:
    """Where and how to deliver.

    url : ``http(s)://`` endpoint.
    secret : shared HMAC secret (never logged, never in the payload).
    timeout_s : per-attempt time-out [s]; max_attempts ≥ 1; backoff_s : first retry delay [s].
    min_grade : deliver only warnings at or above this grade.
    """

    url: str
    secret: str
    timeout_s: float = 5.0
    max_attempts: int = 4
    backoff_s: float = 0.5
    min_grade: WarningGrade = WarningGrade.YELLOW

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"webhook URL must be http(s)://host/…, got {self.url!r}",
                             message_zh=f"推送地址必须为 http(s)://主机/…，实际为 {self.url!r}",
                             location=Location(column="url", value=self.url))
        if not self.secret:
            raise InputError("webhook secret is empty", message_zh="推送密钥为空",
                             hint="configure a shared secret for the HMAC signature", hint_zh="请配置用于 HMAC 签名的共享密钥")
        if self.max_attempts < 1 or self.timeout_s <= 0 or self.backoff_s < 0:
            raise InputError("max_attempts ≥ 1, timeout_s > 0 and backoff_s ≥ 0 are required",
                             message_zh="须满足 重试次数 ≥ 1、超时 > 0、退避 ≥ 0")


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST: HTTP status (``None`` when no response) or the error text; duration [s]."""

    attempt: int
    status: int | None
    error: str | None
    elapsed_s: float


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of a delivery (all attempts)."""

    delivery_id: str
    delivered: bool
    attempts: tuple[DeliveryAttempt, ...]
    payload_bytes: int

    @property
    def status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` HMAC over ``b"<timestamp>." + body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance_s: float = 300.0, now: float | None = None
) -> bool:
    """Receiver-side check: right signature (constant-time) and a fresh timestamp."""
    try:
        ts = float(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _num(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


def warning_payload(report: WarningReport, min_grade: WarningGrade = WarningGrade.YELLOW) -> dict[str, Any]:
    """The JSON document of a warning report (warnings at or above ``min_grade``)."""
    acc = report.accuracy
    return {
        "event": "budget.warning",
        "year": report.year,
        "as_of": str(report.as_of),
        "kind": report.kind.value,
        "unit": report.kind.unit,
        "thresholds": {"yellow_frac": report.thresholds.yellow_frac, "orange_frac": report.thresholds.orange_frac,
                       "red_frac": report.thresholds.red_frac, "basis": report.thresholds.basis,
                       "source": report.thresholds.source},
        "forecast_accuracy": None if acc is None else {
            "method": acc.method.value, "backtest_years": list(acc.years), "mape_frac": _num(acc.mape_frac),
            "band_coverage_frac": _num(acc.coverage_frac), "nominal_coverage_frac": acc.band.coverage_frac,
        },
        "counts": {g.value: report.count(g) for g in WarningGrade},
        "warnings": [
            {
                "enterprise_id": w.enterprise_id, "grade": w.grade.value, "grade_zh": w.grade.name_zh,
                "budget": _num(w.budget_qty, 3), "ytd_actual": _num(w.forecast.ytd_actual, 3),
                "forecast_year_end": _num(w.forecast.year_end, 3), "forecast_low": _num(w.forecast.low, 3),
                "forecast_high": _num(w.forecast.high, 3), "ratio_frac": _num(w.ratio_frac),
                "expected_overrun": _num(w.expected_overrun_qty, 3), "ytd_execution_frac": _num(w.ytd_execution_frac),
                "message": w.message, "message_zh": w.message_zh, "flags": list(w.forecast.flags),
            }
            for w in report.warnings if w.grade.severity >= min_grade.severity
        ],
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None  # a redirect is reported as its 3xx status, never followed with the body


def deliver(
    payload: Mapping[str, Any],
    config: WebhookConfig,
    *,
    event: str = "budget.warning",
    sleep: Callable[[float], None] = time.sleep,
    delivery_id: str | None = None,
) -> DeliveryResult:
    """POST ``payload`` as JSON with retries and an HMAC signature; never raises on network errors."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    did = delivery_id or str(uuid.uuid4())
    opener = urllib.request.build_opener(_NoRedirect())
    attempts: list[DeliveryAttempt] = []
    for n in range(1, config.max_attempts + 1):
        ts = str(int(time.time()))
        req = urllib.request.Request(config.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "parkcarbon-webhook/1",
            EVENT_HEADER: event, DELIVERY_HEADER: did, TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(config.secret, ts, body),
        })
        t0 = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            with opener.open(req, timeout=config.timeout_s) as resp:
                status = int(resp.status)
                resp.read(65536)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            error = f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{type(exc).__name__}: {reason}"
        attempts.append(DeliveryAttempt(n, status, error, time.monotonic() - t0))
        if status is not None and 200 <= status < 300:
            return DeliveryResult(did, True, tuple(attempts), len(body))
        retryable = status is None or status == 429 or status >= 500
        if not retryable or n == config.max_attempts:
            break
        sleep(config.backoff_s * 2 ** (n - 1))
    return DeliveryResult(did, False, tuple(attempts), len(body))


def deliver_warnings(report: WarningReport, config: WebhookConfig, **kw: Any) -> DeliveryResult | None:
    """Deliver the warnings of ``report`` at or above ``config.min_grade``; ``None`` when there are none."""
    payload = warning_payload(report, config.min_grade)
    if not payload["warnings"]:
        return None
    return deliver(payload, config, **kw)
