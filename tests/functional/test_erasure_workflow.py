"""The erasure and export state machines run for real in moto, each task dispatched to its handler."""

from __future__ import annotations

import json

import pytest

from tests.support.auth import sign_up
from tests.support.paging import owned_items
from tests.support.workflows import (
    emitted_metrics,
    execution_input,
    executions,
    retry_backoff_skipped,
    state_machines,
    wait_for_executions,
)


def _final(session, arn):
    (execution,) = executions(session, arn)
    described = session.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    return described["status"], json.loads(described.get("output") or "{}")


def test_dsr4_erasure_state_machine_succeeds_for_a_user_with_no_data(client, aws, monkeypatch):
    from chalicelib import wiring
    from chalicelib.domain.rights import erasure

    with state_machines(aws, monkeypatch) as machines:
        user_id = sign_up(client).user_id
        deps = wiring.rights_service().context
        erasure.start_erasure(deps, user_id=user_id, erasure_id="e1", request_id=None, reason="user")
        wait_for_executions()
        status, output = _final(aws, machines["erasure"])
        assert status == "SUCCEEDED"
        assert output["residual"]["clean"] is True
        assert wiring.accounts_store().get_user(user_id, consistent=True) is None
        assert len(_receipts(aws)) == 1


def test_dsr1_export_state_machine_succeeds_for_a_user_with_no_data(client, aws, monkeypatch):
    from chalicelib import wiring
    from chalicelib.domain.rights import export

    with state_machines(aws, monkeypatch) as machines:
        user_id = sign_up(client).user_id
        deps = wiring.rights_service().context
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
            wiring.rights_service().context, user_id=person.user_id, erasure_id="e2", request_id=None, reason="user"
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


def _receipts(session):
    from chalicelib.settings import get_settings

    items = session.client("dynamodb").scan(TableName=get_settings().table_name("requests"))["Items"]
    return [item for item in items if item["pk"]["S"].startswith("RECEIPT#")]


def _failing(person):
    def step(deps, event):
        raise RuntimeError(f"injected failure while handling {person.email}")  # a message quoting personal data

    return step


@pytest.mark.parametrize("profile_name", ["pixera"])
def test_dsr4_a_step_that_exhausts_its_retries_fails_the_run_and_the_request_then_a_rerun_completes(
    client, operator, aws, monkeypatch, capsys, profile_name
):
    """The Catch path: run and request marked failed with a reason code (no personal data), one
    `ErasureFailed` metric for the operators' alarm, execution FAILED; starting the same run again resumes."""
    from chalicelib import wiring
    from chalicelib.domain.rights import erasure
    from tests.support.rights import use_every_feature

    with state_machines(aws, monkeypatch) as machines:
        retry_backoff_skipped(monkeypatch)
        person = sign_up(client)
        use_every_feature(client, aws, person)
        real_step = erasure.delete_records
        monkeypatch.setattr(erasure, "delete_records", _failing(person))
        capsys.readouterr()
        deleted = client.http.delete("/me", headers=person.headers)  # no grace period: erasure starts now
        assert deleted.status_code == 202, deleted.body
        request_id = deleted.json_body["request_id"]
        wait_for_executions()

        (execution,) = executions(aws, machines["erasure"])
        described = aws.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
        assert (described["status"], described.get("error")) == ("FAILED", "ErasureFailed")
        deps = wiring.rights_service().context
        request = deps.rights.get_request(request_id)
        assert request.status == "failed"
        run = deps.rights.get_run(request.reference)
        assert (run.status, run.failure) == ("failed", "DeleteRecords:RuntimeError")
        assert json.loads(execution_input(aws, execution)) == {"erasure_id": run.erasure_id}  # DSR-13
        queue = operator.get("/operator/requests").json_body["requests"]
        assert [(r["id"], r["status"]) for r in queue] == [(request_id, "failed")]  # still owed an answer
        metrics = emitted_metrics(capsys.readouterr().out)
        assert [m for m in metrics if m[0] == "ErasureFailed"] == [("ErasureFailed", {"service": "pixelkeep"})]
        assert person.email not in str(metrics)

        monkeypatch.setattr(erasure, "delete_records", real_step)
        erasure.start_erasure(
            deps, user_id=person.user_id, erasure_id=run.erasure_id, request_id=request_id, reason="user"
        )
        wait_for_executions()
        assert sorted(e["status"] for e in executions(aws, machines["erasure"])) == ["FAILED", "SUCCEEDED"]
        completed = deps.rights.get_request(request_id)
        assert completed.status == "completed"
        assert deps.rights.get_receipt(completed.reference) is not None  # the receipt's own id
        assert completed.reference != run.erasure_id  # DSR-13: it names no execution
        assert deps.rights.get_run(run.erasure_id) is None  # the address it held is gone
        assert wiring.accounts_store().get_user(person.user_id, consistent=True) is None


