"""e2e: buy a credit pack on the local Stripe's pay page, see the balance rise once; refund it and
see it fall back (PAY-2, PAY-4), all over HTTP against the running local cloud."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest


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


def _eventually(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _sign_up(cloud) -> dict[str, str]:
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    status, _ = _call("POST", f"{cloud.api}/auth/email/code", {"email": email})
    assert status == 202

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


def _balance(cloud, headers) -> int:
    status, page = _call("GET", f"{cloud.api}/me/ledger", headers=headers)
    assert status == 200, page
    return page["balance"]


def test_pay4_buy_a_pack_on_the_pay_page_then_refund_it(local_cloud):
    if local_cloud.stripe is None:
        pytest.skip("no Stripe emulator in this checkout")
    headers = _sign_up(local_cloud)
    status, started = _call("POST", f"{local_cloud.api}/billing/checkout", {"product": "starter"}, headers)
    assert status == 201, started
    assert started["url"].startswith(local_cloud.stripe)
    session_id = started["session_id"]
    with urllib.request.urlopen(started["url"], timeout=30) as page:
        assert b"Pay" in page.read()
    # The pay button: the emulator completes payment, sends the signed webhook and redirects to
    # the success URL, which fulfils as well — the balance must rise exactly once.
    status, _ = _call("POST", f"{local_cloud.stripe}/pay/{session_id}/complete")
    assert status == 200
    assert _eventually(lambda: _balance(local_cloud, headers) == 100), _call(
        "GET", f"{local_cloud.api}/me/ledger", headers=headers
    )
    _call("GET", f"{local_cloud.api}/billing/success?session_id={session_id}")
    time.sleep(0.5)  # let any straggling duplicate webhook land before checking "exactly once"
    assert _balance(local_cloud, headers) == 100
    status, _ = _call("POST", f"{local_cloud.stripe}/pay/{session_id}/refund")
    assert status == 200
    assert _eventually(lambda: _balance(local_cloud, headers) == 0)
    status, page = _call("GET", f"{local_cloud.api}/me/ledger", headers=headers)
    assert [e["kind"] for e in page["entries"]] == ["clawback", "grant"]
