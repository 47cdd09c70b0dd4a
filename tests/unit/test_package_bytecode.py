"""The packaging step that ships bytecode (infra/cdk/bytecode.py), with this interpreter standing in
for the runtime's: every module gets a pyc the interpreter loads without compiling or reading its
source, the rest of the zip is untouched, and the same zip always comes out byte for byte alike."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.cdk import bytecode
from infra.cdk.bytecode import BytecodeError, add_bytecode, add_to_package, runtime_python

THIS_VERSION = sys.version_info[:2]
OTHER_VERSION = (sys.version_info.major, sys.version_info.minor + 1)

SOURCES = {
    "app.py": "from pkg.mod import VALUE\n",
    "pkg/__init__.py": "",
    # A set constant too: it must marshal alike under any hash seed.
    "pkg/mod.py": 'VALUE = "compiled"\nKINDS = {"png", "jpeg", "webp", "mp4"}\n',
}
EXECUTABLE = ("bin/start", b"#!/bin/sh\nexec python app.py\n", 0o100755)
DATA = ("pkg/catalogue.toml", b"[plans]\n", 0o100644)


def _package(path: Path, extra: dict[str, str] | None = None) -> Path:
    """A zip as Chalice writes one: fixed times, regular files 0644, and an executable."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in {**SOURCES, **(extra or {})}.items():
            entry = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o100644 << 16
            archive.writestr(entry, text, zipfile.ZIP_DEFLATED)
        for name, data, mode in (EXECUTABLE, DATA):
            entry = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            entry.external_attr = mode << 16
            archive.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return path


def _entries(path: Path) -> dict[str, tuple]:
    with zipfile.ZipFile(path) as archive:
        return {
            e.filename: (archive.read(e), e.external_attr, e.date_time, e.compress_type) for e in archive.infolist()
        }


@pytest.fixture
def compiled(tmp_path) -> Path:
    package = _package(tmp_path / "deployment.zip")
    assert add_bytecode(package, sys.executable, THIS_VERSION, strict=True) == len(SOURCES)
    return package


def test_every_module_gets_an_unchecked_hash_pyc_at_the_interpreters_cache_path(compiled):
    entries = _entries(compiled)
    for name, text in SOURCES.items():
        pyc = importlib.util.cache_from_source(name)  # this interpreter's tag: cpython-3XY
        data = entries[pyc][0]
        assert data[:4] == importlib.util.MAGIC_NUMBER, name
        assert int.from_bytes(data[4:8], "little") == 0b01, "PEP 552: hash-based, source not checked"
        assert data[8:16] == importlib.util.source_hash(text.encode())
        assert entries[pyc][1:3] == (0o100644 << 16, (1980, 1, 1, 0, 0, 0))
    assert len(entries) == 2 * len(SOURCES) + 2


def test_every_other_entry_keeps_its_bytes_time_and_mode(tmp_path, compiled):
    before = _entries(_package(tmp_path / "original.zip"))
    after = _entries(compiled)
    assert {name: after[name] for name in before} == before
    assert after[EXECUTABLE[0]][1] >> 16 == 0o100755


def test_the_same_package_always_comes_out_byte_for_byte_alike(tmp_path, compiled):
    again = _package(tmp_path / "again.zip")
    add_bytecode(again, sys.executable, THIS_VERSION, strict=True)
    assert again.read_bytes() == compiled.read_bytes()
    once = compiled.read_bytes()
    add_bytecode(compiled, sys.executable, THIS_VERSION, strict=True)  # its own pycs are replaced alike
    assert compiled.read_bytes() == once


def test_a_fresh_interpreter_loads_the_pyc_without_reading_the_source(tmp_path, compiled):
    tree = tmp_path / "task"
    with zipfile.ZipFile(compiled) as archive:
        archive.extractall(tree)
    (tree / "pkg" / "mod.py").write_text('VALUE = "edited after packaging"\n')  # nothing can, in a zip
    probe = "import app, pkg.mod; print(app.VALUE, pkg.mod.__spec__.cached)"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    out = subprocess.run([sys.executable, "-c", probe], cwd=tree, env=env, capture_output=True, text=True, check=True)
    value, cached = out.stdout.split()
    assert value == "compiled"
    assert Path(cached) == tree / importlib.util.cache_from_source("pkg/mod.py")


def test_the_callers_python_variables_change_nothing_written(monkeypatch, tmp_path, compiled):
    monkeypatch.setenv("PYTHONOPTIMIZE", "2")  # would write .opt-2.pyc, which Lambda's Python never reads
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "elsewhere"))  # would write outside the tree
    package = _package(tmp_path / "again.zip")
    add_bytecode(package, sys.executable, THIS_VERSION, strict=True)
    assert package.read_bytes() == compiled.read_bytes()


def test_a_stale_pyc_of_the_same_tag_from_a_build_machine_is_replaced(tmp_path):
    stale = importlib.util.cache_from_source("pkg/mod.py")
    package = _package(tmp_path / "deployment.zip", {stale: "not bytecode"})
    add_bytecode(package, sys.executable, THIS_VERSION, strict=True)
    with zipfile.ZipFile(package) as archive:
        assert archive.namelist().count(stale) == 1
        assert archive.read(stale)[:4] == importlib.util.MAGIC_NUMBER


