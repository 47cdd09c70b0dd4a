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

# Shared fixtures: the moto-backed `aws` (and `profile_name`), and `written_logs`.
pytest_plugins = ["tests.support.aws", "tests.support.logs", "tests.support.google"]

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


@pytest.fixture(scope="session", autouse=True)
def parse_service_models_once():
    """Test speed only: botocore parses its service-model JSON for every new session, and each
    test builds fresh clients; the files never change, so each is parsed once per process."""
    from botocore.loaders import JSONFileLoader

    parsed: dict = {}
    original = JSONFileLoader.load_file

    def load_once(self, file_path):
        if file_path not in parsed:
            parsed[file_path] = original(self, file_path)
        return parsed[file_path]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(JSONFileLoader, "load_file", load_once)
        yield


@pytest.fixture(autouse=True)
def no_personal_data_in_metric_dimensions():
    """OPS-7: every data point any test makes the code emit is checked; a dimension value that looks
    like an id, an e-mail address or an IP fails the test that caused it."""
    from chalicelib import metrics
    from tests.support.metrics import dimension_values, looks_personal

    found: list[str] = []

    def check(document: dict) -> None:
        for name, value in dimension_values(document).items():
            why = looks_personal(value)
            if why:
                found.append(f"{name}={value!r} ({why})")

    metrics.sinks.append(check)
    yield
    metrics.sinks.remove(check)
    assert found == [], "metric dimensions carrying personal data"
