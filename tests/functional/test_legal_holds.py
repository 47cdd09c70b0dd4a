"""DSR-12 on moto, every profile: a legal hold placed and released through the operator routes
(SigV4), its workflow and the erasure workflow run as real Step Functions executions: the person's
expiries move aside and back, their objects are retagged, what they write meanwhile gets no running
clock, an erasure stops in its held state and resumes after the release, every step audited."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PROFILES
from tests.support.auth import sign_up
from tests.support.paging import owned_items, owned_objects
from tests.support.rights import use_every_feature
from tests.support.workflows import executions, state_machines, wait_for_executions


def _statuses(session, arn):
    client = session.client("stepfunctions")
    found = {}
    for execution in executions(session, arn):
        described = client.describe_execution(executionArn=execution["executionArn"])
        found[execution["name"]] = (described["status"], json.loads(described.get("output") or "{}"))
    return found


def _clock_tag(session, obj):
    from chalicelib.settings import get_settings

    tags = session.client("s3").get_object_tagging(Bucket=get_settings().bucket_name(obj.bucket), Key=obj.key)
    return {t["Key"]: t["Value"] for t in tags["TagSet"]}.get("pixelkeep-clock")


def _timed(store, user_id):
    """The person's items that carry an expiry, by key: (expires_at, held_expires_at)."""
    from chalicelib.store.base import record_class_of

    found = {}
    for item in owned_items(store, user_id):
        cls = record_class_of(item.table, *item.key)
        if cls is not None and cls.is_operational_timer(item.fields):
            continue  # a job's timeout keeps running under a hold
        fields = item.fields
        if fields.get("expires_at") is not None or fields.get("held_expires_at") is not None:
            found[item.key] = (fields.get("expires_at"), fields.get("held_expires_at"))
    return found


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr12_hold_erasure_paused_release_resumes_through_the_routes(client, operator, aws, monkeypatch):
    from chalicelib import clock, wiring

    with state_machines(aws, monkeypatch) as machines:
        person = sign_up(client)
        use_every_feature(client, aws, person)
        store = wiring.personal_data()
        before = _timed(store, person.user_id)
        assert before
        assert all(aside is None for _, aside in before.values())

        placed = operator.post(
            "/operator/holds", {"user": person.user_id, "reason": "litigation", "reference": "case 2026-17"}
        )
        assert placed.status_code == 201, placed.body
        hold = placed.json_body
        assert (hold["status"], hold["placed_by"]) == ("held", operator.operator.arn)
        wait_for_executions()
        ((name, (status, output)),) = _statuses(aws, machines["hold"]).items()
        assert (name, status) == (f"hold-{hold['id']}-hold", "SUCCEEDED")
        assert person.user_id not in json.dumps(output)  # the history holds ids and counts only
        held = _timed(store, person.user_id)
        assert {key: held[key] for key in before} == {key: (None, expires) for key, (expires, _) in before.items()}
        assert all(running is None for running, _ in held.values())  # the audit entries written since too
        objects = list(owned_objects(store, person.user_id))
        assert objects
        assert {_clock_tag(aws, obj) for obj in objects} == {"held"}

        # written while held: no running clock on the record, the upload's form carries `held`
        asked = client.http.post("/me/requests", headers=person.headers, body=json.dumps({"kind": "objection"}))
        assert asked.status_code == 202, asked.body
        request = wiring.rights_service().context.rights.get_request(asked.json_body["id"])
        (record,) = [
            i for i in owned_items(store, person.user_id) if i.key == (f"REQUEST#{request.request_id}", "META")
        ]
        assert record.fields.get("expires_at") is None
        assert record.fields["held_expires_at"] is not None
        upload = client.http.post("/uploads", headers=person.headers, body=json.dumps({"content_type": "image/png"}))
        assert upload.status_code == 201, upload.body
        assert "<Value>held</Value>" in upload.json_body["upload"]["fields"]["tagging"]

        taken = operator.post(f"/operator/users/{person.user_id}/minor", {"note": "reported"})
        assert taken.status_code == 202, taken.body
        wait_for_executions()
        ((status, output),) = _statuses(aws, machines["erasure"]).values()
        assert (status, output["held"]) == ("SUCCEEDED", {"status": "held"})
        assert wiring.accounts_store().get_user(person.user_id, consistent=True) is not None
        kept = {key for key in held if not key[0].startswith("SESSION#")}  # the takedown signs them out
        assert _timed(store, person.user_id).keys() >= kept  # the workflow deleted nothing of theirs
        erasure_request = next(r for r in wiring.rights().user_requests(person.user_id) if r.kind == "erasure")
        assert erasure_request.status == "held"

        released = operator.post(f"/operator/holds/{hold['id']}/release", {"note": "case closed"})
        assert released.status_code == 200, released.body
        assert released.json_body["status"] == "released"
        wait_for_executions()
        wait_for_executions()  # the erasure the release resumed started on an execution's thread
        statuses = _statuses(aws, machines["hold"])
        assert statuses[f"hold-{hold['id']}-release"][0] == "SUCCEEDED"
        assert statuses[f"hold-{hold['id']}-release"][1]["finished"]["erasures_resumed"] == 1
        erasures = _statuses(aws, machines["erasure"])
        resumed = [s for name, s in erasures.items() if name.endswith(f"-resumed-{hold['id']}")]
        assert [status for status, _ in resumed] == ["SUCCEEDED"]
        assert resumed[0][1]["residual"]["clean"] is True
        assert wiring.accounts_store().get_user(person.user_id, consistent=True) is None
        assert list(owned_objects(store, person.user_id)) == []
        kept = wiring.rights().get_hold(hold["id"])  # the proof of the hold stays, without its person (DSR-13)
        assert (kept.status, kept.user_id) == ("released", "")
        (listed,) = [h for h in operator.get("/operator/holds").json_body["holds"] if h["id"] == hold["id"]]
        assert listed["user_id"] is None

        month = f"{clock.now():%Y-%m}"
        audit = operator.get(f"/operator/audit/{month}").json_body["actions"]
        mine = [(a["operator"], a["action"]) for a in audit if "legal_hold" in a["action"]]
        assert (operator.operator.arn, "place_legal_hold") in mine
        assert (operator.operator.arn, "release_legal_hold") in mine
        assert ("system", "legal_hold_applied") in mine
        assert ("system", "legal_hold_lifted") in mine