def test_a_build_machines_pycs_of_another_tag_are_left_out(tmp_path):
    """Chalice copies a checkout's `__pycache__`: pycs the runtime would never load, which made the
    package's bytes (and its CDK asset hash) depend on whether tests had run in that checkout."""
    foreign = "pkg/__pycache__/mod.cpython-39.pyc"
    package = _package(tmp_path / "deployment.zip", {foreign: "a build machine's bytecode"})
    add_bytecode(package, sys.executable, THIS_VERSION, strict=True)
    with zipfile.ZipFile(package) as archive:
        assert foreign not in archive.namelist()
    assert package.read_bytes() == _compiled_clean_package(tmp_path)


def _compiled_clean_package(tmp_path: Path) -> bytes:
    (tmp_path / "clean").mkdir()
    clean = _package(tmp_path / "clean" / "deployment.zip")
    add_bytecode(clean, sys.executable, THIS_VERSION, strict=True)
    return clean.read_bytes()


def test_an_interpreter_of_another_version_is_refused(tmp_path):
    package = _package(tmp_path / "deployment.zip")
    before = package.read_bytes()
    dotted = ".".join(map(str, OTHER_VERSION))
    with pytest.raises(BytecodeError, match=rf"the functions run CPython {dotted}: its bytecode would be ignored"):
        add_bytecode(package, sys.executable, OTHER_VERSION, strict=True)
    assert package.read_bytes() == before


def test_a_module_that_does_not_compile_fails_the_app_and_stays_source_in_a_layer(tmp_path, capsys):
    broken = {"pkg/broken.py": "def (:\n"}
    app = _package(tmp_path / "deployment.zip", broken)
    before = app.read_bytes()
    with pytest.raises(BytecodeError, match=r"pkg/broken\.py did not compile"):
        add_bytecode(app, sys.executable, THIS_VERSION, strict=True)
    assert app.read_bytes() == before
    layer = _package(tmp_path / "layer-deployment.zip", broken)
    assert add_bytecode(layer, sys.executable, THIS_VERSION, strict=False) == len(SOURCES)
    assert "1 modules did not compile and stay source-only" in capsys.readouterr().err


@pytest.fixture
def no_runtime_python(monkeypatch, tmp_path):
    """Neither PIXELKEEP_RUNTIME_PYTHON nor a python3.X on PATH."""
    monkeypatch.delenv(bytecode.RUNTIME_PYTHON_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def test_a_deploy_build_without_the_runtimes_python_is_refused_saying_how_to_get_one(no_runtime_python):
    with pytest.raises(BytecodeError, match=r"no python3\.\d+ on PATH .* set PIXELKEEP_RUNTIME_PYTHON to a CPython"):
        runtime_python(required=True)


def test_the_offline_synth_without_it_leaves_the_app_as_chalice_wrote_it(no_runtime_python, capsys):
    assert runtime_python(required=False) is None
    assert capsys.readouterr().err.startswith("app package left without bytecode (no python3.")


def test_a_python_on_path_that_does_not_run_is_passed_over_offline_refused_for_a_deploy(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(bytecode.RUNTIME_PYTHON_VARIABLE, raising=False)
    shim = tmp_path / f"python{'.'.join(map(str, bytecode.RUNTIME_VERSION))}"
    shim.write_text("#!/bin/sh\necho 'shim: no such version' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert runtime_python(required=False) is None
    said = f"{shim} does not run: shim: no such version"
    assert capsys.readouterr().err == f"app package left without bytecode ({said})\n"
    with pytest.raises(BytecodeError, match="does not run: shim: no such version; set PIXELKEEP_RUNTIME_PYTHON"):
        runtime_python(required=True)


def test_a_named_interpreter_of_another_version_is_refused_even_offline(monkeypatch):
    monkeypatch.setenv(bytecode.RUNTIME_PYTHON_VARIABLE, sys.executable)
    monkeypatch.setattr(bytecode, "RUNTIME_VERSION", OTHER_VERSION)
    with pytest.raises(BytecodeError, match="its bytecode would be ignored there; set PIXELKEEP_RUNTIME_PYTHON"):
        runtime_python(required=False)


def test_the_named_interpreter_compiles_the_app_and_the_layer(monkeypatch, tmp_path):
    monkeypatch.setenv(bytecode.RUNTIME_PYTHON_VARIABLE, sys.executable)
    monkeypatch.setattr(bytecode, "RUNTIME_VERSION", THIS_VERSION)
    interpreter = runtime_python(required=True)
    assert interpreter == sys.executable
    for name in ("deployment.zip", "layer-deployment.zip"):
        _package(tmp_path / name)
    add_to_package(tmp_path, interpreter)
    for name in ("deployment.zip", "layer-deployment.zip"):
        assert importlib.util.cache_from_source("pkg/mod.py") in _entries(tmp_path / name), name


def test_the_runtime_version_is_the_functions_runtime():
    from infra.description import LAMBDA_RUNTIME

    assert f"python{'.'.join(map(str, bytecode.RUNTIME_VERSION))}" == LAMBDA_RUNTIME
