"""Erasure (DSR-4, DSR-9, PAY-3, ACC-7): grace tombstone, cancel, the TTL start, every step idempotent
and retried, and nothing tied to the person left anywhere afterwards."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from tests.conftest import PROFILES
from tests.support.auth import sign_up
from tests.support.mail import sent_emails
from tests.support.rights import (
    ERASURE_STEPS,
    CapturingStarter,
    erasure_step,
    person_identifiers,
    run_erasure,
    run_export,
    use_every_feature,
)
from tests.support.scan import find


@pytest.fixture
def starter(monkeypatch):
    from chalicelib import wiring

    capturing = CapturingStarter()
    monkeypatch.setattr(wiring, "workflow", lambda kind: capturing)
    return capturing


def _deps():
    from chalicelib import wiring

    return wiring.rights_service().context


def _description():
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe

    return describe(get_settings(), wiring.profile())


def _expire_tombstone(session, user_id):
    """What DynamoDB does when the tombstone's TTL passes: delete it and emit a TTL stream record."""
    from chalicelib import clock
    from chalicelib.events.streams import dispatch
    from chalicelib.settings import get_settings
    from infra.localcloud.sweeper import ttl_stream_record

    description = _description()
    table = description.table("accounts")
    key = {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "TOMBSTONE"}}
    old = session.client("dynamodb").delete_item(TableName=table.name, Key=key, ReturnValues="ALL_OLD")["Attributes"]
    record = ttl_stream_record(
        table, old, stream_arn="arn:test", region=get_settings().region, now=clock.now(), sequence=1
    )
    return dispatch("accounts", {"Records": [record]})


def _erase_via_http(client, session, person, starter):
    deleted = client.http.delete("/me", headers=person.headers)
    assert deleted.status_code == 202, deleted.body
    if not starter.started or starter.started[-1][0].startswith("export-"):
        assert _expire_tombstone(session, person.user_id) == {"handled": 1}
    name, payload = starter.started[-1]
    assert name == f"erasure-{payload['erasure_id']}"
    assert payload == {"erasure_id": payload["erasure_id"]}  # DSR-13: the opaque run id alone
    return run_erasure(_deps(), payload)


def _rich_user(client, aws):
    person = sign_up(client)
    return person, person_identifiers(person, use_every_feature(client, aws, person))


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr4_dsr13_a_rich_user_erased_leaves_no_identifier_in_any_table_or_object(client, aws, starter, profile_name):
    """DSR-4 / DSR-13 / PAY-3: a person who used every feature the profile has is erased; a scan of every
    table and object then finds none of their identifiers (ids, address in any capitals, keyed hashes,
    username, Telegram id, share ids, object keys, provider request ids); what law keeps is detached.
    Mutation check: leave one record class out of the plan and this fails (README, Erasure)."""
    from chalicelib import wiring

    person, identifiers = _rich_user(client, aws)
    other, others = _rich_user(client, aws)
    assert client.http.post("/me/exports", headers=person.headers).status_code == 202
    run_export(_deps(), starter.started[-1][1])
    before = {needle for _, needle in find(aws, _description(), identifiers)}
    assert len(before) == len(identifiers) - 1  # the scan sees every identifier before (all but the unkeyed hash)

    state = _erase_via_http(client, aws, person, starter)

    assert state["residual"] == {"clean": True, "remaining": 0, "page": 1, "more": False}
    assert find(aws, _description(), identifiers) == []
    # PAY-3: the payment/credit records stay, under a pseudonym.
    assert state["pseudonymized"]["detached"] >= 1
    assert wiring.ledger().balance(person.user_id) == 0
    # The other person is untouched.
    assert len({needle for _, needle in find(aws, _description(), others)}) == len(others) - 1
    assert wiring.accounts_store().get_user(other.user_id) is not None


def test_pay3_ledger_records_are_kept_detached(client, aws, starter):
    """PAY-3: credit and payment records survive erasure, pointing at a pseudonym, not the person."""
    from chalicelib.settings import get_settings

    person = sign_up(client)
    use_every_feature(client, aws, person)
    _erase_via_http(client, aws, person, starter)

    items = aws.client("dynamodb").scan(TableName=get_settings().table_name("ledger"))["Items"]
    assert items, "the ledger must keep its records"
    text = json.dumps(items)
    assert person.user_id not in text
    assert "erased-" in text


