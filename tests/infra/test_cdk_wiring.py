"""The stack wires what the description lists: backups, streams, event sources, state machines from
the same ASL files, and the settings the functions read."""

from __future__ import annotations

import json
import re

from chalice.utils import to_cfn_resource_name

from chalicelib.store import layout
from infra.description import ASL_DIR
from tests.infra.conftest import PUBLIC_URL, description_for, settings_for

# Tables holding personal or payment data: every category table (the idempotency table holds only
# request hashes and results for a few hours).
PERSONAL_OR_PAYMENT_TABLES = set(layout.TABLES)


def _table(template, name: str) -> tuple[str, dict]:
    return template.named("AWS::DynamoDB::Table", "TableName", name)


def test_point_in_time_recovery_on_every_table_with_personal_or_payment_data(template):
    """The ledger (PAY-3: 7-year payment records) and every other personal-data table can be restored."""
    assert "ledger" in PERSONAL_OR_PAYMENT_TABLES
    description = description_for(template.profile)
    for logical in PERSONAL_OR_PAYMENT_TABLES:
        _, table = _table(template, description.table(logical).name)
        recovery = table["Properties"]["PointInTimeRecoverySpecification"]
        assert recovery["PointInTimeRecoveryEnabled"] is True, logical  # its period: test_cdk_retention.py


def test_tables_are_retained_on_demand_with_the_models_keys_and_indexes(template):
    for spec in description_for(template.profile).all_tables():
        _, table = _table(template, spec.name)
        assert table["DeletionPolicy"] == "Retain", spec.logical
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        keys = {k["KeyType"]: k["AttributeName"] for k in properties["KeySchema"]}
        assert keys == {"HASH": spec.hash_key, **({"RANGE": spec.range_key} if spec.range_key else {})}
        indexes = {i["IndexName"] for i in properties.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i.name for i in spec.indexes}, spec.logical
    for name, bucket in template.of_type("AWS::S3::Bucket").items():
        assert bucket["DeletionPolicy"] == "Retain", name


def test_streams_carry_old_and_new_images_and_reach_their_consumers(template):
    description = description_for(template.profile)
    mappings = list(template.of_type("AWS::Lambda::EventSourceMapping").values())
    for spec in description.all_tables():
        table_id, table = _table(template, spec.name)
        stream = table["Properties"].get("StreamSpecification")
        assert stream == ({"StreamViewType": "NEW_AND_OLD_IMAGES"} if spec.stream else None), spec.logical
    consumers = description.stream_consumers
    assert consumers
    for consumer in consumers:
        table_id, _ = _table(template, description.table(consumer.table).name)
        mapping = _mapping_from(mappings, {"Fn::GetAtt": [table_id, "StreamArn"]})
        assert to_cfn_resource_name(consumer.consumer) in json.dumps(mapping["Properties"]["FunctionName"])
        assert mapping["Properties"]["StartingPosition"] == "TRIM_HORIZON"
        failures = mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert template.resources[failures]["Type"] == "AWS::SQS::Queue", "failed stream batches must be kept"


def _mapping_from(mappings: list[dict], source: dict) -> dict:
    found = [m for m in mappings if m["Properties"]["EventSourceArn"] == source]
    assert len(found) == 1, f"expected one event source mapping from {source}"
    return found[0]


def test_s3_events_reach_their_consumers_through_sqs_with_a_dead_letter_queue(template):
    """Chalice cannot package S3 events: the bucket notifies a queue that S3 may write to, and the
    queue feeds the consumer function; poison messages land in a dead-letter queue."""
    description = description_for(template.profile)
    queues = {spec.logical: spec for spec in description.queues}
    mappings = list(template.of_type("AWS::Lambda::EventSourceMapping").values())
    for bucket_spec in description.buckets:
        bucket_id, bucket = template.named("AWS::S3::Bucket", "BucketName", bucket_spec.name)
        configured = bucket["Properties"].get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        assert len(configured) == len(bucket_spec.notifications)
        for prefix, event, queue_logical in bucket_spec.notifications:
            queue_id, queue = template.named("AWS::SQS::Queue", "QueueName", queues[queue_logical].name)
            assert {
                "Event": event,
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": prefix}]}},
                "Queue": {"Fn::GetAtt": [queue_id, "Arn"]},
            } in configured
            assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] >= 1
            queue_policy = json.dumps(
                [
                    p
                    for p in template.of_type("AWS::SQS::QueuePolicy").values()
                    if {"Ref": queue_id} in p["Properties"]["Queues"]
                ]
            )
            assert "s3.amazonaws.com" in queue_policy
            assert f":::{bucket_spec.name}" in queue_policy
            mapping = _mapping_from(mappings, {"Fn::GetAtt": [queue_id, "Arn"]})
            consumer = to_cfn_resource_name(queues[queue_logical].consumer)
            assert consumer in json.dumps(mapping["Properties"]["FunctionName"])
            assert consumer in template.functions()


def test_a_state_machine_for_every_asl_file_with_every_placeholder_resolved(template):
    asl_files = sorted(ASL_DIR.glob("*.asl.json"))
    assert asl_files
    functions = template.functions()
    machines = template.of_type("AWS::StepFunctions::StateMachine")
    assert len(machines) == len(asl_files)
    prefix = settings_for(template.profile).resource_prefix
    for path in asl_files:
        logical = path.name.removesuffix(".asl.json")
        _, machine = template.named("AWS::StepFunctions::StateMachine", "StateMachineName", f"{prefix}-{logical}")
        properties = machine["Properties"]
        definition = properties["DefinitionString"]
        assert json.loads(definition) == json.loads(path.read_text(encoding="utf-8")), "the ASL must be the file's"
        substitutions = properties.get("DefinitionSubstitutions", {})
        placeholders = set(re.findall(r"\$\{([^}]*)\}", definition))
        assert placeholders, f"{path.name} names no task functions"
        assert placeholders <= set(substitutions), f"unresolved: {placeholders - set(substitutions)}"
        for name in placeholders:
            target = substitutions[name]["Fn::GetAtt"][0]
            assert target in functions
            assert target == to_cfn_resource_name(name)


def test_functions_read_the_deployments_settings_and_state_machine_arns(template):
    settings = settings_for(template.profile)
    description = description_for(template.profile)
    functions = template.functions()
    assert functions
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PIXELKEEP_STAGE"] == settings.stage, name
        assert variables["PIXELKEEP_PROFILE"] == template.profile, name
        assert variables["PIXELKEEP_RESOURCE_PREFIX"] == settings.resource_prefix, name
        assert variables["PIXELKEEP_SECRET_PREFIX"] == settings.secret_prefix, name
        assert variables["PIXELKEEP_PUBLIC_URL"] == settings.public_base_url == PUBLIC_URL, name
        assert variables["POWERTOOLS_SERVICE_NAME"] == "pixelkeep", name
        for spec in description.state_machines:
            arn = json.dumps(variables[f"PIXELKEEP_{spec.logical.upper()}_STATE_MACHINE_ARN"])
            assert f":stateMachine:{spec.name}" in arn, name
