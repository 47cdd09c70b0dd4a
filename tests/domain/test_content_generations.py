"""Generation on the in-memory ports (GEN-1, GEN-2, GEN-3, GEN-4, CNT-3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock, errors
from chalicelib.domain import generations
from chalicelib.domain.generations import GenerationParams
from chalicelib.domain.ports.content import Provenance
from chalicelib.profile.schema import Category, JobKind
from tests.domain.content_kit import COSTS, kit, png
from tests.fakes.content import FakeMarker

PARAMS = GenerationParams(prompt="a lighthouse at dusk", model="flux-schnell", negative_prompt="fog")


def submitted(k, user_id: str = "u1", credits: int = 1, **params) -> dict:
    k.holds.grant(user_id, credits, f"grant-{user_id}-{len(k.provider.submitted)}", "test")
    values = {"prompt": PARAMS.prompt, "model": PARAMS.model, "negative_prompt": PARAMS.negative_prompt, **params}
    return k.service.submit(user_id, GenerationParams(**values), restricted=False, objections=frozenset())


def deliver(k, gen_id: str, **callback) -> dict:
    return k.service.provider_delivery("fal", *k.provider.callback(gen_id, **callback))


def test_gen1_a_job_holds_its_credit_and_sends_only_the_job_to_the_listed_provider():
    k = kit()
    job = submitted(k)
    assert (job["status"], job["cost"], job["prompt"]) == ("queued", COSTS[JobKind.TEXT_TO_IMAGE], PARAMS.prompt)
    assert k.holds.hold_state(job["id"]) == "held"
    assert k.holds.balance("u1") == 0
    [(request, webhook)] = k.provider.submitted
    assert (request.prompt, request.negative_prompt, request.gen_id) == (PARAMS.prompt, "fog", job["id"])
    assert webhook.startswith(f"https://api.test/webhooks/providers/fal/{job['id']}.")
    assert k.records.job(job["id"]).provider_request_id == f"req-{job['id']}"


def test_gen1_without_credits_nothing_reaches_the_provider():
    k = kit()
    with pytest.raises(errors.InsufficientCredits):
        k.service.submit("u1", PARAMS, restricted=False, objections=frozenset())
    assert k.provider.submitted == []


def test_dsr5_a_restricted_account_or_an_objection_stops_generation():
    k = kit()
    with pytest.raises(errors.Restricted):
        k.service.submit("u1", PARAMS, restricted=True, objections=frozenset())
    with pytest.raises(errors.Restricted):
        k.service.submit("u1", PARAMS, restricted=False, objections=frozenset({"generation"}))


def test_gen1_a_provider_missing_from_the_policy_or_an_unknown_model_is_refused():
    k = kit()
    k.provider.title = "Unlisted Cloud"
    with pytest.raises(errors.UpstreamUnavailable):
        submitted(k)
    k = kit()
    with pytest.raises(errors.InvalidInput):
        submitted(k, model="no-such-model")


def test_gen1_a_provider_that_is_down_costs_nothing():
    k = kit()
    k.provider.down = True
    with pytest.raises(errors.UpstreamUnavailable):
        submitted(k)
    [job] = [k.records.job(gen_id) for gen_id in k.holds.holds]
    assert (job.status, job.failure) == ("failed", "provider_unavailable")
    assert k.holds.balance("u1") == 1


@pytest.mark.parametrize("profile_name", ["kaleipix", "pixera"])
def test_gen2_the_generation_log_is_kept_where_the_profile_keeps_one(profile_name):
    k = kit(profile_name)
    submitted(k)
    logged = k.profile.stores(Category.GENERATION_LOGS)
    assert [entry.prompt for entry in k.records.logs] == ([PARAMS.prompt] if logged else [])


def test_cnt3_a_stored_result_is_charged_once_and_lands_in_the_gallery_reencoded():
    k = kit()
    job = submitted(k)
    assert deliver(k, job["id"], image=png(comment=b"provider metadata")) == {"status": "completed", "changed": True}
    assert deliver(k, job["id"], image=png()) == {"status": "completed", "changed": False}
    assert k.holds.hold_state(job["id"]) == "committed"
    view = k.service.generation_status("u1", job["id"])
    assert (view["status"], view["gallery_id"], view["width"]) == ("completed", job["id"], 8)
    bucket, key = k.objects.location(Category.GENERATED_IMAGES, "u1", job["id"])
    assert b"provider metadata" not in k.objects.read(bucket, key, max_bytes=1 << 20).data
    assert k.service.get_image("u1", job["id"])["format"] == "PNG"


def test_cnt3_an_invalid_result_fails_the_job_and_returns_the_credit():
    k = kit()
    job = submitted(k)
    assert deliver(k, job["id"], image=b"not an image") == {"status": "failed", "changed": True}
    assert k.holds.balance("u1") == 1
    assert k.objects.keys() == []


def test_cnt3_gen4_an_unstored_result_is_delivered_marked_for_a_short_time_and_never_kept(monkeypatch):
    k = kit("promptpixels")
    job = submitted(k)
    deliver(k, job["id"], image=png(comment=b"provider metadata"))
    view = k.service.generation_status("u1", job["id"])
    assert view["result_url"] == f"https://api.test/generations/{job['id']}/result"
    assert "prompt" not in view  # kept only while the job runs
    media = k.service.delivered_result("u1", job["id"])
    provenance = Provenance("flux-schnell", "fal.ai")
    assert media.content_type == "image/png"
    assert media.data.endswith(FakeMarker.trailer(provenance))  # GEN-4: marked on the way out
    assert b"provider metadata" not in media.data
    assert k.objects.keys() == []  # CNT-3: no copy, before or after delivery
    with pytest.raises(errors.NotFound):
        k.service.delivered_result("u2", job["id"])
    later = clock.now() + generations.DELIVERY_TIME + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert "result_url" not in k.service.generation_status("u1", job["id"])
    with pytest.raises(errors.Gone):
        k.service.delivered_result("u1", job["id"])


def test_gen4_a_stored_result_is_kept_marked_with_the_model_and_provider_only():
    k = kit()
    job = submitted(k)
    deliver(k, job["id"], image=png())
    bucket, key = k.objects.location(Category.GENERATED_IMAGES, "u1", job["id"])
    provenance = Provenance("flux-schnell", "fal.ai")
    assert k.objects.read(bucket, key, max_bytes=1 << 20).data.endswith(FakeMarker.trailer(provenance))
    assert k.marker.marked == [("image/png", provenance)]


def test_a_source_upload_is_deleted_on_completion_where_the_profile_says_so():
    k = kit("pictomancer")
    upload = k.service.start_upload("u1", "image/png")
    bucket, key = k.objects.location(Category.UPLOADS, "u1", upload["id"])
    k.objects.put(bucket, key, png(), content_type="image/png")
    k.service.process_uploaded_object(key)
    job = submitted(k, source_upload_id=upload["id"])
    [(request, _)] = k.provider.submitted
    assert request.source_image_url.startswith("https://content.objects.test/uploads/u1/")
    deliver(k, job["id"], image=png())
    assert k.records.upload("u1", upload["id"]) is None
    assert k.objects.keys("uploads/") == []


def test_cnt1_a_source_upload_must_be_ones_own_and_checked():
    k = kit()
    upload = k.service.start_upload("u2", "image/png")
    with pytest.raises(errors.NotFound):
        submitted(k, source_upload_id=upload["id"])
    own = k.service.start_upload("u1", "image/png")
    with pytest.raises(errors.Conflict):
        submitted(k, source_upload_id=own["id"])


def test_gen1_a_failed_job_returns_its_credit():
    k = kit()
    job = submitted(k)
    assert deliver(k, job["id"], succeeded=False) == {"status": "failed", "changed": True}
    assert k.holds.balance("u1") == 1
    assert deliver(k, job["id"], image=png()) == {"status": "failed", "changed": False}


def test_gen1_a_job_that_never_hears_back_times_out_and_returns_its_credit(monkeypatch):
    k = kit()
    job = submitted(k)
    later = clock.now() + generations.JOB_TIMEOUT + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    view = k.service.generation_status("u1", job["id"])
    assert (view["status"], view["failure"]) == ("failed", "timed_out")
    assert k.holds.balance("u1") == 1


def test_gen1_the_deadline_fails_an_open_job_and_leaves_a_finished_one():
    k = kit()
    open_job, done = submitted(k), submitted(k)
    deliver(k, done["id"], image=png())
    k.service.deadline_passed(open_job["id"])
    k.service.deadline_passed(done["id"])
    assert k.records.job(open_job["id"]).failure == "timed_out"
    assert k.records.job(done["id"]).status == "completed"


def test_gen3_forged_foreign_and_misdirected_callbacks_change_nothing():
    k = kit()
    job_a, job_b = submitted(k), submitted(k)
    token_a, headers, body = k.provider.callback(job_a["id"])
    with pytest.raises(errors.SignatureInvalid):  # not signed by the provider
        k.service.provider_delivery("fal", token_a, {}, body)
    with pytest.raises(errors.SignatureInvalid):  # a secret we never issued
        k.service.provider_delivery("fal", f"{job_a['id']}.guess", headers, body)
    with pytest.raises(errors.SignatureInvalid):  # job B's genuine callback posted to job A's URL
        k.service.provider_delivery("fal", token_a, *k.provider.callback(job_b["id"])[1:])
    with pytest.raises(errors.NotFound):
        k.service.provider_delivery("replicate", token_a, headers, body)
    assert {k.holds.hold_state(job_a["id"]), k.holds.hold_state(job_b["id"])} == {"held"}


def test_cnt1_another_users_job_is_not_found():
    k = kit()
    job = submitted(k)
    with pytest.raises(errors.NotFound):
        k.service.generation_status("u2", job["id"])
