"""Every import in chalicelib points down: api -> domain -> ports <- store/gateways, with the
composition root (wiring) and the event and workflow entry points above the domain. Imports inside
functions count (they still run); imports under `if TYPE_CHECKING:` do not. No module cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_layering import ROOT, _imports, _matches

PACKAGE = ROOT / "chalicelib"

# Shared leaves every layer may use: they import nothing above themselves.
FOUNDATION = (
    "chalicelib.errors",
    "chalicelib.clock",
    "chalicelib.settings",
    "chalicelib.observability",
    "chalicelib.metrics",  # OPS-7: aggregated counters with closed dimension sets
    "chalicelib.profile",
    "chalicelib.billing_catalogue",  # compiled from its TOML: data only
    "chalicelib.retention",
    "chalicelib.grants",  # what each function declares it touches (least privilege)
)
PORTS = "chalicelib.domain.ports"

# layer prefix -> the chalicelib prefixes it may import (besides itself and FOUNDATION).
ALLOWED: dict[str, tuple[str, ...]] = {
    "chalicelib.domain.ports": (),
    "chalicelib.domain": ("chalicelib.domain",),
    "chalicelib.store": (PORTS,),
    "chalicelib.gateways": (PORTS,),
    "chalicelib.api": ("chalicelib.domain", "chalicelib.wiring", "chalicelib.idempotency"),
    # Reactions are registered by record class: the record model names its table and key prefix.
    "chalicelib.events": ("chalicelib.domain", "chalicelib.wiring", "chalicelib.store.models", "chalicelib.workflows"),
    "chalicelib.workflows": ("chalicelib.domain", "chalicelib.wiring"),
    "chalicelib.wiring": (
        "chalicelib.domain",
        "chalicelib.store",
        "chalicelib.gateways",
        "chalicelib.idempotency",
    ),
    "chalicelib.idempotency": (),
}
for leaf in FOUNDATION:
    ALLOWED.setdefault(leaf, ())


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _layer_of(module: str) -> str | None:
    matches = [layer for layer in ALLOWED if _matches(module, layer)]
    return max(matches, key=len) if matches else None


def _internal_imports(module: str) -> set[str]:
    """The chalicelib modules `module` imports, resolved to modules that exist."""
    found = set()
    for name in _imports(MODULES[module]):
        if not _matches(name, "chalicelib"):
            continue
        while name and name not in MODULES:  # `from pkg import name` names an attribute, not a module
            name = name.rpartition(".")[0]
        if name and name not in (module, "chalicelib"):
            found.add(name)
    return found


def test_every_module_belongs_to_a_layer():
    homeless = [module for module in MODULES if module != "chalicelib" and _layer_of(module) is None]
    assert homeless == [], "add these to ALLOWED"


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_down(layer):
    allowed = (layer, *ALLOWED[layer], *FOUNDATION)
    offenders = [
        f"{module} -> {name}"
        for module in MODULES
        if module != "chalicelib" and _layer_of(module) == layer
        for name in sorted(_internal_imports(module))
        if not any(_matches(name, prefix) for prefix in allowed)
    ]
    assert offenders == []


def test_nothing_in_chalicelib_imports_infra_or_the_app():
    offenders = [
        f"{module} -> {name}"
        for module, path in MODULES.items()
        for name in _imports(path)
        if _matches(name, "infra") or _matches(name, "app")
    ]
    assert offenders == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_not_even_through_function_level_imports():
    graph = {module: _internal_imports(module) for module in MODULES}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("folder", ["tests/domain", "tests/fakes"])
def test_domain_tests_and_fakes_run_without_aws(folder):
    """The domain suite proves business rules on the in-memory fakes: no moto, no SDK, no store
    (but the object layout, plain data the fakes share so their keys match the adapters')."""
    forbidden = ("moto", "boto3", "botocore", "pynamodb")
    forbidden += ("chalicelib.store", "chalicelib.wiring", "chalicelib.gateways")
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in _imports(path)
        if any(_matches(name, prefix) for prefix in forbidden) and not _matches(name, "chalicelib.store.layout")
    ]
    assert offenders == []
