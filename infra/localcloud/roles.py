"""Each function's role, enforced locally: an AWS call a function makes outside what it declares
(chalicelib/grants.py) fails with AccessDenied, as it would under the role the stack gives it.

A missing declaration thus shows up in the tests and the local cloud, not in production (SEC-6).
The check wraps every botocore call made while a Lambda handler runs (lambda_hook.py); calls made
by anything else (the API served by Chalice, tests, the sweeper) are not checked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from chalicelib.grants import Uses

TABLE_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "TransactGetItems"}
TABLE_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
# CDK grant_read: s3:GetObject*, s3:List*
BUCKET_READS = {"GetObject", "GetObjectTagging", "HeadObject", "ListObjects", "ListObjectsV2", "ListParts"}
BUCKET_WRITES = {
    "PutObject",
    "PutObjectTagging",  # CDK grant_write: the clock tag a legal hold changes (DSR-12)
    "CopyObject",
    "DeleteObject",
    "DeleteObjects",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
}

# The drift check's reads of settings (OPS-8): granted by `inspect_deployment`, on every resource.
INSPECTION = {
    ("dynamodb", "DescribeTimeToLive"),
    ("dynamodb", "DescribeContinuousBackups"),
    ("s3", "GetBucketLifecycleConfiguration"),
    ("s3", "GetBucketEncryption"),
    ("logs", "DescribeLogGroups"),
}

_acting = threading.local()  # the declaration of the handler running on this thread, if any


class AccessDenied(Exception):
    """What AWS answers a role that lacks the permission."""


@lru_cache(maxsize=1)
def declarations() -> dict[str, Uses]:
    from infra.description import functions

    return {spec.name: spec.uses for spec in functions()}


@contextmanager
def acting_as(function: str) -> Iterator[None]:
    """Calls on this thread are checked against `function`'s declaration until the block ends."""
    previous = getattr(_acting, "uses", None)
    _acting.uses = declarations().get(function, Uses())
    try:
        yield
    finally:
        _acting.uses = previous


@contextmanager
def as_the_platform() -> Iterator[None]:
    """Calls AWS itself makes on a function's behalf (CloudWatch Logs reading its EMF output) are
    not the function's: unchecked while the block runs."""
    previous = getattr(_acting, "uses", None)
    _acting.uses = None
    try:
        yield
    finally:
        _acting.uses = previous


def _logical(name: str) -> str:
    from chalicelib.settings import get_settings

    return name.removeprefix(f"{get_settings().resource_prefix}-")


def _tables(operation: str, params: dict[str, Any]) -> list[tuple[str, bool]]:
    """(logical table, writes) for each table a DynamoDB call touches."""
    if operation == "TransactWriteItems":
        return [
            (_logical(action["TableName"]), kind != "ConditionCheck")
            for item in params["TransactItems"]
            for kind, action in item.items()
        ]
    if operation == "TransactGetItems":
        return [(_logical(item["Get"]["TableName"]), False) for item in params["TransactItems"]]
    names = params["RequestItems"] if "RequestItems" in params else [params["TableName"]]
    return [(_logical(name), operation in TABLE_WRITES) for name in names]


def refusal(uses: Uses, service: str, operation: str, params: dict[str, Any]) -> str | None:
    """Why the role built from `uses` would refuse this call, or None when it allows it."""
    from chalicelib.settings import get_settings

    if (service, operation) in INSPECTION or (uses.inspect_deployment and operation == "DescribeTable"):
        return None if uses.inspect_deployment else f"{service}:{operation} (no declaration grants it)"
    if (
        uses.read_holds
        and (service, operation) == ("dynamodb", "GetItem")
        and _logical(params["TableName"]) == "requests"
        and params["Key"]["pk"]["S"].startswith("HELD#")
    ):
        return None  # DSR-12: the condition dynamodb:LeadingKeys HELD#* of the stack's statement
    if service == "dynamodb" and operation in TABLE_READS | TABLE_WRITES | {"TransactWriteItems"}:
        for table, writes in _tables(operation, params):
            allowed = uses.write_tables if writes else uses.read_tables | uses.write_tables
            if table not in allowed:
                return f"{'write' if writes else 'read'} table {table}"
        return None
    if service == "s3" and operation in BUCKET_READS | BUCKET_WRITES:
        bucket, writes = _logical(params["Bucket"]), operation in BUCKET_WRITES
        allowed = uses.write_buckets if writes else uses.read_buckets | uses.write_buckets
        return None if bucket in allowed else f"{'write' if writes else 'read'} bucket {bucket}"
    if service == "stepfunctions" and operation == "StartExecution":
        machine = _logical(params["stateMachineArn"].rsplit(":", 1)[-1])
        return None if machine in uses.start_workflows else f"start state machine {machine}"
    if service == "secretsmanager" and operation == "GetSecretValue":
        # By name, as the app asks; the stack grants each declared name's ARN (`<name>-??????`) only.
        prefix, secret = f"{get_settings().secret_prefix}/", params["SecretId"]
        return None if secret.startswith(prefix) and secret[len(prefix) :] in uses.secrets else f"read secret {secret}"
    if service in ("ses", "sesv2") and operation in ("SendEmail", "SendRawEmail"):
        return None if uses.send_email else "send email"
    return f"{service}:{operation} (no declaration grants it)"


@contextmanager
def enforced() -> Iterator[None]:
    """Check every botocore call made while a handler runs against that handler's declaration."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def checked(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        uses = getattr(_acting, "uses", None)
        if uses is not None:
            service = client.meta.service_model.service_name
            why = refusal(uses, service, operation, params)
            if why is not None:
                raise AccessDenied(f"the function's role may not {why}")
        return original(client, operation, params)

    BaseClient._make_api_call = checked
    try:
        yield
    finally:
        BaseClient._make_api_call = original