def test_dsr12_release_restores_every_timer(client, operator, aws, monkeypatch):
    """Without an erasure: the release walks back, every expiry returns and objects run again."""
    from chalicelib import wiring

    with state_machines(aws, monkeypatch):
        person = sign_up(client)
        use_every_feature(client, aws, person)
        store = wiring.personal_data()
        before = _timed(store, person.user_id)
        hold = operator.post("/operator/holds", {"user": person.user_id, "reason": "r", "reference": "x"}).json_body
        wait_for_executions()
        assert operator.get("/operator/holds").json_body["holds"][0]["id"] == hold["id"]
        operator.post(f"/operator/holds/{hold['id']}/release")
        wait_for_executions()
        after = _timed(store, person.user_id)
        assert {key: after[key] for key in before} == before
        assert all(aside is None for _, aside in after.values())  # audit entries written meanwhile too
        assert {_clock_tag(aws, obj) for obj in owned_objects(store, person.user_id)} == {"running"}
        assert operator.post(f"/operator/holds/{hold['id']}/release").status_code == 409


def test_dsr12_bad_input_is_a_clear_400_and_nothing_is_written(client, operator, aws):
    from chalicelib import wiring

    person = sign_up(client)
    for body in (
        {},
        {"user": person.user_id},
        {"user": "../x", "reason": "r", "reference": "x"},
        {"user": person.user_id, "reason": "r", "reference": "x", "until": "tomorrow"},
    ):
        answer = operator.post("/operator/holds", body)
        assert answer.status_code == 400, body
        assert answer.json_body["error"]["code"] == "invalid_input"
    unknown = operator.post("/operator/holds", {"user": "nobody", "reason": "r", "reference": "x"})
    assert unknown.status_code == 404
    assert operator.post("/operator/holds/nope/release").status_code == 404
    assert wiring.rights().holds() == []
    assert client.http.post("/operator/holds", body="{}").status_code == 404  # unsigned: as API Gateway


