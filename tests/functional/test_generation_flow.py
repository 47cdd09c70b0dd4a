"""Generation end to end through the domain: hold + job, the provider, the signed webhook, the
result stored or delivered by profile, logs, failures and time-outs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib import clock, errors, wiring
from chalicelib.domain import generations
from chalicelib.store.models.content import GalleryImage, Generation, GenerationLog
from tests.functional import content_world
from tests.functional.generation_helpers import deliver, fund, run_provider, status, submit
from tests.support.content import (
    PROVIDER_URL,
    embedded_metadata,
    object_keys,
    photo_with_location,
    stored_object,
    uploaded,
)

world = content_world.world  # the fixture


def lasts(record, period: timedelta) -> bool:
    """The TTL is `period` after creation (DynamoDB TTLs have whole seconds)."""
    return abs(record.expires_at - record.created_at - period) < timedelta(seconds=1)


def test_gen1_prompt_and_parameters_reach_only_the_provider(world, written_logs):
    fund("u1", 3)
    job = submit("u1", prompt="secret prompt text", negative_prompt="no fog", aspect_ratio="16:9", style="anime")
    sent = world.emulator.jobs[next(iter(world.emulator.jobs))]
    assert sent.model_id == "fal-ai/flux/schnell"
    assert sent.model_input["prompt"] == "secret prompt text, anime style"
    assert sent.model_input["negative_prompt"] == "no fog"
    assert sent.model_input["image_size"] == "landscape_16_9"
    assert sent.webhook_url.startswith(f"http://api.test/webhooks/providers/fal/{job['id']}.")
    assert [url.split("?")[0] for _, url in world.http.calls] == [f"{PROVIDER_URL}/fal-ai/flux/schnell"]
    world.emulator.flush()
    for call in world.delivered:
        deliver(*call)
    logged = written_logs.getvalue()
    assert "secret prompt text" not in logged  # our logs never carry it


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_cnt3_kaleipix_result_is_copied_into_the_gallery(world, aws):
    fund("u1", 2)
    job = submit("u1")
    assert status("u1", job["id"])["status"] == "queued"
    assert run_provider(world) == [{"status": "completed", "changed": True}]
    done = status("u1", job["id"])
    assert done["status"] == "completed"
    assert done["gallery_id"] == job["id"]
    assert object_keys(aws, "generated/") == [f"generated/u1/{job['id']}"]
    image = wiring.content().image("u1", job["id"])
    assert (image.image_format, int(image.width), int(image.height)) == ("PNG", 64, 64)
    assert wiring.ledger().balance("u1") == 1
    assert wiring.ledger().hold_state(job["id"]) == "committed"


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_cnt7_a_provider_result_is_stored_re_encoded_with_the_type_it_really_has(world, aws):
    """The provider's file (here JPEG with a location, served as .png) is not stored as sent."""
    fund("u1", 1)
    job = submit("u1")
    world.emulator.flush()
    [rendered] = world.emulator.jobs.values()
    rendered.output = photo_with_location("JPEG", (12, 7), orientation=6)
    assert [deliver(*call) for call in world.delivered] == [{"status": "completed", "changed": True}]
    stored = stored_object(aws, f"generated/u1/{job['id']}")
    assert embedded_metadata(stored["body"])["exif"] == {}
    assert stored["content_type"] == "image/jpeg"
    image = wiring.content().image("u1", job["id"])
    assert (image.image_format, image.content_type, int(image.width), int(image.height)) == (
        "JPEG",
        "image/jpeg",
        7,
        12,
    )


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_cnt3_promptpixels_generation_leaves_no_stored_image(world, aws, monkeypatch):
    fund("u1", 2)
    job = submit("u1", prompt="a red kite")
    run_provider(world)
    done = status("u1", job["id"])
    assert done["status"] == "completed"
    assert done["result_url"] == f"http://api.test/generations/{job['id']}/result"
    assert object_keys(aws, "generated/") == []
    assert list(GalleryImage.scan(GalleryImage.sk.startswith("IMG#"))) == []
    later = clock.now() + generations.DELIVERY_TIME + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert "result_url" not in status("u1", job["id"])


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_cnt2_promptpixels_source_upload_is_deleted_when_processing_completes(world, aws):
    fund("u1", 2)
    upload = uploaded(aws, "u1", "JPEG", (20, 20))
    job = submit("u1", source_upload_id=upload["id"])
    sent = next(iter(world.emulator.jobs.values()))
    assert sent.model_input["image_url"]  # a short-lived GET of the user's own upload
    assert object_keys(aws, "uploads/u1/") == [f"uploads/u1/{upload['id']}"]
    run_provider(world)
    assert status("u1", job["id"])["status"] == "completed"
    assert object_keys(aws, "uploads/") == []
    assert wiring.content().upload("u1", upload["id"]) is None


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_cnt2_kaleipix_source_upload_is_kept_after_generation(world, aws):
    fund("u1", 2)
    upload = uploaded(aws, "u1")
    submit("u1", source_upload_id=upload["id"])
    run_provider(world)
    assert object_keys(aws, "uploads/u1/") == [f"uploads/u1/{upload['id']}"]


