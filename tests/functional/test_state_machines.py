"""Every state machine in infra/asl runs in moto with the real Chalice handlers as its tasks.

The ASL files are the ones the CDK stack deploys; here each is rendered with moto Lambda ARNs and
executed for a user who has no data, which must succeed (nothing to export or erase is not an error).
"""

from __future__ import annotations

import json
import time

import pytest

from infra.description import ASL_DIR

MACHINES = sorted(path.name.removesuffix(".asl.json") for path in ASL_DIR.glob("*.asl.json"))


def workflow_input(user_id: str) -> dict:
    """Input for a workflow the app has no starter for yet (a superset; each reads its own keys)."""
    return {"user_id": user_id, "export_id": f"export-{user_id}", "erasure_id": f"erasure-{user_id}"}


def _start_export(deps, user_id: str) -> None:
    from chalicelib.domain.rights.export import request_export

    request_export(deps, user_id)


def _start_erasure(deps, user_id: str) -> None:
    from chalicelib.domain.rights.erasure import start_erasure

    start_erasure(deps, user_id=user_id, erasure_id=f"erasure-{user_id}", request_id=None, reason="user")


def _start_notices(deps, user_id: str) -> None:
    """OPS-2: the announcement of the version in force, written before its execution starts."""
    from chalicelib import clock
    from chalicelib.domain.ports.rights import Announcement

    version = deps.profile.policy.version
    deps.notices.start_announcement(Announcement(version, "run-1", "operator:test", clock.now()))
    deps.notices_workflow.start("notices-run-1", {"version": version})


# Workflows start the way the app starts them (the domain writes its records, then starts the execution).
STARTERS = {"export": _start_export, "erasure": _start_erasure, "notices": _start_notices}


def wait_for_execution(sfn, execution_arn: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.1)
    raise AssertionError(f"{execution_arn} still running after {timeout} s")


@pytest.mark.parametrize("logical", MACHINES)
def test_state_machine_succeeds_for_a_user_without_data(aws, monkeypatch, logical):
    from app import app
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe
    from infra.localcloud.lambda_hook import lambda_dispatch
    from infra.provision import provision_compute

    description = describe(get_settings(), wiring.profile())
    assert logical in {m.logical for m in description.state_machines}
    with lambda_dispatch(app):
        compute = provision_compute(aws, description, [f.name for f in app.pure_lambda_functions])
        machine_arn = compute.state_machine_arns[logical]
        for name, arn in compute.state_machine_arns.items():
            monkeypatch.setenv(f"PIXELKEEP_{name.upper()}_STATE_MACHINE_ARN", arn)
        wiring.reset()
        sfn = aws.client("stepfunctions")
        if logical in STARTERS:
            STARTERS[logical](wiring.rights_service().context, "user-without-data")
        else:
            sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps(workflow_input("user-without-data")))
        (started,) = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
        execution = wait_for_execution(sfn, started["executionArn"])

    assert execution["status"] == "SUCCEEDED", execution.get("error") or execution.get("cause")
