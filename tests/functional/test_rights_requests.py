"""The requests ledger (DSR-7, DSR-8), consent (DSR-6), restriction and objection (DSR-5), contact
messages (DSR-10) and audited operator actions (OPS-6)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest

from tests.conftest import PROFILES
from tests.support.auth import sign_up
from tests.support.mail import allow_sending, sent_emails
from tests.support.paging import owned_items
from tests.support.rights import CapturingStarter, run_erasure, run_export

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def starter(monkeypatch):
    from chalicelib import wiring

    capturing = CapturingStarter()
    monkeypatch.setattr(wiring, "workflow", lambda kind: capturing)
    return capturing


def _mailed_code(email: str) -> str:
    mail = [m for m in sent_emails() if email in m["to"] and "confirm your privacy request" in m["subject"]][-1]
    return re.search(r"code (\d{6})", mail["body"]).group(1)


def _ask_by_email(client, email, kind="erasure"):
    response = client.http.post("/requests", body=json.dumps({"kind": kind, "email": email}), headers=JSON)
    assert response.status_code == 202, response.body
    return response.json_body["request_id"]


# -- DSR-7 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile_name", ["pixera", "pixelrender"])
def test_dsr7_request_without_sign_in_does_nothing_until_the_emailed_code_is_given(
    client, operator, aws, starter, profile_name
):
    from chalicelib import wiring

    person = sign_up(client)
    request_id = _ask_by_email(client, person.email, kind="erasure")
    request = wiring.rights().get_request(request_id)
    assert request.status == "unverified"
    assert operator.get("/operator/requests").json_body["requests"] == []  # not in the queue
    code = _mailed_code(person.email)
    wrong = client.http.post(
        f"/requests/{request_id}/verify",
        body=json.dumps({"code": "000000" if code != "000000" else "111111"}),
        headers=JSON,
    )
    assert wrong.status_code == 400
    assert starter.started == []
    assert wiring.accounts_store().get_user(person.user_id).status == "active"

    right = client.http.post(f"/requests/{request_id}/verify", body=json.dumps({"code": code}), headers=JSON)
    assert right.status_code == 200, right.body
    # Verified: the erasure runs on that account (no grace in these profiles), under the same request.
    ((name, payload),) = starter.started
    run = wiring.rights_service().context.rights.get_run(payload["erasure_id"])  # DSR-13: the run id alone
    assert (run.user_id, run.request_id) == (person.user_id, request_id)
    assert wiring.accounts_store().get_user(person.user_id).status == "disabled"


@pytest.mark.parametrize("profile_name", ["pixera", "kaleipix"])
def test_dsr7_verified_requests_that_need_a_person_wait_in_the_operator_queue(
    client, operator, aws, starter, profile_name
):
    person = sign_up(client)
    request_id = _ask_by_email(client, person.email, kind="rectification")
    code = _mailed_code(person.email)
    right = client.http.post(f"/requests/{request_id}/verify", body=json.dumps({"code": code}), headers=JSON)
    assert right.json_body["status"] == "open"
    queue = operator.get("/operator/requests").json_body["requests"]
    assert [r["id"] for r in queue] == [request_id]
    assert starter.started == []


def test_dsr7_verification_attempts_are_limited(client, aws):
    allow_sending()
    request_id = _ask_by_email(client, "someone@example.org")
    code = _mailed_code("someone@example.org")
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        client.http.post(f"/requests/{request_id}/verify", body=json.dumps({"code": wrong}), headers=JSON)
    final = client.http.post(f"/requests/{request_id}/verify", body=json.dumps({"code": code}), headers=JSON)
    assert final.status_code == 403


def test_dsr7_bad_input_is_a_clear_400(client, aws):
    response = client.http.post("/requests", body=json.dumps({"kind": "everything", "email": "x"}), headers=JSON)
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_input"


# -- DSR-8 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr8_due_date_from_the_profile_and_policy_version_pinned(client, aws, starter, profile_name):
    from chalicelib import clock, wiring

    profile = wiring.profile()
    person = sign_up(client)
    before = clock.now()
    made = client.http.post("/me/requests", body=json.dumps({"kind": "rectification"}), headers=person.headers)
    assert made.status_code == 202
    request = made.json_body
    due = clock.now().fromisoformat(request["due_at"])
    assert timedelta(0) <= due - before - timedelta(hours=profile.rights.response_hours) < timedelta(minutes=1)
    assert request["policy_version"] == profile.policy.version

    client.http.delete("/me", headers=person.headers)
    erasure = next(r for r in wiring.rights().user_requests(person.user_id) if r.kind == "erasure")
    assert erasure.due_at - erasure.created_at == timedelta(
        hours=max(profile.rights.response_hours, profile.rights.erasure_days * 24)
    )


def test_dsr8_operator_queue_is_sorted_by_due_date_and_every_step_is_audited(
    client, operator, aws, starter, monkeypatch
):
    from chalicelib import clock, wiring

    person = sign_up(client)
    real_now, original = clock.now(), clock.now
    monkeypatch.setattr(clock, "now", lambda: original() + timedelta(days=3))
    late = client.http.post("/me/requests", body=json.dumps({"kind": "objection"}), headers=person.headers)
    monkeypatch.setattr(clock, "now", original)
    early = client.http.post("/me/requests", body=json.dumps({"kind": "rectification"}), headers=person.headers)

    queue = operator.get("/operator/requests").json_body["requests"]
    assert [r["id"] for r in queue] == [early.json_body["id"], late.json_body["id"]]

    done = operator.post(f"/operator/requests/{early.json_body['id']}", {"status": "completed"})
    assert done.status_code == 200
    assert done.json_body["status"] == "completed"
    queue = operator.get("/operator/requests").json_body["requests"]
    assert [r["id"] for r in queue] == [late.json_body["id"]]
    trail = [e.what for e in wiring.rights().events(early.json_body["id"])]
    assert trail[0].startswith("received")
    assert trail[-1] == "completed"
    audit = operator.get(f"/operator/audit/{real_now:%Y-%m}").json_body["actions"]
    assert [a["action"] for a in audit].count("view_request_queue") == 2
    assert any(a["action"] == "request_completed" for a in audit)
    assert {a["operator"] for a in audit} == {operator.operator.arn}  # OPS-6: the IAM principal


def test_ops6_operator_routes_take_only_a_valid_sigv4_signature_of_an_operator(client, aws, operator):
    """As API Gateway's IAM authorization answers: unsigned, the route is not there (404); a wrong
    secret, another request's signature or a stale one is refused (403); so is an IAM user outside
    the operators' group. The static operator key is gone: it opens nothing."""
    from dataclasses import replace
    from datetime import UTC, datetime
    from unittest import mock

    from chalicelib.settings import get_settings
    from infra.description import operators_group
    from tests.support.operators import new_operator

    url = "http://localhost/operator/requests"
    assert operator.get("/operator/requests").status_code == 200
    assert client.http.get("/operator/requests").status_code == 404
    assert (
        client.http.get("/operator/requests", headers={"X-Operator-Key": "local-only-operator-key"}).status_code == 404
    )
    wrong_secret = replace(operator.operator, secret_key="x" * 40)
    signed_elsewhere = operator.operator.headers("GET", "http://localhost/operator/audit/2026-01")
    six_minutes_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=6)
    with mock.patch("botocore.auth.get_current_datetime", return_value=six_minutes_ago):
        stale = operator.operator.headers("GET", url)
    outsider = new_operator(aws.client("iam"), operators_group(get_settings()), "not-an-operator", in_group=False)
    for headers, code in (
        (wrong_secret.headers("GET", url), "unauthenticated"),
        (signed_elsewhere, "unauthenticated"),
        (stale, "unauthenticated"),
        (outsider.headers("GET", url), "forbidden"),
    ):
        response = client.http.get("/operator/requests", headers=headers)
        assert response.status_code == 403, response.body
        assert response.json_body["error"]["code"] == code


