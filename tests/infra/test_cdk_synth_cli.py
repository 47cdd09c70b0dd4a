"""How `python -m infra.cdk.synth` picks its target: CDK context first, then the environment."""

from __future__ import annotations

import pytest

from infra.cdk.synth import DEFAULT_PROFILE, DEFAULT_STAGE, _target_from, main


def test_defaults_are_the_dev_stage_and_the_default_profile():
    target = _target_from({}, {})
    assert (target.stage, target.profile, target.stack_name) == (DEFAULT_STAGE, DEFAULT_PROFILE, "pixelkeep-dev")
    assert target.customer_managed_key is False


def test_context_wins_over_the_environment():
    env = {"PIXELKEEP_STAGE": "staging", "PIXELKEEP_PROFILE": "pixera", "PIXELKEEP_PUBLIC_URL": "https://env.example"}
    context = {
        "stage": "prod",
        "profile": "pictomancer",
        "customer_managed_key": "true",
        "public_url": "https://ctx.example",
    }
    target = _target_from(context, env)
    assert (target.stage, target.profile, target.resource_prefix) == ("prod", "pictomancer", "pixelkeep-prod")
    assert target.customer_managed_key is True
    assert target.public_url == "https://ctx.example"
    assert _target_from({}, env).profile == "pixera"


def test_packaging_for_deployment_refuses_without_a_public_url(monkeypatch, tmp_path):
    monkeypatch.delenv("PIXELKEEP_PUBLIC_URL", raising=False)
    monkeypatch.delenv("CDK_CONTEXT_JSON", raising=False)
    with pytest.raises(SystemExit, match="public URL"):
        main([str(tmp_path), "--with-dependencies"])
    assert not any(tmp_path.iterdir())


def test_packaging_for_deployment_refuses_without_the_runtimes_python_before_downloading(monkeypatch, tmp_path):
    from infra.cdk.bytecode import RUNTIME_PYTHON_VARIABLE

    monkeypatch.setenv("PIXELKEEP_PUBLIC_URL", "https://api.pixelkeep.example")
    monkeypatch.delenv("CDK_CONTEXT_JSON", raising=False)
    monkeypatch.delenv(RUNTIME_PYTHON_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-python-here"))
    refusal = r"refusing to package: no python3\.\d+ on PATH .* set PIXELKEEP_RUNTIME_PYTHON"
    with pytest.raises(SystemExit, match=refusal):
        main([str(tmp_path / "out"), "--with-dependencies"])
    assert not any(tmp_path.iterdir())
