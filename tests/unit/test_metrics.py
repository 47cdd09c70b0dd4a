"""OPS-7: aggregated metrics without personal data; every declared metric is emitted by the code."""

from __future__ import annotations

import pytest

from chalicelib import metrics
from chalicelib.domain.rights import rights_requests
from chalicelib.metrics import Metric, document, emit
from tests.support.metrics import dimension_values, emitted_in_code, looks_personal


@pytest.mark.parametrize(
    "value",
    [
        "alice@example.com",
        "203.0.113.7",
        "2001:db8::1",
        "5f0c8a0e-3b2a-4c4e-9d1a-0c3b2a4c4e9d",
        "5f0c8a0e3b2a4c4e9d1a0c3b2a4c4e9d",  # uuid4().hex, the form user ids take here
        "01HZX3K4M5N6P7Q8R9S0T1V2W3",  # a ULID
        "cs_test_a1B2c3D4e5F6g7H8",  # a Stripe object id
        "4155550123",
    ],
)
def test_ops7_the_detector_recognises_ids_emails_and_ips(value):
    assert looks_personal(value), value


@pytest.mark.parametrize("value", ["completed", "model_provider", "withdraw_consent", "forged", "pixelkeep"])
def test_ops7_the_detector_lets_labels_through(value):
    assert looks_personal(value) is None


@pytest.mark.parametrize("metric", list(Metric), ids=lambda m: m.value.name)
def test_ops7_no_declared_name_or_dimension_value_looks_personal(metric):
    spec = metric.value
    words = [spec.name, metrics.NAMESPACE, metrics.SERVICE]
    words += [name for name, _ in spec.dimensions]
    words += [value for _, values in spec.dimensions for value in values]
    assert [(w, looks_personal(w)) for w in words if looks_personal(w)] == []


def test_ops7_emit_refuses_a_dimension_it_does_not_declare():
    with pytest.raises(ValueError, match="takes dimensions"):
        emit(Metric.SIGN_UPS, user_id="5f0c8a0e3b2a4c4e9d1a0c3b2a4c4e9d")
    with pytest.raises(ValueError, match="takes dimensions"):
        emit(Metric.GENERATIONS)  # its outcome is required


def test_ops7_emit_refuses_a_value_outside_the_declared_set():
    with pytest.raises(ValueError, match="must be one of"):
        emit(Metric.WEBHOOK_DELIVERIES, sender="stripe", outcome="alice@example.com")


def test_ops7_a_data_point_is_one_emf_document_with_only_the_declared_dimensions(capsys):
    seen = []
    metrics.sinks.append(seen.append)
    try:
        emit(Metric.WEBHOOK_DELIVERIES, sender="stripe", outcome="forged")
    finally:
        metrics.sinks.remove(seen.append)
    (blob,) = seen
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Pixelkeep"
    assert dimension_values(blob) == {"sender": "stripe", "outcome": "forged", "service": "pixelkeep"}
    assert blob["WebhookDeliveries"] == [1.0]
    assert '"WebhookDeliveries"' in capsys.readouterr().out  # stdout: where Lambda's EMF is read
    assert document(Metric.CREDITS_SOLD, 50)["CreditsSold"] == [50.0]


def test_ops7_request_kinds_dimension_is_exactly_the_request_kinds():
    (kinds,) = [values for name, values in Metric.REQUESTS_OPENED.value.dimensions if name == "kind"]
    assert kinds == rights_requests.KINDS


def test_ops7_every_declared_metric_is_emitted_somewhere_in_the_code():
    emitted = emitted_in_code()
    assert [m.value.name for m in Metric if m not in emitted] == []


def test_ops7_the_source_scan_finds_emission_sites():
    emitted = emitted_in_code()
    assert any(site.startswith("chalicelib/domain/billing.py") for site in emitted[Metric.CREDITS_SOLD])
