"""DSR-11 on moto through the operator routes (SigV4) and the Lambda operator actions: the reminder
items carry the TTL DynamoDB acts on, their TTL delete (the local sweeper) raises the metric and an
audit entry, an extension re-arms them and e-mails the reason, a refusal removes them and e-mails
the reason with the right to complain; bad input is a 4xx and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from infra.localcloud.lambda_hook import lambda_dispatch
from infra.provision import create_execution_role, provision_functions
from tests.conftest import PROFILES
from tests.support.auth import sign_up
from tests.support.mail import allow_sending, sent_emails


def _open_request(client, person, kind="objection") -> str:
    opened = client.http.post("/me/requests", body=json.dumps({"kind": kind}), headers=person.headers)
    assert opened.status_code == 202, opened.body
    return opened.json_body["id"]


def _timers(request_id: str) -> dict[int, int]:
    """percent -> the TTL attribute as DynamoDB reads it (epoch seconds)."""
    from chalicelib.store.models.rights import RequestReminder

    items = RequestReminder.query(f"REQUEST#{request_id}", RequestReminder.sk.startswith(RequestReminder.SK_PREFIX))
    return {int(item.percent): int(item.expires_at.timestamp()) for item in items}


def _expected(created: datetime, due: datetime, after: datetime | None = None) -> dict[int, int]:
    span = due - created
    marks = {p: created + span * p / 100 for p in (50, 90, 100)}
    return {p: int(at.timestamp()) for p, at in marks.items() if after is None or at > after}


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr11_extend_then_refuse_through_the_routes(client, operator, aws, profile_name):
    from chalicelib import wiring

    allow_sending(aws)
    person = sign_up(client)
    request_id = _open_request(client, person)
    request = wiring.rights().get_request(request_id)
    assert _timers(request_id) == _expected(request.created_at, request.due_at)

    until = request.due_at + timedelta(days=14)
    extended = operator.post(
        f"/operator/requests/{request_id}/extend", {"until": until.isoformat(), "reason": "many records to check"}
    )
    assert extended.status_code == 200, extended.body
    assert datetime.fromisoformat(extended.json_body["due_at"]) == until
    assert extended.json_body["original_due_at"] == request.due_at.isoformat()
    assert _timers(request_id) == _expected(request.created_at, until)
    (notice,) = [m for m in sent_emails() if "more time" in m["subject"]]
    assert notice["to"] == [person.email]
    assert "many records to check" in notice["body"]

    refused = operator.post(f"/operator/requests/{request_id}/refuse", {"reason": "manifestly unfounded"})
    assert refused.status_code == 200, refused.body
    assert refused.json_body["status"] == "rejected"
    assert _timers(request_id) == {}
    (refusal,) = [m for m in sent_emails() if "will not act" in m["body"]]
    complaint = wiring.profile().rights.complaint
    assert f"lodge a complaint with {complaint.authority} ({complaint.url})" in refusal["body"]
    mine = client.http.get("/me/requests", headers=person.headers).json_body["requests"]
    assert [(r["status"], r["refusal_reason"]) for r in mine] == [("rejected", "manifestly unfounded")]

    audit = operator.get(f"/operator/audit/{datetime.now():%Y-%m}").json_body["actions"]
    decided = {a["action"]: a["operator"] for a in audit if a["details"].get("request_id") == request_id}
    assert decided == {"request_extended": operator.operator.arn, "request_refused": operator.operator.arn}


BAD_INPUT = [
    ("extend", {"until": "2099-01-01T00:00:00Z", "reason": "beyond two further months"}),
    ("extend", {"until": "2027-01-01T00:00:00", "reason": "no time zone"}),
    ("extend", {"until": "soon", "reason": "r"}),
    ("extend", {"reason": "no date"}),
    ("extend", {"until": "2027-01-01T00:00:00Z", "reason": "   "}),
    ("extend", ["not", "an", "object"]),
    ("refuse", {}),
    ("refuse", {"reason": ""}),
    ("refuse", {"reason": "r", "extra": 1}),
    ("refuse", {"reason": "x" * 2001}),
]


def test_dsr11_bad_input_is_a_400_in_the_one_shape_and_changes_nothing(client, operator, aws):
    from chalicelib import wiring

    allow_sending(aws)
    person = sign_up(client)
    request_id = _open_request(client, person)
    before = wiring.rights().get_request(request_id)
    for action, body in BAD_INPUT:
        answer = operator.post(f"/operator/requests/{request_id}/{action}", body)
        assert answer.status_code == 400, (action, body, answer.body)
        assert set(answer.json_body) == {"error"}
    assert wiring.rights().get_request(request_id) == before
    assert len(_timers(request_id)) == 3
    assert [m for m in sent_emails() if "will not act" in m["body"] or "more time" in m["subject"]] == []


def test_dsr11_an_unknown_or_answered_request_is_404_or_409_and_rejected_needs_refuse(client, operator, aws):
    allow_sending(aws)
    person = sign_up(client)
    assert operator.post("/operator/requests/nope/refuse", {"reason": "r"}).status_code == 404
    request_id = _open_request(client, person)
    assert operator.post(f"/operator/requests/{request_id}", {"status": "rejected"}).status_code == 400
    assert operator.post(f"/operator/requests/{request_id}", {"status": "completed"}).status_code == 200
    assert _timers(request_id) == {}  # answering removed the reminders
    assert operator.post(f"/operator/requests/{request_id}/refuse", {"reason": "r"}).status_code == 409
    assert client.http.post(f"/operator/requests/{request_id}/refuse", body=b"{}").status_code == 404  # unsigned


@pytest.fixture
def sweep(aws):
    """DynamoDB's TTL as the local cloud's sweeper plays it, delivering to the app's stream consumers."""
    from app import app
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe
    from infra.localcloud.sweeper import sweep_once
    from infra.provision import provision_event_sources

    description = describe(get_settings(), wiring.profile())
    with lambda_dispatch(app):
        handlers = [f.name for f in app.pure_lambda_functions]
        provision_event_sources(aws, description, provision_functions(aws, handlers, create_execution_role(aws)))

        def run(now):
            report = sweep_once(aws, description, now)
            assert report.consumer_errors == []
            return report

        yield run


