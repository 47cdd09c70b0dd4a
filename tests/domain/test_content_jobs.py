"""Job kinds on the in-memory ports: upscale, edit, character training and images, MP4 renders;
their prices (PAY-2), their inputs' retention (CNT-5, CNT-6, CNT-8), their listing and progress."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest

from chalicelib import clock, errors, metrics
from chalicelib.domain import jobs
from chalicelib.domain.generations import GenerationParams
from chalicelib.domain.ports.content import Provenance
from chalicelib.profile.schema import Category, JobKind
from tests.domain.content_kit import COSTS, kit, png
from tests.fakes.content import FakeMarker
from tests.support.media import decoded, mp4


def ready_upload(k, user_id: str = "u1") -> str:
    upload = k.service.start_upload(user_id, "image/png")
    bucket, key = k.objects.location(Category.UPLOADS, user_id, upload["id"])
    k.objects.put(bucket, key, png(), content_type="image/png")
    k.service.process_uploaded_object(key)
    return upload["id"]


def run(k, user_id: str = "u1", credits: int = 100, **params) -> dict:
    k.holds.grant(user_id, credits, f"grant-{user_id}-{len(k.provider.submitted)}-{credits}", "test")
    return k.service.submit(user_id, GenerationParams(**params), restricted=False, objections=frozenset())


def deliver(k, gen_id: str, **callback) -> dict:
    return k.service.provider_delivery("fal", *k.provider.callback(gen_id, **callback))


def sent(k, gen_id: str):
    return next(request for request, _ in k.provider.submitted if request.gen_id == gen_id)


def train(k, user_id: str = "u1", photos: int = 4) -> dict:
    ids = tuple(ready_upload(k, user_id) for _ in range(photos))
    return run(k, user_id, kind=JobKind.CHARACTER_TRAINING, input_upload_ids=ids, name="Me at the beach")


# -- kinds and prices ---------------------------------------------------------------------------
def test_pay2_each_kind_costs_its_catalogue_price_and_the_ledger_names_the_tool():
    k = kit("promptpixels")
    k.holds.grant("u1", 10, "grant", "test")
    upscale = run(k, credits=0, kind=JobKind.UPSCALE, source_upload_id=ready_upload(k), scale=2)
    picture = run(k, credits=0, prompt="a fox", model="flux-schnell")
    assert (upscale["kind"], upscale["cost"]) == ("upscale", COSTS[JobKind.UPSCALE])
    assert (picture["kind"], picture["cost"]) == ("text-to-image", COSTS[JobKind.TEXT_TO_IMAGE])
    assert k.holds.holds[upscale["id"]].reason == "upscale"
    assert k.holds.holds[picture["id"]].reason == "text-to-image"
    assert k.holds.balance("u1") == 10 - COSTS[JobKind.UPSCALE] - COSTS[JobKind.TEXT_TO_IMAGE]


def test_a_kind_the_profile_does_not_offer_is_refused_before_anything_is_held():
    k = kit("kaleipix")  # text-to-image only
    with pytest.raises(errors.InvalidInput):
        run(k, kind=JobKind.VIDEO_RENDER, input_upload_ids=(ready_upload(k), ready_upload(k)), fps=5)
    assert k.holds.holds == {}
    assert k.provider.submitted == []


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (JobKind.UPSCALE, {"scale": 2}),  # no source
        (JobKind.UPSCALE, {"scale": 3, "source": True}),
        (JobKind.EDIT, {"source": True}),  # no prompt
        (JobKind.CHARACTER_IMAGE, {"prompt": "x"}),  # no character
        (JobKind.CHARACTER_TRAINING, {"inputs": 2}),  # too few photos
        (JobKind.CHARACTER_TRAINING, {"inputs": 4, "no_name": True}),
        (JobKind.TEXT_TO_IMAGE, {"prompt": "x", "model": "flux-schnell", "inputs": 2}),
    ],
)
def test_each_kind_refuses_what_it_does_not_take_and_holds_nothing(kind, params):
    k = kit("promptpixels")
    values: dict = {"kind": kind, "prompt": params.get("prompt", ""), "model": params.get("model", "")}
    if params.get("source"):
        values["source_upload_id"] = ready_upload(k)
    if params.get("inputs"):
        values["input_upload_ids"] = tuple(ready_upload(k) for _ in range(params["inputs"]))
    if kind == JobKind.CHARACTER_TRAINING and not params.get("no_name"):
        values["name"] = "Me"
    values["scale"] = params.get("scale")
    with pytest.raises(errors.InvalidInput):
        run(k, **values)
    assert k.holds.holds == {}
    assert k.objects.keys("training/") == []


# -- upscale and edit (CNT-8) -------------------------------------------------------------------
@pytest.mark.parametrize("kind", [JobKind.UPSCALE, JobKind.EDIT])
def test_cnt8_the_image_sent_for_upscaling_or_editing_is_deleted_when_the_job_completes(kind):
    k = kit("promptpixels")
    upload_id = ready_upload(k)
    job = run(k, kind=kind, source_upload_id=upload_id, scale=4 if kind == JobKind.UPSCALE else None, prompt="sharper")
    request = sent(k, job["id"])
    assert request.source_image_url.startswith("https://content.objects.test/uploads/u1/")
    assert (request.kind, request.model) == (kind, k.provider.tools[kind])
    assert k.objects.keys("uploads/") == [f"uploads/u1/{upload_id}"]  # kept while the job runs
    assert deliver(k, job["id"], image=png((16, 12))) == {"status": "completed", "changed": True}
    assert k.records.upload("u1", upload_id) is None
    assert k.objects.keys("uploads/") == []
    media = k.service.delivered_result("u1", job["id"])  # PromptPixels keeps no result: delivered marked
    assert media.data.endswith(FakeMarker.trailer(Provenance(k.provider.tools[kind], "fal.ai")))


# -- character training (CNT-5) -----------------------------------------------------------------
def test_cnt5_training_photos_live_only_in_the_jobs_archive_while_it_runs_then_go():
    k = kit("promptpixels")
    ids = tuple(ready_upload(k) for _ in range(5))
    job = run(k, kind=JobKind.CHARACTER_TRAINING, input_upload_ids=ids, name="Me at the beach")
    archive_key = f"training/u1/{job['id']}"
    assert k.objects.keys("uploads/") == []  # the uploads were only the way in
    assert k.objects.keys("training/") == [archive_key]
    bucket, _ = k.objects.location(Category.TRAINING_IMAGES, "u1", job["id"])
    with zipfile.ZipFile(io.BytesIO(k.objects.read(bucket, archive_key, max_bytes=1 << 20).data)) as bundle:
        assert len(bundle.namelist()) == 5
    request = sent(k, job["id"])
    assert request.inputs_url.startswith(f"https://content.objects.test/{archive_key}")
    assert request.trigger_word
    assert "beach" not in request.trigger_word  # the owner's name for it stays here
    assert job["progress"] == {"percent": 0, "estimated": True}

    assert deliver(k, job["id"], model_ref="https://weights.test/lora.safetensors")["status"] == "completed"
    assert k.objects.keys("training/") == []
    view = k.service.generation_status("u1", job["id"])
    assert (view["character_id"], view["progress"]) == (job["id"], {"percent": 100, "estimated": False})
    [character] = k.service.list_characters("u1")["items"]
    assert (character["id"], character["name"]) == (job["id"], "Me at the beach")


@pytest.mark.parametrize("ending", ["provider_failed", "timed_out", "cancelled"])
def test_cnt5_training_photos_go_when_training_fails_times_out_or_is_cancelled(ending, monkeypatch):
    k = kit("promptpixels")
    job = train(k)
    assert k.objects.keys("training/") != []
    if ending == "provider_failed":
        deliver(k, job["id"], succeeded=False)
    elif ending == "timed_out":
        later = clock.now() + jobs.timeout(JobKind.CHARACTER_TRAINING) + timedelta(seconds=1)
        monkeypatch.setattr(clock, "now", lambda: later)
        k.service.deadline_passed(job["id"])
    else:
        k.service.cancel_generation("u1", job["id"])
    view = k.service.generation_status("u1", job["id"])
    assert (view["status"], view["failure"]) == ("failed", ending)
    assert k.objects.keys("training/") == []
    assert k.service.list_characters("u1")["items"] == []
    assert k.holds.balance("u1") == 100  # nothing was spent


def test_a_training_result_without_weights_fails_and_costs_nothing():
    k = kit("promptpixels")
    job = train(k)
    assert deliver(k, job["id"]) == {"status": "failed", "changed": True}
    assert k.holds.balance("u1") == 100
    assert k.objects.keys("training/") == []


def test_a_character_is_drawn_only_by_its_owner_until_they_delete_it():
    k = kit("promptpixels")
    trained = train(k)
    deliver(k, trained["id"], model_ref="https://weights.test/lora.safetensors")
    with pytest.raises(errors.NotFound):
        run(k, "u2", kind=JobKind.CHARACTER_IMAGE, character_id=trained["id"], prompt="on a bike")
    picture = run(k, kind=JobKind.CHARACTER_IMAGE, character_id=trained["id"], prompt="on a bike")
    request = sent(k, picture["id"])
    assert request.character_ref == "https://weights.test/lora.safetensors"
    assert request.trigger_word == sent(k, trained["id"]).trigger_word
    k.service.delete_character("u1", trained["id"])
    with pytest.raises(errors.NotFound):
        run(k, kind=JobKind.CHARACTER_IMAGE, character_id=trained["id"], prompt="again")
    with pytest.raises(errors.NotFound):
        k.service.delete_character("u1", trained["id"])


def test_gen5_deleting_a_character_deletes_its_weights_at_the_provider():
    """The weights outlive the training job's records, so the character keeps the request that made
    them; deleting the character asks the provider to delete that request's output files."""
    k = kit("promptpixels")
    trained = train(k)
    deliver(k, trained["id"], model_ref="https://weights.test/lora.safetensors")
    assert k.records.character("u1", trained["id"]).provider_request_id == f"req-{trained['id']}"
    k.service.delete_character("u1", trained["id"])
    assert k.provider.deleted == [f"req-{trained['id']}"]