def test_dsr12_a_hold_step_that_exhausts_its_retries_is_caught_audited_and_counted_then_a_rerun_finishes(
    client, operator, aws, monkeypatch, capsys
):
    """The Catch path of infra/asl/hold.asl.json: the execution FAILED with `LegalHoldFailed`, an
    audit entry by `system` and one `LegalHoldFailed` metric; running it again with the same input
    completes the walk (the steps are idempotent)."""
    from chalicelib import clock, wiring
    from chalicelib.domain.rights import holds
    from tests.support.workflows import emitted_metrics, retry_backoff_skipped

    with state_machines(aws, monkeypatch) as machines:
        retry_backoff_skipped(monkeypatch)
        person = sign_up(client)
        use_every_feature(client, aws, person)
        real_step = holds.retag_objects

        def failing(ctx, event):
            raise RuntimeError(f"tagging failed for {person.user_id}")

        monkeypatch.setattr(holds, "retag_objects", failing)
        capsys.readouterr()
        hold = operator.post("/operator/holds", {"user": person.user_id, "reason": "r", "reference": "x"}).json_body
        wait_for_executions()
        ((_, (status, _)),) = _statuses(aws, machines["hold"]).items()
        assert status == "FAILED"
        (execution,) = executions(aws, machines["hold"])
        described = aws.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
        assert described["error"] == "LegalHoldFailed"
        metrics = emitted_metrics(capsys.readouterr().out)
        assert [m for m in metrics if m[0] == "LegalHoldFailed"] == [("LegalHoldFailed", {"service": "pixelkeep"})]
        audit = wiring.rights().audit_log(f"{clock.now():%Y-%m}")
        (failed,) = [a for a in audit if a.action == "legal_hold_workflow_failed"]
        assert (failed.operator, failed.details["reason"]) == ("system", "RetagObjects:RuntimeError")
        assert person.user_id not in json.dumps(failed.details)

        monkeypatch.setattr(holds, "retag_objects", real_step)
        wiring.workflow("hold").start(f"hold-{hold['id']}-hold", {"hold_id": hold["id"], "action": "hold"})
        wait_for_executions()
        assert sorted(s for s, _ in _statuses(aws, machines["hold"]).values()) == ["FAILED", "SUCCEEDED"]
        store = wiring.personal_data()
        assert {_clock_tag(aws, obj) for obj in owned_objects(store, person.user_id)} == {"held"}


@pytest.fixture
def invoke(aws, client, monkeypatch):
    from app import app
    from chalicelib import wiring
    from infra.localcloud.lambda_hook import lambda_dispatch
    from infra.provision import create_execution_role, provision_functions
    from tests.support.rights import CapturingStarter

    starters: dict = {}
    monkeypatch.setattr(wiring, "workflow", lambda kind: starters.setdefault(kind, CapturingStarter()))
    with lambda_dispatch(app):
        provision_functions(aws, ("operator_place_hold", "operator_release_hold"), create_execution_role(aws))
        lambda_ = aws.client("lambda")

        def call(name: str, event) -> dict:
            response = lambda_.invoke(FunctionName=name, Payload=json.dumps(event))
            assert "FunctionError" not in response, response["Payload"].read()
            return json.loads(response["Payload"].read())

        call.starters = starters
        yield call


def test_dsr12_the_lambda_actions_place_and_release_audited_by_invocation(client, aws, invoke):
    import re

    from chalicelib import clock, wiring

    person = sign_up(client)
    event = {
        "user": person.user_id,
        "reason": "litigation",
        "reference": "case 2026-17",
        "until": "2027-06-30T00:00:00Z",
    }
    placed = invoke("operator_place_hold", event)["result"]
    assert (placed["status"], placed["until"]) == ("held", "2027-06-30T00:00:00+00:00")
    assert invoke.starters["hold"].started == [
        (f"hold-{placed['id']}-hold", {"hold_id": placed["id"], "action": "hold"})
    ]
    released = invoke("operator_release_hold", {"hold_id": placed["id"], "note": "case closed"})["result"]
    assert released["status"] == "released"
    again = invoke("operator_release_hold", {"hold_id": placed["id"]})
    assert again["error"]["code"] == "conflict"
    audit = [a for a in wiring.rights().audit_log(f"{clock.now():%Y-%m}") if "legal_hold" in a.action]
    assert [a.action for a in audit] == ["place_legal_hold", "release_legal_hold"]
    for entry in audit:
        assert re.fullmatch(r"lambda:operator_[a-z_]+/[0-9a-f\-]{36}", entry.operator), entry
    assert audit[1].details == {"hold_id": placed["id"], "note": "case closed"}


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("operator_place_hold", {"user": "u1", "reason": "r"}),
        ("operator_place_hold", {"user": "u1", "reason": "r", "reference": "x", "until": "soon"}),
        ("operator_place_hold", ["not", "an", "object"]),
        ("operator_release_hold", {}),
        ("operator_release_hold", {"hold_id": "x" * 100}),
    ],
)
def test_dsr12_a_bad_action_event_is_answered_in_the_one_error_shape(invoke, name, event):
    answer = invoke(name, event)
    assert answer["error"]["code"] == "invalid_input"
    assert set(answer) == {"error"}
