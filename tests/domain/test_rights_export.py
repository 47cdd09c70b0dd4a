"""Export on fakes (DSR-1, DSR-2, DSR-4): one zip of JSON records and original files, progress, the
emailed link, the request completed; a failure is reported and a rerun completes."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from chalicelib.domain.rights import export
from chalicelib.errors import NotFound
from chalicelib.profile.loader import load_profile
from tests.fakes.rights import rights_world


def _world():
    world = rights_world(load_profile("kaleipix"))
    world.users.add("u1", "ana@example.org")
    world.personal.add_item(
        "accounts", {"pk": "USER#u1", "sk": "CONSENT#marketing#1", "owner_id": "u1", "code_hash": "x", "granted": True}
    )
    world.personal.objects[("content", "uploads/u1/up1")] = b"original"
    world.users.add("u2", "bo@example.org")
    return world


def _run(world, payload):
    state = dict(payload)
    for step, path in (("collect", "collected"), ("archive", "archive"), ("notify", "notified")):
        state[path] = getattr(export, step)(world.context, state)
    return state


def test_dsr1_dsr2_the_archive_holds_the_manifest_every_record_and_the_files():
    world = _world()
    started = world.service.request_export("u1")
    assert started["status"] == "queued"
    ((name, payload),) = world.exports.started
    assert name == export.execution_name(started["id"])
    assert payload == {"export_id": started["id"]}  # DSR-13: no user id in the workflow
    state = _run(world, payload)
    assert state["collected"] == {"items": 2, "files": 1}
    assert "u1" not in repr(state)  # nor in what its steps return (no object key)
    key = world.records.find_export(started["id"]).object_key
    archive = zipfile.ZipFile(io.BytesIO(world.personal.objects[("exports", key)]))
    manifest = json.loads(archive.read("manifest.json"))
    assert {c["id"] for c in manifest["categories"]} == {c.id.value for c in world.context.profile.categories}
    consents = json.loads(archive.read("records/accounts/consent.json"))
    assert consents == [{"owner_id": "u1", "granted": True}]  # keys and secrets stay home
    assert archive.read("files/uploads/up1") == b"original"
    assert "bo@example.org" not in str(archive.namelist())
    status = world.service.export_status("u1", started["id"])
    assert status["status"] == "ready"
    assert status["progress"]["total"] == 3
    assert world.outbox.sent[-1][0] == "ana@example.org"
    assert world.service.user_requests("u1")[0]["status"] == "completed"


def test_dsr1_an_export_is_private_to_its_owner():
    world = _world()
    export_id = world.service.request_export("u1")["id"]
    with pytest.raises(NotFound):
        world.service.export_status("u2", export_id)


def test_dsr4_a_failed_export_shows_failed_and_fails_its_request_then_a_rerun_completes():
    world = _world()
    export_id = world.service.request_export("u1")["id"]
    payload = world.exports.started[-1][1]
    failed = {**payload, "failure": {"Archive": {"Error": "RuntimeError"}}}
    assert world.service.export_fail(failed) == {"status": "failed", "reason": "Archive:RuntimeError"}
    assert world.service.export_status("u1", export_id)["status"] == "failed"
    assert world.service.user_requests("u1")[0]["status"] == "failed"
    _run(world, payload)
    assert world.service.export_status("u1", export_id)["status"] == "ready"
    assert world.service.user_requests("u1")[0]["status"] == "completed"
