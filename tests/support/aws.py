"""The moto-backed AWS every functional and contract test runs against: resources provisioned from
the one description, local secrets in Secrets Manager, the active profile's models bound."""

from __future__ import annotations

import pytest


@pytest.fixture
def profile_name() -> str:
    """Override (or parametrize) in a test module to run against another profile."""
    return "kaleipix"


@pytest.fixture
def aws(monkeypatch, profile_name):
    import boto3
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.store import secrets
    from infra.description import describe
    from infra.local_secrets import LOCAL_SECRETS
    from infra.localcloud.fidelity import s3_post_tagging
    from infra.provision import provision_storage, put_local_secrets

    monkeypatch.setenv("PIXELKEEP_PROFILE", profile_name)
    monkeypatch.setenv("PIXELKEEP_STAGE", "test")
    wiring.reset()
    secrets.clear_cache()
    # a presigned POST's clock tag is applied as S3 applies it (DSR-12), as in the local cloud
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), s3_post_tagging():
        from chalicelib.settings import get_settings

        settings = get_settings()
        session = boto3.Session(region_name=settings.region)
        description = describe(settings, wiring.profile())
        provision_storage(session, description)
        put_local_secrets(session, settings.secret_prefix, LOCAL_SECRETS)
        wiring.bound_models()
        yield session
    wiring.reset()
    secrets.clear_cache()