def test_dsr8_export_and_erasure_requests_complete_in_the_ledger(client, aws, starter):
    from chalicelib import wiring
    from chalicelib.store.models.rights import RightsRequest

    person = sign_up(client)
    client.http.post("/me/exports", headers=person.headers)
    run_export(wiring.rights_service().context, starter.started[-1][1])
    access = next(r for r in wiring.rights().user_requests(person.user_id) if r.kind == "access")
    assert access.status == "completed"
    stored = RightsRequest.get(*RightsRequest.key(access.request_id), consistent_read=True)
    assert stored.queue is None


# -- DSR-6 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile_name", ["kaleipix", "pictomancer"])
def test_dsr6_consent_grants_and_withdrawals_are_kept_with_the_policy_version(client, aws, profile_name):
    from chalicelib import wiring

    person = sign_up(client)
    for granted in (True, False, True, False):
        response = client.http.post(
            "/me/consents", body=json.dumps({"purpose": "marketing", "granted": granted}), headers=person.headers
        )
        assert response.status_code == 200
    body = client.http.get("/me/consents", headers=person.headers).json_body
    assert body["consents"] == {"marketing": False}
    assert [h["granted"] for h in body["history"]] == [True, False, True, False]
    assert {h["policy_version"] for h in body["history"]} == {wiring.profile().policy.version}


