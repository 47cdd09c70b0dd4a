"""Powertools' idempotency records live in their own table (infra/description.py provisions it)."""

from __future__ import annotations

from typing import Any

from chalicelib.settings import get_settings
from chalicelib.store.layout import IDEMPOTENCY_TABLE


def persistence_layer() -> Any:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    settings = get_settings()
    return DynamoDBPersistenceLayer(
        table_name=settings.table_name(IDEMPOTENCY_TABLE),
        boto3_client=boto3.client("dynamodb", region_name=settings.region),
    )
