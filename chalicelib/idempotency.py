"""Powertools idempotency for domain functions, bound on first call.

`idempotent_function` needs its persistence layer when it decorates; building that at import
time would read settings and open a client on cold start. `once(...)` applies it at call time
with the layer from wiring, and turns Powertools' errors into the domain's vocabulary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalicelib import errors


def once(*, data_keyword_argument: str, key: str, payload: str, hours: int = 24) -> Callable:
    """Run the decorated function once per idempotency key (the JMESPath `key` over the data
    argument); a repeat returns the first result, and a repeat whose `payload` differs is a Conflict."""

    def decorate(function: Callable) -> Callable:
        def bound() -> Callable:  # cheap; the persistence layer itself is cached in wiring
            from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

            from chalicelib import wiring

            config = IdempotencyConfig(
                event_key_jmespath=key,
                payload_validation_jmespath=payload,
                raise_on_no_idempotency_key=True,
                expires_after_seconds=hours * 3600,
                hash_function="sha256",
                use_local_cache=False,
            )
            return idempotent_function(
                function,
                data_keyword_argument=data_keyword_argument,
                persistence_store=wiring.idempotency_store(),
                config=config,
            )

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            from aws_lambda_powertools.utilities.idempotency.exceptions import (
                IdempotencyAlreadyInProgressError,
                IdempotencyKeyError,
                IdempotencyValidationError,
            )

            try:
                return bound()(*args, **kwargs)
            except IdempotencyValidationError as exc:
                raise errors.Conflict("This idempotency key was already used for a different request.") from exc
            except IdempotencyAlreadyInProgressError as exc:
                raise errors.Conflict("A request with this idempotency key is still being processed.") from exc
            except IdempotencyKeyError as exc:
                raise errors.InvalidInput("An idempotency key is required.") from exc

        return call

    return decorate
