"""Secrets come from SSM Parameter Store through Powertools parameters (cached, decrypted).

Production keeps real values there; the local cloud and the tests put clearly local ones in
the same place (infra/local_secrets.py), so both take the same code path.
"""

from __future__ import annotations

from chalicelib.settings import get_settings


def secret(name: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_parameter(get_settings().parameter_name(name), decrypt=True, max_age=300)


def clear_cache() -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
