"""SEC-5 (technical logs kept 90 days) and SEC-6 (encryption in transit and at rest) in the template,
and no secret values (least-privilege grants: test_cdk_least_privilege.py)."""

from __future__ import annotations

import json

from chalicelib.profile.loader import load_profile
from chalicelib.profile.schema import Category
from tests.infra.conftest import description_for

TECHNICAL_LOG_DAYS = 90
# SEC-5: "Technical and error logs are kept 90 days"


def test_sec6_every_table_is_encrypted_at_rest(template):
    tables = template.of_type("AWS::DynamoDB::Table")
    assert tables
    for name, table in tables.items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, name


def test_sec6_every_bucket_is_encrypted_and_blocks_public_access(template):
    buckets = template.of_type("AWS::S3::Bucket")
    assert len(buckets) == len(description_for(template.profile).buckets)
    for name, bucket in buckets.items():
        encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}, name
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        assert "VersioningConfiguration" not in bucket["Properties"], f"{name}: deleted objects must really go"


def _bucket_policy_statements(template, bucket_logical_id: str) -> list[dict]:
    policies = [
        p
        for p in template.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_logical_id}
    ]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_sec6_every_bucket_denies_requests_without_tls(template):
    for name in template.of_type("AWS::S3::Bucket"):
        denies_plain_http = [
            s
            for s in _bucket_policy_statements(template, name)
            if s["Effect"] == "Deny"
            and s["Action"] == "s3:*"
            and s["Principal"] in ({"AWS": "*"}, "*")
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies_plain_http, f"{name} accepts requests without TLS"
        covered = json.dumps(denies_plain_http[0]["Resource"])
        assert name in covered, f"{name}: the TLS rule must cover the bucket"
        assert "/*" in covered, f"{name}: the TLS rule must cover the bucket's objects"


def test_sec6_queues_are_encrypted_and_tls_only(template):
    queues = template.of_type("AWS::SQS::Queue")
    assert queues
    for name, queue in queues.items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, name
    for name in queues:
        statements = [
            s
            for p in template.of_type("AWS::SQS::QueuePolicy").values()
            if {"Ref": name} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        ), f"{name} accepts requests without TLS"


def test_sec5_every_log_group_keeps_the_profiles_technical_log_period(template):
    profile = load_profile(template.profile)
    expected = (
        profile.category(Category.TECHNICAL_LOGS).retention.days
        if profile.has(Category.TECHNICAL_LOGS)
        else TECHNICAL_LOG_DAYS
    )
    assert expected == TECHNICAL_LOG_DAYS
    log_groups = template.of_type("AWS::Logs::LogGroup")
    assert log_groups
    for name, group in log_groups.items():
        assert group["Properties"].get("RetentionInDays") == expected, name


def test_sec5_every_function_logs_to_a_group_with_retention(template):
    """A function without its own log group would log to one Lambda creates with no expiry."""
    named_groups = [
        json.dumps(g["Properties"]["LogGroupName"]) for g in template.of_type("AWS::Logs::LogGroup").values()
    ]
    functions = template.functions()
    assert "APIHandler" in functions
    for name in functions:
        assert any("/aws/lambda/${" + name + "}" in group for group in named_groups), f"{name} has no log group"


def test_state_machines_log_only_errors_without_execution_data(template):
    for name, machine in template.of_type("AWS::StepFunctions::StateMachine").items():
        logging = machine["Properties"]["LoggingConfiguration"]
        assert logging["Level"] == "ERROR", name
        assert logging["IncludeExecutionData"] is False, name


def test_template_holds_no_secret_values(template):
    from infra.local_secrets import LOCAL_SECRETS

    text = template.path.read_text(encoding="utf-8")
    assert not template.of_type("AWS::SSM::Parameter", "AWS::SecretsManager::Secret")
    for value in LOCAL_SECRETS.values():
        assert value not in text
    for key in ("sk_live_", "sk_test_", "whsec_", "rk_live_"):
        assert key not in text


def test_sec6_customer_managed_key_encrypts_every_log_group_the_stack_declares(synthesized):
    """The functions', the workflows' and the API's access log (checkov's CKV_AWS_158 asks the same)."""
    template = synthesized("kaleipix", customer_managed_key=True)
    (key_id,) = template.of_type("AWS::KMS::Key")
    groups = template.of_type("AWS::Logs::LogGroup")
    assert len(groups) > len(template.of_type("AWS::StepFunctions::StateMachine")) + 1
    for name, group in groups.items():
        assert group["Properties"].get("KmsKeyId") == {"Fn::GetAtt": [key_id, "Arn"]}, name


def test_sec6_customer_managed_key_encrypts_every_table_and_bucket(synthesized):
    template = synthesized("kaleipix", customer_managed_key=True)
    (key_id,) = template.of_type("AWS::KMS::Key")
    assert template.resources[key_id]["Properties"]["EnableKeyRotation"] is True
    for name, table in template.of_type("AWS::DynamoDB::Table").items():
        sse = table["Properties"]["SSESpecification"]
        assert sse["SSEType"] == "KMS", name
        assert sse["KMSMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}, name
    for name, bucket in template.of_type("AWS::S3::Bucket").items():
        default = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert default["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", name
        assert key_id in json.dumps(default["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]), name
