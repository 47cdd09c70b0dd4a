"""The embedded Stripe emulator for functional tests, with its webhooks delivered to the app in the
test's own thread (through chalice.test.Client).

stripe-python reaches it through its `api` base address as in the local cloud. The transport is
either real HTTP (a server thread) or, for speed, an HTTPClient that hands the same request to the
emulator's WSGI app in-process: the SDK still encodes requests and parses responses itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import stripe


class WsgiHTTPClient(stripe.HTTPClient):
    name = "wsgi"

    def __init__(self, app) -> None:
        from werkzeug.test import Client

        super().__init__()
        self._client = Client(app)

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        response = self._client.open(
            parts.path, method=method.upper(), query_string=parts.query, headers=dict(headers or {}), data=post_data
        )
        return response.get_data(as_text=True), response.status_code, dict(response.headers)

    def close(self) -> None:
        return None


@contextmanager
def running_emulator(monkeypatch, deliver, *, in_process: bool = True) -> Iterator:
    from werkzeug.serving import make_server

    from chalicelib import wiring
    from infra.emulators.stripe import create_app

    # No background retries: a test sees each delivery's answer in `flush()` and nothing arrives later.
    app = create_app(api_base_url="http://app.invalid", deliver=deliver, autoflush=False, seed=1234, retry_delays=())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.emulator.public_url = url
    monkeypatch.setenv("PIXELKEEP_STRIPE_API_BASE", url)
    if in_process:
        monkeypatch.setattr("stripe._stripe_client.new_default_http_client", lambda *a, **k: WsgiHTTPClient(app))
    wiring.reset()
    # Prime the settings now: chalice.test.Client swaps in .chalice/config.json's environment
    # during each request, and settings first read there would name another stage.
    wiring.bound_models()
    wiring.stripe()
    try:
        yield app.emulator
    finally:
        server.shutdown()
        thread.join(timeout=5)
