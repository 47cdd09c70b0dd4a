"""The local cloud as a user meets it: API, health, policy page, outbox, emulators, sweeper and
a state machine from infra/asl, all over HTTP against one `python -m infra.localcloud` process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from infra.description import ASL_DIR
from tests.e2e.web import eventually, http_get

pytestmark = pytest.mark.e2e


def test_health_answers_json_with_the_active_profile(local_cloud):
    status, headers, body = http_get(f"{local_cloud.api}/health")

    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["profile"] == "kaleipix"
    assert health["policy_version"]


def test_policy_page_is_served_as_html_once_registered(local_cloud):
    from app import app

    if "/policy" not in app.routes:
        pytest.skip("the policy page route is not registered in this checkout")
    status, headers, body = http_get(f"{local_cloud.api}/policy")

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert body.strip()


def test_email_sent_through_ses_shows_in_the_outbox(local_cloud):
    local_cloud.client("ses").send_email(
        Source="no-reply@pixelkeep.local",
        Destination={"ToAddresses": ["reader@example.test"]},
        Message={"Subject": {"Data": "Outbox check"}, "Body": {"Text": {"Data": "hello outbox"}}},
    )

    sent = [m for m in local_cloud.outbox() if m["subject"] == "Outbox check"]
    assert [(m["to"], m["body"]) for m in sent] == [(["reader@example.test"], "hello outbox")]
    status, headers, page = http_get(f"{local_cloud.tools}/outbox")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"Outbox check" in page


def test_embedded_emulators_answer_when_present(local_cloud):
    urls = [url for url in (local_cloud.stripe, local_cloud.provider) if url]
    if not urls:
        pytest.skip("no emulator in this checkout")
    for url in urls:
        status, _, _ = http_get(f"{url}/")
        assert status < 500, url


def test_sweeper_deletes_an_expired_item_in_the_running_cloud(local_cloud):
    dynamodb = local_cloud.client("dynamodb")
    table = "pixelkeep-local-logs"
    key = {"pk": {"S": "E2E#sweeper"}, "sk": {"S": "expired"}}
    past = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    dynamodb.put_item(TableName=table, Item={**key, "expires_at": {"N": str(past)}})

    eventually(
        lambda: "Item" not in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True), "the sweeper's delete"
    )


@pytest.mark.skipif(not (ASL_DIR / "erasure.asl.json").exists(), reason="no erasure workflow in this checkout")
def test_erasure_state_machine_runs_in_the_local_cloud(local_cloud):
    """Started with the payload the app sends (e.g. when a grace tombstone expires), for a user
    with no data: every task runs as the real handler behind moto's Lambda."""
    sfn = local_cloud.client("stepfunctions")
    (machine,) = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("-erasure")]
    payload = {"user_id": "e2e-user-without-data", "erasure_id": "e2e-erasure", "request_id": None, "reason": "user"}

    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(payload))
    execution = eventually(
        lambda: (e := sfn.describe_execution(executionArn=started["executionArn"]))["status"] != "RUNNING" and e,
        "the execution to end",
    )

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
