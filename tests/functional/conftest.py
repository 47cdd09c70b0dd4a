"""Functional tests: moto in-process, resources provisioned from the one description."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(aws, monkeypatch):
    """chalice.test's client; routes under IAM authorization check SigV4 as API Gateway does (OPS-6)."""
    from functools import partial

    import chalice.local
    from chalice.test import Client

    from app import app
    from chalicelib.settings import get_settings
    from infra.description import operators_group
    from infra.localcloud.iam_auth import SigV4Authorizer

    authorizer = partial(SigV4Authorizer, operators_group=operators_group(get_settings()), iam=aws.client("iam"))
    monkeypatch.setattr(chalice.local, "LocalGatewayAuthorizer", authorizer)
    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def operator(aws, client):
    """`client` signing every request as an IAM user in the operators' group."""
    from chalicelib.settings import get_settings
    from infra.description import operators_group
    from tests.support.operators import SignedClient, new_operator

    return SignedClient(client, new_operator(aws.client("iam"), operators_group(get_settings()), "operator-ana"))


@pytest.fixture
def serialized_dynamodb():
    """DynamoDB applies each request atomically; in-process moto does not (see
    infra/localcloud/fidelity.py), so concurrency tests get the same stand-in the local cloud uses."""
    from infra.localcloud.fidelity import dynamodb_requests_one_at_a_time

    with dynamodb_requests_one_at_a_time():
        yield
