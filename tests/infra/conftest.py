"""Infra tests: the CDK stack is synthesized once per profile per test session, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STAGE = "test"
EMAIL_SENDER = "no-reply@pixelkeep.example"


class Template:
    """The synthesized CloudFormation template, with the look-ups the tests need."""

    def __init__(self, path: Path, profile: str) -> None:
        self.path = path
        self.profile = profile
        self.body = json.loads(path.read_text(encoding="utf-8"))
        self.resources: dict[str, dict] = self.body["Resources"]

    def of_type(self, *types: str) -> dict[str, dict]:
        return {name: r for name, r in self.resources.items() if r["Type"] in types}

    def named(self, resource_type: str, name_property: str, name: str) -> tuple[str, dict]:
        matches = [(k, r) for k, r in self.of_type(resource_type).items() if r["Properties"].get(name_property) == name]
        assert len(matches) == 1, f"expected one {resource_type} named {name}, found {len(matches)}"
        return matches[0]

    def functions(self) -> dict[str, dict]:
        return self.of_type("AWS::Serverless::Function", "AWS::Lambda::Function")


def _target(profile: str):
    from infra.cdk.synth import Target

    return Target(
        stage=STAGE,
        profile=profile,
        resource_prefix=f"pixelkeep-{STAGE}",
        email_sender=EMAIL_SENDER,
        customer_managed_key=False,
    )


def _synthesize(out_dir: Path, profile: str) -> Template:
    # In this process: the CDK's JavaScript runtime starts once for every profile synthesized.
    from infra.cdk.synth import synthesize

    return Template(synthesize(out_dir, _target(profile), offline=True), profile)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    """`synthesized(profile)`: the template for that profile, synthesized on first use."""
    cache: dict[str, Template] = {}

    def get(profile: str) -> Template:
        if profile not in cache:
            cache[profile] = _synthesize(tmp_path_factory.mktemp(f"cdk-{profile}"), profile)
        return cache[profile]

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