def test_dsr9_delete_me_disables_now_and_tombstone_ttl_is_the_grace_period(client, aws, starter):
    """DSR-9 (Kaleipix): account lifetime + 30 days; the account is disabled at once."""
    from chalicelib import clock, wiring

    person = sign_up(client)
    before = clock.now()
    deleted = client.http.delete("/me", headers=person.headers)
    assert deleted.status_code == 202
    tombstone = wiring.rights().get_tombstone(person.user_id)
    assert tombstone is not None
    # TTL attributes hold whole seconds.
    assert timedelta(days=30, seconds=-1) <= tombstone.expires_at - before <= timedelta(days=30, minutes=1)
    assert wiring.accounts_store().get_user(person.user_id, consistent=True).status == "disabled"
    assert starter.started == []  # nothing erased during the grace
    assert client.http.get("/me", headers=person.headers).status_code in (401, 403)


def test_dsr9_grace_override_shortens_the_grace(client, aws, starter, settings_env, monkeypatch):
    from chalicelib import clock, wiring

    settings_env(PIXELKEEP_GRACE_DAYS_OVERRIDE="1")
    monkeypatch.setattr(wiring, "workflow", lambda kind: starter)
    person = sign_up(client)
    client.http.delete("/me", headers=person.headers)
    tombstone = wiring.rights().get_tombstone(person.user_id)
    assert tombstone.expires_at - clock.now() <= timedelta(days=1)


def test_dsr9_cancel_inside_the_grace_restores_the_account(client, aws, starter):
    from chalicelib import wiring

    person = sign_up(client)
    client.http.delete("/me", headers=person.headers)
    mail = [m for m in sent_emails() if person.email in m["to"] and "will be erased" in m["subject"]][-1]
    token = next(line for line in mail["body"].splitlines() if line.startswith(person.user_id + "."))

    wrong = client.http.post("/me/erasure/cancel", body=json.dumps({"token": person.user_id + ".nope-nope-nope"}))
    assert wrong.status_code == 400
    cancelled = client.http.post("/me/erasure/cancel", body=json.dumps({"token": token}))
    assert cancelled.status_code == 200, cancelled.body
    assert wiring.accounts_store().get_user(person.user_id, consistent=True).status == "active"
    assert wiring.rights().get_tombstone(person.user_id) is None
    assert client.http.post("/me/erasure/cancel", body=json.dumps({"token": token})).status_code == 400


def test_dsr9_cancel_leaves_the_sessions_revoked_by_the_erasure_request(client, aws, starter):
    """DSR-9 / DSR-4: asking for erasure signs the person out everywhere; cancelling restores the
    account, not the sessions: they sign in again."""
    from tests.support.auth import sign_in_again

    person = sign_up(client)
    elsewhere = sign_in_again(client, person)
    assert client.http.delete("/me", headers=person.headers).status_code == 202
    mail = [m for m in sent_emails() if person.email in m["to"] and "will be erased" in m["subject"]][-1]
    token = next(line for line in mail["body"].splitlines() if line.startswith(person.user_id + "."))
    assert client.http.post("/me/erasure/cancel", body=json.dumps({"token": token})).status_code == 200
    for signed in (person, elsewhere):
        assert client.http.get("/me", headers=signed.headers).status_code == 401
    assert client.http.get("/me", headers=sign_in_again(client, person).headers).status_code == 200


def test_dsr9_cancel_after_the_ttl_fired_is_refused(client, aws, starter):
    person = sign_up(client)
    client.http.delete("/me", headers=person.headers)
    mail = [m for m in sent_emails() if person.email in m["to"] and "will be erased" in m["subject"]][-1]
    token = next(line for line in mail["body"].splitlines() if line.startswith(person.user_id + "."))
    _expire_tombstone(aws, person.user_id)
    assert client.http.post("/me/erasure/cancel", body=json.dumps({"token": token})).status_code == 400
    assert len(starter.started) == 1


@pytest.mark.parametrize("profile_name", ["pixera", "promptpixels", "pixelrender", "pictomancer"])
def test_dsr4_grace_zero_profiles_erase_immediately(client, aws, starter, profile_name):
    person = sign_up(client)
    assert client.http.delete("/me", headers=person.headers).json_body["status"] == "erasing"
    ((name, payload),) = starter.started
    assert _deps().rights.get_run(payload["erasure_id"]).user_id == person.user_id
    run_erasure(_deps(), payload)
    assert find(aws, _description(), [person.user_id, person.email]) == []


