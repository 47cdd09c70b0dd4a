"""OPS-2 on moto, through the routes, for every profile: once a significant version is in force the
person who signed up before it sees its notice, answers the consent it asks and acknowledges it; the
operator's announcement e-mails everyone owed it by a real Step Functions execution, once each, also
when SES fails mid-page; and a request stays pinned to the version in force when it was made."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PROFILES
from tests.support.auth import sign_up
from tests.support.mail import allow_sending, sent_emails
from tests.support.policy_versions import V2, consent_category, put_in_force, with_new_consent_purpose
from tests.support.workflows import (
    emitted_metrics,
    executions,
    retry_backoff_skipped,
    state_machines,
    wait_for_executions,
)


def _post(client, path, body, headers):
    return client.http.post(path, body=json.dumps(body), headers=headers)


@pytest.mark.parametrize("profile_name", PROFILES)
def test_ops2_a_person_sees_acknowledges_and_answers_the_new_consent(client, aws, monkeypatch, tmp_path, profile_name):
    from chalicelib.profile.loader import load_profile

    purpose = consent_category(load_profile(profile_name)).value
    person = sign_up(client)
    assert client.http.get("/me/notices", headers=person.headers).json_body == {"notices": []}

    put_in_force(monkeypatch, with_new_consent_purpose(tmp_path, profile_name))
    listed = client.http.get("/me/notices", headers=person.headers)
    assert listed.status_code == 200, listed.body
    (notice,) = listed.json_body["notices"]
    assert (notice["version"], notice["decisions"]) == (V2, [purpose])
    assert notice["policy_url"].endswith("/policy")

    unanswered = _post(client, f"/me/notices/{V2}/ack", {}, person.headers)
    assert unanswered.status_code == 400
    assert unanswered.json_body["error"]["code"] == "invalid_input"
    assert _post(client, f"/me/notices/{V2}/ack", {"decisions": {purpose: "yes"}}, person.headers).status_code == 400
    assert _post(client, "/me/notices/1999-01-01/ack", {"decisions": {}}, person.headers).status_code == 404
    assert client.http.post(f"/me/notices/{V2}/ack", body="{", headers=person.headers).status_code == 400

    acknowledged = _post(client, f"/me/notices/{V2}/ack", {"decisions": {purpose: True}}, person.headers)
    assert acknowledged.status_code == 200, acknowledged.body
    assert acknowledged.json_body["consents"][purpose] is True
    consents = client.http.get("/me/consents", headers=person.headers).json_body
    assert consents["history"][-1] == {**consents["history"][-1], "purpose": purpose, "policy_version": V2}
    assert client.http.get("/me/notices", headers=person.headers).json_body == {"notices": []}
    again = _post(client, f"/me/notices/{V2}/ack", {"decisions": {purpose: True}}, person.headers)
    assert again.status_code == 409
    assert client.http.get("/me/notices").status_code == 401


@pytest.mark.parametrize("profile_name", ["kaleipix", "pictomancer"])
def test_ops2_a_request_stays_pinned_to_the_version_in_force_when_it_was_made(
    client, aws, monkeypatch, tmp_path, profile_name
):
    from chalicelib import wiring

    shipped = wiring.profile().policy.version
    person = sign_up(client)
    made = _post(client, "/me/requests", {"kind": "rectification"}, person.headers)
    assert made.status_code == 202, made.body
    put_in_force(monkeypatch, with_new_consent_purpose(tmp_path, profile_name))
    later = _post(client, "/me/requests", {"kind": "objection"}, person.headers)
    listed = client.http.get("/me/requests", headers=person.headers).json_body["requests"]
    versions = {r["id"]: r["policy_version"] for r in listed}
    assert versions[made.json_body["id"]] == shipped
    assert versions[later.json_body["id"]] == V2


def _announce_and_wait(operator, aws, machines, version=V2):
    """Announces, waits for every execution (each may hand off to the next); oldest first."""
    answer = operator.post(f"/operator/policy-versions/{version}/announce", {})
    assert answer.status_code == 202, answer.body
    sfn = aws.client("stepfunctions")
    for _ in range(50):  # each execution may have started the next one meanwhile
        wait_for_executions()
        runs = executions(aws, machines["notices"])
        if all(r["status"] != "RUNNING" for r in runs):
            break
    else:
        raise AssertionError("the notices executions did not end")
    described = [sfn.describe_execution(executionArn=r["executionArn"]) for r in runs]
    return answer, sorted(described, key=lambda d: d["startDate"])


@pytest.mark.parametrize("profile_name", ["promptpixels", "pixera"])
def test_ops2_the_announcement_mails_everyone_owed_the_notice_once_in_real_executions(
    client, operator, aws, monkeypatch, tmp_path, profile_name, capsys
):
    """Pages of 2 accounts-table items, 3 pages per execution: the Choice state invokes the page task
    again and again, and each execution hands off to the next; each person who signed up before the
    version is mailed once; no execution's input or history names anybody (DSR-13)."""
    from chalicelib import wiring
    from chalicelib.domain.rights import notices

    monkeypatch.setenv("PIXELKEEP_PAGE_ITEMS", "2")
    monkeypatch.setattr(notices, "PAGES_PER_EXECUTION", 3)
    wiring.reset()
    allow_sending(aws)
    with state_machines(aws, monkeypatch) as machines:
        people = [sign_up(client) for _ in range(3)]
        put_in_force(monkeypatch, with_new_consent_purpose(tmp_path, profile_name))
        before = len(sent_emails())
        answer, runs = _announce_and_wait(operator, aws, machines)
        assert answer.json_body["version"] == V2
        assert len(runs) > 1
        assert [r["status"] for r in runs] == ["SUCCEEDED"] * len(runs), runs[-1].get("cause")
        assert json.loads(runs[0]["input"]) == {"version": V2}
        assert {tuple(json.loads(r["input"])) for r in runs[1:]} == {("version", "mailed")}
        sfn = aws.client("stepfunctions")
        seen = json.dumps(
            [runs, [sfn.get_execution_history(executionArn=r["executionArn"])["events"] for r in runs]], default=str
        )
        assert not [p for p in people if p.user_id in seen or p.email in seen]
        notices_sent = [m for m in sent_emails()[before:] if V2 in m["subject"]]
        assert sorted(m["to"][0] for m in notices_sent) == sorted(p.email for p in people)
        assert json.loads(runs[-1]["output"])["finished"] == {"status": "sent", "sent": 3}
        assert sum(1 for name, _ in emitted_metrics(capsys.readouterr().out) if name == "PolicyNoticesSent") >= 1
        # Announcing again is refused; nobody is mailed twice.
        assert operator.post(f"/operator/policy-versions/{V2}/announce", {}).status_code == 409
        audit = operator.get(f"/operator/audit/{runs[0]['startDate']:%Y-%m}").json_body["actions"]
        by_action = {a["action"]: a for a in audit}
        assert by_action["announce_policy_version"]["operator"] == operator.operator.arn
        assert by_action["policy_notices_sent"]["details"] == {"version": V2, "sent": 3}


