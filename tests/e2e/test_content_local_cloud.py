"""e2e in the local cloud: upload -> generate with the local provider -> signed webhook -> image in
the gallery -> the share link serves it -> revoke -> 404 (CNT-1..4, GEN-1, GEN-3)."""

from __future__ import annotations

import io
import re
import urllib.error
import urllib.request

import pytest

from tests.e2e.web import balance, call, eventually, sign_up, visit


def _buy_credits(cloud, headers) -> None:
    """Kaleipix sells credits on the web through Lemon Squeezy: its hosted checkout's pay button."""
    status, started = call("POST", f"{cloud.api}/billing/checkout", {"product": "starter"}, headers)
    assert status == 201, started
    assert visit("POST", f"{started['url']}/pay") == 200
    eventually(lambda: balance(cloud, headers) > 0, "the credits", detail=lambda: cloud.log()[-3000:])


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _post_form(url: str, fields: dict, data: bytes) -> int:
    import requests

    return requests.post(url, data=fields, files={"file": ("source.png", data)}, timeout=30).status_code


def _open_share(url: str) -> tuple[int, bytes]:
    """What a browser showing a shared image does: an image Accept header, no session."""
    request = urllib.request.Request(url, headers={"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _assert_no_job_token_logged(cloud, gen_id: str) -> None:
    """GEN-3: the token in a job's webhook URL is its only credential; no access line may carry it.

    The server writes a request's access line after its answer, so the job can show as completed a
    moment before the callback's line reaches the log: wait for the line."""
    callbacks = eventually(
        lambda: [line for line in cloud.log().splitlines() if f"/{gen_id}." in line],
        "the callback's access line in the log",
    )
    leaked = [line for line in callbacks if not re.search(rf"/{gen_id}\.<redacted>", line)]
    assert not leaked, leaked


def test_upload_generate_gallery_share_revoke(local_cloud):
    cloud = local_cloud
    if cloud.provider is None or cloud.lemonsqueezy is None:
        pytest.skip("the model provider or Stripe emulator is not part of this checkout")
    headers = sign_up(cloud, "maker").headers
    _buy_credits(cloud, headers)

    status, upload = call("POST", f"{cloud.api}/uploads", {"content_type": "image/png"}, headers)
    assert status == 201, upload
    assert _post_form(upload["upload"]["url"], upload["upload"]["fields"], _png()) in (200, 204)
    ready = eventually(
        lambda: (
            (view := call("GET", f"{cloud.api}/uploads/{upload['id']}", headers=headers)[1])["status"] == "ready"
            and view
        ),
        "the upload to be ready",
        detail=lambda: call("GET", f"{cloud.api}/uploads/{upload['id']}", headers=headers),
    )
    assert (ready["format"], ready["width"], ready["height"]) == ("PNG", 32, 24)

    body = {"prompt": "a blue harbour", "model": "flux-schnell", "source_upload_id": upload["id"]}
    status, job = call("POST", f"{cloud.api}/generations", body, headers)
    assert status == 202, job
    done = eventually(
        lambda: (
            (view := call("GET", f"{cloud.api}/generations/{job['id']}", headers=headers)[1])["status"] != "queued"
            and view
        ),
        "the generation to leave the queue",
    )
    assert done["status"] == "completed", done
    _assert_no_job_token_logged(cloud, job["id"])

    status, gallery = call("GET", f"{cloud.api}/gallery", headers=headers)
    assert [item["id"] for item in gallery["items"]] == [job["id"]]
    status, share = call("POST", f"{cloud.api}/gallery/{job['id']}/shares", {}, headers)
    assert status == 201, share
    status, image = _open_share(share["url"])
    assert status == 200
    assert image.startswith(b"\x89PNG")
    assert call("DELETE", f"{cloud.api}/shares/{share['id']}", headers=headers)[0] == 200
    assert _open_share(share["url"])[0] == 404
