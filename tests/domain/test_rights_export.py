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
from tests.support.rights import run_export


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
    return run_export(world.context, payload)


def test_dsr1_dsr2_the_archive_holds_the_manifest_every_record_and_the_files():
    world = _world()
    started = world.service.request_export("u1")
    assert started["status"] == "queued"
    ((name, payload),) = world.exports.started
    assert name == export.execution_name(started["id"])
    assert payload == {"export_id": started["id"]}  # DSR-13: no user id in the workflow
    state = _run(world, payload)
    assert state["collected"] == {"items": 2, "files": 1, "page": 1, "more": False}
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


def test_dsr1_the_email_carries_the_route_and_each_download_is_signed_afresh_until_retention_ends(monkeypatch):
    """A presigned URL signed in Lambda dies with the role's credentials: the e-mail names the route;
    the route signs a 5-minute URL per download while the profile keeps the archive (7 days here)."""
    from datetime import timedelta

    from chalicelib import clock
    from chalicelib.errors import Conflict, Gone

    world = _world()
    started = world.service.request_export("u1")
    with pytest.raises(Conflict):
        world.service.export_download("u1", started["id"])
    _run(world, world.exports.started[-1][1])
    ((_, _, body),) = [m for m in world.outbox.sent if "export is ready" in m[1]]
    assert f"https://api.invalid/me/exports/{started['id']}/download" in body
    assert "exports.invalid" not in body  # no signed URL in the mail
    link = world.service.export_download("u1", started["id"])
    assert link == {"url": f"https://exports.invalid/exports/u1/{started['id']}.zip?expires=300", "expires_in": 300}
    with pytest.raises(NotFound):
        world.service.export_download("u2", started["id"])
    created = world.records.get_export("u1", started["id"]).created_at
    near_end = created + timedelta(days=7) - timedelta(seconds=60)
    monkeypatch.setattr(clock, "now", lambda: near_end)
    assert world.service.export_download("u1", started["id"])["expires_in"] == 60  # never outlives the archive
    monkeypatch.setattr(clock, "now", lambda: created + timedelta(days=7))
    with pytest.raises(Gone):
        world.service.export_download("u1", started["id"])


def test_dsr1_one_export_in_flight_a_new_one_once_it_finished_or_was_abandoned(monkeypatch):
    """A second export while one is being prepared is refused (429): each sends an e-mail and runs a
    workflow. Once the first is ready or failed, or stuck past the abandon limit, a new one starts."""
    from datetime import timedelta

    from chalicelib import clock
    from chalicelib.errors import RateLimited

    world = _world()
    first = world.service.request_export("u1")
    with pytest.raises(RateLimited) as refused:
        world.service.request_export("u1")
    assert refused.value.retry_after > 0
    assert len(world.exports.started) == 1
    assert len(world.service.user_requests("u1")) == 1  # nothing half-written
    assert world.limiter.checked == [("export", "u1")]  # the daily cap counts exports started only
    world.service.request_export("u2")  # another person is not held up
    _run(world, world.exports.started[0][1])
    second = world.service.request_export("u1")
    world.service.export_fail({**world.exports.started[-1][1], "failure": {"Collect": {"Error": "X"}}})
    third = world.service.request_export("u1")
    later = clock.now() + export.EXPORT_ABANDONED_AFTER + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    fourth = world.service.request_export("u1")  # the third never finished
    assert len({first["id"], second["id"], third["id"], fourth["id"]}) == 4


def test_dsr2_archive_entry_names_are_valid_file_names_everywhere():
    """DSR-2: the archive unpacks on Windows and macOS too: no entry name holds a character those
    file systems refuse (a timestamp's colons), and records keyed by time are grouped by kind."""
    world = _world()
    for second in (1, 2):
        at = f"2026-12-03T05:03:0{second}.123+00:00"
        world.personal.add_item("logs", {"pk": "SIGNAL#iphash", "sk": f"{at}#sign_in#ab", "owner_id": "u1"})
    world.personal.add_item("logs", {"pk": "OPERATOR_AUDIT#2026-12", "sk": "2026-12-03T05:04:00#cd", "owner_id": "u1"})
    world.personal.objects[("content", "uploads/u1/up:2")] = b"original"
    started = world.service.request_export("u1")
    _run(world, world.exports.started[-1][1])
    key = world.records.find_export(started["id"]).object_key  # DSR-13: no key in the workflow's state
    archive = zipfile.ZipFile(io.BytesIO(world.personal.objects[("exports", key)]))
    names = archive.namelist()
    assert [name for name in names if set(name) & set('<>:"\\|?*')] == []
    assert len(json.loads(archive.read("records/logs/signal.json"))) == 2
    assert len(json.loads(archive.read("records/logs/operator_audit.json"))) == 1
    assert archive.read("files/uploads/up-2") == b"original"
    assert world.service.export_status("u1", started["id"])["status"] == "ready"
