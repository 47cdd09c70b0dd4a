"""OPS-8 drift on moto, through the operator route (SigV4): the deployment provisioned from the one
description is in step with its profile; a setting changed behind the stack's back is reported."""

from __future__ import annotations

import time

import pytest

from tests.conftest import PROFILES


@pytest.fixture(params=PROFILES)
def profile_name(request):
    return request.param


def test_ops8_the_provisioned_deployment_is_in_step_with_its_profile(operator, aws, profile_name):
    response = operator.get("/operator/drift")
    assert response.status_code == 200, response.body
    assert response.json_body["differences"] == []
    assert response.json_body["in_step"] is True
    assert response.json_body["profile"] == profile_name


@pytest.mark.parametrize("profile_name", ["pictomancer"])
def test_ops8_settings_changed_behind_the_stacks_back_are_reported(operator, aws, profile_name):
    from chalicelib import wiring
    from chalicelib.settings import get_settings

    settings, profile = get_settings(), wiring.profile()
    dynamodb, s3, logs = aws.client("dynamodb"), aws.client("s3"), aws.client("logs")
    accounts = settings.table_name("accounts")
    dynamodb.update_time_to_live(
        TableName=accounts, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires_at"}
    )
    content_bucket = settings.bucket_name("content")
    s3.put_bucket_lifecycle_configuration(
        Bucket=content_bucket,
        LifecycleConfiguration={
            "Rules": [{"ID": "x", "Filter": {"Prefix": "uploads/"}, "Status": "Enabled", "Expiration": {"Days": 400}}]
        },
    )
    group = f"/aws/lambda/{settings.resource_prefix}-api"
    logs.create_log_group(logGroupName=group)  # created without a retention: kept forever
    # A record of a timed category written without its clock (a raw write that skipped TTL stamping).
    timed = _a_timed_record_class(profile)
    dynamodb.put_item(
        TableName=settings.table_name(timed.logical_table),
        Item={"pk": {"S": f"{timed.pk_prefix}x1"}, "sk": {"S": f"{timed.sk_prefix}{time.time_ns()}"}},
    )
    report = operator.get("/operator/drift").json_body
    found = {(d["resource"], d["setting"]): d for d in report["differences"]}
    assert report["in_step"] is False
    assert found[(accounts, "ttl_attribute")]["deployed"] == "disabled"
    assert found[(content_bucket, "lifecycle uploads/ (uploads)")]["deployed"] == "400 days"
    assert found[(group, "retention_days")]["deployed"] == "never expires"
    assert "1 without a TTL" in found[(f"{timed.logical_table} {timed.__name__}", "item_ttl")]["deployed"]


def _a_timed_record_class(profile):
    from chalicelib.store.base import record_class_of, record_classes

    for cls in record_classes():
        timed = cls.category is not None and profile.stores(cls.category)
        if timed and profile.category(cls.category).retention.time_limited and cls.pk_prefix and cls.sk_prefix:
            if record_class_of(cls.logical_table, f"{cls.pk_prefix}x1", f"{cls.sk_prefix}1") is cls:
                return cls
    raise AssertionError("the profile keeps no timed record")


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_ops8_the_drift_check_is_an_audited_operator_action(operator, aws, profile_name):
    """The route and the Lambda action (run by moto's Lambda under the function's own declared reach,
    infra/localcloud/roles.py) both answer in step and audit who ran the check (OPS-6)."""
    import json

    from app import app
    from chalicelib import wiring
    from infra.localcloud.lambda_hook import lambda_dispatch
    from infra.provision import create_execution_role, provision_functions

    assert operator.get("/operator/drift").json_body["in_step"] is True
    with lambda_dispatch(app):
        provision_functions(aws, ["operator_drift_report"], create_execution_role(aws))
        response = aws.client("lambda").invoke(FunctionName="operator_drift_report", Payload=b"{}")
        assert "FunctionError" not in response, response["Payload"].read()
        answer = json.loads(response["Payload"].read())
    assert answer["result"]["in_step"] is True, answer
    month = time.strftime("%Y-%m", time.gmtime())
    actions = [(a.operator, a.action) for a in wiring.rights().audit_log(month)]
    assert (operator.operator.arn, "drift_check") in actions
    assert any(who.startswith("lambda:operator_drift_report/") and what == "drift_check" for who, what in actions)
