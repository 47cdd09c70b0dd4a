"""e2e: buy a credit pack on the local Stripe's pay page, see the balance rise once; refund it and
see it fall back (PAY-2, PAY-4), all over HTTP against the running local cloud."""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.e2e.web import balance, call, eventually, sign_up, visit


def test_pay4_buy_a_pack_on_the_pay_page_then_refund_it(stripe_cloud):
    local_cloud = stripe_cloud
    if local_cloud.stripe is None:
        pytest.skip("no Stripe emulator in this checkout")
    headers = sign_up(local_cloud, "buyer").headers
    status, started = call("POST", f"{local_cloud.api}/billing/checkout", {"product": "starter"}, headers)
    assert status == 201, started
    assert started["url"].startswith(local_cloud.stripe)
    session_id = started["session_id"]
    with urllib.request.urlopen(started["url"], timeout=30) as page:
        assert b"Pay" in page.read()
    # The pay button: the emulator completes payment, sends the signed webhook and redirects to
    # the success URL, which fulfils as well — the balance must rise exactly once.
    assert visit("POST", f"{local_cloud.stripe}/pay/{session_id}/complete") == 200
    eventually(
        lambda: balance(local_cloud, headers) == 100,
        "the pack's credits",
        detail=lambda: call("GET", f"{local_cloud.api}/me/ledger", headers=headers),
    )
    call("GET", f"{local_cloud.api}/billing/success?session_id={session_id}")
    time.sleep(0.5)  # let any straggling duplicate webhook land before checking "exactly once"
    assert balance(local_cloud, headers) == 100
    assert visit("POST", f"{local_cloud.stripe}/pay/{session_id}/refund") == 200
    eventually(lambda: balance(local_cloud, headers) == 0, "the refund's clawback")
    status, page = call("GET", f"{local_cloud.api}/me/ledger", headers=headers)
    assert [e["kind"] for e in page["entries"]] == ["clawback", "grant"]
