"""Powertools idempotency for domain functions, run through a port the domain is handed.

`idempotent_function` needs its persistence layer when it wraps; building that at import time would
read settings and open a client on cold start. `PowertoolsIdempotency` gets the layer on first call
and turns Powertools' errors into the domain's vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import errors
from chalicelib.observability import lambda_context


class PowertoolsIdempotency:
    def __init__(self, persistence_store: Callable[[], Any]) -> None:
        self._persistence_store = persistence_store

    def run_once(
        self, function: Callable[..., Any], *args: Any, attempt: dict[str, Any], key: str, payload: str, hours: int = 24
    ) -> Any:
        """Run `function(*args, attempt=attempt)` once per idempotency key (the JMESPath `key` over
        `attempt`); a repeat returns the first result, and a repeat whose `payload` differs is a Conflict."""
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyKeyError,
            IdempotencyValidationError,
        )

        config = IdempotencyConfig(
            event_key_jmespath=key,
            payload_validation_jmespath=payload,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=hours * 3600,
            hash_function="sha256",
            use_local_cache=False,
        )
        if (context := lambda_context.get()) is not None:
            # An in-progress record then expires with the invocation, not after the whole window.
            config.register_lambda_context(context)
        once = idempotent_function(
            function, data_keyword_argument="attempt", persistence_store=self._persistence_store(), config=config
        )
        try:
            return once(*args, attempt=attempt)
        except IdempotencyValidationError as exc:
            raise errors.Conflict("This idempotency key was already used for a different request.") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise errors.Conflict("A request with this idempotency key is still being processed.") from exc
        except IdempotencyKeyError as exc:
            raise errors.InvalidInput("An idempotency key is required.") from exc
