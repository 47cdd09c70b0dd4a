"""Bytecode in the deployment packages, so a cold Lambda does not compile every module it imports.

Chalice zips the app's sources and extracts the dependency layer from wheels, both without
bytecode, and Lambda's file system is read-only: nothing compiled at run time is kept. This step
adds `__pycache__/<name>.<tag>.pyc` beside every `.py` entry of a zip Chalice wrote, compiled by an
interpreter of the functions' runtime version (bytecode and its magic number are version-specific:
a 3.11 pyc is ignored by 3.13).

The pycs are unchecked-hash (PEP 552): loaded without reading their source. Zip entries keep
2-second timestamps (Chalice writes them all as 1980-01-01), so a timestamp-checked pyc could be
silently refused; and a deployment package is immutable, so nothing can edit a source behind its
pyc. The result is deterministic (fixed entry times, modes and order; code objects name their files
relative to the package), so the same package gives the same bytes and CDK asset hashes do not churn.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from infra.description import LAMBDA_RUNTIME

RUNTIME_PYTHON_VARIABLE = "PIXELKEEP_RUNTIME_PYTHON"
RUNTIME_VERSION: tuple[int, int] = tuple(int(part) for part in LAMBDA_RUNTIME.removeprefix("python").split("."))
APP_PACKAGE = "deployment.zip"
LAYER_PACKAGE = "layer-deployment.zip"
HOW_TO_GET_ONE = (
    f"set {RUNTIME_PYTHON_VARIABLE} to a CPython {{version}} interpreter, or put python{{version}} on PATH "
    "(for example `uv python install {version}`, pyenv, or a `python:{version}` container)"
)
_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)  # as Chalice writes every entry
_ENTRY_MODE = 0o100644 << 16  # a regular file, readable by the runtime's user
# The compiler's environment: nothing of the caller's (PYTHONOPTIMIZE, PYTHONPYCACHEPREFIX would
# change what is written and where).
_COMPILER_ENV = {"PYTHONUTF8": "1"}


class BytecodeError(Exception):
    """The package cannot get bytecode the runtime will load."""


def _dotted(version: tuple[int, int]) -> str:
    return ".".join(map(str, version))


def interpreter_cache_tag(interpreter: str, version: tuple[int, int]) -> str:
    """The interpreter's pyc tag (`cpython-313`), after checking it is CPython of `version`."""
    probe = "import sys; print(sys.implementation.name, sys.implementation.cache_tag, *sys.version_info[:2])"
    try:
        out = subprocess.run([interpreter, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    except OSError as error:
        raise BytecodeError(f"{interpreter} does not run ({error})") from None
    if out.returncode != 0:
        said = " ".join((out.stderr or out.stdout).split())  # one line: a pyenv shim says a lot
        raise BytecodeError(f"{interpreter} does not run: {said[:300]}")
    name, tag, major, minor = out.stdout.split()
    if (name, (int(major), int(minor))) != ("cpython", version):
        raise BytecodeError(
            f"{interpreter} is {name} {major}.{minor}, the functions run CPython {_dotted(version)}: "
            "its bytecode would be ignored there"
        )
    return tag


def runtime_python(*, required: bool) -> str | None:
    """The interpreter that compiles for the runtime: PIXELKEEP_RUNTIME_PYTHON, else python3.X on PATH.

    Required (a deploy build), a missing or unusable one is an error saying how to get one. Not
    required (the offline synth that checks templates), None with one line on stderr; an
    interpreter named in PIXELKEEP_RUNTIME_PYTHON that is unusable is an error either way.
    """
    version = _dotted(RUNTIME_VERSION)
    named = os.environ.get(RUNTIME_PYTHON_VARIABLE)
    candidate = named or shutil.which(f"python{version}")
    if candidate is None:
        problem = f"no python{version} on PATH and {RUNTIME_PYTHON_VARIABLE} is not set"
    else:
        try:
            interpreter_cache_tag(candidate, RUNTIME_VERSION)
            return candidate
        except BytecodeError as error:
            if named or required:
                raise BytecodeError(f"{error}; {HOW_TO_GET_ONE.format(version=version)}") from None
            problem = str(error)
    if required:
        raise BytecodeError(f"{problem}; {HOW_TO_GET_ONE.format(version=version)}")
    print(f"app package left without bytecode ({problem})", file=sys.stderr)
    return None


def add_bytecode(package: Path, interpreter: str, version: tuple[int, int], *, strict: bool) -> int:
    """Give every `.py` entry of the zip `package` its unchecked-hash pyc, compiled by `interpreter`
    (CPython `version`); returns how many. Every other entry keeps its bytes, time and mode, but for
    the pycs a build machine's `__pycache__` brought in (replaced or left out).
    Strict, a module that does not compile is an error; otherwise it stays source-only (as pip
    leaves a dependency's file that does not compile) and stderr says how many did."""
    tag = interpreter_cache_tag(interpreter, version)
    with zipfile.ZipFile(package) as source:
        entries = source.infolist()
        sources = {
            _pyc_name(entry.filename, tag): entry.filename for entry in entries if entry.filename.endswith(".py")
        }
        with tempfile.TemporaryDirectory(prefix="bytecode-") as scratch:
            tree = Path(scratch)
            source.extractall(tree, members=sorted(sources.values()))
            report = _compile_tree(tree, interpreter)
            compiled = {name: (tree / name).read_bytes() for name in sorted(sources) if (tree / name).is_file()}
        missing = sorted(py for pyc, py in sources.items() if pyc not in compiled)
        if missing and strict:
            raise BytecodeError(f"{package.name}: {', '.join(missing)} did not compile:\n{report}")
        if missing:
            print(f"{package.name}: {len(missing)} modules did not compile and stay source-only", file=sys.stderr)
        kept = [entry for entry in entries if entry.filename not in compiled and not _build_machine_cache(entry)]
        _rewrite(package, source, kept, compiled)
    return len(compiled)


def _compile_tree(directory: Path, interpreter: str) -> str:
    """Compile every `.py` under `directory` in place, as packaged (unchecked-hash pycs, names in
    their code objects relative to `directory`); returns the compiler's report of failures."""
    command = [interpreter, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
    out = subprocess.run(
        [*command, "-s", str(directory), str(directory)],
        env=_COMPILER_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    return (out.stdout + out.stderr).strip()


def add_to_package(package_dir: Path, interpreter: str) -> None:
    """Bytecode for the app zip (strict: our modules compile) and the dependency layer's, if any."""
    add_bytecode(package_dir / APP_PACKAGE, interpreter, RUNTIME_VERSION, strict=True)
    if (package_dir / LAYER_PACKAGE).exists():
        add_bytecode(package_dir / LAYER_PACKAGE, interpreter, RUNTIME_VERSION, strict=False)


def _build_machine_cache(entry: zipfile.ZipInfo) -> bool:
    """A pyc Chalice copied from the checkout's `__pycache__`: another interpreter's, never loaded
    by the runtime, and it made the package's bytes depend on whether tests had run there."""
    return entry.filename.endswith(".pyc") and posixpath.basename(posixpath.dirname(entry.filename)) == "__pycache__"


def _pyc_name(py_name: str, tag: str) -> str:
    directory, filename = posixpath.split(py_name)
    return posixpath.join(directory, "__pycache__", f"{filename.removesuffix('.py')}.{tag}.pyc")


def _rewrite(package: Path, source: zipfile.ZipFile, kept: list[zipfile.ZipInfo], pycs: dict[str, bytes]) -> None:
    """Write `kept` entries as they were, then `pycs` in name order, and swap the result in."""
    with tempfile.NamedTemporaryFile(dir=package.parent, prefix=package.name, delete=False) as handle:
        partial = Path(handle.name)
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in kept:
                target.writestr(entry, source.read(entry))
            for name, data in pycs.items():
                entry = zipfile.ZipInfo(name, _ENTRY_TIME)
                entry.external_attr = _ENTRY_MODE
                entry.create_system = 3  # Unix, so the mode bits are read
                target.writestr(entry, data, zipfile.ZIP_DEFLATED)
        partial.chmod(package.stat().st_mode)
        partial.replace(package)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