@pytest.mark.parametrize("failing_step", [step for step, _ in ERASURE_STEPS])
def test_dsr4_a_failure_at_each_step_is_retried_to_completion_and_a_rerun_is_a_no_op(
    client, aws, starter, monkeypatch, failing_step
):
    """Fault injection: each step fails once mid-way; running it again (the state machine's Retry)
    completes the erasure; running the whole workflow again changes nothing."""

    person = sign_up(client)
    use_every_feature(client, aws, person)
    client.http.delete("/me", headers=person.headers)
    _expire_tombstone(aws, person.user_id)
    payload = starter.started[-1][1]

    deps = _deps()
    broken = _fail_once(deps)
    with pytest.raises(RuntimeError):
        _run_until_failure(deps, broken, payload, failing_step)
    state = run_erasure(deps, payload)  # the retry: every step again, from where the state machine stands
    assert state["residual"]["clean"] is True
    assert find(aws, _description(), [person.user_id, person.email]) == []
    receipt = _receipts(aws)
    emails = len(sent_emails())
    snapshot = _everything(aws)

    again = run_erasure(deps, payload)
    assert again["objects"] == {"deleted": 0, "more": False}
    assert again["records"] == {"deleted": 0, "more": False}
    assert _receipts(aws) == receipt
    assert len(sent_emails()) == emails
    assert _everything(aws) == snapshot


class _Broken(Exception):
    pass


def _fail_once(deps):
    """Wrap the stores so the next write or delete they make raises once (a crash mid-step)."""
    armed = {"on": False}

    class FlakyPersonal:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            target = getattr(self._inner, name)
            touches = ("delete_objects", "delete_items", "put_items", "owned_page", "objects_page", "subject_page")
            if name in touches and armed["on"]:
                armed["on"] = False
                raise RuntimeError(f"injected failure in {name}")
            return target

    class FlakyRights(FlakyPersonal):
        def __getattr__(self, name):
            target = getattr(self._inner, name)
            if name in ("create_run", "update_run", "put_receipt", "delete_run") and armed["on"]:
                armed["on"] = False
                raise RuntimeError(f"injected failure in {name}")
            return target

    class FlakyEmail(FlakyPersonal):
        def __getattr__(self, name):
            target = getattr(self._inner, name)
            if name == "send" and armed["on"]:
                armed["on"] = False
                raise RuntimeError("injected failure in send")
            return target

    broken = dataclasses.replace(
        deps, personal=FlakyPersonal(deps.personal), rights=FlakyRights(deps.rights), email=FlakyEmail(deps.email)
    )
    return broken, armed


def _run_until_failure(deps, broken, payload, failing_step):
    flaky, armed = broken
    state = dict(payload)
    for step, path in ERASURE_STEPS:
        if step == failing_step:
            armed["on"] = True
            state[path] = erasure_step(step)(flaky, state)
            raise AssertionError(f"{step} did not reach an injected failure")
        state[path] = erasure_step(step)(deps, state)


def _receipts(session):
    from chalicelib.settings import get_settings

    items = session.client("dynamodb").scan(TableName=get_settings().table_name("requests"))["Items"]
    return [item for item in items if item["pk"]["S"].startswith("RECEIPT#")]


def _everything(session):
    description = _description()
    client = session.client("dynamodb")
    items = sorted(
        json.dumps(item, sort_keys=True)
        for t in description.all_tables()
        for item in client.scan(TableName=t.name)["Items"]
    )
    s3 = session.client("s3")
    keys = sorted(o["Key"] for b in description.buckets for o in s3.list_objects_v2(Bucket=b.name).get("Contents", []))
    return items, keys


@pytest.mark.parametrize("profile_name", ["kaleipix", "pixera"])
def test_acc7_operator_minor_takedown_erases_without_grace_and_is_audited(client, operator, aws, starter, profile_name):
    from chalicelib import clock

    person = sign_up(client)
    if profile_name == "kaleipix":  # even one already counting down a grace period
        client.http.delete("/me", headers=person.headers)
    response = operator.post(f"/operator/users/{person.user_id}/minor", {"note": "reported by a parent"})
    assert response.status_code == 202, response.body
    ((name, payload),) = starter.started
    assert _deps().rights.get_run(payload["erasure_id"]).reason == "minor"
    run_erasure(_deps(), payload)
    assert find(aws, _description(), [person.user_id, person.email]) == []
    audit = operator.get(f"/operator/audit/{clock.now():%Y-%m}").json_body["actions"]
    assert any(a["action"] == "minor_takedown" and a["operator"] == operator.operator.arn for a in audit)
    assert all(a["target"] != person.user_id for a in audit)  # detached by the erasure


def test_acc7_minor_takedown_needs_an_operator(client, aws, starter):
    person = sign_up(client)
    # Unsigned, API Gateway's IAM authorization knows no such route; a session is not a signature.
    for headers, status in (({}, 404), ({"X-Operator-Key": "local-only-operator-key"}, 404), (person.headers, 403)):
        response = client.http.post(f"/operator/users/{person.user_id}/minor", headers=headers)
        assert response.status_code == status
    assert starter.started == []