def test_ops2_a_page_retried_after_ses_failed_mails_nobody_twice(client, operator, aws, monkeypatch, tmp_path):
    """SES refuses the second notice once: the page task fails, Step Functions retries it with the
    same input, and the retry mails only whoever was not mailed."""
    from chalicelib.gateways.email import EmailGateway

    retry_backoff_skipped(monkeypatch)
    allow_sending(aws)
    with state_machines(aws, monkeypatch) as machines:
        people = [sign_up(client) for _ in range(3)]
        put_in_force(monkeypatch, with_new_consent_purpose(tmp_path, "kaleipix"))
        real_send, calls = EmailGateway.send, []

        def flaky(self, to, subject, text):
            if V2 in subject:
                calls.append(to)
                if len(calls) == 2:
                    raise RuntimeError("SES throttled")
            return real_send(self, to, subject, text)

        monkeypatch.setattr(EmailGateway, "send", flaky)
        before = len(sent_emails())
        _, (described,) = _announce_and_wait(operator, aws, machines)
        assert described["status"] == "SUCCEEDED", described.get("cause")
        mailed = [m["to"][0] for m in sent_emails()[before:] if V2 in m["subject"]]
        assert sorted(mailed) == sorted(p.email for p in people)
        assert len(calls) == 4  # three people, one failed attempt retried
