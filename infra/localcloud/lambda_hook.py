"""Run Lambda functions without Docker: moto's invocation hook dispatches to Chalice handlers.

moto funnels every Lambda invocation (Invoke, Step Functions Lambda tasks, SQS and DynamoDB-stream
event source mappings) through `LambdaFunction._invoke_lambda(self, event)`, which normally runs
a container. Replacing that one private method runs `app.handler_map[function_name]` in-process
instead. tests/functional/test_lambda_dispatch.py guards the hook against moto upgrades.

While a handler runs, its AWS calls are held to what its role would allow (roles.py).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.localcloud.roles import acting_as, enforced

log = logging.getLogger(__name__)


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _decode(event: Any) -> Any:
    # moto passes the already-decoded body, or the string "{}" for an empty one.
    if isinstance(event, (str, bytes)):
        return json.loads(event or "{}")
    return {} if event is None else event


def invoke_handler(app: Any, function: Any, event: Any) -> tuple[str, bool, str]:
    """Run the handler named like the moto function; return moto's (payload, errored, logs).

    An exception becomes Lambda's error payload (errorMessage/errorType/stackTrace) with
    `errored` set, so Invoke reports a FunctionError and Step Functions matches on errorType.
    """
    handler = app.handler_map.get(function.function_name)
    if handler is None:
        error = {"errorMessage": f"no handler named {function.function_name}", "errorType": "HandlerNotFound"}
        return json.dumps(error), True, ""
    context = LambdaContext(
        function_name=function.function_name,
        invoked_function_arn=function.function_arn,
        memory_limit_in_mb=int(function.memory_size or 128),
        timeout_seconds=int(function.timeout or 3),
    )
    try:
        with acting_as(function.function_name):
            result = handler(_decode(event), context)
    except Exception as exc:  # a Lambda function error, reported the way Lambda reports it
        log.exception("handler %s failed", function.function_name)
        error = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        return json.dumps(error), True, ""
    # Never an empty payload: moto's stream mapping treats a falsy result as "redeliver".
    return json.dumps(result, default=str), False, ""


@contextmanager
def lambda_dispatch(app: Any) -> Iterator[None]:
    """Route moto's Lambda invocations to `app`'s handlers while the block runs."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.__dict__["_invoke_lambda"]

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        return invoke_handler(app, self, event)

    LambdaFunction._invoke_lambda = _invoke_lambda
    try:
        with enforced():
            yield
    finally:
        LambdaFunction._invoke_lambda = original
