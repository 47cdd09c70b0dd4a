"""OPS-7 in the local cloud: the metrics the app emits land in (moto's) CloudWatch, the alarms the
description declares watch them, and the tools page lists both with the alarms' states."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib import metrics, wiring
from chalicelib.metrics import Metric, emit
from chalicelib.settings import get_settings
from infra.description import describe
from infra.localcloud.monitoring import emf_to_cloudwatch, evaluate_alarms, overview, page, provision_alarms
from infra.localcloud.outbox import tools_app


@pytest.fixture
def local_cloudwatch(aws):
    description = describe(get_settings(), wiring.profile())
    provision_alarms(aws, description)
    sink = emf_to_cloudwatch(aws)
    metrics.sinks.append(sink)
    yield aws, description
    metrics.sinks.remove(sink)


def _alarm(description, rule_name: str) -> str:
    (name,) = [a.name for a in description.metric_alarms if a.rule.name == rule_name]
    return name


def test_ops7_an_erasure_failure_reaches_cloudwatch_and_raises_its_alarm(local_cloudwatch):
    session, description = local_cloudwatch
    states = evaluate_alarms(session, datetime.now(UTC))
    assert set(states) == {a.name for a in description.metric_alarms}
    assert set(states.values()) == {"OK"}

    emit(Metric.ERASURE_FAILED)
    states = evaluate_alarms(session, datetime.now(UTC))
    assert states[_alarm(description, "erasure-failed")] == "ALARM"
    assert states[_alarm(description, "export-failed")] == "OK"


def test_ops7_forgery_alarm_counts_only_forged_deliveries_of_its_sender(local_cloudwatch):
    session, description = local_cloudwatch
    for _ in range(metrics.FORGERIES_PER_FIVE_MINUTES - 1):
        emit(Metric.WEBHOOK_DELIVERIES, sender="stripe", outcome="forged")
    for _ in range(10):
        emit(Metric.WEBHOOK_DELIVERIES, sender="stripe", outcome="accepted")
        emit(Metric.WEBHOOK_DELIVERIES, sender="model_provider", outcome="forged")
    states = evaluate_alarms(session, datetime.now(UTC))
    assert states[_alarm(description, "webhook-forgeries-stripe")] == "OK"
    assert states[_alarm(description, "webhook-forgeries-model_provider")] == "ALARM"
    emit(Metric.WEBHOOK_DELIVERIES, sender="stripe", outcome="forged")
    assert evaluate_alarms(session, datetime.now(UTC))[_alarm(description, "webhook-forgeries-stripe")] == "ALARM"


def test_ops7_the_tools_page_lists_metrics_and_alarm_states(local_cloudwatch):
    session, description = local_cloudwatch
    emit(Metric.CREDITS_SOLD, 50)
    emit(Metric.CREDITS_SOLD, 25)
    emit(Metric.ERASURE_FAILED)
    evaluate_alarms(session, datetime.now(UTC))

    app = tools_app(session.region_name, {"/metrics.json": lambda: (json.dumps(overview(session)), "application/json")})
    answered = {}
    body = b"".join(app({"PATH_INFO": "/metrics.json"}, lambda status, headers: answered.update(status=status)))
    data = json.loads(body)
    assert answered["status"] == "200 OK"
    assert {"name": "CreditsSold", "dimensions": {"service": "pixelkeep"}, "sum": 75.0} in data["metrics"]
    states = {a["name"]: a["state"] for a in data["alarms"]}
    assert states[_alarm(description, "erasure-failed")] == "ALARM"
    html = page(data)
    assert "CreditsSold" in html
    assert _alarm(description, "erasure-failed") in html
