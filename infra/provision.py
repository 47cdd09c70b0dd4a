"""Create the described resources through boto3: used by the local cloud and the functional tests.

(The CDK stack in infra/cdk/ turns the same description into CloudFormation for AWS.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from infra.description import LAMBDA_RUNTIME, BucketSpec, Description, TableSpec


def create_table(dynamodb: Any, spec: TableSpec) -> None:
    key_schema = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        key_schema.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": spec.name,
        "KeySchema": key_schema,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in spec.attribute_types.items()],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }
    if spec.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
                + ([{"AttributeName": index.range_key, "KeyType": "RANGE"}] if index.range_key else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
    if spec.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    dynamodb.create_table(**request)
    dynamodb.update_time_to_live(
        TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
    )
    if spec.point_in_time_recovery:
        recovery: dict[str, Any] = {"PointInTimeRecoveryEnabled": True}
        if spec.recovery_days is not None:
            recovery["RecoveryPeriodInDays"] = spec.recovery_days
        dynamodb.update_continuous_backups(TableName=spec.name, PointInTimeRecoverySpecification=recovery)


def cors_rule(spec: BucketSpec) -> dict[str, Any]:
    """What a browser needs to POST a presigned upload form and read the answer (S3 CORS)."""
    return {
        "AllowedOrigins": list(spec.cors_origins),
        "AllowedMethods": ["POST", "GET"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Location"],
        "MaxAgeSeconds": 3000,
    }


def create_bucket(s3: Any, spec: BucketSpec, queue_arns: dict[str, str]) -> None:
    s3.create_bucket(Bucket=spec.name)
    s3.put_public_access_block(
        Bucket=spec.name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(  # as the stack's S3_MANAGED default
        Bucket=spec.name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    if spec.lifecycle_rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=spec.name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": rule.id,
                        # DSR-12: prefix AND the clock tag, as the stack's rule (infra/cdk/storage.py)
                        "Filter": {
                            "And": {"Prefix": rule.prefix, "Tags": [{"Key": rule.tag[0], "Value": rule.tag[1]}]}
                        },
                        "Status": "Enabled",
                        "Expiration": {"Days": rule.days},
                    }
                    for rule in spec.lifecycle_rules
                ]
            },
        )
    if spec.cors_origins:
        s3.put_bucket_cors(Bucket=spec.name, CORSConfiguration={"CORSRules": [cors_rule(spec)]})
    if spec.notifications:
        s3.put_bucket_notification_configuration(
            Bucket=spec.name,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue_arns[queue],
                        "Events": [event],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                    }
                    for prefix, event, queue in spec.notifications
                ]
            },
        )


def provision_storage(session: Any, description: Description) -> dict[str, str]:
    """Tables, queues and buckets. Returns queue ARNs by logical name."""
    dynamodb = session.client("dynamodb")
    for table in description.all_tables():
        create_table(dynamodb, table)
    sqs = session.client("sqs")
    queue_arns: dict[str, str] = {}
    for queue in description.queues:
        url = sqs.create_queue(QueueName=queue.name, Attributes={"VisibilityTimeout": str(queue.visibility_timeout)})[
            "QueueUrl"
        ]
        queue_arns[queue.logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    s3 = session.client("s3")
    for bucket in description.buckets:
        create_bucket(s3, bucket, queue_arns)
    return queue_arns


def put_local_secrets(session: Any, prefix: str, values: dict[str, str]) -> None:
    """Secrets for local runs and tests only, stored where production keeps real ones (Secrets Manager)."""
    secretsmanager = session.client("secretsmanager")
    for name, value in values.items():
        put_secret(secretsmanager, f"{prefix}/{name}", value)


def put_secret(secretsmanager: Any, name: str, value: str) -> None:
    """Creates the secret, or gives an existing one this value as its new current version."""
    try:
        secretsmanager.create_secret(Name=name, SecretString=value)
    except secretsmanager.exceptions.ResourceExistsException:
        secretsmanager.put_secret_value(SecretId=name, SecretString=value)


def dump(description: Description) -> str:
    return json.dumps(description, default=lambda o: o.__dict__ if hasattr(o, "__dict__") else str(o), indent=2)


# -- compute: Lambda functions, event sources, state machines (the local cloud and tests) --------

LOCAL_ROLE_NAME = "pixelkeep-local-execution"
_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _placeholder_zip() -> bytes:
    """Lambda needs a code package; the local cloud runs the Chalice handlers in-process instead."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# handlers run in-process in the local cloud\n")
    return buffer.getvalue()