def test_cnt1_another_users_upload_cannot_be_a_source(world, aws):
    fund("thief", 2)
    upload = uploaded(aws, "owner")
    with pytest.raises(errors.NotFound):
        submit("thief", source_upload_id=upload["id"])
    assert world.emulator.jobs == {}
    assert wiring.ledger().balance("thief") == 2


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_gen2_kaleipix_generation_log_is_kept_twelve_months(world):
    fund("u1", 1)
    job = submit("u1", prompt="log me", model="flux-dev")
    [log] = list(GenerationLog.query("USER#u1"))
    assert (log.user_id, log.prompt, log.model, log.gen_id) == ("u1", "log me", "flux-dev", job["id"])
    assert lasts(log, timedelta(days=365))
    run_provider(world)
    assert Generation.get(*Generation.key(job["id"])).prompt == "log me"  # prompt history: until the user deletes


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_gen2_promptpixels_prompts_are_logged_only_temporarily(world):
    fund("u1", 1)
    job = submit("u1", prompt="temporary")
    [log] = list(GenerationLog.query("USER#u1"))
    assert lasts(log, timedelta(days=30))
    record = Generation.get(*Generation.key(job["id"]))
    assert record.prompt == "temporary"
    assert lasts(record, timedelta(days=1))
    run_provider(world)
    assert Generation.get(*Generation.key(job["id"])).prompt is None  # gone once processed


def test_gen3_forged_stale_and_unsigned_webhooks_change_nothing(world, monkeypatch):
    fund("u1", 1)
    job = submit("u1")
    world.emulator.flush()
    [(url, headers, body)] = world.delivered
    forged_body = body.replace(b'"status": "OK"', b'"status": "ERROR"')
    stale = world.emulator.sign(json.loads(body)["request_id"], body, timestamp=int(clock.now().timestamp()) - 301)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    impostor = Ed25519PrivateKey.generate()
    wrong_key = dict(headers)
    message_parts = [
        headers[k] for k in ("X-Fal-Webhook-Request-Id", "X-Fal-Webhook-User-Id", "X-Fal-Webhook-Timestamp")
    ]
    import hashlib

    message = "\n".join([*message_parts, hashlib.sha256(body).hexdigest()]).encode()
    wrong_key["X-Fal-Webhook-Signature"] = impostor.sign(message).hex()
    attempts = [
        (url, headers, forged_body),  # body changed after signing
        (url, stale, body),  # signed 301 s ago
        (url, {"Content-Type": "application/json"}, body),  # unsigned
        (url, wrong_key, body),  # signed by someone else
        (url.rsplit(".", 1)[0] + ".not-the-token", headers, body),  # genuine, but not our job's URL
    ]
    for attempt in attempts:
        with pytest.raises(errors.SignatureInvalid):
            deliver(*attempt)
    assert status("u1", job["id"])["status"] == "queued"
    assert wiring.ledger().hold_state(job["id"]) == "held"
    assert deliver(url, headers, body) == {"status": "completed", "changed": True}
    assert deliver(url, headers, body) == {"status": "completed", "changed": False}  # replay
    assert wiring.ledger().balance("u1") == 0


def test_gen3_failed_job_releases_its_hold_and_a_late_success_changes_nothing(world):
    fund("u1", 1)
    job = submit("u1", prompt="this will fail")
    emulator = world.emulator
    rid = next(iter(emulator.jobs))
    emulator.jobs[rid].error = "worker crashed"
    emulator.jobs[rid].status = "COMPLETED"
    failed_body = emulator.webhook_body(emulator.jobs[rid])
    emulator.jobs[rid].error = None
    emulator.jobs[rid].status = "IN_QUEUE"
    emulator.flush()
    [(url, ok_headers, ok_body)] = world.delivered
    assert deliver(url, emulator.sign(rid, failed_body), failed_body) == {"status": "failed", "changed": True}
    assert deliver(url, ok_headers, ok_body) == {"status": "failed", "changed": False}
    assert wiring.ledger().balance("u1") == 1
    assert wiring.ledger().hold_state(job["id"]) == "released"
    assert status("u1", job["id"])["failure"] == "provider_failed"


def test_gen3_timed_out_job_releases_its_hold(world, monkeypatch):
    fund("u1", 1)
    job = submit("u1")
    later = clock.now() + generations.JOB_TIMEOUT + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert status("u1", job["id"])["status"] == "failed"
    assert wiring.ledger().balance("u1") == 1


def test_gen3_deadline_ttl_delete_times_out_the_job(world):
    from chalicelib.events.content_ttl import expired_deadline

    fund("u1", 1)
    job = submit("u1")
    expired_deadline({"sk": "DEADLINE", "gen_id": job["id"]})
    assert wiring.ledger().hold_state(job["id"]) == "released"
    assert Generation.get(*Generation.key(job["id"])).status == "failed"


def test_gen1_unknown_model_is_refused_before_anything_is_written(world):
    fund("u1", 1)
    with pytest.raises(errors.InvalidInput):
        submit("u1", model="some-other-model")
    assert world.emulator.jobs == {}
    assert list(Generation.scan(Generation.sk.startswith(Generation.SK_PREFIX))) == []


def test_generation_without_credits_writes_nothing_and_calls_no_provider(world):
    with pytest.raises(errors.InsufficientCredits):
        submit("broke")
    assert world.emulator.jobs == {}
    assert list(Generation.scan(Generation.sk.startswith(Generation.SK_PREFIX))) == []
    assert list(GenerationLog.scan()) == []


def test_dsr5_restricted_or_objecting_users_cannot_generate(world):
    fund("u1", 2)
    with pytest.raises(errors.Restricted):
        submit("u1", restricted=True)
    with pytest.raises(errors.Restricted):
        submit("u1", objections={"generation"})
    assert world.emulator.jobs == {}
    assert wiring.ledger().balance("u1") == 2


def test_provider_down_at_submit_returns_the_credits(world, monkeypatch):
    fund("u1", 1)

    def refuse(*args, **kwargs):
        raise errors.UpstreamUnavailable("down")

    monkeypatch.setattr(wiring.provider(), "submit", refuse)
    with pytest.raises(errors.UpstreamUnavailable):
        submit("u1")
    [job] = list(Generation.scan(Generation.sk.startswith(Generation.SK_PREFIX)))
    assert job.status == "failed"
    assert wiring.ledger().balance("u1") == 1
