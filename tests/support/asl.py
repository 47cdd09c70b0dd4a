"""The state machines of infra/asl/*.asl.json run in-process over the domain functions: Task states
call the function behind their resource and store its result at their ResultPath, Choice states
branch as Step Functions does (BooleanEquals), and a task's exception propagates (Retry and Catch
are the real service's, exercised by tests/functional/test_erasure_workflow.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ASL = Path(__file__).resolve().parents[2] / "infra" / "asl"
MAX_TRANSITIONS = 100_000


def _read(state: Mapping[str, Any], path: str) -> Any:
    value: Any = state
    for part in path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _choose(spec: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    for rule in spec["Choices"]:
        if set(rule) != {"Variable", "BooleanEquals", "Next"}:
            raise NotImplementedError(f"choice rule {rule}")
        if _read(state, rule["Variable"]) is rule["BooleanEquals"]:
            return rule["Next"]
    return spec["Default"]


def run_machine(
    name: str,
    tasks: Mapping[str, Callable[[dict[str, Any]], Any]],
    event: Mapping[str, Any],
    *,
    on_task: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run `infra/asl/<name>.asl.json` from its start to its end; `on_task(resource)` is called
    before every task invocation. Returns the final state."""
    machine = json.loads((ASL / f"{name}.asl.json").read_text())
    state, at = dict(event), machine["StartAt"]
    for _ in range(MAX_TRANSITIONS):
        spec = machine["States"][at]
        if spec["Type"] == "Task":
            resource = spec["Resource"].removeprefix("${").removesuffix("}")
            if on_task:
                on_task(resource)
            result = tasks[resource](state)
            path = spec["ResultPath"].removeprefix("$.")
            assert "." not in path, spec["ResultPath"]
            state[path] = json.loads(json.dumps(result))  # what Step Functions keeps is JSON
        elif spec["Type"] == "Choice":
            at = _choose(spec, state)
            continue
        elif spec["Type"] == "Succeed":
            return state
        elif spec["Type"] == "Fail":
            raise RuntimeError(f"{name} ended in {at}")
        if spec.get("End"):
            return state
        at = spec["Next"]
    raise RuntimeError(f"{name} did not end within {MAX_TRANSITIONS} transitions")
