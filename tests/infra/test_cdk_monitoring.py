"""OPS-7 in the template: every dead-letter queue has an alarm, the dashboard has a widget for every
metric the code emits (read from the source), and the service's own alarms, the API's 5xx rate,
each workflow's failures and every function's errors and throttles raise an alarm to the operators."""

from __future__ import annotations

import json

from chalicelib import metrics
from tests.infra.conftest import description_for
from tests.support.metrics import emitted_in_code


def _joined(value) -> str:
    """A `Fn::Join` of strings and references, with each reference as the text TOKEN."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return separator.join(part if isinstance(part, str) else "TOKEN" for part in parts)


def _dashboard(template) -> dict:
    (dashboard,) = template.of_type("AWS::CloudWatch::Dashboard").values()
    return json.loads(_joined(dashboard["Properties"]["DashboardBody"]))


def _alarms(template) -> list[dict]:
    return [a["Properties"] for a in template.of_type("AWS::CloudWatch::Alarm").values()]


def _arn_of(reference) -> str | None:
    """The logical id a `Fn::GetAtt [id, Arn]` points at."""
    if isinstance(reference, dict) and "Fn::GetAtt" in reference and reference["Fn::GetAtt"][1] == "Arn":
        return reference["Fn::GetAtt"][0]
    return None


def dead_letter_queues(template) -> set[str]:
    """Logical ids of the queues anything sends its failures to: a queue's redrive target, a stream
    or queue mapping's on-failure destination, a function's dead-letter target."""
    found = set()
    for queue in template.of_type("AWS::SQS::Queue").values():
        found.add(_arn_of((queue["Properties"].get("RedrivePolicy") or {}).get("deadLetterTargetArn")))
    for mapping in template.of_type("AWS::Lambda::EventSourceMapping").values():
        destination = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        found.add(_arn_of(destination))
    for function in template.functions().values():
        found.add(_arn_of((function["Properties"].get("DeadLetterConfig") or {}).get("TargetArn")))
        found.add(_arn_of((function["Properties"].get("DeadLetterQueue") or {}).get("TargetArn")))  # SAM's name
    for config in template.of_type("AWS::Lambda::EventInvokeConfig").values():
        on_failure = config["Properties"].get("DestinationConfig", {}).get("OnFailure", {})
        found.add(_arn_of(on_failure.get("Destination")))
    found.discard(None)
    return found


def _alarmed(alarm: dict, threshold_at_most: float = 1) -> bool:
    return (
        alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        and alarm["Threshold"] <= threshold_at_most
        and bool(alarm.get("AlarmActions"))
    )


def test_ops7_every_dead_letter_queue_has_an_alarm_that_notifies_operators(template):
    queues = dead_letter_queues(template)
    assert len(queues) >= 1 + len(description_for(template.profile).stream_consumers)  # uploads + each stream
    watched = {
        d["Value"]["Fn::GetAtt"][0]
        for alarm in _alarms(template)
        if alarm.get("Namespace") == "AWS/SQS"
        and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and _alarmed(alarm)
        for d in alarm["Dimensions"]
        if d["Name"] == "QueueName"
    }
    assert sorted(queues - watched) == []


def test_ops7_the_dashboard_has_a_widget_for_every_metric_the_code_emits(template):
    emitted = {metric.value.name for metric in emitted_in_code()}
    assert emitted, "the source scan found no emission"
    drawn = {
        series[1]
        for widget in _dashboard(template)["widgets"]
        for series in widget["properties"].get("metrics", [])
        if series[0] == metrics.NAMESPACE
    }
    assert sorted(emitted - drawn) == []


def test_ops7_each_series_on_the_dashboard_has_only_declared_dimension_values(template):
    declared = {m.value.name: m.value for m in metrics.Metric}
    for widget in _dashboard(template)["widgets"]:
        for series in widget["properties"].get("metrics", []):
            if series[0] != metrics.NAMESPACE:
                continue
            dimensions = dict(zip(series[2::2], series[3::2], strict=False))
            dimensions = {k: v for k, v in dimensions.items() if isinstance(v, str) and k != "service"}
            assert dimensions in declared[series[1]].dimension_sets(), series


def test_ops7_every_alarm_the_service_declares_is_in_the_stack(template):
    declared = description_for(template.profile).metric_alarms
    assert declared
    by_name = {a["AlarmName"]: a for a in _alarms(template)}
    for spec in declared:
        alarm = by_name[spec.name]
        assert (alarm["Namespace"], alarm["MetricName"]) == (metrics.NAMESPACE, spec.metric.name)
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == spec.dimensions()
        assert (alarm["Threshold"], alarm["Statistic"]) == (spec.rule.threshold, "Sum")
        assert _alarmed(alarm, spec.rule.threshold)


def test_ops7_every_function_alarms_on_errors_and_throttles(template):
    functions = set(template.functions())
    for metric_name in ("Errors", "Throttles"):
        watched = set()
        for alarm in _alarms(template):
            if alarm.get("Namespace") == "AWS/Lambda" and alarm["MetricName"] == metric_name and _alarmed(alarm):
                (dimension,) = alarm["Dimensions"]
                watched.add(json.dumps(dimension["Value"]))
        assert sum(any(f'"{f}"' in w for w in watched) for f in functions) == len(functions), metric_name


def test_ops7_api_5xx_rate_and_workflow_failures_alarm(template):
    alarms = _alarms(template)
    api = [a for a in alarms if a.get("Namespace") == "AWS/ApiGateway" and a["MetricName"] == "5XXError"]
    assert [(a["Statistic"], _alarmed(a)) for a in api] == [("Average", True)]
    failed = [a for a in alarms if a.get("Namespace") == "AWS/States" and a["MetricName"] == "ExecutionsFailed"]
    assert len(failed) == len(template.of_type("AWS::StepFunctions::StateMachine"))
    assert all(_alarmed(a) for a in failed)


def test_ops7_alarms_notify_an_encrypted_operator_topic(template):
    (topic_id, topic) = next(iter(template.of_type("AWS::SNS::Topic").items()))
    assert topic["Properties"]["KmsMasterKeyId"]
    assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in _alarms(template))



def test_dsr11_request_deadline_reminders_raise_alarms_at_50_90_and_100_percent(template):
    """The reminder timers' TTL reaction emits RequestDeadline by percent; each percent has its alarm."""
    from tests.infra.conftest import STAGE

    prefix = f"pixelkeep-{STAGE}"
    by_name = {a["AlarmName"]: a for a in _alarms(template) if a.get("MetricName") == "RequestDeadline"}
    assert {name: {d["Name"]: d["Value"] for d in a["Dimensions"]}["percent"] for name, a in by_name.items()} == {
        f"{prefix}-request-deadline-half": "50",
        f"{prefix}-request-deadline-near": "90",
        f"{prefix}-request-overdue": "100",
    }
    assert all(_alarmed(a) and a["Threshold"] == 1 for a in by_name.values())
