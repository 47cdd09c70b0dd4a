"""Real Step Functions executions in moto: Lambda functions dispatched to the Chalice app's handlers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def state_machines(session: Any, monkeypatch: Any) -> Iterator[dict[str, str]]:
    """Provision every handler as a function and every ASL file as a state machine; ARNs by logical name."""
    from app import app
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe
    from infra.localcloud.fidelity import dynamodb_requests_one_at_a_time
    from infra.localcloud.lambda_hook import lambda_dispatch
    from infra.provision import (
        create_execution_role,
        provision_functions,
        provision_state_machines,
        verify_sender,
    )

    description = describe(get_settings(), wiring.profile())
    # Executions run on moto's threads beside the test's own calls; in-process moto is not safe for
    # concurrent DynamoDB requests (a transaction copies a table another thread is writing), so they
    # are handled one at a time, as the local cloud does (infra/localcloud/fidelity.py).
    with lambda_dispatch(app), dynamodb_requests_one_at_a_time():
        verify_sender(session, get_settings().email_sender)
        role = create_execution_role(session)
        functions = provision_functions(session, sorted(app.handler_map), role)
        machines = provision_state_machines(session, description, functions, role)
        monkeypatch.setenv("PIXELKEEP_EXPORT_STATE_MACHINE_ARN", machines["export"])
        monkeypatch.setenv("PIXELKEEP_ERASURE_STATE_MACHINE_ARN", machines["erasure"])
        monkeypatch.setenv("PIXELKEEP_NOTICES_STATE_MACHINE_ARN", machines["notices"])
        wiring.reset()
        wiring.bound_models()
        yield machines


def wait_for_executions(timeout: float = 60.0) -> None:
    """Join moto's execution threads (it runs each execution on a thread of its own)."""
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)
        if thread is not threading.current_thread() and getattr(target, "__name__", "") == "_execution_logic":
            thread.join(timeout)


def execution_input(session: Any, execution: dict[str, Any]) -> str:
    return session.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]


def executions(session: Any, state_machine_arn: str) -> list[dict[str, Any]]:
    client = session.client("stepfunctions")
    return client.list_executions(stateMachineArn=state_machine_arn)["executions"]


def retry_backoff_skipped(monkeypatch: Any) -> None:
    """A task that exhausts its ASL retries waits 1+2+4+8 s in moto; tests skip the waits, not the retries."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    monkeypatch.setattr(retrier_decl, "time", _NoWait())


class _NoWait:
    @staticmethod
    def sleep(seconds: float) -> None:
        return None


def emitted_metrics(stdout: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, dimensions) of every CloudWatch embedded-metric record Powertools printed."""
    import json

    found: list[tuple[str, dict[str, Any]]] = []
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: record[name] for group in directive["Dimensions"] for name in group}
            found.extend((metric["Name"], dimensions) for metric in directive["Metrics"])
    return found
