"""The Pixelkeep stack: the Chalice app plus every store, queue and workflow the description lists."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from chalicelib.settings import Settings
from infra.cdk import storage
from infra.cdk.chalice_app import ChaliceApp
from infra.description import Description, QueueSpec, StateMachineSpec, StreamConsumerSpec
from infra.gateway_responses import GATEWAY_RESPONSES, HEADERS

REPO_ROOT = Path(__file__).resolve().parents[2]
CHALICE_ROLE = "DefaultRole"  # the one role Chalice creates for all of the app's functions
SERVICE = "pixelkeep"
LAMBDA_MEMORY_MB = 512  # image checks with Pillow; more memory also means more CPU for cold starts


def state_machine_env_name(spec: StateMachineSpec) -> str:
    return f"PIXELKEEP_{spec.logical.upper()}_STATE_MACHINE_ARN"


def environment(settings: Settings, state_machine_arns: dict[str, str]) -> dict[str, str]:
    """What the Lambda functions read through `chalicelib.settings`: names only, never secrets."""
    public_url = {"PIXELKEEP_PUBLIC_URL": settings.public_base_url} if settings.public_base_url else {}
    return {
        **public_url,
        "PIXELKEEP_STAGE": settings.stage,
        "PIXELKEEP_PROFILE": settings.profile,
        "PIXELKEEP_RESOURCE_PREFIX": settings.resource_prefix,
        "PIXELKEEP_PARAMETER_PREFIX": settings.parameter_prefix,
        "PIXELKEEP_EMAIL_SENDER": settings.email_sender,
        "PIXELKEEP_MODEL_PROVIDER": settings.provider,
        **state_machine_arns,
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": "Pixelkeep",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


class PixelkeepStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        description: Description,
        with_dependencies: bool,
        customer_managed_key: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.description = description
        key = kms.Key(self, "DataKey", enable_key_rotation=True) if customer_managed_key else None

        # State machine ARNs are built from their names, so the functions' environment and the
        # state machines' task ARNs do not depend on each other.
        machine_arns = {
            spec.logical: self.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=spec.name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for spec in description.state_machines
        }
        self.app = ChaliceApp(
            self,
            "App",
            source_dir=str(REPO_ROOT),
            stage=settings.stage,
            with_dependencies=with_dependencies,
            stage_config={
                "api_gateway_stage": "api",
                "lambda_memory_size": LAMBDA_MEMORY_MB,
                "automatic_layer": True,
                "xray": True,
                "log_retention_in_days": description.log_retention_days,
                "environment_variables": environment(
                    settings,
                    {state_machine_env_name(s): machine_arns[s.logical] for s in description.state_machines},
                ),
            },
        )
        self.role = self.app.get_role(CHALICE_ROLE)
        self.handlers = set(self.app_handlers())

        self.tables = {spec.logical: storage.table(self, spec, key) for spec in description.all_tables()}
        self.queues = {spec.logical: storage.queue(self, spec) for spec in description.queues}
        self.buckets = {spec.logical: storage.bucket(self, spec, key) for spec in description.buckets}
        for spec in description.buckets:
            storage.notify_queues(spec, self.buckets[spec.logical], self.queues)
        for table in self.tables.values():
            table.grant_read_write_data(self.role)
        for bucket in self.buckets.values():
            bucket.grant_read_write(self.role)

        # Event sources the Chalice decorators would otherwise declare; a consumer not yet in the
        # app is listed in `unwired_consumers` (the infra tests insist every consumer is wired).
        self.unwired_consumers: list[str] = []
        for spec in description.queues:
            self._consume_queue(spec)
        for spec in description.stream_consumers:
            self._consume_stream(spec)

        self.state_machines = {
            spec.logical: self._state_machine(spec, description.log_retention_days)
            for spec in description.state_machines
        }
        if machine_arns:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["states:StartExecution"], resources=list(machine_arns.values()))
            )
        self._grant_email(settings)
        self._grant_parameters(settings)
        self._gateway_responses()

    def _consumer(self, handler: str) -> lambda_.IFunction | None:
        if handler not in self.handlers:
            self.unwired_consumers.append(handler)
            return None
        return self.app.get_function(_logical_id(handler))

    def _consume_queue(self, spec: QueueSpec) -> None:
        consumer = self._consumer(spec.consumer)
        if consumer is None:
            return
        self.queues[spec.logical].grant_consume_messages(self.role)
        lambda_.EventSourceMapping(
            self,
            f"Source-{spec.logical}",
            target=consumer,
            event_source_arn=self.queues[spec.logical].queue_arn,
            batch_size=10,
            report_batch_item_failures=True,
        )

    def _consume_stream(self, spec: StreamConsumerSpec) -> None:
        consumer = self._consumer(spec.consumer)
        if consumer is None:
            return
        table = self.tables[spec.table]
        table.grant_stream_read(self.role)
        # A batch that keeps failing is recorded here (shard and sequence numbers), not dropped.
        failures = storage.dead_letter_queue(
            self, f"StreamFailures-{spec.table}", f"{self.description.table(spec.table).name}-stream-failures"
        )
        failures.grant_send_messages(self.role)
        mapping = lambda_.EventSourceMapping(
            self,
            f"Stream-{spec.table}",
            target=consumer,
            event_source_arn=table.table_stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=100,
            bisect_batch_on_error=True,
            retry_attempts=10,
        )
        # Set on the resource: CDK's SqsDlq grants through the function's role, which an imported
        # Chalice function does not expose (the grant above covers it).
        mapping.node.default_child.destination_config = lambda_.CfnEventSourceMapping.DestinationConfigProperty(
            on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(destination=failures.queue_arn)
        )

    def app_handlers(self) -> list[str]:
        """Names of the app's Lambda functions (handler names), as Chalice packages them."""
        import app

        return sorted(app.app.handler_map)

    def _state_machine(self, spec: StateMachineSpec, retention_days: int) -> sfn.StateMachine:
        missing = [name for name in spec.task_functions() if name not in self.handlers]
        if missing:
            raise ValueError(f"{spec.asl_file.name} names task functions the app does not have: {missing}")
        functions = {name: self.app.get_function(_logical_id(name)) for name in spec.task_functions()}
        log_group = logs.LogGroup(
            self,
            f"WorkflowLogs-{spec.logical}",
            log_group_name=f"/aws/vendedlogs/states/{spec.name}",
        )
        # RetentionDays is an enum of names; the description gives a number of days.
        log_group.node.default_child.retention_in_days = retention_days
        machine = sfn.StateMachine(
            self,
            f"Workflow-{spec.logical}",
            state_machine_name=spec.name,
            definition_body=sfn.DefinitionBody.from_string(spec.asl_file.read_text(encoding="utf-8")),
            definition_substitutions={name: fn.function_arn for name, fn in functions.items()},
            # Errors only and no execution data: inputs carry user ids.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ERROR, include_execution_data=False),
            tracing_enabled=True,
            timeout=Duration.hours(24),
        )
        for fn in functions.values():
            fn.grant_invoke(machine)
        return machine

    def _gateway_responses(self) -> None:
        """API Gateway's own answers in the API's one error shape (infra/gateway_responses.py)."""
        rest_api = self.app.get_resource("RestAPI")
        headers = {
            f"gatewayresponse.header.{name}": f"'{value}'" for name, value in HEADERS.items() if name != "Content-Type"
        }
        for response in GATEWAY_RESPONSES:
            apigateway.CfnGatewayResponse(
                self,
                f"GatewayResponse-{response.response_type}",
                rest_api_id=rest_api.ref,
                response_type=response.response_type,
                status_code=str(response.status) if response.status else None,
                response_templates={"application/json": response.template()},
                response_parameters=headers,
            )

    def _grant_email(self, settings: Settings) -> None:
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[self.format_arn(service="ses", resource="identity", resource_name="*")],
                conditions={"StringEquals": {"ses:FromAddress": settings.email_sender}},
            )
        )

    def _grant_parameters(self, settings: Settings) -> None:
        """Secrets by name under the deployment's parameter prefix; values live only in SSM."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:GetParameters"],
                resources=[
                    self.format_arn(
                        service="ssm", resource="parameter", resource_name=settings.parameter_prefix.strip("/") + "/*"
                    )
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"ssm.{self.region}.amazonaws.com"}},
            )
        )


def _logical_id(handler: str) -> str:
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(handler)
