"""OPS-5: a breach is entered in the register with the people it affected computed from the stores,
the authority's notice clock runs from detection for the profile's breach-notice hours and escalates
at 48 h and 72 h unless the authority was notified, both notices are drafted, and the affected people
are e-mailed on the operator's decision. Every step is audited with the operator's principal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import clock, errors, metrics
from chalicelib.metrics import Metric
from chalicelib.profile.loader import available_profiles, load_profile
from tests.fakes.incidents import incident_world

ANA = "arn:aws:iam::123456789012:user/ana"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
# OPS-5 names PromptPixels and Pictomancer; every profile stating a breach-notice period is held to it.
PROFILES = [p for p in available_profiles() if load_profile(p).breach_notice_hours]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def emitted():
    seen: list[dict] = []
    metrics.sinks.append(seen.append)
    yield seen
    metrics.sinks.remove(seen.append)


def _open(world, **overrides):
    args = {
        "detected_at": NOW - timedelta(hours=1),
        "window_start": NOW - timedelta(days=2),
        "window_end": NOW - timedelta(days=1),
        "categories": ["account"],
        "systems": ["accounts"],
        "description": "a database snapshot was readable by anyone with its link",
    }
    return world.service.open(ANA, **{**args, **overrides})


def test_ops5_the_profiles_under_test_include_those_the_promise_names():
    assert {"promptpixels", "pictomancer"} <= set(PROFILES)


@pytest.mark.parametrize("profile_name", PROFILES)
def test_ops5_affected_people_are_those_with_data_of_the_categories_during_the_window(profile_name):
    world = incident_world(load_profile(profile_name))
    day = timedelta(days=1)
    world.people.items += [
        ("during", "account", NOW - 3 * day, None),
        ("created-in-window", "account", NOW - 1.5 * day, None),
        ("after", "account", NOW - 0.5 * day, None),  # created after the window closed
        ("expired-before", "account", NOW - 5 * day, NOW - 3 * day),  # gone before it opened
        ("other-category", "payments", NOW - 3 * day, None),
    ]
    opened = _open(world)
    assert opened["affected_people"] == 2
    assert world.records.affected(opened["id"]) == ["created-in-window", "during"]


@pytest.mark.parametrize("profile_name", PROFILES)
def test_ops5_the_clock_runs_from_detection_for_the_profiles_breach_notice_hours(profile_name):
    profile = load_profile(profile_name)
    world = incident_world(profile)
    detected = NOW - timedelta(hours=5)
    opened = _open(world, detected_at=detected)
    hours = profile.breach_notice_hours
    assert opened["authority_notice_due_at"] == (detected + timedelta(hours=hours)).isoformat()
    marks = {mark: at for (incident, mark), at in world.records.marks.items() if incident == opened["id"]}
    assert marks == {
        "warning": detected + timedelta(hours=hours * 2 / 3),
        "deadline": detected + timedelta(hours=hours),
    }
    if hours == 72:
        assert marks["warning"] - detected == timedelta(hours=48)
    assert world.audit.entries == [
        (ANA, "incident_opened", None, {"incident_id": opened["id"], "categories": ["account"], "affected": 0})
    ]


def test_ops5_a_clock_mark_escalates_with_a_metric_and_an_audit_entry_once(emitted):
    world = incident_world(load_profile("promptpixels"))
    incident_id = _open(world)["id"]
    assert world.service.clock_reached(incident_id, "warning") is True
    assert world.service.clock_reached(incident_id, "warning") is False  # the stream redelivered it
    assert world.service.clock_reached(incident_id, "deadline") is True
    clock_points = [d for d in emitted if "IncidentClock" in d]
    assert [d["mark"] for d in clock_points] == ["warning", "deadline"]
    assert [(who, what) for who, what, _, _ in world.audit.entries[1:]] == [
        ("system", "incident_clock_warning"),
        ("system", "incident_clock_deadline"),
    ]
    assert world.records.get(incident_id).escalations == ("warning", "deadline")


def test_ops5_a_notified_authority_stops_the_escalation():
    world = incident_world(load_profile("pictomancer"))
    incident_id = _open(world)["id"]
    notified = world.service.authority_notified(ANA, incident_id, "CNIL-2026-0042")
    assert notified["authority_notified_at"] == NOW.isoformat()
    assert world.service.clock_reached(incident_id, "deadline") is False
    assert world.records.get(incident_id).escalations == ()
    with pytest.raises(errors.Conflict):
        world.service.authority_notified(ANA, incident_id, "again")


def test_ops5_the_authority_draft_carries_the_contents_article_33_3_asks_for():
    profile = load_profile("pictomancer")
    world = incident_world(profile)
    world.people.items.append(("u1", "account", NOW - timedelta(days=3), None))
    incident_id = _open(world)["id"]
    drafts = world.service.get(ANA, incident_id)["drafts"]
    authority = drafts["authority"]
    for part in ("(a) Nature of the breach", "Categories of personal data: account", "data subjects concerned: 1"):
        assert part in authority
    assert "(b) Contact point" in authority
    assert (profile.service.contact_email or profile.service.contact_url) in authority
    assert "(c) Likely consequences" in authority
    assert "(d) Measures taken" in authority
    assert "What happened" in drafts["users"]


def test_ops5_affected_people_are_emailed_only_on_the_operators_decision_and_once():
    world = incident_world(load_profile("promptpixels"))
    world.people.items += [
        ("u1", "account", NOW - timedelta(days=3), None),
        ("gone", "account", NOW - timedelta(days=3), None),
    ]
    world.addresses["u1"] = "u1@example.org"  # "gone" was erased since: no address left
    incident_id = _open(world)["id"]
    assert world.outbox.sent == []
    notified = world.service.notify_users(ANA, incident_id, consequences="phishing risk", measures="links revoked")
    assert notified["users_notified"] == 1
    ((to, subject, text),) = world.outbox.sent
    assert to == "u1@example.org"
    assert "phishing risk" in text
    assert "links revoked" in text
    with pytest.raises(errors.Conflict):
        world.service.notify_users(ANA, incident_id, consequences="x", measures="y")
    assert "incident_users_notified" in [a for _, a, _, _ in world.audit.entries]


def test_ops5_the_register_keeps_every_incident_reported_or_not():
    world = incident_world(load_profile("pictomancer"))
    first = _open(world, detected_at=NOW - timedelta(hours=3))["id"]
    second = _open(world, detected_at=NOW - timedelta(hours=2))["id"]
    world.service.authority_notified(ANA, second, "ref")
    assert [i["id"] for i in world.service.register(ANA)] == [second, first]


@pytest.mark.parametrize(
    "overrides",
    [
        {"categories": ["not_a_category"]},
        {"categories": []},
        {"window_end": NOW + timedelta(hours=1)},
        {"window_start": NOW - timedelta(hours=1), "window_end": NOW - timedelta(hours=2)},
        {"detected_at": NOW - timedelta(days=3)},  # before the window opened
    ],
)
def test_ops5_an_incoherent_incident_is_refused_and_nothing_is_written(overrides):
    world = incident_world(load_profile("promptpixels"))
    with pytest.raises(errors.InvalidInput):
        _open(world, **overrides)
    assert world.records.incidents == {}
    assert world.audit.entries == []


def test_ops5_incidents_opened_are_counted(emitted):
    world = incident_world(load_profile("promptpixels"))
    _open(world)
    assert [d for d in emitted if Metric.INCIDENTS_OPENED.value.name in d]
