"""The layers hold: domain and api never reach for the database SDKs or the record models, and
domain never reaches up into api. Imports under `if TYPE_CHECKING:` are for type hints only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("pynamodb", "boto3", "botocore", "chalicelib.store.models")
LAYERS = ("chalicelib/domain", "chalicelib/api")


def _modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST) -> list[str]:
    """Every module imported anywhere in the tree (functions too), except inside TYPE_CHECKING blocks."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _imports(path: Path) -> list[str]:
    return _imported_names(ast.parse(path.read_text(), filename=str(path)))


def test_both_layers_have_modules_to_check():
    for layer in LAYERS:
        assert len(_modules(layer)) > 3, layer


@pytest.mark.parametrize("layer", LAYERS)
def test_domain_and_api_never_import_pynamodb_boto3_or_record_models(layer):
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules(layer)
        for name in _imports(path)
        if any(_matches(name, prefix) for prefix in FORBIDDEN)
    ]
    assert offenders == []


def test_domain_never_imports_api():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("chalicelib/domain")
        for name in _imports(path)
        if _matches(name, "chalicelib.api")
    ]
    assert offenders == []


def test_the_checker_sees_imports_in_functions_but_not_under_type_checking():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from chalicelib.store.models.rights import Tombstone\n"
        "def f():\n"
        "    import boto3\n"
        "    from chalicelib.store import models\n"
        "    from pynamodb.exceptions import PutError\n"
    )
    names = _imported_names(ast.parse(source))
    assert "boto3" in names
    assert "chalicelib.store.models" in names
    assert "pynamodb.exceptions" in names
    assert not any(_matches(n, "chalicelib.store.models.rights") for n in names)
