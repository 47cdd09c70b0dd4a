"""The local cloud keeps its data: sign in, upload, buy credits, generate; Ctrl-C; start it again on
the same state directory: same user (the same session still works), same uploads and gallery, same
balance, the mail still in the outbox (tests/functional/test_localcloud_persistence.py checks each
kind of state, and executions running at the stop)."""

from __future__ import annotations

import json
import signal

import pytest

from tests.e2e.conftest import cloud_environment, start_cloud, stop_cloud
from tests.e2e.test_content_local_cloud import _buy_credits, _png, _post_form
from tests.e2e.web import balance, call, eventually, sign_up


def _ready_upload(cloud, headers) -> str:
    status, upload = call("POST", f"{cloud.api}/uploads", {"content_type": "image/png"}, headers)
    assert status == 201, upload
    assert _post_form(upload["upload"]["url"], upload["upload"]["fields"], _png()) in (200, 204)
    eventually(
        lambda: call("GET", f"{cloud.api}/uploads/{upload['id']}", headers=headers)[1]["status"] == "ready",
        "the upload to be ready",
    )
    return upload["id"]


def _generated_image(cloud, headers) -> str:
    body = {"prompt": "a lighthouse at dusk", "model": "flux-schnell"}
    status, job = call("POST", f"{cloud.api}/generations", body, headers)
    assert status == 202, job
    eventually(
        lambda: call("GET", f"{cloud.api}/generations/{job['id']}", headers=headers)[1]["status"] == "completed",
        "the generation to complete",
    )
    return job["id"]


def _what_the_user_sees(cloud, headers) -> dict:
    me = call("GET", f"{cloud.api}/me", headers=headers)
    gallery = call("GET", f"{cloud.api}/gallery", headers=headers)
    uploads = call("GET", f"{cloud.api}/uploads", headers=headers)
    assert me[0] == gallery[0] == uploads[0] == 200, (me, gallery, uploads)
    return {
        "user_id": me[1]["user_id"],
        "gallery": [item["id"] for item in gallery[1]["items"]],
        "uploads": sorted((u["id"], u["status"]) for u in uploads[1]["items"]),
        "balance": balance(cloud, headers),
    }


def test_sign_in_upload_buy_stop_start_same_user_gallery_and_balance(tmp_path):
    env = cloud_environment(tmp_path / "state")
    log_file = tmp_path / "local-cloud.log"
    process, cloud = start_cloud(env, log_file)
    try:
        if cloud.lemonsqueezy is None or cloud.provider is None:
            pytest.skip("the Lemon Squeezy or model provider emulator is not part of this checkout")
        person = sign_up(cloud, "keeper")
        _buy_credits(cloud, person.headers)
        upload_id = _ready_upload(cloud, person.headers)
        image_id = _generated_image(cloud, person.headers)
        before = _what_the_user_sees(cloud, person.headers)
        mail_before = len(cloud.outbox())
    finally:
        stop_cloud(process, cloud, signal.SIGTERM)  # a service manager's stop; Ctrl-C is SIGINT
    assert before["gallery"] == [image_id]
    assert (upload_id, "ready") in before["uploads"]
    assert before["balance"] > 0
    manifest = json.loads((tmp_path / "state" / "state.json").read_text())
    assert manifest["format"] == 1

    process, cloud = start_cloud(env, log_file)
    try:
        assert _what_the_user_sees(cloud, person.headers) == before
        assert len(cloud.outbox()) == mail_before
        assert any(person.email in message["to"] for message in cloud.outbox())
        status, image = call("GET", f"{cloud.api}/gallery/{image_id}", headers=person.headers)
        assert status == 200, image
        # A second pack after the restart adds to the kept balance, once: the payment emulator's
        # state is kept too, so its new order is not taken for the first one.
        _buy_credits(cloud, person.headers)
        eventually(lambda: balance(cloud, person.headers) == before["balance"] + 100, "the second pack")
    finally:
        stop_cloud(process, cloud)
    assert "restored" in log_file.read_text()
