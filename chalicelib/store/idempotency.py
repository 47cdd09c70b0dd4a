"""Powertools' idempotency records live in their own table (infra/description.py provisions it)."""

from __future__ import annotations

from typing import Any

from chalicelib.settings import get_settings
from chalicelib.store.layout import IDEMPOTENCY_TABLE


def persistence_layer() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from chalicelib.store import aws

    return DynamoDBPersistenceLayer(
        table_name=get_settings().table_name(IDEMPOTENCY_TABLE), boto3_client=aws.client("dynamodb")
    )
