"""P3 (issue 16): export and erasure do bounded work per task invocation, however much a person
stored; the state machines' Choice states run each paged task again while it says `more`."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import pytest

from chalicelib.domain.ports.rights import Page
from chalicelib.domain.rights import paging
from chalicelib.profile.loader import load_profile
from tests.fakes.rights import rights_world
from tests.support.paging import CountingPersonalData
from tests.support.rights import run_erasure, run_export

PAGE = 7


def _rich(world, user_id, n):
    """n of each: consents, generations with a share link and an image, uploads; one payment."""
    add = world.personal.add_item
    for i in range(n):
        add("accounts", {"pk": f"USER#{user_id}", "sk": f"CONSENT#marketing#{i}", "owner_id": user_id, "n": i})
        add("content", {"pk": f"GEN#g{i}", "sk": "JOB", "owner_id": user_id, "gen_id": f"g{i}"})
        add(
            "content",
            {"pk": f"SHARE#s{i}", "sk": f"LINK#g{i}", "owner_id": user_id, "share_id": f"s{i}", "gen_id": f"g{i}"},
        )
        world.personal.objects[("content", f"generated/{user_id}/g{i}")] = b"png"
        world.personal.objects[("content", f"uploads/{user_id}/up{i}")] = b"png"
    add("ledger", {"pk": f"ACCOUNT#{user_id}", "sk": f"ENTRY#1#{user_id}", "owner_id": user_id, "n": 3})


def _erase(n):
    world = rights_world(load_profile("kaleipix"))
    world.users.add("u1", "ana@example.org")
    _rich(world, "u1", n)
    counting = CountingPersonalData(world.personal)
    context = dataclasses.replace(world.context, personal=counting, page_size=PAGE)
    world.service.erase_minor("alice", "u1", None)
    state = run_erasure(context, world.erasures.started[-1][1], on_task=counting.start)
    return world, counting, state


@pytest.mark.parametrize("n", [3, 40])
def test_p3_dsr4_no_erasure_invocation_reads_or_writes_more_than_a_page(n):
    world, counting, state = _erase(n)
    assert state["residual"]["clean"] is True
    assert not [k for k in world.personal.items if "u1" in repr(world.personal.items[k])]
    assert not [k for k in world.personal.objects if "/u1/" in k[1]]
    read, written = counting.most()
    assert read <= PAGE
    assert written <= PAGE
    assert counting.unbounded == {}  # no task walks everything at once
    pages = {task: sum(1 for t, _, _ in counting.invocations if t == task) for task, _, _ in counting.invocations}
    if n == 40:  # 121 records and 80 objects: every paged task ran page after page
        for task in ("erasure_plan", "erasure_processors", "erasure_delete_objects", "erasure_delete_records"):
            assert pages[task] >= 80 // PAGE, task
        assert pages["erasure_residual_scan"] > 1
        assert state["objects"]["deleted"] == 80
        assert state["records"]["deleted"] >= 120
    (receipt,) = world.records.receipts.values()
    assert receipt.counts["objects"] == 2 * n


def test_p3_dsr13_the_workflow_state_holds_page_numbers_and_counts_not_cursors():
    """The cursors are store keys (they hold the user id): the run record keeps them, the state never."""
    world, _, state = _erase(20)
    text = repr(state)
    assert "u1" not in text
    assert "USER#" not in text
    assert "cursor" not in text
    assert state["plan"]["page"] > 1


def test_p3_a_retried_page_reads_the_same_page_again():
    world = rights_world(load_profile("kaleipix"))
    world.users.add("u1", "ana@example.org")
    _rich(world, "u1", 10)
    context = dataclasses.replace(world.context, page_size=PAGE)
    world.service.erase_minor("alice", "u1", None)
    payload = world.erasures.started[-1][1]
    from chalicelib.domain.rights import erasure

    first = erasure.plan(context, payload)
    second = erasure.plan(context, {**payload, "plan": first})
    again = erasure.plan(context, {**payload, "plan": first})  # Step Functions' Retry: same input
    assert second == again
    assert second["page"] == 2
    assert world.records.captures[payload["erasure_id"]][1] == world.records.captures[payload["erasure_id"]][1]


def _counting_source(size):
    def source(cursor, limit):
        start = int(cursor or 0)
        stop = min(size, start + limit)
        return Page(tuple(range(start, stop)), stop - start, str(stop) if stop < size else None)

    return source


def test_p3_a_walk_over_several_sources_never_reads_more_than_its_limit():
    sources = [_counting_source(5), _counting_source(0), _counting_source(12)]
    seen, cursor, pages = [], None, 0
    while True:
        page = paging.walk(sources, cursor, 4)
        assert page.read <= 4
        seen.extend(page.items)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == list(range(5)) + list(range(12))
    assert pages == 5


def _export(n, page=PAGE):
    world = rights_world(load_profile("kaleipix"))
    world.users.add("u1", "ana@example.org")
    _rich(world, "u1", n)
    counting = CountingPersonalData(world.personal)
    context = dataclasses.replace(world.context, personal=counting, page_size=page)
    started = world.service.request_export("u1")
    state = run_export(context, world.exports.started[-1][1], on_task=counting.start)
    return world, counting, state, started["id"]


@pytest.mark.parametrize("n", [2, 30])
def test_p3_dsr1_dsr2_no_export_invocation_reads_more_than_a_page_and_the_archive_is_one_valid_zip(n):
    world, counting, state, export_id = _export(n)
    read, written = counting.most()
    assert read <= PAGE
    assert written == 0
    assert counting.unbounded == {}
    key = world.personal.archive_key("u1", export_id)
    archive = zipfile.ZipFile(io.BytesIO(world.personal.objects[("exports", key)]))
    assert archive.testzip() is None
    names = archive.namelist()
    files = sorted(name for name in names if name.startswith("files/"))
    assert files == sorted([f"files/generated/g{i}" for i in range(n)] + [f"files/uploads/up{i}" for i in range(n)])
    consents = [
        json.loads(archive.read(name)) for name in names if name.startswith("records/accounts/consent")
    ]  # a kind split across pages continues in consent-2.json, consent-3.json, ...
    assert sorted(c["n"] for part in consents for c in part) == list(range(n))
    assert len(names) == 1 + 2 * n + len([name for name in names if name.startswith("records/")])
    assert world.personal.pieces == {}
    assert world.personal.uploads == {}
    tasks = [task for task, _, _ in counting.invocations]
    if n == 30:
        assert tasks.count("export_archive") >= (3 * n + 1) // PAGE
        assert tasks.count("export_seal") == tasks.count("export_archive")
        assert len(consents) > 1
    assert world.service.export_status("u1", export_id)["status"] == "ready"


def test_p3_a_retried_archive_page_writes_the_same_bytes_again():
    """Step Functions' Retry hands a failed page the same input: the upload resumes from the state
    the page before returned, and the archive comes out whole."""
    from chalicelib.domain.rights import export

    world = rights_world(load_profile("kaleipix"))
    world.users.add("u1", "ana@example.org")
    _rich(world, "u1", 6)
    context = dataclasses.replace(world.context, page_size=PAGE)
    started = world.service.request_export("u1")
    state = dict(world.exports.started[-1][1])
    while True:
        state["collected"] = export.collect(context, state)
        if not state["collected"]["more"]:
            break
    first = export.archive(context, state)
    second = export.archive(context, {**state, "archive": first})
    again = export.archive(context, {**state, "archive": first})  # the retry
    assert again["zip"] == second["zip"]
    state["archive"] = again
    while state["archive"]["more"]:
        state["archive"] = export.archive(context, state)
    while True:
        state["sealed"] = export.seal(context, state)
        if not state["sealed"]["more"]:
            break
    key = world.personal.archive_key("u1", started["id"])
    archive = zipfile.ZipFile(io.BytesIO(world.personal.objects[("exports", key)]))
    assert archive.testzip() is None
    assert len([n for n in archive.namelist() if n.startswith("files/")]) == 12
