"""Infra tests: the CDK stack is synthesized once per profile per test session, offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

STAGE = "test"
EMAIL_SENDER = "no-reply@pixelkeep.example"
PUBLIC_URL = "https://api.pixelkeep.example"
APP_ORIGIN = "https://app.pixelkeep.example"  # a web app the stack does not host (a variant's CORS rule)


class Template:
    """The synthesized CloudFormation template, with the look-ups the tests need."""

    def __init__(self, path: Path, profile: str) -> None:
        self.path = path
        self.profile = profile
        self.body = json.loads(path.read_text(encoding="utf-8"))
        self.resources: dict[str, dict] = self.body["Resources"]
        self.environment_changes: set[str] = set()

    def of_type(self, *types: str) -> dict[str, dict]:
        return {name: r for name, r in self.resources.items() if r["Type"] in types}

    def named(self, resource_type: str, name_property: str, name: str) -> tuple[str, dict]:
        matches = [(k, r) for k, r in self.of_type(resource_type).items() if r["Properties"].get(name_property) == name]
        assert len(matches) == 1, f"expected one {resource_type} named {name}, found {len(matches)}"
        return matches[0]

    def functions(self) -> dict[str, dict]:
        """The app's functions, as Chalice packages every one of them."""
        return self.of_type("AWS::Serverless::Function")

    def deployment_functions(self) -> dict[str, dict]:
        """Functions the CDK adds to deploy (the web app's BucketDeployment), not the app's."""
        return self.of_type("AWS::Lambda::Function")

    def app_package(self) -> Path:
        """The zip every app function runs, as the cloud assembly stages it for upload."""
        (key,) = {function["Properties"]["CodeUri"]["Key"] for function in self.functions().values()}
        return self.path.parent / f"asset.{key}"

    def web_app_bucket(self) -> tuple[str, dict]:
        """The bucket the CloudFront distribution reads (the only bucket without a name of ours)."""
        (distribution,) = self.of_type("AWS::CloudFront::Distribution").values()
        (origin,) = distribution["Properties"]["DistributionConfig"]["Origins"]
        logical_id = origin["DomainName"]["Fn::GetAtt"][0]
        return logical_id, self.resources[logical_id]


def _target(profile: str, customer_managed_key: bool = False, cors_origin: str | None = None):
    from infra.cdk.synth import Target

    return Target(
        stage=STAGE,
        profile=profile,
        resource_prefix=f"pixelkeep-{STAGE}",
        email_sender=EMAIL_SENDER,
        customer_managed_key=customer_managed_key,
        public_url=PUBLIC_URL,
        cors_origin=cors_origin,
    )


def _synthesize(out_dir: Path, profile: str, customer_managed_key: bool, cors_origin: str | None) -> Template:
    # In this process: the CDK's JavaScript runtime starts once for every variant synthesized.
    from infra.cdk.synth import synthesize

    before = dict(os.environ)
    path = synthesize(out_dir, _target(profile, customer_managed_key, cors_origin), offline=True)
    template = Template(path, profile)
    template.environment_changes = {k for k in {*before, *os.environ} if before.get(k) != os.environ.get(k)}
    return template


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    """`synthesized(profile)`: the template for that profile, synthesized on first use. By default
    the stack hosts the web app; `cors_origin` names an app elsewhere (no hosting, CORS for it)."""
    cache: dict[tuple[str, bool, str | None], Template | Exception] = {}

    def get(profile: str, customer_managed_key: bool = False, cors_origin: str | None = None) -> Template:
        variant = (profile, customer_managed_key, cors_origin)
        if variant not in cache:
            try:
                out_dir = tmp_path_factory.mktemp(f"cdk-{profile}")
                cache[variant] = _synthesize(out_dir, profile, customer_managed_key, cors_origin)
            except Exception as exc:  # a broken stack fails every test once, not one synth per test
                cache[variant] = exc
        if isinstance(cache[variant], Exception):
            raise cache[variant]
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def template(synthesized) -> Template:
    """The default profile's template."""
    return synthesized("kaleipix")


def settings_for(profile: str):
    """The settings the deployed functions of `profile`'s test stack see."""
    from infra.cdk.synth import deployment_settings

    return deployment_settings(_target(profile))


def description_for(profile: str):
    """The resource description the synth saw for `profile`."""
    from chalicelib.profile.loader import load_profile
    from infra.description import describe

    return describe(settings_for(profile), load_profile(profile))
