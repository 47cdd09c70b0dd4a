"""The local cloud runs Lambda code through one private moto hook (`LambdaFunction._invoke_lambda`).

These tests pin that hook: direct Invoke, an SQS event source mapping, a DynamoDB-stream event
source mapping and a Step Functions Lambda task all reach the Chalice handler, and a failing handler
is reported as a Lambda function error. If a moto upgrade moves the hook, they fail.
"""

from __future__ import annotations

import json
import time

import pytest
from chalice import Chalice

from infra.localcloud.lambda_hook import lambda_dispatch
from infra.provision import create_execution_role, provision_functions

HANDLERS = ("direct", "queue_consumer", "stream_consumer", "first_task", "second_task", "failing")


def _recording_app() -> tuple[Chalice, list[tuple[str, dict, object]]]:
    app = Chalice(app_name="dispatch-test")
    calls: list[tuple[str, dict, object]] = []

    def recorder(name: str):
        def handler(event, context):
            calls.append((name, event, context))
            return {"handled_by": name, "seen": event.get("value") if isinstance(event, dict) else None}

        handler.__name__ = name
        return handler

    for name in HANDLERS[:-1]:
        app.lambda_function(name=name)(recorder(name))

    @app.lambda_function(name="failing")
    def failing(event, context):
        raise ValueError("the task failed on purpose")

    return app, calls


@pytest.fixture
def dispatch(aws):
    app, calls = _recording_app()
    with lambda_dispatch(app):
        arns = provision_functions(aws, HANDLERS, create_execution_role(aws))
        yield aws, arns, calls


def _calls_to(calls, name):
    return [call for call in calls if call[0] == name]


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_direct_invoke_runs_the_handler_with_event_and_context(dispatch):
    session, arns, calls = dispatch
    response = session.client("lambda").invoke(FunctionName="direct", Payload=json.dumps({"value": 7}))

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"handled_by": "direct", "seen": 7}
    (_, event, context) = _calls_to(calls, "direct")[0]
    assert event == {"value": 7}
    assert context.function_name == "direct"
    assert context.invoked_function_arn == arns["direct"]
    assert context.aws_request_id
    assert 0 < context.get_remaining_time_in_millis() <= 60_000


def test_handler_exception_is_a_function_error(dispatch):
    session, _, _ = dispatch
    response = session.client("lambda").invoke(FunctionName="failing", Payload="{}")

    assert response["FunctionError"]
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the task failed on purpose"


def test_sqs_event_source_mapping_delivers_messages(dispatch):
    session, arns, calls = dispatch
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName="dispatch-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=arns["queue_consumer"])

    sqs.send_message(QueueUrl=url, MessageBody="hello from the queue")

    (_, event, _) = _wait_for(lambda: _calls_to(calls, "queue_consumer"))[0]
    (record,) = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue_arn
    assert record["body"] == "hello from the queue"


def test_dynamodb_stream_event_source_mapping_delivers_records(dispatch):
    session, arns, calls = dispatch
    dynamodb = session.client("dynamodb")
    table = dynamodb.create_table(
        TableName="dispatch-test",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    session.client("lambda").create_event_source_mapping(
        EventSourceArn=table["LatestStreamArn"], FunctionName=arns["stream_consumer"], StartingPosition="LATEST"
    )

    dynamodb.put_item(TableName="dispatch-test", Item={"pk": {"S": "item-1"}})

    (_, event, _) = _wait_for(lambda: _calls_to(calls, "stream_consumer"))[0]
    (record,) = event["Records"]
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "item-1"}}


def test_step_functions_lambda_tasks_run_the_handlers(dispatch):
    session, arns, calls = dispatch
    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Task", "Resource": arns["first_task"], "Next": "Second"},
            "Second": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arns["second_task"], "Payload": {"value.$": "$.seen"}},
                "OutputPath": "$.Payload",
                "End": True,
            },
        },
    }
    sfn = session.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="dispatch-test", definition=json.dumps(definition), roleArn=create_execution_role(session)
    )
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps({"value": 3}))

    result = _wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] != "RUNNING" and d
    )
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"handled_by": "second_task", "seen": 3}
    assert _calls_to(calls, "first_task")[0][1] == {"value": 3}


def test_step_functions_task_error_fails_the_execution_with_the_error_type(dispatch):
    session, arns, _ = dispatch
    definition = {"StartAt": "Fail", "States": {"Fail": {"Type": "Task", "Resource": arns["failing"], "End": True}}}
    sfn = session.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="dispatch-fail", definition=json.dumps(definition), roleArn=create_execution_role(session)
    )
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")

    result = _wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] != "RUNNING" and d
    )
    assert result["status"] == "FAILED"
    assert result["error"] == "ValueError"