@pytest.fixture
def emitted():
    from chalicelib import metrics

    seen: list[dict] = []
    metrics.sinks.append(seen.append)
    yield seen
    metrics.sinks.remove(seen.append)


@pytest.mark.parametrize("profile_name", ["promptpixels", "kaleipix"])
def test_dsr11_expired_reminders_raise_the_metric_and_audit_entries_through_the_ttl_stream(
    client, aws, sweep, emitted, profile_name
):
    from chalicelib import wiring

    person = sign_up(client)
    request_id = _open_request(client, person)
    request = wiring.rights().get_request(request_id)
    span = request.due_at - request.created_at

    sweep(request.created_at + span * 0.5 + timedelta(seconds=1))
    assert [d["percent"] for d in emitted if "RequestDeadline" in d] == ["50"]
    sweep(request.due_at + timedelta(seconds=1))
    assert [d["percent"] for d in emitted if "RequestDeadline" in d] == ["50", "90", "100"]
    assert _timers(request_id) == {}
    assert wiring.rights().get_request(request_id).reminders_passed == (50, 90, 100)
    audit = wiring.rights().audit_log(f"{datetime.now():%Y-%m}")
    assert [(a.operator, a.action) for a in audit if a.details.get("request_id") == request_id] == [
        ("system", "request_deadline_50"),
        ("system", "request_deadline_90"),
        ("system", "request_deadline_100"),
    ]


def test_dsr11_an_answered_request_raises_nothing_when_its_time_passes(client, operator, aws, sweep, emitted):
    from chalicelib import wiring

    person = sign_up(client)
    request_id = _open_request(client, person)
    request = wiring.rights().get_request(request_id)
    assert operator.post(f"/operator/requests/{request_id}", {"status": "completed"}).status_code == 200
    sweep(request.due_at + timedelta(seconds=1))
    assert [d for d in emitted if "RequestDeadline" in d] == []


ACTIONS = ("operator_extend_request", "operator_refuse_request")


@pytest.fixture
def invoke(aws):
    from app import app

    with lambda_dispatch(app):
        provision_functions(aws, ACTIONS, create_execution_role(aws))
        lambda_ = aws.client("lambda")

        def call(name: str, event: object) -> dict:
            response = lambda_.invoke(FunctionName=name, Payload=json.dumps(event))
            assert "FunctionError" not in response, response["Payload"].read()
            return json.loads(response["Payload"].read())

        yield call


def test_dsr11_extend_and_refuse_run_as_lambda_operator_actions(client, aws, invoke):
    from chalicelib import wiring

    allow_sending(aws)
    person = sign_up(client)
    request_id = _open_request(client, person, kind="rectification")
    due = wiring.rights().get_request(request_id).due_at
    until = (due + timedelta(days=7)).isoformat()
    extended = invoke("operator_extend_request", {"request_id": request_id, "until": until, "reason": "backlog"})
    assert datetime.fromisoformat(extended["result"]["due_at"]) == due + timedelta(days=7)
    refused = invoke("operator_refuse_request", {"request_id": request_id, "reason": "already corrected"})
    assert refused["result"]["status"] == "rejected"
    assert invoke("operator_refuse_request", {"request_id": request_id})["error"]["code"] == "invalid_input"
    assert invoke("operator_refuse_request", {"request_id": "nope", "reason": "r"})["error"]["code"] == "not_found"
    audit = wiring.rights().audit_log(f"{datetime.now():%Y-%m}")
    assert [a.action for a in audit if a.operator.startswith("lambda:operator_")] == [
        "request_extended",
        "request_refused",
    ]
