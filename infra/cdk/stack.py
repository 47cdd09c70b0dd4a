"""The Pixelkeep stack: the Chalice app plus every store, queue and workflow the description lists."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import urlsplit

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from chalicelib.settings import Settings
from chalicelib.store import layout
from infra.cdk import storage
from infra.cdk.chalice_app import ChaliceApp
from infra.cdk.monitoring import Monitoring
from infra.cdk.webapp import WebAppHosting, s3_origin
from infra.description import (
    Description,
    FunctionSpec,
    QueueSpec,
    StateMachineSpec,
    StreamConsumerSpec,
    operators_group,
    with_app_origin,
)
from infra.gateway_responses import GATEWAY_RESPONSES, HEADERS

# What the drift check reads of each table and bucket: settings only (IAM action names).
TABLE_INSPECTION = ("dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive", "dynamodb:DescribeContinuousBackups")
BUCKET_INSPECTION = ("s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration")

REPO_ROOT = Path(__file__).resolve().parents[2]
# Chalice would create one role for every function; each function gets its own role instead, set on
# the function after packaging, so the ARN Chalice packages is never used.
UNUSED_CHALICE_ROLE_ARN = "arn:aws:iam::000000000000:role/replaced-per-function"
EXECUTION_POLICIES = ("service-role/AWSLambdaBasicExecutionRole", "AWSXRayDaemonWriteAccess")
API_HANDLER, API_HANDLER_LOGICAL_ID = "api_handler", "APIHandler"  # Chalice's names for the API function
SERVICE = "pixelkeep"
API_STAGE = "api"
OPERATOR_ACTION_PREFIX = "operator_"
LAMBDA_MEMORY_MB = 512  # image checks with Pillow; more memory also means more CPU for cold starts
# Reserved concurrency: the API most, stream consumers a few, every task and action little. The sum
# (about 100) must leave AWS's 100 unreserved in the account's limit.
API_CONCURRENCY, STREAM_CONCURRENCY, TASK_CONCURRENCY = 40, 5, 2
# API Gateway's access log (SEC-1): no $context.identity.sourceIp, caller, user or user agent, and the
# route template rather than the path, whose ids could name a person.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTimeEpoch",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "bytes": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "error": "$context.error.responseType",
}


def reserved_concurrency(function: str) -> int:
    if function == API_HANDLER:
        return API_CONCURRENCY
    return STREAM_CONCURRENCY if function.endswith("_stream") else TASK_CONCURRENCY


def state_machine_env_name(spec: StateMachineSpec) -> str:
    return f"PIXELKEEP_{spec.logical.upper()}_STATE_MACHINE_ARN"


def environment(settings: Settings, state_machine_arns: dict[str, str]) -> dict[str, str]:
    """What the Lambda functions read through `chalicelib.settings`: names only, never secrets."""
    public_url = {"PIXELKEEP_PUBLIC_URL": settings.public_base_url} if settings.public_base_url else {}
    cors = {"PIXELKEEP_CORS_ORIGIN": settings.cors_origin} if settings.cors_origin else {}
    app_url = {"PIXELKEEP_APP_URL": settings.app_url} if settings.app_url else {}
    return {
        **public_url,
        **cors,
        **app_url,
        "PIXELKEEP_STAGE": settings.stage,
        "PIXELKEEP_PROFILE": settings.profile,
        "PIXELKEEP_RESOURCE_PREFIX": settings.resource_prefix,
        "PIXELKEEP_SECRET_PREFIX": settings.secret_prefix,
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
        self.description_prefix = settings.resource_prefix
        key = kms.Key(self, "DataKey", enable_key_rotation=True) if customer_managed_key else None
        if key is not None:  # CloudWatch Logs encrypts every log group of the stack with the key itself
            key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com"))
        # The stack serves the web app unless the stage names another origin for it (a dev server,
        # another host): API Gateway's CORS answers one origin, and it is the app's.
        self.web_app: WebAppHosting | None = None
        if not settings.cors_origin:
            self.web_app = WebAppHosting(self, "WebApp", data_origins=self._web_app_data_origins(settings))
            settings = dataclasses.replace(settings, cors_origin=self.web_app.origin, app_url=self.web_app.app_url)
            description = with_app_origin(description, self.web_app.origin)
            self.description = description

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
                "api_gateway_stage": API_STAGE,
                "lambda_memory_size": LAMBDA_MEMORY_MB,
                "automatic_layer": True,
                "xray": True,
                "manage_iam_role": False,
                "iam_role_arn": UNUSED_CHALICE_ROLE_ARN,
                "log_retention_in_days": description.log_retention_days,
                "environment_variables": environment(
                    settings,
                    {state_machine_env_name(s): machine_arns[s.logical] for s in description.state_machines},
                ),
            },
        )
        self.handlers = set(self.app_handlers())

        self.tables = {spec.logical: storage.table(self, spec, key) for spec in description.all_tables()}
        self.queues = {spec.logical: storage.queue(self, spec) for spec in description.queues}
        # Every dead-letter queue, by what it collects for: each gets an alarm (OPS-7).
        self.dead_letter_queues: dict[str, sqs.IQueue] = {
            logical: queue.dead_letter_queue.queue for logical, queue in self.queues.items()
        }
        self.buckets = {spec.logical: storage.bucket(self, spec, key) for spec in description.buckets}
        for spec in description.buckets:
            storage.notify_queues(spec, self.buckets[spec.logical], self.queues)
        self.machine_arns = machine_arns
        self.roles = self._roles(settings)

        # Event sources the Chalice decorators would otherwise declare; a consumer not yet in the
        # app is listed in `unwired_consumers` (the infra tests insist every consumer is wired).
        self.unwired_consumers: list[str] = []
        for spec in description.queues:
            self._consume_queue(spec)
        for spec in description.stream_consumers:
            self._consume_stream(spec)

        self.state_machines = {
            spec.logical: self._state_machine(spec, description.log_retention_days, key)
            for spec in description.state_machines
        }
        self._gateway_responses()
        self._api_access_log(description.log_retention_days, key)
        self._harden_functions(key)
        if self.web_app is not None:
            self.web_app.deploy(
                config={"api": settings.public_base_url or self._execute_api_url()},
                log_retention_days=description.log_retention_days,
                log_key=key,
                dead_letters=self.dead_letter_queues["async-invocations"],
            )
        self.operators = self._operators_group(settings)
        self.monitoring = Monitoring(
            self,
            description=description,
            prefix=settings.resource_prefix,
            functions={name: self.app.get_function(_logical_id(name)) for name in sorted(self.handlers)},
            dead_letter_queues=self.dead_letter_queues,
            state_machines=self.state_machines,
            api_name=self.app_name(),
            api_stage=API_STAGE,
        )

    def _web_app_data_origins(self, settings: Settings) -> tuple[str, ...]:
        """Where the app reads data besides its own origin: the API and the content bucket."""
        if settings.public_base_url:
            parts = urlsplit(settings.public_base_url)
            api = f"{parts.scheme}://{parts.netloc}"
        else:  # an offline look at the template: deployment insists on the public URL
            api = f"https://*.execute-api.{self.region}.{self.url_suffix}"
        return (api, s3_origin(self.description.bucket(layout.CONTENT_BUCKET).name))

    def _execute_api_url(self) -> str:
        rest_api = self.app.get_resource("RestAPI")
        return f"https://{rest_api.ref}.execute-api.{self.region}.{self.url_suffix}/{API_STAGE}"

    def _roles(self, settings: Settings) -> dict[str, iam.Role]:
        """One role per function, granting exactly what its declaration names (SEC-6)."""
        declared = {spec.name: spec for spec in self.description.functions}
        undeclared = sorted(self.handlers - set(declared))
        if undeclared:
            raise ValueError(f"functions with no declaration of what they touch (chalicelib/grants.py): {undeclared}")
        roles = {}
        for name in sorted(self.handlers):
            role = iam.Role(
                self,
                f"Role-{name}",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(p) for p in EXECUTION_POLICIES],
            )
            self.app.get_resource(_logical_id(name)).add_property_override("Role", role.role_arn)
            self._grant(role, declared[name], settings)
            roles[name] = role
        return roles

    def _grant(self, role: iam.Role, spec: FunctionSpec, settings: Settings) -> None:
        uses = spec.uses
        for logical in uses.read_tables - uses.write_tables:
            self.tables[logical].grant_read_data(role)
        for logical in uses.write_tables:
            self.tables[logical].grant_read_write_data(role)
        for logical in uses.read_buckets - uses.write_buckets:
            self.buckets[logical].grant_read(role)
        for logical in uses.write_buckets:
            self.buckets[logical].grant_read_write(role)
        for logical in uses.consume_queues:
            self.queues[logical].grant_consume_messages(role)
        if uses.start_workflows:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["states:StartExecution"],
                    resources=[self.machine_arns[logical] for logical in sorted(uses.start_workflows)],
                )
            )
        if uses.send_email:
            self._grant_email(role, settings)
        if uses.secrets:
            self._grant_secrets(role, settings, sorted(uses.secrets))
        if uses.inspect_deployment:
            self._grant_inspection(role)
        if uses.read_holds and "requests" not in uses.read_tables | uses.write_tables:
            # DSR-12: whether a legal hold is in force, and nothing else of the requests table
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem"],
                    resources=[self.tables["requests"].table_arn],
                    conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["HELD#*"]}},
                )
            )

    def _consumer(self, handler: str) -> lambda_.IFunction | None:
        if handler not in self.handlers:
            self.unwired_consumers.append(handler)
            return None
        return self.app.get_function(_logical_id(handler))

    def _consume_queue(self, spec: QueueSpec) -> None:
        consumer = self._consumer(spec.consumer)
        if consumer is None:
            return
        mapping = lambda_.EventSourceMapping(
            self,
            f"Source-{spec.logical}",
            target=consumer,
            event_source_arn=self.queues[spec.logical].queue_arn,
            batch_size=10,
            report_batch_item_failures=True,
        )
        # Lambda checks the function's role can read the source when the mapping is created.
        mapping.node.add_dependency(self.roles[spec.consumer])

    def _consume_stream(self, spec: StreamConsumerSpec) -> None:
        consumer = self._consumer(spec.consumer)
        if consumer is None:
            return
        table = self.tables[spec.table]
        role = self.roles[spec.consumer]
        table.grant_stream_read(role)
        # A batch that keeps failing is recorded here (shard and sequence numbers), not dropped.
        failures = storage.dead_letter_queue(
            self, f"StreamFailures-{spec.table}", f"{self.description.table(spec.table).name}-stream-failures"
        )
        failures.grant_send_messages(role)
        self.dead_letter_queues[f"{spec.table}-stream"] = failures
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
        mapping.node.add_dependency(role)
        # Set on the resource: CDK's SqsDlq grants through the function's role, which an imported
        # Chalice function does not expose (the grant above covers it).
        mapping.node.default_child.destination_config = lambda_.CfnEventSourceMapping.DestinationConfigProperty(
            on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(destination=failures.queue_arn)
        )

    def app_name(self) -> str:
        """The Chalice app's name, which Chalice gives the REST API (its CloudWatch `ApiName`)."""
        import app

        return app.app.app_name

    def app_handlers(self) -> list[str]:
        """Names of the app's Lambda functions, as Chalice packages them: one per `lambda_function`,
        and the API function serving every route."""
        import app

        return sorted([f.name for f in app.app.pure_lambda_functions] + [API_HANDLER])

    def _state_machine(self, spec: StateMachineSpec, retention_days: int, key: kms.IKey | None) -> sfn.StateMachine:
        missing = [name for name in spec.task_functions() if name not in self.handlers]
        if missing:
            raise ValueError(f"{spec.asl_file.name} names task functions the app does not have: {missing}")
        functions = {name: self.app.get_function(_logical_id(name)) for name in spec.task_functions()}
        log_group = logs.LogGroup(
            self,
            f"WorkflowLogs-{spec.logical}",
            log_group_name=f"/aws/vendedlogs/states/{spec.name}",
            encryption_key=key,
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

    def _api_access_log(self, retention_days: int, key: kms.IKey | None) -> None:
        """API Gateway's access log (SEC-1): the route template, never the path with its ids, and
        no source IP, caller or user agent; kept as long as technical logs."""
        log_group = logs.LogGroup(
            self, "ApiAccessLog", log_group_name=f"/aws/apigateway/{self.description_prefix}/access", encryption_key=key
        )
        log_group.node.default_child.retention_in_days = retention_days
        rest_api = self.app.get_resource("RestAPI")
        rest_api.add_property_override(
            "AccessLogSetting", {"DestinationArn": log_group.log_group_arn, "Format": json.dumps(ACCESS_LOG_FORMAT)}
        )
        rest_api.add_property_override("TracingEnabled", True)
        # API Gateway writes logs through one role per account and region.
        role = iam.Role(
            self,
            "ApiGatewayLogging",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        account = apigateway.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        rest_api.node.add_dependency(account)

    def _harden_functions(self, key: kms.IKey | None) -> None:
        """Every function: a reserved concurrency (a flood in one cannot starve the others or
        the account), a dead-letter queue for failed asynchronous invocations, and its
        environment encrypted with the customer key when there is one."""
        failures = storage.dead_letter_queue(self, "AsyncFailures", f"{self.description_prefix}-async-failures")
        self.dead_letter_queues["async-invocations"] = failures
        for name in sorted(self.handlers):
            resource = self.app.get_resource(_logical_id(name))
            resource.add_property_override("ReservedConcurrentExecutions", reserved_concurrency(name))
            resource.add_property_override("DeadLetterQueue", {"Type": "SQS", "TargetArn": failures.queue_arn})
            failures.grant_send_messages(self.roles[name])
            if key is not None:
                resource.add_property_override("KmsKeyArn", key.key_arn)
                key.grant_decrypt(self.roles[name])
        if key is not None:  # the functions' own log groups, as the workflows' and the API's
            for log_group in self.app.log_group_ids():
                self.app.get_resource(log_group).add_property_override("KmsKeyId", key.key_arn)

    def _operators_group(self, settings: Settings) -> iam.Group:
        """OPS-6: operators are IAM users (or roles) in this group; it may call the operator routes,
        which take IAM authorization (SigV4), and invoke the operator actions' functions (named
        `operator_*`, chalicelib/api/operator_actions.py), and nothing else of the app."""
        group = iam.Group(self, "Operators", group_name=operators_group(settings))
        rest_api = self.app.get_resource("RestAPI")
        group.add_to_policy(
            iam.PolicyStatement(
                actions=["execute-api:Invoke"],
                resources=[
                    self.format_arn(
                        service="execute-api",
                        resource=rest_api.ref,
                        resource_name=f"{API_STAGE}/*/operator/*",
                        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
            )
        )
        actions = [name for name in sorted(self.handlers) if name.startswith(OPERATOR_ACTION_PREFIX)]
        group.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[self.app.get_function(_logical_id(name)).function_arn for name in actions],
            )
        )
        return group

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

    def _grant_inspection(self, role: iam.Role) -> None:
        """The drift check's reads (OPS-8): settings of every table, bucket and log group, no data."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(TABLE_INSPECTION), resources=[table.table_arn for table in self.tables.values()]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(BUCKET_INSPECTION), resources=[bucket.bucket_arn for bucket in self.buckets.values()]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:DescribeLogGroups"],
                resources=[
                    self.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )

    def _grant_email(self, role: iam.Role, settings: Settings) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[self.format_arn(service="ses", resource="identity", resource_name="*")],
                conditions={"StringEquals": {"ses:FromAddress": settings.email_sender}},
            )
        )

    def _grant_secrets(self, role: iam.Role, settings: Settings, secrets: list[str]) -> None:
        """The function's secrets by name under the deployment's prefix; values live only in Secrets Manager.

        A secret's ARN ends in `-` and six random characters Secrets Manager adds at creation: `-??????`
        matches exactly those, so no other secret whose name merely starts the same is reached.
        Secrets encrypted with the account's AWS managed key need no KMS statement.
        """
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    self.format_arn(
                        service="secretsmanager",
                        resource="secret",
                        resource_name=f"{settings.secret_name(secret)}-??????",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for secret in secrets
                ],
            )
        )


def _logical_id(handler: str) -> str:
    from chalice.utils import to_cfn_resource_name

    return API_HANDLER_LOGICAL_ID if handler == API_HANDLER else to_cfn_resource_name(handler)
