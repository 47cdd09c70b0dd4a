"""Chalice's CDK construct, with an app-code-only packaging mode for offline synthesis.

Chalice packages the app by pip-downloading Lambda-compatible wheels for requirements.txt, for the
runtime of infra/description.py (`LAMBDA_RUNTIME`: its CPython ABI and its glibc's manylinux tags),
whatever Python runs the synth. With
`automatic_layer` those wheels go into a managed layer cached per requirements.txt hash, so a
deploy downloads them once. Without dependencies (`with_dependencies=False`) nothing is
downloaded: the template is the same, only the dependency layer is left out; tests and template
checks synthesize this way.

Both zips then get bytecode compiled by the runtime's Python (infra/cdk/bytecode.py). A deploy
build without that interpreter stops before downloading anything; the offline synth, which only
checks templates, leaves the app zip as Chalice wrote it when there is none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from chalice.cdk import Chalice
from chalice.config import Config
from chalice.deploy import deployer
from chalice.deploy.packager import PipRunner

from infra.cdk import bytecode
from infra.description import LAMBDA_RUNTIME


class _NoDependencies:
    """Stands in for Chalice's pip-based dependency builder: builds an empty site-packages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def build_site_packages(self, abi: str, requirements_filepath: str, target_directory: str) -> None:
        return None


class RuntimePipRunner(PipRunner):
    """Chalice asks pip for the runtime's ABI and manylinux platforms but not its Python version, so
    pip matches wheels against the interpreter running the synth (3.11) and finds no `cp313` wheel
    of a compiled package (cffi, pillow, pydantic-core...). Name the version the ABI implies."""

    def download_manylinux_wheels(
        self, abi: str, packages: list[str], directory: str, platforms: list[str] | None = None
    ) -> None:
        version = f"{abi[2]}.{abi[3:]}"  # cp313 -> 3.13
        for package in packages:
            arguments = ["--only-binary=:all:", "--no-deps", "--python-version", version]
            for platform in platforms or []:
                arguments.extend(["--platform", platform])
            arguments.extend(["--implementation", "cp", "--abi", abi, "--dest", directory, package])
            self._execute("download", arguments)


class ChaliceApp(Chalice):
    """The Chalice app of one stage, packaged with or without its runtime dependencies."""

    def __init__(
        self, scope: Any, id: str, *, source_dir: str, stage: str, stage_config: dict, with_dependencies: bool
    ) -> None:
        self.pixelkeep_stage = stage
        self.with_dependencies = with_dependencies
        super().__init__(scope, id, source_dir=source_dir, stage_config=stage_config)

    def _package_app(self) -> None:
        # Chalice takes the stage name from the scope's path; the stage is ours to name.
        self.stage_name = self.pixelkeep_stage
        interpreter = bytecode.runtime_python(required=self.with_dependencies)
        # Chalice imports the app with the stage's variables written into os.environ, and leaves
        # them there; restore the caller's environment.
        with mock.patch.dict(os.environ), _stage_cors(self.stage_config), _runtime(LAMBDA_RUNTIME):
            if self.with_dependencies:
                with mock.patch.object(deployer, "PipRunner", RuntimePipRunner):
                    super()._package_app()
            else:
                with mock.patch.object(deployer, "PipDependencyBuilder", _NoDependencies):
                    super()._package_app()
        if interpreter is not None:  # before the CDK stages the zips as assets
            bytecode.add_to_package(Path(self._sam_package_dir), interpreter)
        _point_log_groups_at_renamed_functions(os.path.join(self._sam_package_dir, "sam.json"))

    def log_group_ids(self) -> list[str]:
        """Logical ids of the log groups Chalice declares, one per function (`log_retention_in_days`)."""
        with open(os.path.join(self._sam_package_dir, "sam.json"), encoding="utf-8") as handle:
            resources = json.load(handle)["Resources"]
        return sorted(name for name, resource in resources.items() if resource["Type"] == "AWS::Logs::LogGroup")


@contextmanager
def _runtime(runtime: str) -> Iterator[None]:
    """Chalice takes the functions' runtime, the layer's and the wheels it downloads (their ABI and
    manylinux glibc) from the Python running it; the functions run on `runtime` instead."""
    with mock.patch.object(Config, "lambda_python_version", property(lambda _config: runtime)):
        yield


@contextmanager
def _stage_cors(stage_config: dict) -> Iterator[None]:
    """An app imported before packaging (in this process) took the CORS rule of the environment it
    was imported in; while the stage is packaged, its routes take the stage's rule."""
    import sys

    from chalicelib.api.cors import cors_config

    module = sys.modules.get("app")
    if module is None:  # Chalice imports it with the stage's variables set
        yield
        return
    routes = [entry for methods in module.app.routes.values() for entry in methods.values()]
    before = [entry.cors for entry in routes]
    rule = cors_config(stage_config.get("environment_variables", {}).get("PIXELKEEP_CORS_ORIGIN", ""))
    for entry in routes:
        entry.cors = rule
    try:
        yield
    finally:
        for entry, cors in zip(routes, before, strict=True):
            entry.cors = cors


def _point_log_groups_at_renamed_functions(sam_path: str) -> None:
    """Chalice renames the API function to `APIHandler` after naming its log group after
    `ApiHandler`; point such log groups at the function's final logical id."""
    with open(sam_path, encoding="utf-8") as handle:
        template = json.load(handle)
    resources = template["Resources"]
    by_lower = {name.lower(): name for name in resources}
    for resource in resources.values():
        if resource["Type"] != "AWS::Logs::LogGroup":
            continue
        prefix, _, rest = resource["Properties"]["LogGroupName"]["Fn::Sub"].partition("${")
        function = rest.removesuffix("}")
        if function not in resources and function.lower() in by_lower:
            resource["Properties"]["LogGroupName"]["Fn::Sub"] = prefix + "${" + by_lower[function.lower()] + "}"
    with open(sam_path, "w", encoding="utf-8") as handle:
        json.dump(template, handle, indent=2)
