"""Webhook delivery of warnings against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from webhook_recorder import Recorder, recording_server

from parkcarbon.core.budget import BudgetKind, WarningGrade, WarningThresholds, budget_warning
from parkcarbon.core.forecast import forecast_year_end
from parkcarbon.errors import InputError
from parkcarbon.periods import Month
from parkcarbon.services.targets import WarningReport
from parkcarbon.services.warnings import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfig,
    deliver,
    deliver_warnings,
    sign,
    verify_signature,
    warning_payload,
)

SECRET = "s3cret-园区"


@pytest.fixture()
def server() -> Iterator[tuple[str, Recorder]]:
    with recording_server() as (url, rec):
        yield url, rec


def _report() -> WarningReport:
    s = {Month(y, k): 100.0 * (1.2 if y == 2025 else 1.0) for y in (2023, 2024, 2025) for k in range(1, 13)}
    hot = budget_warning(forecast_year_end(s, 2025, Month(2025, 4), entity_id="HOT"), 1250.0)
    ok = budget_warning(forecast_year_end(s, 2025, Month(2025, 4), entity_id="OK"), 2000.0)
    return WarningReport(2025, Month(2025, 4), BudgetKind.ENERGY, (hot, ok), None, WarningThresholds())


def test_signed_delivery_received(server: tuple[str, Recorder]) -> None:
    url, rec = server
    res = deliver_warnings(_report(), WebhookConfig(url, SECRET, backoff_s=0.0))
    assert res is not None and res.delivered and res.status == 200 and len(res.attempts) == 1
    headers, body = rec.requests[0]
    assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify_signature("wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify_signature(SECRET, headers[TIMESTAMP_HEADER], body + b" ", headers[SIGNATURE_HEADER])
    doc = json.loads(body)
    assert [w["enterprise_id"] for w in doc["warnings"]] == ["HOT"]  # green OK is below min_grade
    assert doc["warnings"][0]["grade"] == "red" and doc["warnings"][0]["grade_zh"] == "红色"
    assert doc["counts"] == {"green": 1, "yellow": 0, "orange": 0, "red": 1}
    assert SECRET not in body.decode("utf-8")


def test_retries_on_5xx_with_same_delivery_id(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.statuses = [500, 503, 200]
    sleeps: list[float] = []
    res = deliver({"x": 1}, WebhookConfig(url, SECRET, backoff_s=0.5), sleep=sleeps.append)
    assert res.delivered and [a.status for a in res.attempts] == [500, 503, 200]
    assert sleeps == [0.5, 1.0]  # exponential back-off
    assert len({h[DELIVERY_HEADER] for h, _ in rec.requests}) == 1


def test_no_retry_on_4xx_or_redirect(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.statuses = [400]
    res = deliver({"x": 1}, WebhookConfig(url, SECRET, backoff_s=0.0))
    assert not res.delivered and len(res.attempts) == 1 and res.status == 400
    rec.statuses = [302]
    res = deliver({"x": 1}, WebhookConfig(url, SECRET, backoff_s=0.0))
    assert not res.delivered and res.status == 302 and len(rec.requests) == 2  # redirect not followed
    rec.statuses = [429, 200]
    assert deliver({"x": 1}, WebhookConfig(url, SECRET, backoff_s=0.0)).delivered


def test_timeout_and_connection_refused_are_retried(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.delay_s = 0.6
    res = deliver({"x": 1}, WebhookConfig(url, SECRET, timeout_s=0.2, max_attempts=2, backoff_s=0.0))
    assert not res.delivered and len(res.attempts) == 2 and all(a.status is None for a in res.attempts)
    assert res.attempts[0].error is not None
    dead = deliver({"x": 1}, WebhookConfig("http://127.0.0.1:9/none", SECRET, max_attempts=3, backoff_s=0.0))
    assert not dead.delivered and len(dead.attempts) == 3


def test_config_validation_and_signature_freshness() -> None:
    with pytest.raises(InputError):
        WebhookConfig("ftp://example.org/x", SECRET)
    with pytest.raises(InputError):
        WebhookConfig("http://example.org/x", "")
    with pytest.raises(InputError):
        WebhookConfig("http://example.org/x", SECRET, max_attempts=0)
    body = b"{}"
    sig = sign(SECRET, "1000", body)
    assert verify_signature(SECRET, "1000", body, sig, now=1100)
    assert not verify_signature(SECRET, "1000", body, sig, now=2000)  # replay outside the window
    assert not verify_signature(SECRET, "abc", body, sig)


def test_nothing_to_deliver_returns_none() -> None:
    rep = _report()
    only_green = WarningReport(rep.year, rep.as_of, rep.kind, rep.warnings[1:], None, rep.thresholds)
    assert deliver_warnings(only_green, WebhookConfig("http://127.0.0.1:9/x", SECRET)) is None
    assert warning_payload(rep, WarningGrade.GREEN)["warnings"][1]["enterprise_id"] == "OK"
