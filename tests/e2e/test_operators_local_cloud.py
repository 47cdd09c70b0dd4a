"""Operators in the local cloud: metrics and alarms (OPS-7)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.web import eventually, http_get, sign_up


def _metrics_page(cloud) -> dict:
    status, _, body = http_get(f"{cloud.tools}/metrics.json")
    assert status == 200, body
    return json.loads(body)


@pytest.fixture(scope="module")
def counted_person(local_cloud):
    """One person for this module (the suite's sign-ups share one address's rate limit), and the
    SignUps total seen just before they signed up."""
    before = sum(m["sum"] for m in _metrics_page(local_cloud)["metrics"] if m["name"] == "SignUps")
    return sign_up(local_cloud, prefix="operators"), before


def test_ops7_a_sign_up_is_counted_in_cloudwatch_and_the_tools_page_shows_alarm_states(local_cloud, counted_person):
    _, before = counted_person

    def counted():
        page = _metrics_page(local_cloud)
        return page if sum(m["sum"] for m in page["metrics"] if m["name"] == "SignUps") >= before + 1 else None

    page = eventually(counted, "the sign-up counted in the local CloudWatch")
    assert {"service": "pixelkeep"} in [m["dimensions"] for m in page["metrics"] if m["name"] == "SignUps"]
    states = {a["name"]: a["state"] for a in page["alarms"]}
    assert any(name.endswith("-erasure-failed") for name in states)
    assert set(states.values()) <= {"OK", "ALARM", "INSUFFICIENT_DATA"}
    status, headers, html = http_get(f"{local_cloud.tools}/metrics")
    assert status == 200
    assert b"SignUps" in html


def _operator(cloud, name: str):
    from tests.support.operators import new_operator

    iam = cloud.client("iam")
    (group,) = [g["GroupName"] for g in iam.list_groups()["Groups"] if g["GroupName"].endswith("-operators")]
    return new_operator(iam, group, name)


def _signed(cloud, operator, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else b""
    url = f"{cloud.api}{path}"
    headers = operator.headers(method, url, data, {"Content-Type": "application/json"} if data else {})
    request = urllib.request.Request(url, data=data or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_ops6_an_operator_signs_with_iam_credentials_and_the_audit_names_the_principal(local_cloud, counted_person):
    from datetime import UTC, datetime

    from tests.e2e.web import call

    ana = _operator(local_cloud, "e2e-operator-ana")
    person, _ = counted_person
    status, opened = call("POST", f"{local_cloud.api}/me/requests", {"kind": "objection"}, person.headers)
    assert status == 202, opened

    status, queue = _signed(local_cloud, ana, "GET", "/operator/requests")
    assert status == 200, queue
    assert opened["id"] in [r["id"] for r in queue["requests"]]
    status, changed = _signed(local_cloud, ana, "POST", f"/operator/requests/{opened['id']}", {"status": "completed"})
    assert (status, changed["status"]) == (200, "completed")
    status, audit = _signed(local_cloud, ana, "GET", f"/operator/audit/{datetime.now(UTC):%Y-%m}")
    mine = [a for a in audit["actions"] if a["operator"] == ana.arn]
    assert [a["action"] for a in mine] == ["view_request_queue", "request_completed", "view_audit_log"]

    assert call("GET", f"{local_cloud.api}/operator/requests")[0] == 404  # unsigned: no such route
    status, refused = call("GET", f"{local_cloud.api}/operator/requests", headers=person.headers)
    assert (status, refused["error"]["code"]) == (403, "unauthenticated")


def test_ops5_an_incident_opened_with_sigv4_computes_the_affected_and_its_72h_clock_escalates(
    local_cloud, counted_person
):
    """The must-show of OPS-5 in the local cloud: an operator signs with IAM credentials, the affected
    people are computed from the stores, and the clock items' TTL (swept as DynamoDB would) raises
    the escalation: the audit entries and the incident-clock alarms."""
    from datetime import UTC, datetime, timedelta

    ana = _operator(local_cloud, "e2e-incident-operator")
    person, _ = counted_person
    now = datetime.now(UTC)
    status, opened = _signed(
        local_cloud,
        ana,
        "POST",
        "/operator/incidents",
        {
            "window_start": (now - timedelta(hours=73)).isoformat(),
            "window_end": now.isoformat(),
            # Detected 72 hours ago, less two seconds: the 48-hour mark has passed, the 72-hour one is due.
            "detected_at": (now - timedelta(hours=72) + timedelta(seconds=2)).isoformat(),
            "categories": ["account"],
            "systems": ["accounts"],
            "description": "e2e: the accounts table was readable by a misconfigured role",
        },
    )
    assert status == 201, opened
    assert opened["affected_people"] >= 1
    affected = local_cloud.client("dynamodb").query(
        TableName=next(
            n for n in local_cloud.client("dynamodb").list_tables()["TableNames"] if n.endswith("-requests")
        ),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"INCIDENT#{opened['id']}"}},
    )["Items"]
    assert person.user_id in {item["owner_id"]["S"] for item in affected}

    def escalated():
        status, incident = _signed(local_cloud, ana, "GET", f"/operator/incidents/{opened['id']}")
        assert status == 200, incident
        return incident if set(incident["escalations"]) == {"warning", "deadline"} else None

    incident = eventually(escalated, "both clock marks expired through the sweeper and escalated")
    assert "Approximate number of data subjects concerned" in incident["drafts"]["authority"]
    status, audit = _signed(local_cloud, ana, "GET", f"/operator/audit/{datetime.now(UTC):%Y-%m}")
    about = [a for a in audit["actions"] if a["details"].get("incident_id") == opened["id"]]
    assert ("system", "incident_clock_deadline") in {(a["operator"], a["action"]) for a in about}
    assert (ana.arn, "incident_opened") in {(a["operator"], a["action"]) for a in about}

    def alarmed():
        states = {a["name"]: a["state"] for a in _metrics_page(local_cloud)["alarms"]}
        clock_alarms = {n: s for n, s in states.items() if "-incident-clock-" in n}
        return clock_alarms if set(clock_alarms.values()) == {"ALARM"} and len(clock_alarms) == 2 else None

    eventually(alarmed, "the incident-clock alarms raised")
    status, register = _signed(local_cloud, ana, "GET", "/operator/incidents")
    assert opened["id"] in [i["id"] for i in register["incidents"]]


def test_dsr11_an_operator_extends_then_refuses_a_request_with_sigv4_and_the_requester_is_told(
    local_cloud, counted_person
):
    """Over HTTP as an operator's SDK would call: the later due date and the refusal reach the
    requester through SES, the refusal naming where to complain; both audited with the ARN."""
    from datetime import UTC, datetime, timedelta

    from tests.e2e.web import call, latest_mail

    ana = _operator(local_cloud, "e2e-deadline-operator")
    person, _ = counted_person
    status, opened = call("POST", f"{local_cloud.api}/me/requests", {"kind": "restriction"}, person.headers)
    assert status == 202, opened
    until = datetime.fromisoformat(opened["due_at"]) + timedelta(days=10)
    path = f"/operator/requests/{opened['id']}"
    extension = {"until": until.isoformat(), "reason": "e2e"}
    status, extended = _signed(local_cloud, ana, "POST", f"{path}/extend", extension)
    assert (status, datetime.fromisoformat(extended["due_at"])) == (200, until), extended
    assert "e2e" in latest_mail(local_cloud, person.email, "more time")["body"]
    status, refused = _signed(local_cloud, ana, "POST", f"{path}/refuse", {"reason": "already restricted"})
    assert (status, refused["status"]) == (200, "rejected"), refused
    notice = latest_mail(local_cloud, person.email, "your restriction request")["body"]
    assert "already restricted" in notice
    assert "lodge a complaint with" in notice
    assert _signed(local_cloud, ana, "POST", f"{path}/refuse", {"reason": "again"})[0] == 409
    status, audit = _signed(local_cloud, ana, "GET", f"/operator/audit/{datetime.now(UTC):%Y-%m}")
    mine = [a["action"] for a in audit["actions"] if a["operator"] == ana.arn and a["action"].startswith("request_")]
    assert mine == ["request_extended", "request_refused"]


def test_ops2_the_shipped_version_is_dated_on_the_page_owes_nobody_a_notice_and_is_not_mailed(
    local_cloud, counted_person
):
    """The local cloud serves the version history, the notices route and the announce action (route
    with SigV4, Lambda function, state machine); with the one shipped version nothing is notified."""
    from tests.e2e.web import call

    person, _ = counted_person
    status, page = call("GET", f"{local_cloud.api}/policy.json")
    assert status == 200, page
    (version,) = page["policy"]["history"]
    assert (version["version"], version["changes"]) == (page["policy"]["version"], [])
    assert call("GET", f"{local_cloud.api}/me/notices", headers=person.headers) == (200, {"notices": []})

    ana = _operator(local_cloud, "e2e-operator-notices")
    status, refused = _signed(local_cloud, ana, "POST", f"/operator/policy-versions/{version['version']}/announce", {})
    assert (status, refused["error"]["code"]) == (409, "conflict"), refused
    invoked = local_cloud.client("lambda").invoke(FunctionName="operator_announce_policy_version", Payload=b"{}")
    answer = json.loads(invoked["Payload"].read())
    assert answer["error"]["code"] == "conflict", answer
    machines = local_cloud.client("stepfunctions").list_state_machines()["stateMachines"]
    assert any(m["name"].endswith("-notices") for m in machines)