def test_gen5_a_character_the_provider_will_not_delete_stays_listed_for_a_retry():
    k = kit("promptpixels")
    trained = train(k)
    deliver(k, trained["id"], model_ref="https://weights.test/lora.safetensors")
    k.provider.refuses_deletion = True
    with pytest.raises(errors.UpstreamUnavailable):
        k.service.delete_character("u1", trained["id"])
    assert [c["id"] for c in k.service.list_characters("u1")["items"]] == [trained["id"]]


@pytest.fixture
def points():
    seen: list[dict] = []
    metrics.sinks.append(seen.append)
    yield seen
    metrics.sinks.remove(seen.append)


def _counted(points: list[dict]) -> list[tuple]:
    """(metric, value, dimension values) of each data point, in order."""
    counted = []
    for point in points:
        [spec] = point["_aws"]["CloudWatchMetrics"]
        [name] = [m["Name"] for m in spec["Metrics"]]
        dims = tuple(point[d] for d in spec["Dimensions"][0] if d != "service")
        counted.append((name, point[name][0] if isinstance(point[name], list) else point[name], dims))
    return counted


def test_ops7_a_training_run_is_counted_once_as_a_delivery_a_generation_and_its_credits(points):
    k = kit("promptpixels")
    trained = train(k)
    callback = k.provider.callback(trained["id"], model_ref="https://weights.test/lora.safetensors")
    k.service.provider_delivery("fal", *callback)
    k.service.provider_delivery("fal", *callback)  # the provider's retry: a duplicate, no second count
    assert _counted(points) == [
        ("Generations", 1.0, ("completed",)),
        ("CreditsSpent", float(COSTS[JobKind.CHARACTER_TRAINING]), ()),
        ("WebhookDeliveries", 1.0, ("model_provider", "accepted")),
        ("WebhookDeliveries", 1.0, ("model_provider", "duplicate")),
    ]


