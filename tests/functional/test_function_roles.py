"""SEC-6 locally: while a Lambda handler runs, its AWS calls are held to what it declares, as its
own role holds them in AWS. The workflow and stream tests run every handler under this check."""

from __future__ import annotations

import pytest

from infra.localcloud.lambda_hook import lambda_dispatch
from infra.localcloud.roles import AccessDenied, acting_as


@pytest.fixture
def enforced(aws):
    from app import app

    with lambda_dispatch(app):
        yield aws


def test_a_task_reads_what_it_declares_and_may_not_write_the_ledger(enforced):
    from chalicelib.settings import get_settings

    ledger = get_settings().table_name("ledger")
    key = {"pk": {"S": "USER#roles"}, "sk": {"S": "BALANCE"}}
    client = enforced.client("dynamodb")
    with acting_as("export_collect"):
        client.get_item(TableName=ledger, Key=key)
        with pytest.raises(AccessDenied, match="write table ledger"):
            client.put_item(TableName=ledger, Item=key)


def test_the_check_covers_the_stores_calls_too(enforced):
    from chalicelib import wiring

    with acting_as("upload_processor"), pytest.raises(AccessDenied, match="read table accounts"):
        wiring.accounts_store().get_user("roles", consistent=True)


def test_a_secret_is_readable_only_where_declared(enforced):
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    from chalicelib.store.secrets import clear_cache, secret

    clear_cache()
    with acting_as("erasure_receipt"), pytest.raises(GetParameterError, match="may not read secret "):
        secret("stripe-api-key")
    with acting_as("api_handler"):
        assert secret("stripe-api-key")


def test_calls_outside_any_handler_are_not_checked(enforced):
    from chalicelib.settings import get_settings

    enforced.client("dynamodb").describe_table(TableName=get_settings().table_name("ledger"))
