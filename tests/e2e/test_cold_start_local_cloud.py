"""A cold Lambda's first requests load only what they need (issue 16, P1), checked in fresh
interpreters against the local cloud, so a new route or module cannot quietly put the SDKs, the
validation library or the profile compiler back on the path every user's first request pays for.
bench/coldstart.py measures the time and memory this keeps low."""

from __future__ import annotations

import os

import pytest

from tests.e2e.test_content_local_cloud import _buy_credits
from tests.e2e.web import sign_up
from tests.support.cold_request import app_environment, first_request, proxy_event

# Never on a hot route's first request: payments, images, tokens of other sign-in methods, tracing
# when it is off, the build-time profile compiler and its TOML parser.
NEVER = ("stripe", "PIL", "jwt", "argon2", "aws_xray_sdk", "tomllib", "chalicelib.profile.compile")
# Besides those, an authenticated read needs neither request validation nor boto3 (pynamodb speaks
# botocore) nor secrets.
NOT_FOR_A_READ = ("pydantic", "boto3", "aws_lambda_powertools.utilities.parameters")
# Record classes are bound to their tables as they are imported: a route loads only its own area's
# (rights requests and incidents are for their own routes; a legal hold's marker is read by every
# authenticated request, so it is in the holds module, not the rights one).
OTHER_AREAS_RECORDS = ("chalicelib.store.models.rights", "chalicelib.store.models.incidents")
NOT_FOR_A_GET_ME = (*OTHER_AREAS_RECORDS, "chalicelib.store.models.content", "chalicelib.store.models.ledger")
# A submit needs its job's cost and a credit hold, not the payment rules beside the catalogue nor
# the payment ports beside the ledger's.
NOT_FOR_A_SUBMIT = ("chalicelib.domain.billing", "chalicelib.domain.ports.billing", *OTHER_AREAS_RECORDS)


@pytest.fixture(scope="module")
def cold_env(local_cloud):
    if not local_cloud.provider or not local_cloud.stripe:
        pytest.skip("the emulators are not part of this checkout")
    return app_environment(
        dict(os.environ),
        moto=local_cloud.moto,
        api=local_cloud.api,
        provider=local_cloud.provider,
        stripe=local_cloud.stripe,
    )


@pytest.fixture(scope="module")
def person(local_cloud):
    """One person for both requests: the suite's sign-ups share one address's login-code limit."""
    return sign_up(local_cloud, "cold")


def _token(signed) -> str:
    return signed.headers["Authorization"].removeprefix("Bearer ")


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted({n for n in names for m in modules if m == n or m.startswith(n + ".")})


def test_the_first_get_me_loads_no_sdk_validation_secrets_or_compiler(cold_env, person):
    first = first_request(cold_env, proxy_event("GET", "/me", _token(person)))
    assert first["status"] == 200, first["body"]
    assert _loaded(first["modules"], NEVER + NOT_FOR_A_READ + NOT_FOR_A_GET_ME) == []
    assert "chalicelib.profile.compiled.kaleipix" in first["modules"]  # the profile, compiled


def test_the_first_submit_loads_nothing_a_submit_does_not_use(local_cloud, cold_env, person):
    _buy_credits(local_cloud, person.headers)
    body = {"prompt": "a lighthouse at dusk", "model": "flux-schnell"}
    first = first_request(cold_env, proxy_event("POST", "/generations", _token(person), body))
    assert first["status"] == 202, first["body"]
    assert _loaded(first["modules"], NEVER + NOT_FOR_A_SUBMIT) == []
    assert "chalicelib.domain.catalogue" in first["modules"]  # the job's cost, from the compiled catalogue
    # Its secrets (the IP hash key, the provider's key) come from Secrets Manager: an SSM client alone
    # would load SSM's service model, about 5 MiB of the first submit's peak memory.
    assert "secretsmanager" in first["clients"], first["clients"]
    assert "ssm" not in first["clients"], first["clients"]
