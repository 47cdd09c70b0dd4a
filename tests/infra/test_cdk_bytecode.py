"""The synthesized stage ships its app with bytecode (issue 16, P1): the packaging step runs
between Chalice writing the zip and the CDK staging it as the functions' code. CI has no Python of
the functions' runtime version, so this interpreter stands in for it here (its version taken as
the runtime's for this synth only); infra/cdk/bytecode.py's own tests cover the step itself."""

from __future__ import annotations

import importlib.util
import os
import sys
import zipfile
from unittest import mock

import pytest

from infra.cdk import bytecode
from tests.infra.conftest import Template, _target


@pytest.fixture(scope="module")
def compiled_stage(tmp_path_factory) -> Template:
    from infra.cdk.synth import synthesize

    stand_in = {bytecode.RUNTIME_PYTHON_VARIABLE: sys.executable}
    with mock.patch.dict(os.environ, stand_in), mock.patch.object(bytecode, "RUNTIME_VERSION", sys.version_info[:2]):
        path = synthesize(tmp_path_factory.mktemp("cdk-bytecode"), _target("kaleipix"), offline=True)
    return Template(path, "kaleipix")


def _read(package) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_packaged_app_carries_an_unchecked_hash_pyc_for_every_module(compiled_stage, template):
    shipped = _read(compiled_stage.app_package())
    modules = sorted(name for name in shipped if name.endswith(".py"))
    assert {"app.py", "chalice/app.py", "chalicelib/wiring.py"} <= set(modules)
    for name in modules:
        pyc = shipped[importlib.util.cache_from_source(name)]
        assert pyc[:4] == importlib.util.MAGIC_NUMBER, name
        assert int.from_bytes(pyc[4:8], "little") == 0b01, name  # PEP 552: unchecked hash
    # The same app as the stage synthesized without the stand-in, plus the bytecode.
    tag = sys.implementation.cache_tag
    plain = {name: data for name, data in _read(template.app_package()).items() if f".{tag}." not in name}
    assert {name: data for name, data in shipped.items() if f".{tag}." not in name} == plain
    assert len(shipped) == len(plain) + len(modules)
