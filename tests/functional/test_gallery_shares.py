"""Gallery and share links through the HTTP API (CNT-1, CNT-3, CNT-4)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from chalicelib import clock, wiring
from tests.functional import content_world
from tests.functional.generation_helpers import fund
from tests.support.auth import sign_up
from tests.support.content import object_keys, stored_object

world = content_world.world  # the fixture


def generate(client, world, user, **params) -> str:
    body = {"prompt": "a quiet harbour", "model": "flux-schnell", **params}
    response = client.http.post("/generations", headers=user.headers, body=json.dumps(body))
    assert response.status_code == 202, response.body
    world.emulator.flush()
    for url, headers, payload in world.delivered:
        delivered = client.http.post(urlsplit(url).path, headers=headers, body=payload)
        assert delivered.status_code == 200, delivered.body
    world.delivered.clear()
    return response.json_body["id"]


def get(client, path, user=None):
    return client.http.get(path, headers=user.headers if user else {})


BROWSER_IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def open_link(client, url: str):
    """What a browser does with a share link someone sent it: no session, an image Accept header."""
    return client.http.get(urlsplit(url).path, headers={"Accept": BROWSER_IMAGE_ACCEPT})


def test_cnt4_a_public_link_reveals_nothing_about_its_owner(client, world, aws):
    """The response is the image and nothing else: no user id, image id, e-mail or object key in
    its status line, headers, body or anything it points to."""
    user = sign_up(client)
    fund(user.user_id, 1)
    gen_id = generate(client, world, user)
    link = client.http.post(f"/gallery/{gen_id}/shares", headers=user.headers, body="{}").json_body
    opened = open_link(client, link["url"])
    assert opened.status_code == 200
    assert opened.headers["Content-Type"] == "image/png"
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert opened.headers["Cache-Control"] == "no-store"
    assert "Location" not in opened.headers
    everything = json.dumps(dict(opened.headers)).encode() + opened.body
    for identifier in (user.user_id, gen_id, user.email, "generated/"):
        assert identifier.encode() not in everything, identifier
    from PIL import Image

    with Image.open(io.BytesIO(opened.body)) as image:
        assert image.format == "PNG"


@pytest.mark.parametrize("accept", ["image/*", "image/png", "*/*", "text/html,*/*;q=0.8"])
def test_cnt4_a_share_link_opens_for_any_client_that_takes_images(client, world, accept):
    user = sign_up(client)
    fund(user.user_id, 1)
    gen_id = generate(client, world, user)
    link = client.http.post(f"/gallery/{gen_id}/shares", headers=user.headers, body="{}").json_body
    assert client.http.get(urlsplit(link["url"]).path, headers={"Accept": accept}).status_code == 200


def test_cnt4_a_client_that_takes_no_images_gets_a_json_406(client, world):
    """An image is all a share link serves; a client that accepts none is told so with 406 (Not
    Acceptable), the usual answer, in the one error shape."""
    user = sign_up(client)
    fund(user.user_id, 1)
    gen_id = generate(client, world, user)
    link = client.http.post(f"/gallery/{gen_id}/shares", headers=user.headers, body="{}").json_body
    for headers in ({}, {"Accept": "application/json"}):
        refused = client.http.get(urlsplit(link["url"]).path, headers=headers)
        assert refused.status_code == 406
        assert refused.json_body["error"]["code"] == "not_acceptable"


def test_cnt3_gallery_lists_newest_first_in_pages(client, world, monkeypatch):
    user = sign_up(client)
    fund(user.user_id, 3)
    start = clock.now()
    ids = []
    for minute in range(3):
        monkeypatch.setattr(clock, "now", lambda minute=minute: start + timedelta(minutes=minute))
        ids.append(generate(client, world, user))
    first = get(client, "/gallery?limit=2", user).json_body
    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    second = get(client, f"/gallery?limit=2&cursor={first['next_cursor']}", user).json_body
    assert [item["id"] for item in second["items"]] == [ids[0]]
    assert all(item["url"] for item in first["items"])


def test_cnt1_gallery_reads_are_authorized_per_user(client, world):
    owner, other = sign_up(client), sign_up(client)
    fund(owner.user_id, 1)
    gen_id = generate(client, world, owner)
    assert get(client, f"/gallery/{gen_id}", owner).status_code == 200
    assert get(client, f"/gallery/{gen_id}", other).status_code == 404
    assert get(client, f"/generations/{gen_id}", other).status_code == 404
    assert get(client, "/gallery", other).json_body["items"] == []
    assert client.http.delete(f"/gallery/{gen_id}", headers=other.headers).status_code == 404
    assert get(client, f"/gallery/{gen_id}").status_code == 401
    forged_cursor = get(client, "/gallery?limit=1", owner).json_body["next_cursor"]
    assert forged_cursor is None or get(client, f"/gallery?cursor={forged_cursor}", other).status_code == 400


def test_cnt3_deleting_an_image_removes_object_record_and_links(client, world, aws):
    user = sign_up(client)
    fund(user.user_id, 1)
    gen_id = generate(client, world, user)
    share = client.http.post(f"/gallery/{gen_id}/shares", headers=user.headers, body="{}").json_body
    assert object_keys(aws, f"generated/{user.user_id}/") == [f"generated/{user.user_id}/{gen_id}"]
    assert client.http.delete(f"/gallery/{gen_id}", headers=user.headers).status_code == 200
    assert object_keys(aws, "generated/") == []
    assert get(client, f"/gallery/{gen_id}", user).status_code == 404
    assert get(client, f"/s/{share['id']}").status_code == 404
    assert wiring.content().share(share["id"]) is None


def test_cnt4_share_link_serves_one_image_until_revoked(client, world, aws):
    user = sign_up(client)
    fund(user.user_id, 2)
    shared_id = generate(client, world, user)
    other_id = generate(client, world, user, prompt="a stormy sea")
    share = client.http.post(f"/gallery/{shared_id}/shares", headers=user.headers, body="{}")
    assert share.status_code == 201
    link = share.json_body
    assert len(link["id"]) >= 32  # unguessable: 24 random bytes
    opened = open_link(client, link["url"])
    assert opened.status_code == 200
    assert opened.body == stored_object(aws, f"generated/{user.user_id}/{shared_id}")["body"]
    assert opened.body != stored_object(aws, f"generated/{user.user_id}/{other_id}")["body"]
    assert get(client, f"/s/{link['id']}x").status_code == 404
    assert client.http.delete(f"/shares/{link['id']}", headers=user.headers).status_code == 200
    assert get(client, f"/s/{link['id']}").status_code == 404


def test_cnt4_only_the_owner_shares_or_revokes_and_links_can_expire(client, world, monkeypatch):
    owner, other = sign_up(client), sign_up(client)
    fund(owner.user_id, 1)
    gen_id = generate(client, world, owner)
    assert client.http.post(f"/gallery/{gen_id}/shares", headers=other.headers, body="{}").status_code == 404
    link = client.http.post(
        f"/gallery/{gen_id}/shares", headers=owner.headers, body=json.dumps({"expires_in_hours": 2})
    ).json_body
    assert client.http.delete(f"/shares/{link['id']}", headers=other.headers).status_code == 404
    assert open_link(client, link["url"]).status_code == 200
    later = clock.now() + timedelta(hours=2, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert get(client, f"/s/{link['id']}").status_code == 404


def test_cnt4_there_is_no_public_listing(client, world):
    user = sign_up(client)
    fund(user.user_id, 1)
    generate(client, world, user)
    for path in ("/s", "/s/", "/shares", "/gallery"):
        assert get(client, path).status_code in (401, 403, 404)


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_cnt3_promptpixels_gallery_stays_empty_and_nothing_can_be_shared(client, world, aws):
    user = sign_up(client)
    fund(user.user_id, 1)
    gen_id = generate(client, world, user)
    assert get(client, f"/generations/{gen_id}", user).json_body["result_url"]
    assert get(client, "/gallery", user).json_body["items"] == []
    assert client.http.post(f"/gallery/{gen_id}/shares", headers=user.headers, body="{}").status_code == 404
    assert object_keys(aws, "generated/") == []
