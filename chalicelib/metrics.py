"""OPS-7: the service's metrics, declared once, emitted as CloudWatch EMF through Powertools.

Every metric the code emits is a `Metric` member. Its dimensions are closed sets of words declared
here, so no user id, e-mail or IP can become a dimension value: `emit` refuses anything else.
The CDK stack draws one dashboard widget per member and builds its alarms from the same
declarations (infra/cdk/monitoring.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

NAMESPACE = "Pixelkeep"
SERVICE = "pixelkeep"  # Powertools adds it as the `service` dimension of every metric


@dataclass(frozen=True)
class AlarmRule:
    """Raise when the metric's sum over `minutes` reaches `threshold` (for one series, if `series`)."""

    name: str
    why: str
    threshold: float = 1
    minutes: int = 5
    series: tuple[tuple[str, str], ...] = ()  # dimension values picking one series; () = the only one


@dataclass(frozen=True)
class MetricSpec:
    name: str
    description: str
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (dimension, its only allowed values)
    unit: str = "Count"
    alarms: tuple[AlarmRule, ...] = ()

    def dimension_sets(self) -> list[dict[str, str]]:
        """Every combination of allowed values: the series the dashboard draws."""
        sets: list[dict[str, str]] = [{}]
        for name, values in self.dimensions:
            sets = [{**partial, name: value} for partial in sets for value in values]
        return sets


_SENDERS = ("sender", ("stripe", "polar", "lemonsqueezy", "telegram_stars", "model_provider"))
FORGERIES_PER_FIVE_MINUTES = 5  # a few are noise (a stale retry); a burst is an attack or a rotated secret
_REQUEST_KINDS = (
    "kind",
    ("access", "portability", "rectification", "erasure", "restriction", "objection", "withdraw_consent"),
)


class Metric(Enum):
    SIGN_UPS = MetricSpec("SignUps", "accounts created")
    GENERATIONS = MetricSpec("Generations", "generation jobs by outcome", (("outcome", ("completed", "failed")),))
    CREDITS_SOLD = MetricSpec("CreditsSold", "credits granted by paid payments")
    CREDITS_SPENT = MetricSpec("CreditsSpent", "credits committed by completed generations")
    WEBHOOK_DELIVERIES = MetricSpec(
        "WebhookDeliveries",
        "webhook deliveries by sender and outcome (forged: the signature or token did not verify)",
        (_SENDERS, ("outcome", ("accepted", "duplicate", "forged"))),
        alarms=tuple(
            AlarmRule(
                f"webhook-forgeries-{sender}",
                f"forged {sender} webhooks: someone is probing the endpoint, or the signing secret changed",
                threshold=FORGERIES_PER_FIVE_MINUTES,
                series=(("sender", sender), ("outcome", "forged")),
            )
            for sender in _SENDERS[1]
        ),
    )
    REQUESTS_OPENED = MetricSpec("RequestsOpened", "rights requests received", (_REQUEST_KINDS,))
    REQUESTS_ANSWERED = MetricSpec("RequestsAnswered", "rights requests completed or rejected", (_REQUEST_KINDS,))
    ERASURES_COMPLETED = MetricSpec("ErasuresCompleted", "erasure workflow runs that issued their receipt")
    ERASURE_FAILED = MetricSpec(
        "ErasureFailed",
        "erasure workflow runs that exhausted a step's retries",
        alarms=(AlarmRule("erasure-failed", "an erasure owed to a person stopped; rerun it before its due date"),),
    )
    EXPORTS_COMPLETED = MetricSpec("ExportsCompleted", "export archives delivered")
    INCIDENTS_OPENED = MetricSpec("IncidentsOpened", "security incidents entered in the breach register (OPS-5)")
    INCIDENT_CLOCK = MetricSpec(
        "IncidentClock",
        "an incident's notice clock passed a mark (warning: 48 h of 72) with the authority not yet notified",
        (("mark", ("warning", "deadline")),),
        alarms=(
            AlarmRule(
                "incident-clock-warning",
                "an incident is two thirds into its breach-notice period (48 h of 72): notify the authority",
                series=(("mark", "warning"),),
            ),
            AlarmRule(
                "incident-clock-deadline",
                "an incident's breach-notice period (72 h) passed without notifying the authority",
                series=(("mark", "deadline"),),
            ),
        ),
    )
    REQUEST_DEADLINE = MetricSpec(
        "RequestDeadline",
        "a rights request still unanswered at 50, 90 or 100 % of its time to answer (DSR-11)",
        (("percent", ("50", "90", "100")),),
        alarms=(
            AlarmRule(
                "request-deadline-half",
                "a rights request is halfway to its due date unanswered: see GET /operator/requests",
                series=(("percent", "50"),),
            ),
            AlarmRule(
                "request-deadline-near",
                "a rights request is 90 % of the way to its due date: answer, extend (Art. 12(3)) or refuse",
                series=(("percent", "90"),),
            ),
            AlarmRule(
                "request-overdue",
                "a rights request passed its due date unanswered",
                series=(("percent", "100"),),
            ),
        ),
    )
    POLICY_NOTICES_SENT = MetricSpec("PolicyNoticesSent", "policy change notices e-mailed (OPS-2)")
    EXPORT_FAILED = MetricSpec(
        "ExportFailed",
        "export workflow runs that exhausted a step's retries",
        alarms=(AlarmRule("export-failed", "an export owed to a person stopped; rerun it before its due date"),),
    )


# Where an EMF document goes: Lambda's stdout, which CloudWatch Logs turns into metrics. The local
# cloud and the tests add a sink of their own (moto's CloudWatch; the personal-data check).
Sink = Callable[[dict[str, Any]], None]
sinks: list[Sink] = []


def document(metric: Metric, value: float = 1, **dimensions: str) -> dict[str, Any]:
    """The EMF document for one data point, built by Powertools' CloudWatch EMF provider."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    spec = metric.value
    allowed = dict(spec.dimensions)
    if set(dimensions) != set(allowed):
        raise ValueError(f"{spec.name} takes dimensions {sorted(allowed)}, got {sorted(dimensions)}")
    for name, given in dimensions.items():
        if given not in allowed[name]:
            raise ValueError(f"{spec.name}: {name} must be one of {allowed[name]}")
    provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=SERVICE)
    provider.add_metric(name=spec.name, unit=spec.unit, value=value)
    for name, given in dimensions.items():
        provider.add_dimension(name=name, value=given)
    return provider.serialize_metric_set()


def emit(metric: Metric, value: float = 1, **dimensions: str) -> None:
    """Publish one data point now (not batched per invocation: dimensions differ between points)."""
    blob = document(metric, value, **dimensions)
    print(json.dumps(blob, separators=(",", ":")))
    for sink in sinks:
        sink(blob)
