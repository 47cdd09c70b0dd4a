"""e2e in the local cloud: upload -> generate with the local provider -> signed webhook -> image in
the gallery -> the share link serves it -> revoke -> 404 (CNT-1..4, GEN-1, GEN-3)."""

from __future__ import annotations

import io
import json
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _call(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw.startswith(b"{") else {}
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw.startswith(b"{") else {}


def _eventually(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _sign_up(cloud) -> dict[str, str]:
    email = f"maker-{uuid.uuid4().hex[:8]}@example.com"
    assert _call("POST", f"{cloud.api}/auth/email/code", {"email": email})[0] == 202

    def code():
        for message in reversed(cloud.outbox()):
            if email in json.dumps(message.get("to")):
                found = re.search(r"\b(\d{8})\b", message.get("body", ""))
                if found:
                    return found.group(1)
        return None

    status, session = _call(
        "POST",
        f"{cloud.api}/auth/email/verify",
        {"email": email, "code": _eventually(code), "birth_date": "1990-01-01"},
    )
    assert status == 200, session
    return {"Authorization": f"Bearer {session['token']}"}


def _buy_credits(cloud, headers) -> None:
    status, started = _call("POST", f"{cloud.api}/billing/checkout", {"product": "starter"}, headers)
    assert status == 201, started
    assert _call("POST", f"{cloud.stripe}/pay/{started['session_id']}/complete")[0] == 200
    assert _eventually(lambda: _call("GET", f"{cloud.api}/me/ledger", headers=headers)[1].get("balance", 0) > 0, 10), (
        _call("GET", f"{cloud.api}/me/ledger", headers=headers),
        cloud.log()[-3000:],
    )


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _post_form(url: str, fields: dict, data: bytes) -> int:
    import requests

    return requests.post(url, data=fields, files={"file": ("source.png", data)}, timeout=30).status_code


def _open_share(url: str) -> tuple[int, str | None]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")


def test_upload_generate_gallery_share_revoke(local_cloud):
    cloud = local_cloud
    if cloud.provider is None or cloud.stripe is None:
        pytest.skip("the model provider or Stripe emulator is not part of this checkout")
    headers = _sign_up(cloud)
    _buy_credits(cloud, headers)

    status, upload = _call("POST", f"{cloud.api}/uploads", {"content_type": "image/png"}, headers)
    assert status == 201, upload
    assert _post_form(upload["upload"]["url"], upload["upload"]["fields"], _png()) in (200, 204)
    ready = _eventually(
        lambda: (
            (view := _call("GET", f"{cloud.api}/uploads/{upload['id']}", headers=headers)[1])["status"] == "ready"
            and view
        )
    )
    assert ready, _call("GET", f"{cloud.api}/uploads/{upload['id']}", headers=headers)
    assert (ready["format"], ready["width"], ready["height"]) == ("PNG", 32, 24)

    body = {"prompt": "a blue harbour", "model": "flux-schnell", "source_upload_id": upload["id"]}
    status, job = _call("POST", f"{cloud.api}/generations", body, headers)
    assert status == 202, job
    done = _eventually(
        lambda: (
            (view := _call("GET", f"{cloud.api}/generations/{job['id']}", headers=headers)[1])["status"] != "queued"
            and view
        )
    )
    assert done["status"] == "completed", done

    status, gallery = _call("GET", f"{cloud.api}/gallery", headers=headers)
    assert [item["id"] for item in gallery["items"]] == [job["id"]]
    status, share = _call("POST", f"{cloud.api}/gallery/{job['id']}/shares", {}, headers)
    assert status == 201, share
    status, location = _open_share(share["url"])
    assert status == 302
    with urllib.request.urlopen(location, timeout=30) as image:
        assert image.read().startswith(b"\x89PNG")
    assert _call("DELETE", f"{cloud.api}/shares/{share['id']}", headers=headers)[0] == 200
    assert _open_share(share["url"])[0] == 404
