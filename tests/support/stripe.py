"""The embedded Stripe emulator served over HTTP in a thread, for stripe-python to reach, with its
webhooks delivered to the app in the test's own thread (through chalice.test.Client)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def running_emulator(monkeypatch, deliver) -> Iterator:
    from werkzeug.serving import make_server

    from chalicelib import wiring
    from infra.emulators.stripe import create_app

    app = create_app(api_base_url="http://app.invalid", deliver=deliver, autoflush=False, seed=1234)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.emulator.public_url = url
    monkeypatch.setenv("PIXELKEEP_STRIPE_API_BASE", url)
    wiring.reset()
    try:
        yield app.emulator
    finally:
        server.shutdown()
        thread.join(timeout=5)
