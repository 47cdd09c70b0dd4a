"""POST /generations and the provider webhook route over HTTP: validation, limits, errors."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from chalicelib import wiring
from chalicelib.domain import generations
from tests.functional import content_world
from tests.functional.generation_helpers import fund
from tests.support.auth import sign_up
from tests.support.content import drain_upload_queue, image_bytes, object_keys, post_file

world = content_world.world  # the fixture


def post(client, user, body: dict):
    return client.http.post("/generations", headers=user.headers, body=json.dumps(body))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * (generations.PROMPT_MAX + 1)}, "prompt"),
        ({"negative_prompt": "x" * (generations.NEGATIVE_PROMPT_MAX + 1)}, "negative_prompt"),
        ({"aspect_ratio": "2:1"}, "aspect_ratio"),
        ({"style": "<script>"}, "style"),
        ({"safety_level": "off"}, "safety_level"),
        ({"seed_of_chaos": 1}, "seed_of_chaos"),
    ],
)
def test_gen1_invalid_requests_get_a_400_naming_the_field(client, world, change, field):
    user = sign_up(client)
    fund(user.user_id, 1)
    response = post(client, user, {"prompt": "ok", "model": "flux-schnell", **change})
    assert response.status_code == 400
    assert field in {problem["field"] for problem in response.json_body["error"]["details"]["fields"]}
    assert world.emulator.jobs == {}


def test_gen1_models_the_provider_does_not_offer_are_refused(client, world):
    user = sign_up(client)
    fund(user.user_id, 1)
    response = post(client, user, {"prompt": "ok", "model": "dall-e-3"})
    assert response.status_code == 400
    assert "flux-schnell" in response.json_body["error"]["details"]["models"]


def test_generation_needs_a_session_and_credits(client, world):
    assert (
        client.http.post("/generations", body=json.dumps({"prompt": "a", "model": "flux-schnell"})).status_code == 401
    )
    user = sign_up(client)
    response = post(client, user, {"prompt": "ok", "model": "flux-schnell"})
    assert response.status_code == 402
    assert world.emulator.jobs == {}


def test_generation_submits_are_rate_limited(client, world, monkeypatch):
    from chalicelib.domain.accounts import abuse

    monkeypatch.setitem(abuse.ROUTE_LIMITS, "generation", abuse.Limit(2, 60))
    user = sign_up(client)
    fund(user.user_id, 5)
    codes = [post(client, user, {"prompt": "ok", "model": "flux-schnell"}).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert len(world.emulator.jobs) == 2


def test_gen3_webhook_route_refuses_forgeries_and_foreign_providers(client, world):
    user = sign_up(client)
    fund(user.user_id, 1)
    gen_id = post(client, user, {"prompt": "ok", "model": "flux-schnell"}).json_body["id"]
    world.emulator.flush()
    [(url, headers, body)] = world.delivered
    path = urlsplit(url).path
    tampered = client.http.post(path, headers=headers, body=body.replace(b'"OK"', b'"ERROR"'))
    assert tampered.status_code == 400
    assert tampered.json_body["error"]["code"] == "signature_invalid"
    assert client.http.post(path.replace("/fal/", "/runpod/"), headers=headers, body=body).status_code == 404
    assert client.http.get(f"/generations/{gen_id}", headers=user.headers).json_body["status"] == "queued"
    assert client.http.post(path, headers=headers, body=body).status_code == 200
    assert client.http.get(f"/generations/{gen_id}", headers=user.headers).json_body["status"] == "completed"


def test_cnt1_sec7_upload_routes(client, aws):
    user, other = sign_up(client), sign_up(client)
    refused = client.http.post("/uploads", headers=user.headers, body=json.dumps({"content_type": "image/gif"}))
    assert refused.status_code == 415
    started = client.http.post("/uploads", headers=user.headers, body=json.dumps({"content_type": "image/png"}))
    assert started.status_code == 201
    upload = started.json_body
    post_file(upload, image_bytes("PNG", (9, 9)))
    drain_upload_queue(aws)
    mine = client.http.get(f"/uploads/{upload['id']}", headers=user.headers).json_body
    assert (mine["status"], mine["format"], mine["width"]) == ("ready", "PNG", 9)
    assert client.http.get(f"/uploads/{upload['id']}", headers=other.headers).status_code == 404
    assert [u["id"] for u in client.http.get("/uploads", headers=user.headers).json_body["items"]] == [upload["id"]]
    assert client.http.get("/uploads", headers=other.headers).json_body["items"] == []
    assert client.http.delete(f"/uploads/{upload['id']}", headers=user.headers).status_code == 200
    assert object_keys(aws, "uploads/") == []


@pytest.mark.parametrize("profile_name", ["pictomancer"])
def test_cnt2_pictomancer_upload_carries_an_expiry_within_24_hours(client, aws):
    from datetime import datetime, timedelta

    user = sign_up(client)
    upload = client.http.post(
        "/uploads", headers=user.headers, body=json.dumps({"content_type": "image/png"})
    ).json_body
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    view = client.http.get(f"/uploads/{upload['id']}", headers=user.headers).json_body
    created = datetime.fromisoformat(view["created_at"])
    assert view["status"] == "ready"
    assert timedelta(0) < datetime.fromisoformat(view["expires_at"]) - created <= timedelta(hours=24)


def test_sec7_upload_urls_are_rate_limited(client, monkeypatch):
    from chalicelib.domain.accounts import abuse

    monkeypatch.setitem(abuse.ROUTE_LIMITS, "upload", abuse.Limit(1, 60))
    user = sign_up(client)
    body = json.dumps({"content_type": "image/png"})
    codes = [client.http.post("/uploads", headers=user.headers, body=body).status_code for _ in range(2)]
    assert codes == [201, 429]


def test_gen3_a_callback_completes_only_the_job_it_was_issued_for(client, world):
    """Job A's genuine, signed callback posted to job B's webhook URL changes nothing: B's own
    result still lands in B's gallery, and A's image never does."""
    alice, bob = sign_up(client), sign_up(client)
    fund(alice.user_id, 1)
    fund(bob.user_id, 1)
    job_a = post(client, alice, {"prompt": "alice's cat", "model": "flux-schnell"}).json_body["id"]
    job_b = post(client, bob, {"prompt": "bob's boat", "model": "flux-schnell"}).json_body["id"]
    world.emulator.flush()
    calls = {
        urlsplit(url).path.split("/")[-1].split(".")[0]: (url, headers, body) for url, headers, body in world.delivered
    }
    _, headers_a, body_a = calls[job_a]
    path_b = urlsplit(calls[job_b][0]).path
    swapped = client.http.post(path_b, headers=headers_a, body=body_a)
    assert swapped.status_code == 400
    assert swapped.json_body["error"]["code"] == "signature_invalid"
    assert client.http.get(f"/generations/{job_b}", headers=bob.headers).json_body["status"] == "queued"
    assert client.http.get("/gallery", headers=bob.headers).json_body["items"] == []
    for url, headers, body in calls.values():
        assert client.http.post(urlsplit(url).path, headers=headers, body=body).status_code == 200
    assert [item["id"] for item in client.http.get("/gallery", headers=bob.headers).json_body["items"]] == [job_b]
    assert wiring.ledger().balance(bob.user_id) == 0


def test_gen3_a_callback_signed_for_another_fal_account_changes_nothing(client, world):
    user = sign_up(client)
    fund(user.user_id, 1)
    gen_id = post(client, user, {"prompt": "ok", "model": "flux-schnell"}).json_body["id"]
    world.emulator.flush()
    [(url, headers, body)] = world.delivered
    foreign = world.emulator.sign(headers["X-Fal-Webhook-Request-Id"], body, user_id="another-fal-account")
    refused = client.http.post(urlsplit(url).path, headers=foreign, body=body)
    assert refused.status_code == 400
    assert refused.json_body["error"]["code"] == "signature_invalid"
    assert client.http.get(f"/generations/{gen_id}", headers=user.headers).json_body["status"] == "queued"


# -- job kinds, the job list, cancelling, characters ------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "teleport"}, "kind"),
        ({"kind": "upscale", "scale": 2}, None),  # kaleipix offers text-to-image only
        ({"prompt": "ok", "model": "flux-schnell", "input_upload_ids": ["a", "b"]}, "input_upload_ids"),
        ({"prompt": "ok", "model": "flux-schnell", "character_id": "c1"}, "character_id"),
        ({"prompt": "", "model": "flux-schnell"}, "prompt"),
    ],
)
def test_a_kind_not_offered_or_fields_it_does_not_take_get_a_400(client, world, body, field):
    user = sign_up(client)
    fund(user.user_id, 5)
    response = post(client, user, body)
    assert response.status_code == 400, response.json_body
    if field:
        assert field in {problem["field"] for problem in response.json_body["error"]["details"]["fields"]}
    assert world.emulator.jobs == {}


@pytest.mark.parametrize(
    "query", ["?kind=teleport", "?limit=0", "?limit=101", "?limit=ten", "?cursor=not-a-cursor", "?colour=red"]
)
def test_the_job_list_refuses_bad_queries_with_a_400(client, world, query):
    user = sign_up(client)
    response = client.http.get(f"/generations{query}", headers=user.headers)
    assert response.status_code == 400, response.json_body


def test_the_job_list_pages_newest_first_and_a_cursor_is_its_owners(client, world):
    user, other = sign_up(client), sign_up(client)
    fund(user.user_id, 3)
    ids = [post(client, user, {"prompt": f"p{n}", "model": "flux-schnell"}).json_body["id"] for n in range(3)]
    first = client.http.get("/generations?limit=2", headers=user.headers).json_body
    assert [job["id"] for job in first["items"]] == ids[:0:-1]
    rest = client.http.get(f"/generations?limit=2&cursor={first['next_cursor']}", headers=user.headers).json_body
    assert [job["id"] for job in rest["items"]] == ids[:1]
    assert client.http.get("/generations", headers=other.headers).json_body["items"] == []
    stolen = client.http.get(f"/generations?cursor={first['next_cursor']}", headers=other.headers)
    assert stolen.status_code == 400
    assert client.http.get("/generations").status_code == 401


def test_a_job_is_cancelled_only_by_its_owner_and_only_while_it_runs(client, world):
    user, other = sign_up(client), sign_up(client)
    fund(user.user_id, 1)
    job = post(client, user, {"prompt": "p", "model": "flux-schnell"}).json_body
    assert client.http.delete(f"/generations/{job['id']}", headers=other.headers).status_code == 404
    cancelled = client.http.delete(f"/generations/{job['id']}", headers=user.headers)
    assert (cancelled.status_code, cancelled.json_body["status"]) == (200, "failed")
    assert wiring.ledger().balance(user.user_id) == 1
    assert client.http.delete(f"/generations/{job['id']}", headers=user.headers).status_code == 409


def test_characters_list_empty_and_an_unknown_one_is_not_found(client, world):
    user = sign_up(client)
    assert client.http.get("/characters", headers=user.headers).json_body == {"items": []}
    assert client.http.delete("/characters/nope", headers=user.headers).status_code == 404
