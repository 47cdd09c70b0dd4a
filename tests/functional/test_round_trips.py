"""DynamoDB round trips of every hot route (issue 16, P2), counted on the session every client shares.

A signed-in request reads its session and its user in one TransactGetItems (the token names its
user: chalicelib/domain/accounts/sessions.py), so an authenticated read costs that one call plus
the route's own read: at most two. A submit is one transaction and one provider call, plus the
calls each named below for its reason.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.functional import content_world
from tests.functional.generation_helpers import fund
from tests.support.auth import sign_up

world = content_world.world  # the fixture

AUTH = "TransactGetItems"  # session + user, one read
IMAGE_ACCEPT = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"}


@pytest.fixture
def dynamodb_calls(world):
    """Operation names of every DynamoDB call from here on, by a hook on the one botocore session:
    registered before any client is built, so every client (pynamodb's and boto3's) carries it."""
    from chalicelib import wiring
    from chalicelib.store import aws

    calls: list[str] = []
    wiring.reset()
    aws.botocore_session().register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    wiring.bound_models()
    return calls


@pytest.fixture
def person(client, world, dynamodb_calls):
    """A signed-in, funded person with a generated image and a share link of it."""
    user = sign_up(client)
    fund(user.user_id, 5)
    body = {"prompt": "a quiet harbour", "model": "flux-schnell"}
    submitted = client.http.post("/generations", headers=user.headers, body=json.dumps(body))
    assert submitted.status_code == 202, submitted.body
    world.emulator.flush()
    for url, headers, payload in world.delivered:
        assert client.http.post(urlsplit(url).path, headers=headers, body=payload).status_code == 200
    world.delivered.clear()
    gen_id = submitted.json_body["id"]
    share = client.http.post(f"/gallery/{gen_id}/shares", headers=user.headers, body="{}")
    assert share.status_code == 201, share.body
    return user, gen_id, urlsplit(share.json_body["url"]).path


def _counted(client, calls, path, headers) -> tuple[int, list[str]]:
    client.http.get(path, headers=headers)  # warm: clients built, secrets cached
    calls.clear()
    response = client.http.get(path, headers=headers)
    return response.status_code, list(calls)


def test_p2_every_authenticated_hot_read_costs_at_most_two_dynamodb_calls(client, person, dynamodb_calls):
    user, gen_id, _ = person
    hot_reads = {
        "/me": [AUTH],
        "/me/api-keys": [AUTH, "Query"],
        "/uploads": [AUTH, "Query"],
        f"/generations/{gen_id}": [AUTH, "GetItem"],  # polled while a job runs
        "/gallery": [AUTH, "Query"],
        f"/gallery/{gen_id}": [AUTH, "GetItem"],
        "/me/requests": [AUTH, "Query"],
        "/me/consents": [AUTH, "Query"],
    }
    for path, expected in hot_reads.items():
        status, calls = _counted(client, dynamodb_calls, path, user.headers)
        assert status == 200, path
        assert len(calls) <= 2, f"{path}: {calls}"
        assert calls == expected, f"{path}: {calls}"


def test_p2_listing_views_add_one_read_each_for_a_reason(client, person, dynamodb_calls):
    """Not polled, and a third call has a job: the share list proves the image is the caller's (404
    otherwise) before listing its links. The ledger page needs none: its balance is its newest
    entry's, read in the same query (PAY-2)."""
    user, gen_id, _ = person
    listings = {
        f"/gallery/{gen_id}/shares": [AUTH, "GetItem", "Query"],
        "/me/ledger": [AUTH, "Query"],
    }
    for path, expected in listings.items():
        status, calls = _counted(client, dynamodb_calls, path, user.headers)
        assert (status, calls) == (200, expected), path


def test_p2_public_and_static_routes(client, person, dynamodb_calls):
    """An opened share link: find the link by id (index query), then read its image record."""
    _, _, share_path = person
    assert _counted(client, dynamodb_calls, share_path, IMAGE_ACCEPT) == (200, ["Query", "GetItem"])
    for path in ("/health", "/policy", "/policy.json", "/billing/catalogue"):
        assert _counted(client, dynamodb_calls, path, {}) == (200, []), path


def test_p2_a_submit_is_one_transaction_and_one_provider_call(client, world, person, dynamodb_calls):
    """Around the one transaction (hold + job + deadline + log, GEN-1, GEN-2) and the one provider
    call: the authorizer's read; the per-person generation rate limit's counter (SEC); the ledger
    position the transaction is conditioned on, whose sequence and balance the hold's entry records
    (PAY-2, PAY-4); and, once the provider answers, binding its request id to the job, which is what
    makes a signed callback for any other request change nothing (GEN-3)."""
    user, _, _ = person
    body = json.dumps({"prompt": "a lighthouse at dusk", "model": "flux-schnell"})
    dynamodb_calls.clear()
    world.http.calls.clear()
    response = client.http.post("/generations", headers=user.headers, body=body)
    assert response.status_code == 202, response.body
    assert dynamodb_calls == [AUTH, "UpdateItem", "GetItem", "TransactWriteItems", "UpdateItem"]
    assert dynamodb_calls.count("TransactWriteItems") == 1
    assert [method for method, _ in world.http.calls] == ["POST"]
