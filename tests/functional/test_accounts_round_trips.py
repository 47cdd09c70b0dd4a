"""An authenticated GET /me costs at most two DynamoDB calls (session item, then user item)."""

from __future__ import annotations

import botocore.session
import pytest

from tests.support.auth import sign_up
from tests.support.mail import allow_sending


@pytest.fixture
def dynamodb_calls(aws, monkeypatch):
    """Operation names of every DynamoDB call made through pynamodb, via a botocore event hook."""
    import pynamodb.connection.base

    from chalicelib import wiring

    calls: list[str] = []
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    monkeypatch.setattr(pynamodb.connection.base, "get_session", lambda: session)
    wiring.reset()  # rebuild the stores' connections on the hooked session
    wiring.bound_models()
    return calls


def test_authenticated_get_me_costs_at_most_two_dynamodb_calls(client, aws, dynamodb_calls):
    allow_sending(aws)
    signed = sign_up(client)
    dynamodb_calls.clear()
    response = client.http.get("/me", headers=signed.headers)
    assert response.status_code == 200
    assert dynamodb_calls, "the hook saw no DynamoDB call at all"
    assert len(dynamodb_calls) <= 2, dynamodb_calls