def test_dsr1_an_export_that_keeps_failing_shows_failed_and_fails_its_request_then_a_rerun_completes(
    client, aws, monkeypatch, capsys
):
    from chalicelib import wiring
    from chalicelib.domain.rights import export

    with state_machines(aws, monkeypatch) as machines:
        retry_backoff_skipped(monkeypatch)
        person = sign_up(client)
        real_step = export.archive
        monkeypatch.setattr(export, "archive", _failing(person))
        capsys.readouterr()
        started = client.http.post("/me/exports", headers=person.headers)
        assert started.status_code == 202, started.body
        export_id = started.json_body["id"]
        wait_for_executions()

        status, _ = _final(aws, machines["export"])
        assert status == "FAILED"
        assert client.http.get(f"/me/exports/{export_id}", headers=person.headers).json_body["status"] == "failed"
        (access,) = client.http.get("/me/requests", headers=person.headers).json_body["requests"]
        assert (access["kind"], access["status"]) == ("access", "failed")
        metrics = emitted_metrics(capsys.readouterr().out)
        assert [m for m in metrics if m[0] == "ExportFailed"] == [("ExportFailed", {"service": "pixelkeep"})]

        monkeypatch.setattr(export, "archive", real_step)
        wiring.rights_service().context.export_workflow.start(
            export.execution_name(export_id), {"export_id": export_id}
        )
        wait_for_executions()
        assert sorted(e["status"] for e in executions(aws, machines["export"])) == ["FAILED", "SUCCEEDED"]
        assert client.http.get(f"/me/exports/{export_id}", headers=person.headers).json_body["status"] == "ready"
        (access,) = client.http.get("/me/requests", headers=person.headers).json_body["requests"]
        assert access["status"] == "completed"


@pytest.mark.parametrize("profile_name", ["pixera"])
def test_dsr13_step_functions_histories_hold_no_personal_identifier(client, aws, monkeypatch, profile_name):
    """DSR-13: a real export and a real erasure of a rich user run in moto; every execution's input,
    output and every history event (AWS keeps them 90 days) hold none of the person's identifiers:
    user id, address, keyed hashes, username, Telegram id, share ids, object keys, provider request ids."""
    from tests.support.mail import sent_emails
    from tests.support.rights import person_identifiers, use_every_feature
    from tests.support.scan import matches

    with state_machines(aws, monkeypatch) as machines:
        person = sign_up(client)
        identifiers = person_identifiers(person, use_every_feature(client, aws, person))
        assert client.http.post("/me/exports", headers=person.headers).status_code == 202
        wait_for_executions()
        assert client.http.delete("/me", headers=person.headers).status_code == 202  # pixera: no grace
        wait_for_executions()

        sfn = aws.client("stepfunctions")
        recorded = []
        for name in ("export", "erasure"):
            (execution,) = executions(aws, machines[name])
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            assert described["status"] == "SUCCEEDED", name
            events = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            assert any(e["type"] == "LambdaFunctionSucceeded" for e in events)
            recorded.append(json.dumps([execution, described, events], default=str))
        assert matches("\n".join(recorded), identifiers) == []
        final = [m for m in sent_emails() if "has been erased" in m["subject"]][-1]
        for execution in (executions(aws, machines[name])[0] for name in ("export", "erasure")):
            assert execution["name"] not in final["body"]  # the final email names no execution