def test_dsr6_marketing_data_is_kept_until_withdrawal_then_deleted_pictomancer(client, aws, settings_env):
    from chalicelib import wiring
    from chalicelib.domain.rights import consent

    settings_env(PIXELKEEP_PROFILE="pictomancer")
    wiring.bound_models()
    person = sign_up(client)
    client.http.post("/me/consents", body=json.dumps({"purpose": "marketing", "granted": True}), headers=person.headers)
    contact = wiring.rights().marketing_contact(person.user_id)
    assert contact is not None
    assert contact.expires_at is None  # until consent is withdrawn: no timer
    consent.send_marketing(wiring.rights_service().context, person.user_id, "News", "Hello")
    client.http.post(
        "/me/consents", body=json.dumps({"purpose": "marketing", "granted": False}), headers=person.headers
    )
    assert wiring.rights().marketing_contact(person.user_id) is None
    with pytest.raises(Exception, match="consent"):
        consent.send_marketing(wiring.rights_service().context, person.user_id, "News", "Hello")


# -- DSR-5 ----------------------------------------------------------------------------------------
def test_dsr5_restriction_stops_generation_and_marketing(client, aws, starter):
    from chalicelib import wiring
    from chalicelib.domain.rights import consent
    from chalicelib.errors import Restricted

    person = sign_up(client)
    client.http.post("/me/consents", body=json.dumps({"purpose": "marketing", "granted": True}), headers=person.headers)
    restricted = client.http.put("/me/processing", body=json.dumps({"restricted": True}), headers=person.headers)
    assert restricted.json_body == {"restricted": True, "objections": []}

    generation = client.http.post(
        "/generations", body=json.dumps({"prompt": "a lighthouse", "model": "flux-schnell"}), headers=person.headers
    )
    assert generation.status_code == 403
    assert generation.json_body["error"]["code"] == "processing_restricted"
    with pytest.raises(Restricted):
        consent.send_marketing(wiring.rights_service().context, person.user_id, "News", "Hello")
    # Their own requests still work while restricted.
    assert client.http.post("/me/exports", headers=person.headers).status_code == 202
    export_id = starter.started[-1][1]["export_id"]
    assert wiring.rights_service().context.rights.find_export(export_id).user_id == person.user_id


def test_dsr5_objection_to_marketing_is_honoured_and_recorded(client, aws):
    from chalicelib import wiring
    from chalicelib.domain.rights import consent
    from chalicelib.errors import Restricted

    person = sign_up(client)
    client.http.post("/me/consents", body=json.dumps({"purpose": "marketing", "granted": True}), headers=person.headers)
    consent.send_marketing(wiring.rights_service().context, person.user_id, "News", "Hello")
    objected = client.http.put("/me/processing", body=json.dumps({"objections": ["marketing"]}), headers=person.headers)
    assert objected.json_body["objections"] == ["marketing"]
    with pytest.raises(Restricted):
        consent.send_marketing(wiring.rights_service().context, person.user_id, "News", "Hello")
    kinds = {r.kind: r.status for r in wiring.rights().user_requests(person.user_id)}
    assert kinds["objection"] == "completed"
    bad = client.http.put("/me/processing", body=json.dumps({"objections": ["breathing"]}), headers=person.headers)
    assert bad.status_code == 400


