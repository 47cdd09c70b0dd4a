"""OPS-7: what operators watch in the CloudWatch console, a dashboard and alarms.

The dashboard has one widget per metric the service declares (chalicelib/metrics.py), one series per
allowed dimension value. Alarms: the service's own (from the description), every dead-letter queue
holding a message, each workflow's failed executions, the API's 5xx rate, and every function's
errors and throttles. Each alarm notifies the operators' topic: subscribe an address to it.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from chalicelib import metrics
from infra.description import Description

API_5XX_RATE = 0.01  # API Gateway's 5XXError average is the share of requests answered 5xx
WIDGET_WIDTH = 8


def _alarm(scope: Stack, id: str, metric: cloudwatch.IMetric, *, name: str, why: str, threshold: float = 1):
    return cloudwatch.Alarm(
        scope,
        id,
        alarm_name=name,
        alarm_description=why,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def service_metric(
    spec: metrics.MetricSpec, dimensions: dict[str, str], minutes: int = 5, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=metrics.NAMESPACE,
        metric_name=spec.name,
        dimensions_map={**dimensions, "service": metrics.SERVICE},
        statistic="Sum",
        period=Duration.minutes(minutes),
        label=label,
    )


class Monitoring:
    def __init__(
        self,
        stack: Stack,
        *,
        description: Description,
        prefix: str,
        functions: dict[str, lambda_.IFunction],
        dead_letter_queues: dict[str, sqs.Queue],
        state_machines: dict[str, sfn.StateMachine],
        api_name: str,
        api_stage: str,
    ) -> None:
        self.topic = sns.Topic(
            stack,
            "OperatorAlerts",
            topic_name=f"{prefix}-operator-alerts",
            master_key=kms.Alias.from_alias_name(stack, "OperatorAlertsKey", "alias/aws/sns"),
        )
        self.alarms: list[cloudwatch.Alarm] = []

        for spec in description.metric_alarms:
            self._add(
                stack,
                f"Alarm-{spec.rule.name}",
                service_metric(spec.metric, spec.dimensions(), spec.rule.minutes),
                name=spec.name,
                why=spec.rule.why,
                threshold=spec.rule.threshold,
            )
        for logical, queue in sorted(dead_letter_queues.items()):
            depth = queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum")
            self._add(
                stack,
                f"Alarm-DeadLetters-{logical}",
                depth,
                name=f"{prefix}-dead-letters-{logical}",
                why=f"{logical}: messages or stream records could not be processed; read them and redrive",
            )
        for logical, machine in sorted(state_machines.items()):
            self._add(
                stack,
                f"Alarm-Workflow-{logical}",
                machine.metric_failed(period=Duration.minutes(5)),
                name=f"{prefix}-workflow-{logical}-failed",
                why=f"a {logical} execution failed",
            )
        api_5xx = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map={"ApiName": api_name, "Stage": api_stage},
            statistic="Average",
            period=Duration.minutes(5),
        )
        self._add(
            stack,
            "Alarm-Api5xx",
            api_5xx,
            name=f"{prefix}-api-5xx-rate",
            threshold=API_5XX_RATE,
            why="more than 1 % of API requests answered with a server error",
        )
        for name, function in sorted(functions.items()):
            self._add(
                stack,
                f"Alarm-Errors-{name}",
                function.metric_errors(period=Duration.minutes(5)),
                name=f"{prefix}-{name}-errors",
                why=f"{name} raised errors",
            )
            self._add(
                stack,
                f"Alarm-Throttles-{name}",
                function.metric_throttles(period=Duration.minutes(5)),
                name=f"{prefix}-{name}-throttles",
                why=f"{name} was throttled (reserved concurrency reached)",
            )

        self.dashboard = cloudwatch.Dashboard(stack, "Dashboard", dashboard_name=f"{prefix}-operations")
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=6))
        self.dashboard.add_widgets(*self.metric_widgets())
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead-letter queues (messages waiting)",
                width=WIDGET_WIDTH,
                left=[
                    q.metric_approximate_number_of_messages_visible(statistic="Maximum", label=logical)
                    for logical, q in sorted(dead_letter_queues.items())
                ],
            ),
            cloudwatch.GraphWidget(title="API 5xx rate", width=WIDGET_WIDTH, left=[api_5xx]),
            cloudwatch.GraphWidget(
                title="Function errors",
                width=WIDGET_WIDTH,
                left=[f.metric_errors(label=name) for name, f in sorted(functions.items())],
            ),
        )

    def metric_widgets(self) -> list[cloudwatch.GraphWidget]:
        """One widget per declared metric, a series per combination of allowed dimension values."""
        return [
            cloudwatch.GraphWidget(
                title=f"{metric.value.name}: {metric.value.description}",
                width=WIDGET_WIDTH,
                left=[
                    service_metric(metric.value, dimensions, label=" ".join(dimensions.values()) or metric.value.name)
                    for dimensions in metric.value.dimension_sets()
                ],
            )
            for metric in metrics.Metric
        ]

    def _add(self, stack: Stack, id: str, metric: cloudwatch.IMetric, *, name: str, why: str, threshold: float = 1):
        alarm = _alarm(stack, id, metric, name=name, why=why, threshold=threshold)
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
