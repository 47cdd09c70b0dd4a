"""Secrets come from AWS Secrets Manager through Powertools parameters (cached).

Production keeps real values there, one secret per name (`pixelkeep-<stage>/<name>`); the local
cloud and the tests put clearly local ones in the same place (infra/local_secrets.py), so both take
the same code path. Each value is fetched with one GetSecretValue and kept `max_age` seconds, so a
rotated value is read within that time. Secrets Manager rather than SSM Parameter Store: building an
SSM client loads SSM's very large service model, several MiB and tens of milliseconds on a cold
Lambda's first request; a Secrets Manager client is a fraction of that (README, Deploying). The
client is on the process's shared session (chalicelib/store/aws.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.settings import get_settings

MAX_AGE_SECONDS = 300


@lru_cache(maxsize=1)
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from chalicelib.store import aws

    return SecretsProvider(boto3_client=aws.client("secretsmanager"))


def secret(name: str) -> str:
    return _provider().get(get_settings().secret_name(name), max_age=MAX_AGE_SECONDS)


def clear_cache() -> None:
    if _provider.cache_info().currsize:
        _provider().clear_cache()
    _provider.cache_clear()