# -- DSR-10 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile_name", ["pixera", "promptpixels"])
def test_dsr10_contact_messages_are_stored_exported_and_erased(client, aws, starter, profile_name):
    from chalicelib import wiring
    from tests.support.scan import find

    person = sign_up(client)
    anonymous = client.http.post(
        "/contact", body=json.dumps({"email": person.email, "subject": "Lost", "body": "Where is it?"}), headers=JSON
    )
    assert anonymous.status_code == 201
    signed = client.http.post(
        "/contact", body=json.dumps({"subject": "Hi", "body": "A question"}), headers=person.headers
    )
    assert signed.status_code == 201
    owned = [o for o in owned_items(wiring.personal_data(), person.user_id) if o.kind == "message"]
    assert len(owned) == 2

    client.http.delete("/me", headers=person.headers)
    run_erasure(wiring.rights_service().context, starter.started[-1][1])
    from chalicelib.settings import get_settings
    from infra.description import describe

    assert find(aws, describe(get_settings(), wiring.profile()), ["Where is it?", "A question"]) == []


def test_dsr10_a_profile_without_contact_messages_refuses_to_store_them(client, aws):
    response = client.http.post(
        "/contact", body=json.dumps({"email": "a@example.org", "subject": "Hi", "body": "x"}), headers=JSON
    )
    assert response.status_code == 400
    assert "privacy@kaleipix.cloud" in response.json_body["error"]["message"]


@pytest.mark.parametrize("profile_name", ["pixera"])
def test_dsr10_a_retried_contact_form_with_one_idempotency_key_stores_one_message(client, aws, profile_name):
    """Powertools idempotency: the retry returns the first answer; the same key with another
    message is refused; another key is another message. The invocation's Lambda context is
    registered, so an in-progress record expires with the invocation's remaining time."""
    import warnings

    from chalicelib import wiring

    person = sign_up(client)
    keyed = {**person.headers, "Idempotency-Key": "form-1"}
    message = json.dumps({"subject": "Lost", "body": "Where is it?"})
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        first = client.http.post("/contact", body=message, headers=keyed)
    assert not [w for w in warned if "register_lambda_context" in str(w.message)]
    retry = client.http.post("/contact", body=message, headers=keyed)
    assert first.status_code == retry.status_code == 201
    assert retry.json_body == first.json_body

    changed = client.http.post("/contact", body=json.dumps({"subject": "Lost", "body": "Other"}), headers=keyed)
    assert changed.status_code == 409
    assert changed.json_body["error"]["code"] == "conflict"

    other = client.http.post("/contact", body=message, headers={**person.headers, "Idempotency-Key": "form-2"})
    assert other.status_code == 201
    assert other.json_body["id"] != first.json_body["id"]
    owned = [o for o in owned_items(wiring.personal_data(), person.user_id) if o.kind == "message"]
    assert len(owned) == 2


def test_dsr8_my_requests_lists_only_requests_not_their_audit_events(client, aws, starter):
    """Each request's audit events share its owner; the listing must not mistake them for requests."""
    person = sign_up(client)
    made = [
        client.http.post("/me/requests", body=json.dumps({"kind": kind}), headers=person.headers).json_body["id"]
        for kind in ("rectification", "objection")
    ]
    listed = client.http.get("/me/requests", headers=person.headers)
    assert listed.status_code == 200, listed.body
    assert sorted(r["id"] for r in listed.json_body["requests"]) == sorted(made)
    assert {r["kind"] for r in listed.json_body["requests"]} == {"rectification", "objection"}


def _use_code_key(session, value: str) -> None:
    from chalicelib.settings import get_settings
    from chalicelib.store import secrets
    from infra.provision import put_local_secrets

    put_local_secrets(session, get_settings().secret_prefix, {"login-code-key": value})
    secrets.clear_cache()


