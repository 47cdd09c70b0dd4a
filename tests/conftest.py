"""Shared test setup: no real AWS credentials, ever."""

from __future__ import annotations

import os

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "PixelkeepTest",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

PROFILES = ("pixera", "promptpixels", "pixelrender", "kaleipix", "pictomancer")


@pytest.fixture
def settings_env(monkeypatch):
    """Set Pixelkeep environment variables for one test; caches are reset around it."""
    from chalicelib import wiring

    def apply(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        wiring.reset()

    yield apply
    wiring.reset()
