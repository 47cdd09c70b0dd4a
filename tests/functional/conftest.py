"""Functional tests: moto in-process, resources provisioned from the one description."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def serialized_dynamodb():
    """DynamoDB applies each request atomically; in-process moto does not (see
    infra/localcloud/fidelity.py), so concurrency tests get the same stand-in the local cloud uses."""
    from infra.localcloud.fidelity import dynamodb_requests_one_at_a_time

    with dynamodb_requests_one_at_a_time():
        yield