def test_dsr7_emailed_request_code_is_stored_as_a_keyed_hash(client, aws):
    """A 6-digit code under a plain SHA-256 is reversed offline in milliseconds; under the server's
    key (the one login codes use) a copy of the table alone reveals nothing."""
    from chalicelib import wiring
    from infra.local_secrets import LOCAL_SECRETS

    allow_sending()
    request_id = _ask_by_email(client, "keyed@example.org", kind="access")
    code = _mailed_code("keyed@example.org")
    stored = wiring.rights().get_request(request_id).verification_hash
    assert stored not in {hashlib.sha256(v.encode()).hexdigest() for v in (code, f"{request_id}:{code}")}
    assert code not in stored

    _use_code_key(aws, "another-server-key")  # the same code under another key no longer matches
    refused = client.http.post(f"/requests/{request_id}/verify", body=json.dumps({"code": code}), headers=JSON)
    assert refused.status_code == 400
    _use_code_key(aws, LOCAL_SECRETS["login-code-key"])
    verified = client.http.post(f"/requests/{request_id}/verify", body=json.dumps({"code": code}), headers=JSON)
    assert verified.status_code == 200, verified.body
    assert verified.json_body["status"] == "open"


# -- DSR-7 abuse limits (SEC-1) -------------------------------------------------------------------
def _confirmation_mails(email: str) -> int:
    return sum(1 for m in sent_emails() if email in m["to"] and "confirm your privacy request" in m["subject"])


def _refused_as_rate_limited(response) -> None:
    assert response.status_code == 429, response.body
    assert response.json_body["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1


def test_dsr7_requests_without_sign_in_are_limited_per_address(client, aws):
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS
    from chalicelib.store.models.abuse import RateCounter

    allow_sending()
    limit = ROUTE_LIMITS["rights_request_email"].requests
    assert limit < ROUTE_LIMITS["rights_request"].requests  # the address limit is the one reached here
    for _ in range(limit):
        _ask_by_email(client, "flooded@example.org")
    # Capitals make no new address.
    again = client.http.post(
        "/requests", body=json.dumps({"kind": "access", "email": "Flooded@Example.org"}), headers=JSON
    )
    _refused_as_rate_limited(again)
    assert _confirmation_mails("flooded@example.org") == limit
    _ask_by_email(client, "someone-else@example.org")  # another address still gets through
    keys = [c.pk for c in RateCounter.scan(RateCounter.pk.startswith("RATE#rights_request_email#"))]
    assert len(keys) == 2
    unkeyed = hashlib.sha256(b"flooded@example.org").hexdigest()
    assert not [k for k in keys if "flooded" in k or unkeyed in k]  # keyed hash only (DSR-13)


def test_dsr7_requests_without_sign_in_are_limited_per_client_address(client, aws):
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS

    allow_sending()
    limit = ROUTE_LIMITS["rights_request"].requests
    for n in range(limit):
        _ask_by_email(client, f"person-{n}@example.org")
    refused = client.http.post(
        "/requests", body=json.dumps({"kind": "access", "email": "last@example.org"}), headers=JSON
    )
    _refused_as_rate_limited(refused)
    assert _confirmation_mails("last@example.org") == 0


def test_dsr7_a_fresh_request_does_not_reset_the_guess_budget_of_an_address(client, aws):
    """Each request locks after a few wrong codes; the address's budget spans all its requests."""
    from chalicelib import wiring
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS
    from chalicelib.domain.rights.rights_requests import MAX_VERIFICATION_ATTEMPTS

    allow_sending()
    budget = ROUTE_LIMITS["rights_code_guess"].requests
    guesses = 0
    while guesses < budget:
        request_id = _ask_by_email(client, "target@example.org")
        wrong = "111111" if _mailed_code("target@example.org") != "111111" else "222222"
        for _ in range(min(MAX_VERIFICATION_ATTEMPTS, budget - guesses)):
            answer = client.http.post(f"/requests/{request_id}/verify", body=json.dumps({"code": wrong}), headers=JSON)
            assert answer.status_code == 400, answer.body
            guesses += 1
    request_id = _ask_by_email(client, "target@example.org")
    right = client.http.post(
        f"/requests/{request_id}/verify", body=json.dumps({"code": _mailed_code("target@example.org")}), headers=JSON
    )
    _refused_as_rate_limited(right)
    assert wiring.rights().get_request(request_id).status == "unverified"
