"""OPS-6: every operator action is also a Lambda function, invoked as the console's Test tab or
`aws lambda invoke` does (Invoke, its role's reach enforced), with the README's test event; the audit
entry names the invocation, and bad events answer in the one error shape."""

from __future__ import annotations

import json
import re

import pytest

from infra.localcloud.lambda_hook import lambda_dispatch
from infra.provision import create_execution_role, provision_functions
from tests.support.auth import sign_up
from tests.support.rights import CapturingStarter

ACTIONS = ("operator_request_queue", "operator_set_request_status", "operator_minor_takedown", "operator_audit_log")


@pytest.fixture
def invoke(aws, client, monkeypatch):
    from app import app
    from chalicelib import wiring

    monkeypatch.setattr(wiring, "workflow", lambda kind: CapturingStarter())  # no state machines here

    with lambda_dispatch(app):
        provision_functions(aws, ACTIONS, create_execution_role(aws))
        lambda_ = aws.client("lambda")

        def call(name: str, event: dict) -> dict:
            response = lambda_.invoke(FunctionName=name, Payload=json.dumps(event))
            assert "FunctionError" not in response, response["Payload"].read()
            return json.loads(response["Payload"].read())

        yield call


def test_ops6_operator_actions_run_as_lambda_functions_and_are_audited_by_invocation(client, aws, invoke):
    from chalicelib import clock
    from tests.support.mail import allow_sending

    allow_sending(aws)
    person = sign_up(client)
    opened = client.http.post("/me/requests", body=json.dumps({"kind": "objection"}), headers=person.headers)
    request_id = opened.json_body["id"]

    queue = invoke("operator_request_queue", {})["result"]
    assert [r["id"] for r in queue] == [request_id]
    done = invoke("operator_set_request_status", {"request_id": request_id, "status": "completed"})["result"]
    assert done["status"] == "completed"
    assert invoke("operator_minor_takedown", {"user_id": person.user_id, "note": "reported"})["result"]
    audit = invoke("operator_audit_log", {"month": f"{clock.now():%Y-%m}"})["result"]
    assert [a["action"] for a in audit] == [
        "view_request_queue",
        "request_completed",
        "minor_takedown",
        "view_audit_log",
    ]
    for entry in audit:
        assert re.fullmatch(r"lambda:operator_[a-z_]+/[0-9a-f\-]{36}", entry["operator"]), entry


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("operator_set_request_status", {"request_id": "r1", "status": "cancelled"}),
        ("operator_set_request_status", {"status": "completed"}),
        ("operator_minor_takedown", {"user_id": "x" * 3000}),
        ("operator_audit_log", {"month": "last month"}),
        ("operator_audit_log", ["not", "an", "object"]),
    ],
)
def test_ops6_a_bad_event_is_answered_in_the_one_error_shape(invoke, name, event):
    answer = invoke(name, event)
    assert answer["error"]["code"] == "invalid_input"
    assert set(answer) == {"error"}


def test_ops6_an_unknown_request_is_not_found(invoke):
    answer = invoke("operator_set_request_status", {"request_id": "nope", "status": "completed"})
    assert answer["error"]["code"] == "not_found"
