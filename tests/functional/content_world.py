"""Fixtures for generation tests: the embedded provider answering in-process, and a funded user."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.support.content import PROVIDER_URL, WsgiHttp, s3_fetch


@dataclass
class World:
    provider_app: object
    http: WsgiHttp
    delivered: list = field(default_factory=list)

    @property
    def emulator(self):
        return self.provider_app


@pytest.fixture
def world(aws, monkeypatch):
    """fal-protocol provider in-process; webhooks are captured, the test decides when to deliver."""
    from chalicelib import wiring
    from infra.emulators.model_provider import create_app

    captured: list = []

    def capture(url, headers, body):
        captured.append((url, headers, body))
        return 200

    provider_app = create_app(api_base_url="http://api.test", deliver=capture, fetch=s3_fetch, autoflush=False)
    http = WsgiHttp(provider_app, PROVIDER_URL)
    monkeypatch.setenv("PIXELKEEP_PROVIDER_BASE_URL", PROVIDER_URL)
    monkeypatch.setenv("PIXELKEEP_MODEL_PROVIDER", "fal")
    monkeypatch.setenv("PIXELKEEP_PUBLIC_URL", "http://api.test")
    wiring.reset()
    wiring.bound_models()
    monkeypatch.setattr(wiring, "provider_http", lambda: http)
    return World(provider_app=provider_app, http=http, delivered=captured)