# -- MP4 renders (CNT-6) ------------------------------------------------------------------------
def test_cnt6_render_frames_are_discarded_once_the_mp4_is_stored_marked():
    k = kit("pixelrender")
    ids = tuple(ready_upload(k) for _ in range(3))
    job = run(k, kind=JobKind.VIDEO_RENDER, input_upload_ids=ids, fps=6)
    assert k.objects.keys("uploads/") == []
    assert k.objects.keys("render-inputs/") == [f"render-inputs/u1/{job['id']}"]
    assert sent(k, job["id"]).fps == 6
    video = mp4(count=3, fps=6)
    assert deliver(k, job["id"], image=video)["status"] == "completed"
    assert k.objects.keys("render-inputs/") == []  # CNT-6
    bucket, key = k.objects.location(Category.GENERATED_IMAGES, "u1", job["id"])
    stored = k.objects.read(bucket, key, max_bytes=1 << 20).data
    assert stored.endswith(FakeMarker.trailer(Provenance(k.provider.tools[JobKind.VIDEO_RENDER], "fal.ai")))
    assert decoded(stored)[0] == 3
    view = k.service.generation_status("u1", job["id"])
    assert (view["gallery_id"], view["width"], view["height"]) == (job["id"], 32, 24)
    assert k.marker.marked[-1][0] == "video/mp4"


