"""Secrets come from SSM Parameter Store through Powertools parameters (cached, decrypted).

Production keeps real values there; the local cloud and the tests put clearly local ones in
the same place (infra/local_secrets.py), so both take the same code path. Each value is fetched
once and kept `max_age` seconds; the provider's SSM client is on the process's shared session
(chalicelib/store/aws.py), so the first secret of a cold Lambda costs one round trip, not a session.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.settings import get_settings

MAX_AGE_SECONDS = 300


@lru_cache(maxsize=1)
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from chalicelib.store import aws

    return SSMProvider(boto3_client=aws.client("ssm"))


def secret(name: str) -> str:
    return _provider().get(get_settings().parameter_name(name), decrypt=True, max_age=MAX_AGE_SECONDS)


def clear_cache() -> None:
    if _provider.cache_info().currsize:
        _provider().clear_cache()
    _provider.cache_clear()
