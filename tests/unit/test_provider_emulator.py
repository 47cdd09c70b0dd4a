"""The embedded model provider behaves as fal does where the app depends on it: failed callbacks are
retried with backoff (bounded), and its access lines never carry a job's webhook token."""

from __future__ import annotations

import json
import logging
import urllib.request
from urllib.parse import quote

import pytest

from infra.emulators.model_provider import CALLBACK_RETRIES, ModelProviderEmulator, create_app

WEBHOOK = "http://127.0.0.1:8000/webhooks/providers/fal/0190abcdef.job-token-that-must-not-be-logged"


def _emulator(answers: list[int]) -> tuple[ModelProviderEmulator, list[float]]:
    """An emulator whose callbacks get `answers` in turn (the last one repeats); sleeps recorded."""
    pending = list(answers)
    slept: list[float] = []

    def deliver(url, headers, body):
        return pending.pop(0) if len(pending) > 1 else pending[0]

    emulator = ModelProviderEmulator(deliver=deliver, fetch=lambda url: b"", autoflush=False, sleep=slept.append)
    emulator.submit("fal-ai/flux/schnell", {"prompt": "a kite"}, WEBHOOK, "http://provider.test")
    return emulator, slept


def test_gen3_a_failed_callback_is_retried_with_growing_delays_until_it_is_taken():
    emulator, slept = _emulator([500, 409, 0, 200])  # 0: the connection failed
    [job] = emulator.flush()
    assert job.deliveries == [500, 409, 0, 200]
    assert len(slept) == 3
    assert slept == sorted(slept)
    assert slept[0] < slept[-1]


def test_gen3_callback_retries_are_bounded_like_fals():
    emulator, slept = _emulator([503])
    [job] = emulator.flush()
    assert job.deliveries == [503] * (1 + CALLBACK_RETRIES)
    assert CALLBACK_RETRIES == 10
    assert sum(slept) < 60  # faster than fal's, so a local developer sees the outcome soon


@pytest.fixture
def served_emulator():
    from infra.localcloud.servers import wsgi_server

    app = create_app(api_base_url="http://127.0.0.1:8000", deliver=lambda *call: 200, autoflush=False)
    server = wsgi_server("provider", "127.0.0.1", 0, app).start()
    yield f"http://127.0.0.1:{server.server.server_port}"
    server.stop()


def test_access_lines_carry_no_webhook_token(served_emulator, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    submit = urllib.request.Request(
        f"{served_emulator}/fal-ai/flux/schnell?fal_webhook={quote(WEBHOOK, safe='')}",
        data=json.dumps({"prompt": "a kite"}).encode(),
        headers={"Authorization": "Key local-only-fal-key-id:local-only-fal-key-secret"},
        method="POST",
    )
    with urllib.request.urlopen(submit, timeout=10) as response:  # noqa: S310  (loopback)
        assert response.status == 200
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("POST /fal-ai/flux/schnell" in line for line in lines)
    for line in lines:
        assert "job-token-that-must-not-be-logged" not in line
        assert "local-only-fal-key-secret" not in line
