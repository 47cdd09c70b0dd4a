"""The erasure and export state machines run for real in moto, each task dispatched to its handler."""

from __future__ import annotations

import json

from tests.support.auth import sign_up
from tests.support.workflows import executions, state_machines, wait_for_executions


def _final(session, arn):
    (execution,) = executions(session, arn)
    described = session.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    return described["status"], json.loads(described.get("output") or "{}")


def test_dsr4_erasure_state_machine_succeeds_for_a_user_with_no_data(client, aws, monkeypatch):
    from chalicelib import wiring
    from chalicelib.domain.rights import erasure

    with state_machines(aws, monkeypatch) as machines:
        user_id = sign_up(client).user_id
        deps = wiring.rights_deps()
        erasure.start_erasure(deps, user_id=user_id, erasure_id="e1", request_id=None, reason="user")
        wait_for_executions()
        status, output = _final(aws, machines["erasure"])
        assert status == "SUCCEEDED"
        assert output["residual"]["clean"] is True
        assert wiring.accounts_store().get_user(user_id, consistent=True) is None
        assert deps.rights.get_receipt("e1") is not None


def test_dsr1_export_state_machine_succeeds_for_a_user_with_no_data(client, aws, monkeypatch):
    from chalicelib import wiring
    from chalicelib.domain.rights import export

    with state_machines(aws, monkeypatch) as machines:
        user_id = sign_up(client).user_id
        deps = wiring.rights_deps()
        started = export.request_export(deps, user_id)
        wait_for_executions()
        status, _ = _final(aws, machines["export"])
        assert status == "SUCCEEDED"
        assert export.status(deps, user_id, started["id"])["status"] == "ready"


def test_dsr4_state_machine_retries_a_failed_task_and_completes(client, aws, monkeypatch):
    """A task that fails once is retried by the state machine's Retry and the erasure completes."""
    from chalicelib import wiring
    from chalicelib.domain.rights import erasure
    from tests.support.rights import use_every_feature

    with state_machines(aws, monkeypatch) as machines:
        person = sign_up(client)
        use_every_feature(client, aws, person)
        real = erasure.delete_records
        calls = {"n": 0}

        def fails_once(deps, event):
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("injected failure")
            return real(deps, event)

        monkeypatch.setattr(erasure, "delete_records", fails_once)
        erasure.start_erasure(
            wiring.rights_deps(), user_id=person.user_id, erasure_id="e2", request_id=None, reason="user"
        )
        wait_for_executions()
        status, output = _final(aws, machines["erasure"])
        assert status == "SUCCEEDED"
        assert calls["n"] == 2
        assert output["records"]["deleted"] > 0
        history = aws.client("stepfunctions").get_execution_history(
            executionArn=executions(aws, machines["erasure"])[0]["executionArn"]
        )["events"]
        assert any(e["type"] == "LambdaFunctionFailed" for e in history)