def test_a_render_result_that_is_not_an_mp4_fails_and_the_frames_still_go():
    k = kit("pixelrender")
    job = run(k, kind=JobKind.VIDEO_RENDER, input_upload_ids=(ready_upload(k), ready_upload(k)), fps=6)
    assert deliver(k, job["id"], image=png()) == {"status": "failed", "changed": True}
    assert k.objects.keys("render-inputs/") == []
    assert k.objects.keys("generated/") == []


# -- listing ------------------------------------------------------------------------------------
def test_jobs_are_listed_newest_first_per_kind_with_progress_for_long_ones(monkeypatch):
    k = kit("promptpixels")
    start = clock.now()
    moments = iter([start + timedelta(seconds=n) for n in range(1000)])
    monkeypatch.setattr(clock, "now", lambda: next(moments))
    first = run(k, prompt="one", model="flux-schnell")
    training = train(k)
    last = run(k, prompt="two", model="flux-schnell")
    run(k, "u2", prompt="not yours", model="flux-schnell")
    listed = k.service.list_generations("u1", kind=None, limit=2, cursor=None)
    assert [j["id"] for j in listed["items"]] == [last["id"], training["id"]]
    rest = k.service.list_generations("u1", kind=None, limit=2, cursor=listed["next_cursor"])
    assert [j["id"] for j in rest["items"]] == [first["id"]]
    trainings = k.service.list_generations("u1", kind=JobKind.CHARACTER_TRAINING, limit=10, cursor=None)
    assert [(j["id"], "progress" in j) for j in trainings["items"]] == [(training["id"], True)]
    with pytest.raises(errors.InvalidInput):
        k.service.list_generations("u2", kind=None, limit=2, cursor=listed["next_cursor"])


def test_progress_is_an_estimate_that_never_claims_done_while_running(monkeypatch):
    k = kit("promptpixels")
    job = train(k)
    start = clock.now()
    for minutes, percent in ((0, 0), (10, 50), (19, 95), (300, 95)):
        monkeypatch.setattr(clock, "now", lambda m=minutes: start + timedelta(minutes=m))
        assert jobs.progress(k.records.job(job["id"])) == {"percent": percent, "estimated": True}


def test_cnt5_gen5_a_cancelled_job_is_taken_off_the_providers_queue_and_its_payload_deleted():
    k = kit("promptpixels")
    job = train(k)
    k.service.cancel_generation("u1", job["id"])
    request_id = f"req-{job['id']}"
    assert k.provider.cancelled == [request_id]
    assert k.provider.deleted == [request_id]
    # a result the provider delivers anyway is not taken, and costs nothing
    deliver(k, job["id"], model_ref="https://fake/weights.safetensors")
    assert k.service.list_characters("u1")["items"] == []
    assert k.holds.balance("u1") == 100


def test_cnt5_a_cancel_stands_when_the_provider_cannot_be_reached():
    k = kit("promptpixels")
    job = train(k)
    k.provider.down = True
    view = k.service.cancel_generation("u1", job["id"])
    assert (view["status"], view["failure"]) == ("failed", "cancelled")
    assert k.holds.balance("u1") == 100
