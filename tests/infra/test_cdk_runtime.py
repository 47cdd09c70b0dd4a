"""Every Lambda function runs on the runtime of infra/description.py, and the dependencies are
bundled for it: c2pa-python (GEN-4's marking) ships a manylinux_2_28 wheel, which needs glibc 2.28;
Lambda's python3.11 (Amazon Linux 2, glibc 2.26) cannot load it, python3.12 and later can."""

from __future__ import annotations

import re
from pathlib import Path

from chalice.deploy.packager import DependencyBuilder, LambdaDeploymentPackager
from chalice.utils import OSUtils

from infra.description import LAMBDA_RUNTIME

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def test_gen4_every_function_runs_on_the_deployment_runtime(template):
    functions = {**template.functions(), **template.deployment_functions()}
    assert len(functions) > 20
    runtimes = {name: function["Properties"]["Runtime"] for name, function in functions.items()}
    assert runtimes == dict.fromkeys(functions, LAMBDA_RUNTIME)
    assert LAMBDA_RUNTIME >= "python3.12"
    layers = template.of_type("AWS::Lambda::LayerVersion", "AWS::Serverless::LayerVersion")
    for name, layer in layers.items():  # Chalice's dependency layer (packaged with dependencies only)
        compatible = layer["Properties"].get("CompatibleRuntimes")
        assert compatible in (None, [LAMBDA_RUNTIME]), name


def _c2pa_wheel() -> str:
    (version,) = re.findall(r"^c2pa-python==([\w.]+)", REQUIREMENTS.read_text(encoding="utf-8"), re.MULTILINE)
    return f"c2pa_python-{version}-py3-none-manylinux_2_28_x86_64.whl"


def test_gen4_chalice_bundles_wheels_the_runtime_loads_and_c2pa_is_one_of_them():
    """The synth packages for LAMBDA_RUNTIME (infra/cdk/chalice_app.py), so Chalice picks wheels
    for its ABI and glibc: c2pa's wheel is accepted there, and refused for python3.11."""
    builder = DependencyBuilder(OSUtils())
    abi = LambdaDeploymentPackager._RUNTIME_TO_ABI[LAMBDA_RUNTIME]
    assert builder._is_compatible_wheel_filename(abi, _c2pa_wheel())
    assert not builder._is_compatible_wheel_filename("cp311", _c2pa_wheel()), "the check is not vacuous"


class RecordingPip:
    """Stands in for pip's command line: records what it is asked to download."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def main(self, args: list[str], env_vars=None, shim=None) -> tuple[int, bytes, bytes]:
        self.calls.append(args)
        return 0, b"", b""


def test_gen4_pip_is_asked_for_the_runtimes_python_not_the_synths():
    """Chalice gives pip the ABI and platforms but not the Python version: pip then matches wheels
    against the interpreter running the synth and finds no `cp313` wheel of cffi (Chalice reported
    `MissingDependencyError {cffi==2.1.1(wheel)}`). The stack's runner names the runtime's version."""
    from infra.cdk.chalice_app import RuntimePipRunner

    pip = RecordingPip()
    abi = LambdaDeploymentPackager._RUNTIME_TO_ABI[LAMBDA_RUNTIME]
    RuntimePipRunner(pip, OSUtils()).download_manylinux_wheels(
        abi, ["cffi==2.1.1"], "/unused", ["manylinux_2_34_x86_64"]
    )
    ((command, *arguments),) = pip.calls
    assert command == "download"
    version = arguments[arguments.index("--python-version") + 1]
    assert f"python{version}" == LAMBDA_RUNTIME
    assert arguments[arguments.index("--abi") + 1] == abi
    assert "manylinux_2_34_x86_64" in arguments
