"""Synthesize the stack: `python -m infra.cdk.synth [OUT_DIR] [--with-dependencies]`.

Stage, profile and resource prefix come from CDK context (`-c stage=...` through the cdk CLI) or
the environment (PIXELKEEP_STAGE, PIXELKEEP_PROFILE, PIXELKEEP_DEPLOY_PREFIX, PIXELKEEP_PUBLIC_URL); the defaults are
stage "dev" and profile "kaleipix". The output directory is the argument, else PIXELKEEP_CDK_OUT,
else CDK_OUTDIR (set by the cdk CLI), else infra/cdk.out.

Without `--with-dependencies` nothing is downloaded: the app code is packaged without its runtime
dependencies, which is enough to check the template. Deploys go through the cdk CLI, whose app
command (cdk.json) passes `--with-dependencies` so Chalice builds the dependency layer; such a
build needs the functions' Python to compile their bytecode (infra/cdk/bytecode.py) and stops
first if it is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "cdk.out"
DEFAULT_STAGE = "dev"
DEFAULT_PROFILE = "kaleipix"


@dataclasses.dataclass(frozen=True)
class Target:
    stage: str
    profile: str
    resource_prefix: str
    email_sender: str
    customer_managed_key: bool
    public_url: str | None = None  # the API's public address (custom domain): links and webhook URLs
    cors_origin: str | None = None  # the web app's origin when it is not the API's (CORS)

    @property
    def stack_name(self) -> str:
        return self.resource_prefix


def deployment_settings(target: Target):
    """The settings the deployed functions will see, built from the target rather than this shell."""
    from chalicelib.settings import get_settings

    return dataclasses.replace(
        get_settings(),
        stage=target.stage,
        profile=target.profile,
        resource_prefix=target.resource_prefix,
        secret_prefix=target.resource_prefix,
        email_sender=target.email_sender,
        public_base_url=(target.public_url or "").rstrip("/"),
        cors_origin=(target.cors_origin or "").rstrip("/"),
        export_state_machine_arn="",
        erasure_state_machine_arn="",
        hold_state_machine_arn="",
        notices_state_machine_arn="",
        grace_days_override=None,
        stripe_api_base=None,
        provider_base_url=None,
    )


@contextlib.contextmanager
def _working_directory(path: str) -> Iterator[None]:
    # Chalice's construct writes its package into ./chalice.out; keep that out of the repository.
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


# Set only while synthesizing, when the caller has not: Chalice names service principals after a
# region (the template itself stays region-agnostic), and the CDK's runtime warns about Node versions.
SYNTH_ENV_DEFAULTS = {"AWS_DEFAULT_REGION": "us-east-1", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}


def synthesize(out_dir: Path, target: Target, *, offline: bool) -> Path:
    """Write the cloud assembly to `out_dir`; returns the stack's template path."""
    from unittest import mock

    defaults = {k: v for k, v in SYNTH_ENV_DEFAULTS.items() if k not in os.environ}
    with mock.patch.dict(os.environ, defaults):
        return _synthesize(out_dir.resolve(), target, offline=offline)


def _synthesize(out_dir: Path, target: Target, *, offline: bool) -> Path:
    from aws_cdk import App

    from chalicelib.profile.loader import load_profile
    from infra.cdk.stack import PixelkeepStack
    from infra.description import describe

    settings = deployment_settings(target)
    description = describe(settings, load_profile(target.profile))
    with tempfile.TemporaryDirectory(prefix="chalice-") as scratch, _working_directory(scratch):
        app = App(outdir=str(out_dir))
        stack = PixelkeepStack(
            app,
            target.stack_name,
            settings=settings,
            description=description,
            with_dependencies=not offline,
            customer_managed_key=target.customer_managed_key,
        )
        if stack.unwired_consumers:
            print(f"warning: consumers not in the app yet, left unwired: {stack.unwired_consumers}")
        app.synth()
    return out_dir / f"{target.stack_name}.template.json"


def _target_from(context: dict, env: os._Environ) -> Target:
    stage = context.get("stage") or env.get("PIXELKEEP_STAGE") or DEFAULT_STAGE
    prefix = context.get("prefix") or env.get("PIXELKEEP_DEPLOY_PREFIX") or f"pixelkeep-{stage}"
    return Target(
        stage=stage,
        profile=context.get("profile") or env.get("PIXELKEEP_PROFILE") or DEFAULT_PROFILE,
        resource_prefix=prefix,
        email_sender=context.get("email_sender") or env.get("PIXELKEEP_EMAIL_SENDER") or "no-reply@pixelkeep.example",
        customer_managed_key=str(context.get("customer_managed_key", "")).lower() in ("1", "true", "yes"),
        public_url=context.get("public_url") or env.get("PIXELKEEP_PUBLIC_URL") or None,
        cors_origin=context.get("cors_origin") or env.get("PIXELKEEP_CORS_ORIGIN") or None,
    )


def _cli_context(env: os._Environ) -> dict:
    import json

    return json.loads(env.get("CDK_CONTEXT_JSON", "{}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path)
    parser.add_argument(
        "--with-dependencies", action="store_true", help="build the runtime dependency layer (downloads wheels)"
    )
    args = parser.parse_args(argv)
    env = os.environ
    out_dir = args.out_dir or Path(env.get("PIXELKEEP_CDK_OUT") or env.get("CDK_OUTDIR") or DEFAULT_OUT)
    offline = not args.with_dependencies
    target = _target_from(_cli_context(env), env)
    if not target.public_url:
        message = "no public URL (-c public_url=https://... or PIXELKEEP_PUBLIC_URL): links would point nowhere"
        if not offline:
            raise SystemExit(f"refusing to package for deployment: {message}")
        print(f"warning: {message}")
    from chalicelib.profile import compile as profiles
    from infra.cdk.bytecode import BytecodeError, runtime_python

    try:
        if not offline:  # before anything is downloaded
            runtime_python(required=True)
        if profiles.main() != 0:  # the package carries the profiles compiled from today's TOML
            raise SystemExit("a profile does not compile")
        template = synthesize(out_dir, target, offline=offline)
    except BytecodeError as error:
        raise SystemExit(f"refusing to package: {error}") from None
    print(f"synthesized {target.stack_name} (profile {target.profile}) -> {template}")
    if offline:
        print("app code packaged without its runtime dependencies: check the template, deploy with the cdk CLI")


if __name__ == "__main__":
    main()
