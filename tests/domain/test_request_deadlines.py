"""DSR-11 on fakes, for every profile: reminders at 50, 90 and 100 % of a request's time to answer,
raised once while the request is owed and removed when it is answered; an extension by at most two
further months in all, with a reason and a notice, given within the original time; a refusal with a
reason and a notice naming the right to complain to the profile's supervisory authority."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import clock, metrics
from chalicelib.domain.rights import deadlines
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.profile.loader import load_profile
from tests.conftest import PROFILES
from tests.fakes.rights import rights_world

ANA = "arn:aws:iam::123456789012:user/ana"
START = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def now(monkeypatch):
    moment = Clock()
    monkeypatch.setattr(clock, "now", moment)
    return moment


@pytest.fixture
def emitted():
    seen: list[dict] = []
    metrics.sinks.append(seen.append)
    yield seen
    metrics.sinks.remove(seen.append)


def _world(profile_name, now):
    world = rights_world(load_profile(profile_name), now=now)
    world.users.add("u1", "ana@example.org")
    return world


def _open(world, kind="rectification"):
    return world.records.get_request(world.service.open_request("u1", kind)["id"])


def _reminders(world, request_id):
    return {r.percent: r.at for r in world.records.reminders(request_id)}


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr11_an_open_request_has_reminders_at_50_90_and_100_percent_of_its_time(profile_name, now):
    world = _world(profile_name, now)
    request = _open(world)
    span = timedelta(hours=world.context.profile.rights.response_hours)
    assert request.due_at - request.created_at == span
    assert _reminders(world, request.request_id) == {
        50: START + span * 0.5,
        90: START + span * 0.9,
        100: START + span,
    }


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr11_a_reminder_raises_the_metric_and_an_audit_entry_once_while_owed(profile_name, now, emitted):
    world = _world(profile_name, now)
    request = _open(world)
    now.now = request.due_at
    assert world.service.request_reminder_reached(request.request_id, 90, request.due_at) is True
    assert world.service.request_reminder_reached(request.request_id, 90, request.due_at) is False  # redelivered
    assert world.service.request_reminder_reached(request.request_id, 100, request.due_at) is True
    points = [d for d in emitted if "RequestDeadline" in d]
    assert [d["percent"] for d in points] == ["90", "100"]
    assert [(a.operator, a.action, a.details["request_id"]) for a in world.records.actions] == [
        ("system", "request_deadline_90", request.request_id),
        ("system", "request_deadline_100", request.request_id),
    ]
    assert world.records.events(request.request_id)[-1].what == "due date reached, not yet answered"


def test_dsr11_no_reminder_for_an_answered_request_or_one_armed_for_an_earlier_due_date(now, emitted):
    world = _world("pixera", now)
    answered = _open(world)
    world.service.set_request_status(ANA, answered.request_id, "completed")
    assert world.records.reminders(answered.request_id) == []  # answering removed the timers
    assert world.service.request_reminder_reached(answered.request_id, 50, answered.due_at) is False
    stale = _open(world)
    assert world.service.request_reminder_reached(stale.request_id, 50, stale.due_at - timedelta(days=1)) is False
    assert world.service.request_reminder_reached("missing", 50, stale.due_at) is False
    assert [d for d in emitted if "RequestDeadline" in d] == []


def test_dsr11_an_emailed_request_gets_its_reminders_once_verified():
    world = _world("kaleipix", None)
    request_id = world.service.submit_request_by_email(kind="rectification", email="ana@example.org")["request_id"]
    assert world.records.reminders(request_id) == []
    code = re.search(r"code (\d{6})", world.outbox.sent[-1][2]).group(1)
    world.service.verify_request(request_id, code)
    assert sorted(_reminders(world, request_id)) == [50, 90, 100]


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr11_an_extension_moves_the_due_date_emails_the_reason_and_rearms_the_reminders(profile_name, now):
    world = _world(profile_name, now)
    request = _open(world)
    now.now = request.created_at + (request.due_at - request.created_at) * 0.6  # past the 50 % reminder
    world.records.put_request(replace(world.records.get_request(request.request_id), reminders_passed=(50,)))
    until = request.due_at + timedelta(days=30)
    answer = world.service.extend_request(ANA, request.request_id, until=until, reason="a large archive to review")
    assert answer["due_at"] == until.isoformat()
    assert answer["original_due_at"] == request.due_at.isoformat()
    stored = world.records.get_request(request.request_id)
    assert stored.reminders_passed == ()
    span = until - request.created_at
    expected = {p: request.created_at + span * p / 100 for p in (50, 90, 100)}
    assert _reminders(world, request.request_id) == {p: at for p, at in expected.items() if at > now.now}
    to, subject, text = world.outbox.sent[-1]
    assert to == "ana@example.org"
    assert "more time" in subject
    assert "a large archive to review" in text
    assert f"{until:%Y-%m-%d}" in text
    assert world.context.profile.rights.complaint.authority in text
    audit = world.records.actions[-1]
    assert (audit.operator, audit.action, audit.details["due_at"]) == (ANA, "request_extended", until.isoformat())


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr11_extensions_add_up_to_two_further_months_at_most(profile_name, now):
    world = _world(profile_name, now)
    request = _open(world)
    limit = deadlines.add_months(request.due_at, 2)
    with pytest.raises(InvalidInput):
        world.service.extend_request(ANA, request.request_id, until=limit + timedelta(seconds=1), reason="r")
    first = request.due_at + timedelta(days=20)
    world.service.extend_request(ANA, request.request_id, until=first, reason="first")
    with pytest.raises(InvalidInput):  # not earlier than the current due date
        world.service.extend_request(ANA, request.request_id, until=first, reason="again")
    with pytest.raises(InvalidInput):  # the limit counts from the original due date, over every extension
        world.service.extend_request(ANA, request.request_id, until=limit + timedelta(days=1), reason="more")
    world.service.extend_request(ANA, request.request_id, until=limit, reason="the rest")
    stored = world.records.get_request(request.request_id)
    assert (stored.due_at, stored.original_due_at) == (limit, request.due_at)


def test_dsr11_two_months_are_calendar_months():
    assert deadlines.add_months(datetime(2026, 12, 31, tzinfo=UTC), 2) == datetime(2027, 2, 28, tzinfo=UTC)
    assert deadlines.add_months(datetime(2027, 11, 15, 8, tzinfo=UTC), 2) == datetime(2028, 1, 15, 8, tzinfo=UTC)


def test_dsr11_an_extension_needs_a_reason_an_owed_request_and_the_original_time_still_running(now):
    world = _world("pictomancer", now)
    request = _open(world)
    later = request.due_at + timedelta(days=10)
    with pytest.raises(InvalidInput):
        world.service.extend_request(ANA, request.request_id, until=later, reason="   ")
    with pytest.raises(NotFound):
        world.service.extend_request(ANA, "missing", until=later, reason="r")
    now.now = request.due_at + timedelta(seconds=1)
    with pytest.raises(Conflict):  # Art. 12(3): the requester must be told within the original period
        world.service.extend_request(ANA, request.request_id, until=later, reason="too late")
    assert world.records.get_request(request.request_id).due_at == request.due_at
    assert world.outbox.sent == []


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr11_a_refusal_tells_the_reason_and_the_right_to_complain_and_removes_the_reminders(
    profile_name, now, emitted
):
    world = _world(profile_name, now)
    request = _open(world, kind="objection")
    answer = world.service.refuse_request(ANA, request.request_id, reason="the processing is required by law")
    assert (answer["status"], answer["refusal_reason"]) == ("rejected", "the processing is required by law")
    assert world.records.reminders(request.request_id) == []
    assert world.service.request_queue(ANA) == []
    to, _, text = world.outbox.sent[-1]
    complaint = world.context.profile.rights.complaint
    assert to == "ana@example.org"
    assert "the processing is required by law" in text
    assert f"lodge a complaint with {complaint.authority} ({complaint.url})" in text
    assert "judicial remedy" in text
    refused = [a for a in world.records.actions if a.action == "request_refused"]
    assert [(a.operator, a.details) for a in refused] == [(ANA, {"request_id": request.request_id, "late": False})]
    assert [d["kind"] for d in emitted if "RequestsAnswered" in d] == ["objection"]
    with pytest.raises(Conflict):
        world.service.refuse_request(ANA, request.request_id, reason="again")
    with pytest.raises(Conflict):
        world.service.extend_request(ANA, request.request_id, until=request.due_at + timedelta(days=1), reason="r")


def test_dsr11_an_emailed_request_is_answered_at_the_address_it_came_from(now):
    world = _world("pixelrender", now)
    request_id = world.service.submit_request_by_email(kind="objection", email="someone@example.net")["request_id"]
    code = re.search(r"code (\d{6})", world.outbox.sent[-1][2]).group(1)
    world.service.verify_request(request_id, code)
    world.service.refuse_request(ANA, request_id, reason="we hold no data about this address")
    assert world.outbox.sent[-1][0] == "someone@example.net"


def test_dsr11_a_refusal_without_a_reason_or_an_address_changes_nothing(now):
    world = _world("promptpixels", now)
    request = _open(world)
    with pytest.raises(InvalidInput):
        world.service.refuse_request(ANA, request.request_id, reason="")
    world.users.users.pop("u1")
    world.users.personal.items.pop(("accounts", "USER#u1", "PROFILE"))
    with pytest.raises(Conflict):
        world.service.refuse_request(ANA, request.request_id, reason="r")
    assert world.records.get_request(request.request_id).status == "open"
    assert sorted(_reminders(world, request.request_id)) == [50, 90, 100]


def test_dsr11_rejecting_without_a_reason_is_no_longer_a_plain_status_change(now):
    world = _world("kaleipix", now)
    request = _open(world)
    with pytest.raises(InvalidInput):
        world.service.set_request_status(ANA, request.request_id, "rejected")


def test_dsr11_a_request_a_workflow_carries_out_is_refused_only_once_it_failed(now):
    world = _world("pixera", now)
    world.users.add("u2", "bo@example.org")
    erasure = world.records.get_request(world.service.request_erasure("u2")["request_id"])
    with pytest.raises(Conflict):
        world.service.refuse_request(ANA, erasure.request_id, reason="r")
    world.records.put_request(replace(world.records.get_request(erasure.request_id), status="failed"))
    assert world.service.refuse_request(ANA, erasure.request_id, reason="a legal hold")["status"] == "rejected"