def create_execution_role(session: Any) -> str:
    iam = session.client("iam")
    try:
        return iam.get_role(RoleName=LOCAL_ROLE_NAME)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=LOCAL_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY))["Role"][
            "Arn"
        ]


def provision_functions(session: Any, handler_names: Iterable[str], role_arn: str) -> dict[str, str]:
    """One Lambda function per Chalice handler, named like the handler. Returns ARNs by name."""
    client = session.client("lambda")
    code = _placeholder_zip()
    arns: dict[str, str] = {}
    for name in handler_names:
        arns[name] = client.create_function(
            FunctionName=name,
            Runtime=LAMBDA_RUNTIME,
            Role=role_arn,
            Handler=f"app.{name}",
            Code={"ZipFile": code},
            Timeout=60,
            MemorySize=512,
        )["FunctionArn"]
    return arns


def provision_event_sources(session: Any, description: Description, function_arns: dict[str, str]) -> list[str]:
    """Queue and table-stream consumers. Returns the consumers skipped because no handler exists yet."""
    client = session.client("lambda")
    sqs = session.client("sqs")
    skipped: list[str] = []
    for queue in description.queues:
        if queue.consumer not in function_arns:
            skipped.append(queue.consumer)
            continue
        url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName=function_arns[queue.consumer], BatchSize=10
        )
    dynamodb = session.client("dynamodb")
    for consumer in description.stream_consumers:
        if consumer.consumer not in function_arns:
            skipped.append(consumer.consumer)
            continue
        table = dynamodb.describe_table(TableName=description.table(consumer.table).name)["Table"]
        client.create_event_source_mapping(
            EventSourceArn=table["LatestStreamArn"],
            FunctionName=function_arns[consumer.consumer],
            StartingPosition="LATEST",
            BatchSize=100,
        )
    return skipped


def provision_state_machines(
    session: Any, description: Description, function_arns: dict[str, str], role_arn: str
) -> dict[str, str]:
    """State machines from the ASL files, `${handler}` placeholders bound to function ARNs."""
    client = session.client("stepfunctions")
    arns: dict[str, str] = {}
    for machine in description.state_machines:
        missing = [name for name in machine.task_functions() if name not in function_arns]
        if missing:
            raise LookupError(f"{machine.asl_file.name} names handlers that do not exist: {', '.join(missing)}")
        arns[machine.logical] = client.create_state_machine(
            name=machine.name, definition=machine.render(function_arns), roleArn=role_arn
        )["stateMachineArn"]
    return arns


def verify_sender(session: Any, sender: str) -> None:
    session.client("ses").verify_email_identity(EmailAddress=sender)


@dataclass(frozen=True)
class Compute:
    function_arns: dict[str, str]
    state_machine_arns: dict[str, str]
    skipped_consumers: list[str]


def provision_compute(session: Any, description: Description, handler_names: Iterable[str]) -> Compute:
    """Functions for the given handlers, their event sources and the state machines (after storage)."""
    role_arn = create_execution_role(session)
    function_arns = provision_functions(session, handler_names, role_arn)
    skipped = provision_event_sources(session, description, function_arns)
    machines = provision_state_machines(session, description, function_arns, role_arn)
    return Compute(function_arns=function_arns, state_machine_arns=machines, skipped_consumers=skipped)
