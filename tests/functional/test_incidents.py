"""OPS-5 on moto through the operator routes (SigV4): the affected people are computed from the real
stores, the clock items carry the TTL DynamoDB will act on, and the users' notice goes out by SES."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.auth import sign_up
from tests.support.mail import allow_sending, sent_emails


def _incident_body(**overrides):
    now = datetime.now(UTC)
    return {
        "window_start": (now - timedelta(days=1)).isoformat(),
        "window_end": now.isoformat(),
        "detected_at": (now - timedelta(minutes=5)).isoformat(),
        "categories": ["account"],
        "systems": ["accounts"],
        "description": "an access key with read access to the accounts table leaked",
        **overrides,
    }


@pytest.mark.parametrize("profile_name", ["promptpixels", "pictomancer"])
def test_ops5_open_notify_and_register_through_the_routes(client, operator, aws, profile_name):
    from chalicelib import wiring
    from chalicelib.store.models.incidents import IncidentClockMark

    allow_sending(aws)
    person = sign_up(client)
    opened = operator.post("/operator/incidents", _incident_body())
    assert opened.status_code == 201, opened.body
    incident = opened.json_body
    assert incident["affected_people"] == 1
    assert incident["opened_by"] == operator.operator.arn
    hours = wiring.profile().breach_notice_hours
    marks = IncidentClockMark.query("INCIDENTS", IncidentClockMark.sk.startswith(IncidentClockMark.SK_PREFIX))
    timers = {m.mark: int(m.expires_at.timestamp()) for m in marks}  # the TTL attribute: epoch seconds
    detected = datetime.fromisoformat(incident["detected_at"])
    assert timers == {
        "warning": int((detected + timedelta(hours=hours * 2 / 3)).timestamp()),
        "deadline": int((detected + timedelta(hours=hours)).timestamp()),
    }

    notified = operator.post(
        f"/operator/incidents/{incident['id']}/notify-users", {"consequences": "none known", "measures": "key revoked"}
    )
    assert notified.status_code == 200, notified.body
    assert [m["to"] for m in sent_emails() if "security incident" in m["subject"]] == [[person.email]]
    done = operator.post(f"/operator/incidents/{incident['id']}/authority-notified", {"reference": "case-1"})
    assert done.json_body["authority_notified_at"]
    register = operator.get("/operator/incidents").json_body["incidents"]
    assert [i["id"] for i in register] == [incident["id"]]
    assert operator.get("/operator/incidents/nope").status_code == 404


def test_ops5_an_incoherent_incident_is_a_400_and_nothing_is_written(client, operator, aws):
    from chalicelib.store.models.incidents import IncidentRecord

    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for body in (
        _incident_body(categories=["not_stored_here"]),
        _incident_body(window_end=later),
        _incident_body(window_start="yesterday"),
        {"description": "no window"},
    ):
        response = operator.post("/operator/incidents", body)
        assert response.status_code == 400, body
        assert response.json_body["error"]["code"] == "invalid_input"
    assert list(IncidentRecord.scan()) == []


def test_ops8_the_record_of_processing_is_served_to_operators_as_json_and_html(client, operator, aws):
    from chalicelib import wiring
    from chalicelib.profile.ropa import record_of_processing

    as_json = operator.get("/operator/ropa")
    assert as_json.status_code == 200
    assert as_json.json_body == record_of_processing(wiring.profile())
    as_html = operator.get("/operator/ropa?format=html")
    assert as_html.headers["Content-Type"].startswith("text/html")
    assert b"Record of processing activities" in as_html.body
    assert client.http.get("/operator/ropa").status_code == 404  # unsigned
