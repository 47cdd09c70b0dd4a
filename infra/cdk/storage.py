"""Tables, buckets and queues from their specs in the resource description.

Every store is encrypted at rest and kept on stack deletion (the ledger holds 7-year payment
records); retention is enforced by the TTL attributes and lifecycle rules the profile sets.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.description import BucketSpec, QueueSpec, TableSpec

ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
DEAD_LETTER_AFTER_RECEIVES = 5


def _attribute(spec: TableSpec, name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=ATTRIBUTE_TYPES[spec.attribute_types[name]])


def table(scope: Construct, spec: TableSpec, key: kms.IKey | None) -> dynamodb.Table:
    created = dynamodb.Table(
        scope,
        f"Table-{spec.logical}",
        table_name=spec.name,
        partition_key=_attribute(spec, spec.hash_key),
        sort_key=_attribute(spec, spec.range_key) if spec.range_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED if key else dynamodb.TableEncryption.AWS_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=spec.point_in_time_recovery, recovery_period_in_days=spec.recovery_days
        ),
        time_to_live_attribute=spec.ttl_attribute,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if spec.stream else None,
        removal_policy=RemovalPolicy.RETAIN,
    )
    for index in spec.indexes:
        created.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(spec, index.hash_key),
            sort_key=_attribute(spec, index.range_key) if index.range_key else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return created


def lifecycle_rules(spec: BucketSpec) -> list[s3.LifecycleRule]:
    """One rule per object category, exactly as the profile's retention sets it.

    Versioning stays off, so an expired or erased object is really gone (no noncurrent copies);
    an abandoned multipart upload of such an object goes after a day too. The expiration matches
    only objects tagged with the running clock (DSR-12: a legal hold retags the person's objects so
    no rule matches them); S3 takes no tag filter on the multipart abort, so that is a rule of its own.
    """
    rules = []
    for rule in spec.lifecycle_rules:
        rules.append(
            s3.LifecycleRule(
                id=rule.id,
                prefix=rule.prefix,
                tag_filters={rule.tag[0]: rule.tag[1]},
                expiration=Duration.days(rule.days),
            )
        )
        rules.append(
            s3.LifecycleRule(
                id=f"{rule.id}-incomplete-uploads",
                prefix=rule.prefix,
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        )
    return rules


def cors_rules(spec: BucketSpec) -> list[s3.CorsRule] | None:
    """The same rule the local cloud puts (infra/provision.py cors_rule): presigned POSTs from the app."""
    from infra.provision import cors_rule

    if not spec.cors_origins:
        return None
    rule = cors_rule(spec)
    return [
        s3.CorsRule(
            allowed_origins=rule["AllowedOrigins"],
            allowed_methods=[s3.HttpMethods(method) for method in rule["AllowedMethods"]],
            allowed_headers=rule["AllowedHeaders"],
            exposed_headers=rule["ExposeHeaders"],
            max_age=rule["MaxAgeSeconds"],
        )
    ]


def bucket(scope: Construct, spec: BucketSpec, key: kms.IKey | None) -> s3.Bucket:
    return s3.Bucket(
        scope,
        f"Bucket-{spec.logical}",
        bucket_name=spec.name,
        encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=key,
        bucket_key_enabled=bool(key),
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=False,
        lifecycle_rules=lifecycle_rules(spec),
        cors=cors_rules(spec),
        removal_policy=RemovalPolicy.RETAIN,
    )


def dead_letter_queue(scope: Construct, id: str, name: str) -> sqs.Queue:
    """Where what could not be processed waits (14 days, the most SQS keeps) instead of being lost."""
    return sqs.Queue(
        scope,
        id,
        queue_name=name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )


def queue(scope: Construct, spec: QueueSpec) -> sqs.Queue:
    dead_letters = dead_letter_queue(scope, f"DeadLetters-{spec.logical}", f"{spec.name}-dead-letters")
    return sqs.Queue(
        scope,
        f"Queue-{spec.logical}",
        queue_name=spec.name,
        # SQS-managed keys: S3 can deliver notifications to them (an aws/sqs KMS key refuses S3).
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=Duration.seconds(spec.visibility_timeout),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=DEAD_LETTER_AFTER_RECEIVES),
    )


def notify_queues(spec: BucketSpec, created: s3.Bucket, queues: dict[str, sqs.Queue]) -> None:
    """S3 -> SQS for each (prefix, queue) of the bucket, set on the bucket itself.

    Chalice cannot package S3 events, so they go through SQS. Writing the notification
    configuration directly (instead of CDK's notification custom resource) keeps an extra Lambda
    out of the stack; the queue policy must exist before S3 validates the destination.
    """
    if not spec.notifications:
        return
    stack = Stack.of(created)
    bucket_arn = stack.format_arn(service="s3", region="", account="", resource=spec.name)
    configurations = []
    for prefix, event, logical in spec.notifications:
        target = queues[logical]
        result = target.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[target.queue_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": bucket_arn},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        if result.policy_dependable:
            created.node.add_dependency(result.policy_dependable)
        configurations.append(
            s3.CfnBucket.QueueConfigurationProperty(
                event=event,
                queue=target.queue_arn,
                filter=s3.CfnBucket.NotificationFilterProperty(
                    s3_key=s3.CfnBucket.S3KeyFilterProperty(
                        rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=prefix)]
                    )
                ),
            )
        )
    cfn_bucket: s3.CfnBucket = created.node.default_child
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        queue_configurations=configurations
    )
