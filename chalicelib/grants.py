"""What each Lambda function touches, declared where the function is registered (SEC-6).

The deployment gives every function its own IAM role granting exactly its declaration: the tables,
buckets, queues, state machines and secrets it names, with the access it names, and nothing else.
Names are logical (`"ledger"`, `"exports"`); the resource description resolves them. Nothing here
imports more than the standard library, so declaring costs nothing at cold start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset((values,) if isinstance(values, str) else values)


@dataclass(frozen=True, slots=True)
class Uses:
    """A function's reach. Writing a table or bucket includes reading it."""

    read_tables: frozenset[str] = frozenset()
    write_tables: frozenset[str] = frozenset()
    read_buckets: frozenset[str] = frozenset()
    write_buckets: frozenset[str] = frozenset()
    consume_queues: frozenset[str] = frozenset()
    start_workflows: frozenset[str] = frozenset()  # state machines, by logical name
    secrets: frozenset[str] = frozenset()  # Secrets Manager names under the deployment's prefix
    send_email: bool = False
    # describe the deployment's tables, buckets and log groups (the drift check, OPS-8)
    inspect_deployment: bool = False
    # DSR-12: read whether a legal hold is in force on a person before writing their data: GetItem
    # of the requests table's `HELD#` keys only (IAM condition dynamodb:LeadingKeys), nothing else there
    read_holds: bool = False

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, bool):
                object.__setattr__(self, field.name, _names(value))

    def __or__(self, other: Uses) -> Uses:
        return Uses(**{field.name: getattr(self, field.name) | getattr(other, field.name) for field in fields(self)})


# What writes a person's data outside a signed-in request: a write for a held person keeps its
# expiry aside and tags its objects `held` (DSR-12, chalicelib/store/hold_state.py).
WRITES_PERSONAL_DATA = Uses(read_holds=True)


NOTHING = Uses()

# Every table holding a data category (store/layout.py TABLES; a unit test keeps the two equal):
# export and erasure read all of them through the owner index.
CATEGORY_TABLES = ("accounts", "content", "ledger", "logs", "requests")

# Lambda function name -> what it touches, filled as the app's modules register their functions.
DECLARED: dict[str, Uses] = {}


def declare(name: str, uses: Uses) -> None:
    if DECLARED.setdefault(name, uses) != uses:
        raise ValueError(f"function {name} is declared twice, two different ways")


def lambda_function(blueprint: Any, name: str, uses: Uses) -> Callable[[Callable], Callable]:
    """`blueprint.lambda_function(name=...)` that also declares what the function touches."""

    def register(handler: Callable) -> Callable:
        declare(name, uses)
        return blueprint.lambda_function(name=name)(handler)

    return register
