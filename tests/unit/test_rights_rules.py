"""Pure rules of the rights work: detaching kept records, operator keys, deadlines, workflow shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.domain.rights.erasure_plan import detached
from chalicelib.domain.rights.rights_requests import due_at
from chalicelib.profile.loader import available_profiles, load_profile

ASL = Path(__file__).resolve().parents[2] / "infra" / "asl"


def test_pay3_detach_replaces_the_id_everywhere_and_removes_personal_fields_and_the_address():
    item = {
        "pk": "ACCOUNT#u1",
        "sk": "ENTRY#2026#u1",
        "owner_id": "u1",
        "customer_id": "cus_1",
        "note": "paid by A@Example.org",
        "tags": ["u1", 3],
        "nested": {"who": "u1"},
    }
    kept = detached(item, ("customer_id",), "u1", "erased-x", "a@example.org")
    text = json.dumps(kept)
    assert "u1" not in text
    assert "example.org" not in text.lower()
    assert "customer_id" not in kept
    assert kept["pk"] == "ACCOUNT#erased-x"
    assert kept["owner_id"] == "erased-x"
    assert kept["note"] == "paid by [erased]"
    assert kept["tags"][1] == 3


@pytest.mark.parametrize("name", available_profiles())
def test_dsr8_due_dates_follow_each_profile(name):
    profile = load_profile(name)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert due_at(profile, "access", at) == at + timedelta(hours=profile.rights.response_hours)
    erasure_due = due_at(profile, "erasure", at)
    assert erasure_due >= at + timedelta(days=profile.rights.erasure_days)
    # DSR-8/DSR-9: the grace period fits inside the promised erasure deadline.
    assert profile.account_grace_days <= profile.rights.erasure_days


def test_dsr8_promptpixels_answers_within_48_hours():
    profile = load_profile("promptpixels")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert due_at(profile, "access", at) - at == timedelta(hours=48)


# A business outcome a step raises on purpose (DSR-12: a legal hold in force) is named before the
# catch-all: never retried, caught into its own state; everything else retries, then fails.
BUSINESS_ERRORS = {"LegalHoldInForce": "Held"}


@pytest.mark.parametrize("machine", ["export", "erasure", "hold"])
def test_dsr4_every_workflow_task_retries_and_names_a_registered_handler(machine):
    from app import app

    definition = json.loads((ASL / f"{machine}.asl.json").read_text())
    tasks = {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}
    assert tasks
    for name, state in tasks.items():
        *named, last = state["Retry"]
        assert last["ErrorEquals"] == ["States.ALL"], name
        assert last["MaxAttempts"] >= 2, name
        assert all(r["ErrorEquals"][0] in BUSINESS_ERRORS and r["MaxAttempts"] == 0 for r in named), name
        handler = state["Resource"].removeprefix("${").removesuffix("}")
        assert handler in app.handler_map, name


@pytest.mark.parametrize("path", sorted(ASL.glob("*.asl.json")), ids=lambda p: p.name)
def test_dsr4_every_workflow_task_catches_into_a_step_that_marks_the_failure_then_fails(path):
    states = json.loads(path.read_text())["States"]
    marking = {
        name
        for name, state in states.items()
        if state.get("Next") in states and states[state["Next"]]["Type"] == "Fail"
    }
    assert len(marking) == 1, marking
    (mark_failed,) = marking
    for name, state in states.items():
        if state["Type"] != "Task" or name == mark_failed:
            continue
        *named, catch_all = state["Catch"]
        assert catch_all == {"ErrorEquals": ["States.ALL"], "ResultPath": f"$.failure.{name}", "Next": mark_failed}, (
            name
        )
        for catch in named:
            (error,) = catch["ErrorEquals"]
            assert catch["Next"] == BUSINESS_ERRORS[error], name


def test_dsr4_failure_reason_names_the_state_and_the_error_type_never_the_message():
    from chalicelib.domain.rights.failures import reason

    caught = {"Error": "RuntimeError", "Cause": '{"errorMessage": "failed for a@example.org"}'}
    assert reason({"failure": {"DeleteRecords": caught}}) == "DeleteRecords:RuntimeError"
    assert reason({"failure": {"Plan": {"Error": "no user a@example.org"}}}) == "Plan:unknown"
    assert reason({"user_id": "u1"}) == "unknown:unknown"