def _entered(events):
    """How many times each state was entered, from an execution's history."""
    names = [e.get("stateEnteredEventDetails", {}).get("name") for e in events]
    return {name: names.count(name) for name in set(names) if name}


def test_p3_dsr4_dsr13_a_multi_page_erasure_runs_page_after_page_in_a_real_execution(client, aws, monkeypatch):
    """P3: with a page of 3 items, every paged task of a real execution runs again and again through
    its Choice state, each invocation reading at most 3; the person is gone and the history holds
    page numbers and counts, no identifier (DSR-13)."""
    from chalicelib import wiring
    from chalicelib.domain.rights import erasure
    from tests.support.rights import person_identifiers, use_every_feature
    from tests.support.scan import matches

    monkeypatch.setenv("PIXELKEEP_PAGE_ITEMS", "3")
    wiring.reset()
    with state_machines(aws, monkeypatch) as machines:
        person = sign_up(client)
        identifiers = person_identifiers(person, use_every_feature(client, aws, person))
        context = wiring.rights_service().context
        assert context.page_size == 3
        owned = sum(1 for _ in owned_items(context.personal, person.user_id))
        erasure.start_erasure(context, user_id=person.user_id, erasure_id="e-pages", request_id=None, reason="user")
        wait_for_executions()
        status, output = _final(aws, machines["erasure"])
        assert status == "SUCCEEDED"
        assert output["residual"]["clean"] is True
        (execution,) = executions(aws, machines["erasure"])
        events = aws.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])["events"]
        entered = _entered(events)
        for state in ("Plan", "Processors", "DeleteRecords"):  # Pseudonymize walks only what the delete kept
            assert entered[state] >= owned // 3, (state, entered)
        assert entered["ResidualScan"] > 1
        assert output["records"]["deleted"] > 3
        assert wiring.accounts_store().get_user(person.user_id, consistent=True) is None
        assert matches(json.dumps([output, events], default=str), identifiers) == []


def test_p3_dsr1_dsr13_a_multi_page_export_is_one_valid_archive_from_a_real_execution(client, aws, monkeypatch):
    """P3: with a page of 3, a real export writes its entries page after page into one multipart
    upload and its central directory page after page; the archive is one valid zip holding every
    record and file, nothing is left beside it, and the history holds no identifier (DSR-13)."""
    import io
    import zipfile

    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from tests.support.rights import person_identifiers, use_every_feature
    from tests.support.scan import matches

    monkeypatch.setenv("PIXELKEEP_PAGE_ITEMS", "3")
    wiring.reset()
    with state_machines(aws, monkeypatch) as machines:
        person = sign_up(client)
        identifiers = person_identifiers(person, use_every_feature(client, aws, person))
        context = wiring.rights_service().context
        answer = client.http.post("/me/exports", headers=person.headers)
        assert answer.status_code == 202
        owned = len(owned_items(context.personal, person.user_id))
        wait_for_executions()
        status, output = _final(aws, machines["export"])
        assert status == "SUCCEEDED"
        (execution,) = executions(aws, machines["export"])
        events = aws.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])["events"]
        entered = _entered(events)
        assert entered["Archive"] >= owned // 3
        assert entered["Seal"] == entered["Archive"]
        assert matches(json.dumps([output, events], default=str), identifiers) == []
        export_id = answer.json_body["id"]
        key = context.personal.archive_key(person.user_id, export_id)
        s3, bucket = aws.client("s3"), get_settings().bucket_name("exports")
        archive = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        assert archive.testzip() is None
        records = [json.loads(archive.read(n)) for n in archive.namelist() if n.startswith("records/")]
        assert sum(len(part) for part in records) == owned
        assert any(n.startswith("files/uploads/") for n in archive.namelist())
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key.rsplit("/", 1)[0])["Contents"]
        assert [o["Key"] for o in listed] == [key]  # no carry or directory piece left beside it
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
