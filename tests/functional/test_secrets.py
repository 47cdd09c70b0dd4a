"""Secrets come from Secrets Manager (chalicelib/store/secrets.py): one GetSecretValue per secret,
kept `MAX_AGE_SECONDS`, so a rotated value is read once the cached one expires or is cleared."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from infra.local_secrets import LOCAL_SECRETS


@pytest.fixture
def reads(aws):
    """The GetSecretValue calls of the app's shared Secrets Manager client, by secret id."""
    from chalicelib.store import aws as shared

    calls: list[str] = []

    def count(params, **_):
        calls.append(params["SecretId"])

    events = shared.client("secretsmanager").meta.events
    events.register("before-parameter-build.secrets-manager.GetSecretValue", count)
    yield calls
    events.unregister("before-parameter-build.secrets-manager.GetSecretValue", count)


def _rotate(aws, name: str, value: str) -> None:
    """What a rotation leaves behind: a new current version of the same secret."""
    from chalicelib.settings import get_settings

    aws.client("secretsmanager").put_secret_value(SecretId=get_settings().secret_name(name), SecretString=value)


def test_each_secret_is_one_read_of_its_stage_name_then_cached(reads):
    from chalicelib.settings import get_settings
    from chalicelib.store.secrets import secret

    assert secret("ip-hash-key") == LOCAL_SECRETS["ip-hash-key"]
    assert secret("ip-hash-key") == LOCAL_SECRETS["ip-hash-key"]
    assert secret("fal-api-key") == LOCAL_SECRETS["fal-api-key"]
    prefix = f"pixelkeep-{get_settings().stage}"
    assert reads == [f"{prefix}/ip-hash-key", f"{prefix}/fal-api-key"]


def test_a_rotated_secret_is_read_once_the_cached_value_expires(aws, reads, monkeypatch):
    from aws_lambda_powertools.utilities.parameters import base

    from chalicelib.store.secrets import MAX_AGE_SECONDS, secret

    assert secret("ip-hash-key") == LOCAL_SECRETS["ip-hash-key"]
    _rotate(aws, "ip-hash-key", "rotated-ip-hash-key")
    assert secret("ip-hash-key") == LOCAL_SECRETS["ip-hash-key"], "within max_age the cached value serves"

    class Later(datetime):
        """The cache's clock, just past the cached value's max_age."""

        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(seconds=MAX_AGE_SECONDS + 1)

    monkeypatch.setattr(base, "datetime", Later)
    assert secret("ip-hash-key") == "rotated-ip-hash-key"
    assert len(reads) == 2


def test_a_rotated_secret_is_read_after_the_cache_is_cleared(aws):
    from chalicelib.store.secrets import clear_cache, secret

    assert secret("login-code-key") == LOCAL_SECRETS["login-code-key"]
    _rotate(aws, "login-code-key", "rotated-login-code-key")
    clear_cache()
    assert secret("login-code-key") == "rotated-login-code-key"
