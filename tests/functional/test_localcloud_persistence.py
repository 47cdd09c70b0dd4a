"""The local cloud's state survives a restart (infra/localcloud/persistence.py), through the AWS APIs:
items (binary attributes too), objects with their age (the lifecycle sweeper's clock), secrets,
the outbox, and the workflow executions running at the stop, which start again (or, when their
state machine is gone, are named as failed). Restored uploads are not processed twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from infra.local_secrets import LOCAL_SECRETS
from infra.localcloud import persistence

WAITING = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}})


@pytest.fixture
def world(monkeypatch):
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe

    monkeypatch.setenv("PIXELKEEP_STAGE", "test")
    wiring.reset()
    settings = get_settings()
    yield settings, describe(settings, wiring.profile())
    wiring.reset()


def _fresh_cloud(settings, description):
    from infra.local_secrets import LOCAL_SECRETS
    from infra.provision import provision_storage, put_local_secrets, verify_sender

    session = boto3.Session(region_name=settings.region)
    provision_storage(session, description)
    put_local_secrets(session, settings.secret_prefix, LOCAL_SECRETS)
    verify_sender(session, settings.email_sender)
    return session


def _machine(session, name: str) -> str:
    iam = session.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return session.client("stepfunctions").create_state_machine(name=name, definition=WAITING, roleArn=role)[
        "stateMachineArn"
    ]


def test_tables_objects_secrets_outbox_and_running_executions_survive_a_restart(world, tmp_path):
    from infra.localcloud.outbox import sent_emails

    settings, description = world
    table = description.tables[0].name
    content = next(b for b in description.buckets if b.logical == "content").name
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    with mock_aws():
        session = _fresh_cloud(settings, description)
        dynamodb = session.client("dynamodb")
        key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        item = {**{name: {"S": f"{name}-1"} for name in key_names}, "blob": {"B": b"\x00\xffbytes"}, "n": {"N": "7"}}
        dynamodb.put_item(TableName=table, Item=item)
        s3 = session.client("s3")
        s3.put_object(
            Bucket=content,
            Key="uploads/u1/a.png",
            Body=b"\x89PNG...",
            ContentType="image/png",
            Tagging="pixelkeep-clock=held",
        )
        persistence._set_last_modified(content, "uploads/u1/a.png", two_days_ago)
        session.client("secretsmanager").put_secret_value(
            SecretId=settings.secret_name("ip-hash-key"), SecretString="changed"
        )
        session.client("ses").send_email(
            Source=settings.email_sender,
            Destination={"ToAddresses": ["someone@example.com"]},
            Message={"Subject": {"Data": "Your code"}, "Body": {"Text": {"Data": "12345678"}}},
        )
        sfn = session.client("stepfunctions")
        export = _machine(session, "export")
        gone = _machine(session, "retired")
        sfn.start_execution(stateMachineArn=export, name="export-run", input='{"export_id": "e1"}')
        sfn.start_execution(stateMachineArn=gone, name="retired-run", input="{}")
        saved = persistence.save(
            tmp_path / "state",
            session=session,
            description=description,
            secret_prefix=settings.secret_prefix,
            state_machine_arns={"export": export, "retired": gone},
            emails=sent_emails(settings.region),
            emulators={"stripe": {"objects": {"cs_1": {"id": "cs_1"}}}},
        )
    assert (saved.items, saved.objects, saved.emails) == (1, 1, 1)
    assert saved.secrets == len(LOCAL_SECRETS)
    assert sorted(saved.executions) == ["export-run", "retired-run"]

    with mock_aws():
        session = _fresh_cloud(settings, description)
        root, report = tmp_path / "state", persistence.Report()
        persistence.restore_storage(root, session=session, description=description, report=report)
        persistence.restore_secrets(root, session=session, report=report)
        persistence.restore_outbox(root, session=session, report=report)
        export = _machine(session, "export")
        failed = persistence.resume_executions(
            root, session=session, state_machine_arns={"export": export}, report=report
        )

        assert session.client("dynamodb").scan(TableName=table)["Items"] == [item]
        s3 = session.client("s3")
        (listed,) = s3.list_objects_v2(Bucket=content)["Contents"]
        assert abs(listed["LastModified"] - two_days_ago) < timedelta(seconds=1), "the object keeps its age"
        assert s3.get_object(Bucket=content, Key="uploads/u1/a.png")["Body"].read() == b"\x89PNG..."
        tags = s3.get_object_tagging(Bucket=content, Key="uploads/u1/a.png")["TagSet"]
        assert tags == [{"Key": "pixelkeep-clock", "Value": "held"}], "its clock tag too (DSR-12)"
        uploads_queue = next(q for q in description.queues if "upload" in q.logical).name
        sqs = session.client("sqs")
        url = sqs.get_queue_url(QueueName=uploads_queue)["QueueUrl"]
        assert "Messages" not in sqs.receive_message(QueueUrl=url), "a restored upload is not processed again"
        stored = session.client("secretsmanager").get_secret_value(SecretId=settings.secret_name("ip-hash-key"))
        assert stored["SecretString"] == "changed"
        assert [(m["to"], m["subject"], m["body"]) for m in sent_emails(settings.region)] == [
            (["someone@example.com"], "Your code", "12345678")
        ]
        (running,) = session.client("stepfunctions").list_executions(stateMachineArn=export)["executions"]
        assert running["name"] == "export-run"
        described = session.client("stepfunctions").describe_execution(executionArn=running["executionArn"])
        assert json.loads(described["input"]) == {"export_id": "e1"}
        assert failed == ["retired-run"], "an execution that cannot resume is named, not dropped"
    assert persistence.emulator_state(root) == {"stripe": {"objects": {"cs_1": {"id": "cs_1"}}}}


def test_a_save_replaces_the_previous_one_only_once_complete(world, tmp_path, monkeypatch):
    settings, description = world
    root = tmp_path / "state"
    root.mkdir()
    (root / "state.json").write_text('{"format": 1, "marker": "previous"}')
    with mock_aws():
        session = _fresh_cloud(settings, description)
        monkeypatch.setattr(persistence, "_save_objects", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
        with pytest.raises(OSError, match="disk full"):
            persistence.save(
                root,
                session=session,
                description=description,
                secret_prefix=settings.secret_prefix,
                state_machine_arns={},
                emails=[],
                emulators={},
            )
    assert json.loads((root / "state.json").read_text())["marker"] == "previous"


def test_pay2_the_lemon_squeezy_emulator_kept_across_a_restart_issues_no_order_id_twice():
    """PAY-2 across a local restart: Lemon Squeezy's ids are sequential numbers; an emulator that
    forgot them would send its next order under an id the app already granted for (and the app,
    rightly, would grant nothing)."""
    from infra.emulators.lemonsqueezy import create_app

    def buy(emulator) -> str:
        variant = next(iter(emulator.variants))
        body = {"data": {"type": "checkouts", "relationships": {"variant": {"data": {"id": variant}}}}}
        checkout = emulator.create_checkout(body)["data"]["id"]
        return emulator.pay(checkout)["order"]

    options = {"api_base_url": "https://app.test", "deliver": lambda body, headers: 200, "autoflush": False}
    before = create_app(**options).emulator
    first = buy(before)
    kept = json.loads(json.dumps(before.snapshot()))  # what the state file holds
    after = create_app(**options).emulator
    after.resume(kept)
    second = buy(after)
    assert second != first
    assert after.resource("orders", first)["data"]["id"] == first
