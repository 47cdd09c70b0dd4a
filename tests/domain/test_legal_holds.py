"""Legal holds on fakes (DSR-12), every profile: place and release audited with the operator, the
person's expiries moved aside and back, objects retagged, erasure paused at the next page and resumed
on release, `until` never deleting by itself, walks bounded by the page size."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.domain.rights import erasure, holds
from chalicelib.errors import Conflict, NotFound
from chalicelib.profile.loader import load_profile
from tests.fakes.rights import rights_world
from tests.support.rights import run_erasure, run_hold

PROFILES = ["pixera", "promptpixels", "pixelrender", "kaleipix", "pictomancer"]
OPERATOR = "arn:aws:iam::123456789012:user/ops"


@pytest.fixture(params=PROFILES)
def world(request):
    world = rights_world(load_profile(request.param))
    world.users.add("u1", "ana@example.org")
    world.users.add("u2", "bo@example.org")
    return world


def _items(world, user_id, count, *, expires=1_900_000_000):
    for n in range(count):
        world.personal.add_item(
            "content",
            {
                "pk": f"GEN#{user_id}-{n}",
                "sk": "JOB",
                "owner_id": user_id,
                "gen_id": f"{user_id}-{n}",
                "expires_at": expires,
            },
        )
    for n in range(count):
        world.personal.objects[("content", f"uploads/{user_id}/up{n}")] = b"png"


def _jobs(world, user_id):
    return [f for (_, pk, _), f in world.personal.items.items() if pk.startswith("GEN#") and f["owner_id"] == user_id]


def _place(world, user_id="u1", until=None):
    placed = world.service.place_hold(OPERATOR, user_id, reason="litigation", reference="case 7", until=until)
    name, payload = world.holds.started[-1]
    assert payload == {"hold_id": placed["id"], "action": "hold"}  # opaque: no user id in the history
    run_hold(world.context, payload)
    return placed


def _release(world, hold_id):
    released = world.service.release_hold(OPERATOR, hold_id)
    if world.holds.started[-1][1] == {"hold_id": hold_id, "action": "release"}:
        run_hold(world.context, world.holds.started[-1][1])
    return released


def test_dsr12_placing_moves_every_expiry_aside_and_tags_objects_held_release_restores_them(world):
    _items(world, "u1", 3)
    _items(world, "u2", 1)
    hold = _place(world)
    u1 = _jobs(world, "u1")
    assert len(u1) == 3
    assert all("expires_at" not in f and f["held_expires_at"] == 1_900_000_000 for f in u1)
    assert {k: v for k, v in world.personal.clock_tags.items() if "/u1/" in k[1]} == {
        ("content", f"uploads/u1/up{n}"): "held" for n in range(3)
    }
    other = world.personal.items[("content", "GEN#u2-0", "JOB")]
    assert other["expires_at"] == 1_900_000_000
    assert "held_expires_at" not in other
    assert not any("/u2/" in key for _, key in world.personal.clock_tags)

    _release(world, hold["id"])
    assert all(f["expires_at"] == 1_900_000_000 and "held_expires_at" not in f for f in u1)
    assert set(world.personal.clock_tags.values()) == {"running"}


def test_dsr12_every_step_is_audited_with_the_operators_principal(world):
    hold = _place(world)
    world.service.legal_holds(OPERATOR)
    _release(world, hold["id"])
    actions = [(a.operator, a.action, a.target) for a in world.records.actions]
    assert (OPERATOR, "place_legal_hold", "u1") in actions
    assert (OPERATOR, "view_legal_holds", None) in actions
    assert (OPERATOR, "release_legal_hold", "u1") in actions
    assert ("system", "legal_hold_applied", "u1") in actions
    assert ("system", "legal_hold_lifted", "u1") in actions


def test_dsr12_unknown_people_and_holds_are_refused_and_release_happens_once(world):
    with pytest.raises(NotFound):
        world.service.place_hold(OPERATOR, "nobody", reason="r", reference="x", until=None)
    hold = _place(world)
    _release(world, hold["id"])
    with pytest.raises(Conflict):
        world.service.release_hold(OPERATOR, hold["id"])
    with pytest.raises(NotFound):
        world.service.release_hold(OPERATOR, "no-such-hold")


def test_dsr12_two_holds_release_of_one_keeps_everything_held(world):
    _items(world, "u1", 2)
    first, second = _place(world), _place(world)
    started = len(world.holds.started)
    world.service.release_hold(OPERATOR, first["id"])
    assert len(world.holds.started) == started  # no walk back: the second hold keeps it
    assert all("held_expires_at" in f for f in _jobs(world, "u1"))
    _release(world, second["id"])
    assert all("expires_at" in f for f in _jobs(world, "u1"))


def test_dsr12_an_expired_until_deletes_nothing_and_the_hold_stays_until_released(world):
    _items(world, "u1", 1)
    hold = _place(world, until=clock.now() - timedelta(days=1))
    (listed,) = world.service.legal_holds(OPERATOR)
    assert (listed["status"], listed["review_due"]) == ("held", True)
    assert holds.in_force(world.context, "u1")
    assert "held_expires_at" in world.personal.items[("content", "GEN#u1-0", "JOB")]
    _release(world, hold["id"])
    assert not holds.in_force(world.context, "u1")


def test_dsr12_a_hold_placed_before_erasure_pauses_it_untouched_and_release_resumes_it(world):
    _items(world, "u1", 3)
    hold = _place(world)
    world.service.erase_minor("alice", "u1", None)
    (_, payload) = world.erasures.started[-1]
    state = run_erasure(world.context, payload)
    assert state["held"] == {"status": "held"}
    run = world.records.get_run(payload["erasure_id"])
    assert run.status == "held"
    assert world.records.get_request(run.request_id).status == "held"
    assert len(_jobs(world, "u1")) == 3
    assert len([k for k in world.personal.objects if "/u1/" in k[1]]) == 3

    _release(world, hold["id"])
    name, resumed = world.erasures.started[-1]
    assert resumed == payload
    assert name == f"{erasure.execution_name(payload['erasure_id'])}-resumed-{hold['id']}"
    assert world.records.paused_erasures("u1") == []
    run_erasure(world.context, resumed)
    assert not [f for f in world.personal.items.values() if f.get("owner_id") == "u1"]
    assert not [k for k in world.personal.objects if "/u1/" in k[1]]
    assert world.records.get_run(payload["erasure_id"]) is None  # finished: receipt issued, run forgotten


def test_dsr12_a_hold_placed_during_erasure_stops_it_at_the_next_page(world):
    _items(world, "u1", 6)
    world.service.erase_minor("alice", "u1", None)
    (_, payload) = world.erasures.started[-1]
    pages = []

    def place_after_the_first_object_page(resource):
        if resource == "erasure_delete_objects":
            pages.append(resource)
            if len(pages) == 2:  # one page of two objects deleted; the hold comes before the second
                world.service.place_hold(OPERATOR, "u1", reason="r", reference="x", until=None)

    small = dataclasses.replace(world.context, page_size=2)
    state = run_erasure(small, payload, on_task=place_after_the_first_object_page)
    assert state["held"] == {"status": "held"}
    assert "records" not in state  # the delete of records never ran
    assert len([k for k in world.personal.objects if "/u1/" in k[1]]) == 4
    assert len(_jobs(world, "u1")) == 6


def test_dsr12_the_hold_walks_a_page_per_invocation(world):
    """P3: no invocation of the hold workflow reads more than the page size."""
    _items(world, "u1", 5)
    small = dataclasses.replace(world.context, page_size=2)
    placed = world.service.place_hold(OPERATOR, "u1", reason="r", reference="x", until=None)
    state = run_hold(small, world.holds.started[-1][1])
    assert state["records"]["page"] == 3
    assert state["records"]["moved"] == 5
    assert state["objects"]["page"] == 3
    assert state["objects"]["tagged"] == 5
    assert all("held_expires_at" in f for f in _jobs(world, "u1"))
    assert world.records.get_hold(placed["id"]).cursors  # cursors beside the hold, not in the history
