"""CloudWatch in the local cloud (OPS-7): what AWS does with the service's metrics, which moto does not.

In AWS, Lambda's stdout goes to CloudWatch Logs, which turns each EMF document into metric data,
and CloudWatch evaluates alarms every period. Here each document the app emits is put into moto's
CloudWatch as it is printed, the alarms the description declares are created in moto, and
`evaluate_alarms` (run by the sweeper's loop) sets each alarm's state from the data in its period.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.description import Description


def provision_alarms(session: Any, description: Description) -> None:
    from chalicelib.metrics import NAMESPACE

    cloudwatch = session.client("cloudwatch")
    for spec in description.metric_alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=spec.name,
            AlarmDescription=spec.rule.why,
            Namespace=NAMESPACE,
            MetricName=spec.metric.name,
            Dimensions=[{"Name": k, "Value": v} for k, v in spec.dimensions().items()],
            Statistic="Sum",
            Period=spec.rule.minutes * 60,
            EvaluationPeriods=1,
            Threshold=spec.rule.threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )


def metric_data(document: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(namespace, MetricData) for `put_metric_data`, from one EMF document."""
    timestamp = datetime.fromtimestamp(document["_aws"]["Timestamp"] / 1000, UTC)
    ((namespace, data),) = {
        directive["Namespace"]: [
            {
                "MetricName": metric["Name"],
                "Dimensions": [
                    {"Name": name, "Value": document[name]} for group in directive["Dimensions"] for name in group
                ],
                "Timestamp": timestamp,
                "Unit": metric.get("Unit", "None"),
                "Values": [float(v) for v in document[metric["Name"]]],
            }
            for metric in directive["Metrics"]
        ]
        for directive in document["_aws"]["CloudWatchMetrics"]
    }.items()
    return namespace, data


def emf_to_cloudwatch(session: Any) -> Callable[[dict[str, Any]], None]:
    """A metrics sink putting each EMF document into moto's CloudWatch, as CloudWatch Logs would."""
    cloudwatch = session.client("cloudwatch")

    def put(document: dict[str, Any]) -> None:
        from infra.localcloud.roles import as_the_platform

        namespace, data = metric_data(document)
        with as_the_platform():  # in AWS the function prints; CloudWatch Logs does the putting
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)

    return put


def evaluate_alarms(session: Any, now: datetime) -> dict[str, str]:
    """Each alarm's state from the sum of its metric over the period ending `now` ({name: state})."""
    cloudwatch = session.client("cloudwatch")
    states = {}
    for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
        datapoints = cloudwatch.get_metric_statistics(
            Namespace=alarm["Namespace"],
            MetricName=alarm["MetricName"],
            Dimensions=alarm["Dimensions"],
            StartTime=now - timedelta(seconds=alarm["Period"]),
            EndTime=now + timedelta(seconds=1),
            Period=alarm["Period"],
            Statistics=["Sum"],
        )["Datapoints"]
        total = sum(point["Sum"] for point in datapoints)
        state = "ALARM" if total >= alarm["Threshold"] else "OK"
        if state != alarm["StateValue"]:
            cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"],
                StateValue=state,
                StateReason=f"sum {total:g} over {alarm['Period']} s (threshold {alarm['Threshold']:g})",
            )
        states[alarm["AlarmName"]] = state
    return states


def overview(session: Any) -> dict[str, Any]:
    """The service's metrics (each series' total over the last day) and every alarm's state."""
    from chalicelib.metrics import NAMESPACE

    cloudwatch = session.client("cloudwatch")
    now = datetime.now(UTC)
    series = []
    for metric in cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]:
        points = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime=now - timedelta(days=1),
            EndTime=now + timedelta(seconds=1),
            Period=86400,
            Statistics=["Sum"],
        )["Datapoints"]
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        series.append({"name": metric["MetricName"], "dimensions": dimensions, "sum": sum(p["Sum"] for p in points)})
    alarms = [
        {"name": a["AlarmName"], "state": a["StateValue"], "why": a.get("AlarmDescription", "")}
        for a in cloudwatch.describe_alarms()["MetricAlarms"]
    ]
    series.sort(key=lambda s: (s["name"], sorted(s["dimensions"].items())))
    return {"metrics": series, "alarms": sorted(alarms, key=lambda a: a["name"])}


def page(data: dict[str, Any]) -> str:
    def row(*cells: str) -> str:
        return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"

    metrics = "".join(
        row(m["name"], json.dumps(m["dimensions"], sort_keys=True), f"{m['sum']:g}") for m in data["metrics"]
    )
    alarms = "".join(row(a["name"], a["state"], a["why"]) for a in data["alarms"])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Metrics and alarms</title></head><body>"
        "<h1>Metrics and alarms</h1><p>The local CloudWatch: each series' total over the last day, and "
        "every alarm's state. <a href='/metrics.json'>JSON</a></p>"
        f"<h2>Alarms</h2><table>{alarms or row('No alarms.')}</table>"
        f"<h2>Metrics</h2><table>{metrics or row('No data yet.')}</table></body></html>"
    )
