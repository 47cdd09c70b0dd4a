"""Create the described resources through boto3: used by the local cloud and the functional tests.

(The CDK stack in infra/cdk/ turns the same description into CloudFormation for AWS.)
"""

from __future__ import annotations

import json
from typing import Any

from infra.description import BucketSpec, Description, TableSpec


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
    if spec.lifecycle_rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=spec.name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": rule.id,
                        "Filter": {"Prefix": rule.prefix},
                        "Status": "Enabled",
                        "Expiration": {"Days": rule.days},
                    }
                    for rule in spec.lifecycle_rules
                ]
            },
        )
    if spec.notifications:
        s3.put_bucket_notification_configuration(
            Bucket=spec.name,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue_arns[queue],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                    }
                    for prefix, queue in spec.notifications
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


def put_local_parameters(session: Any, prefix: str, values: dict[str, str]) -> None:
    """Secrets for local runs and tests only, stored where production keeps real ones (SSM)."""
    ssm = session.client("ssm")
    for name, value in values.items():
        ssm.put_parameter(Name=f"{prefix}/{name}", Value=value, Type="SecureString", Overwrite=True)


def dump(description: Description) -> str:
    return json.dumps(description, default=lambda o: o.__dict__ if hasattr(o, "__dict__") else str(o), indent=2)
