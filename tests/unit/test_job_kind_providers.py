"""Every job kind over each provider's real protocol: the model each kind runs, the input it gets
(nothing about the person: GEN-1), and how its result is read back (an image, an MP4, weights)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.domain.ports.content import JobRequest
from chalicelib.gateways.providers.fal import FalProvider
from chalicelib.gateways.providers.replicate import ReplicateProvider
from chalicelib.gateways.providers.runpod import RunPodProvider
from chalicelib.profile.schema import JobKind
from tests.unit.test_content_providers import FakeHttp, _fal_signed, _keypair
from tests.unit.test_content_providers import fixed_clock as fixed_clock  # the signatures' time (autouse)

BASE = JobRequest(
    gen_id="g1",
    model="",
    prompt="on a bike",
    negative_prompt=None,
    aspect_ratio="1:1",
    style="none",
    safety_level="standard",
)
SOURCE = "https://objects.test/uploads/u1/up1?sig"
ARCHIVE = "https://objects.test/training/u1/g1?sig"
REQUESTS = {
    JobKind.UPSCALE: replace(BASE, kind=JobKind.UPSCALE, prompt="", source_image_url=SOURCE, scale=4),
    JobKind.EDIT: replace(BASE, kind=JobKind.EDIT, source_image_url=SOURCE),
    JobKind.CHARACTER_TRAINING: replace(
        BASE, kind=JobKind.CHARACTER_TRAINING, prompt="", inputs_url=ARCHIVE, trigger_word="pkabc"
    ),
    JobKind.CHARACTER_IMAGE: replace(
        BASE, kind=JobKind.CHARACTER_IMAGE, character_ref="https://w.test/lora.safetensors", trigger_word="pkabc"
    ),
    JobKind.VIDEO_RENDER: replace(BASE, kind=JobKind.VIDEO_RENDER, prompt="", inputs_url=ARCHIVE, fps=12),
}


def _submitted(provider, http, kind: JobKind) -> tuple[str, dict]:
    provider.submit(replace(REQUESTS[kind], model=provider.tools[kind]), "https://api.test/hook")
    _, url, _, body = http.sent[-1]
    return url, json.loads(body)


# -- fal --------------------------------------------------------------------------------------------
def _fal() -> tuple[FalProvider, FakeHttp]:
    models = FalProvider.tools.values()
    routes = {("POST", f"https://fal.test/{model}"): (200, {"request_id": "r1"}) for model in models}
    http = FakeHttp(routes)
    return FalProvider(http=http, api_key=lambda: "key", account_id=lambda: "acct", base_url="https://fal.test"), http


@pytest.mark.parametrize(
    ("kind", "model", "expected"),
    [
        (JobKind.UPSCALE, "fal-ai/esrgan", {"image_url": SOURCE, "scale": 4}),
        (JobKind.EDIT, "fal-ai/flux/dev/image-to-image", {"image_url": SOURCE, "prompt": "on a bike"}),
        (
            JobKind.CHARACTER_TRAINING,
            "fal-ai/flux-lora-fast-training",
            {"images_data_url": ARCHIVE, "trigger_word": "pkabc"},
        ),
        (
            JobKind.CHARACTER_IMAGE,
            "fal-ai/flux-lora",
            {"prompt": "pkabc on a bike", "loras": [{"path": "https://w.test/lora.safetensors", "scale": 1.0}]},
        ),
        (JobKind.VIDEO_RENDER, "pixelkeep/frames-to-mp4", {"images_data_url": ARCHIVE, "fps": 12}),
    ],
)
def test_fal_runs_each_kind_on_its_model_with_its_input(kind, model, expected):
    provider, http = _fal()
    url, body = _submitted(provider, http, kind)
    assert url.split("?")[0] == f"https://fal.test/{model}"
    assert "fal_webhook=" in url
    assert expected.items() <= body.items()


@pytest.mark.parametrize("kind", list(FalProvider.tools))
def test_gen5_fal_keeps_no_payload_of_any_kind_and_keeps_only_a_characters_weights(kind):
    """Every kind's submit asks fal to keep no payload; output files expire after an hour, except a
    training run's weights, which the character draws with until it is deleted (the character's
    deletion and erasure delete them through `delete_request`)."""
    provider, http = _fal()
    _submitted(provider, http, kind)
    headers = http.sent[-1][2]
    assert headers["X-Fal-Store-IO"] == "0"
    lifetime = json.loads(headers["X-Fal-Object-Lifecycle-Preference"])["expiration_duration_seconds"]
    assert lifetime == (None if kind == JobKind.CHARACTER_TRAINING else 3600)


@pytest.mark.parametrize(
    ("payload", "result_url", "model_ref"),
    [
        ({"image": {"url": "https://cdn.test/up.png"}}, "https://cdn.test/up.png", None),
        ({"video": {"url": "https://cdn.test/r.mp4", "content_type": "video/mp4"}}, "https://cdn.test/r.mp4", None),
        ({"diffusers_lora_file": {"url": "https://cdn.test/w.safetensors"}}, None, "https://cdn.test/w.safetensors"),
    ],
)
def test_gen3_fal_reads_an_upscale_a_render_and_a_training_result_from_signed_callbacks(payload, result_url, model_ref):
    key, jwk = _keypair()
    http = FakeHttp({("GET", "https://fal.test/.well-known/jwks.json"): (200, {"keys": [jwk]})})
    provider = FalProvider(http=http, api_key=lambda: "k", account_id=lambda: "acct", base_url="https://fal.test")
    body = json.dumps({"request_id": "r1", "status": "OK", "payload": payload}).encode()
    delivery = provider.read_delivery(_fal_signed(key, body), body)
    assert (delivery.succeeded, delivery.result_url, delivery.model_ref) == (True, result_url, model_ref)


# -- Replicate --------------------------------------------------------------------------------------
def test_replicate_runs_upscale_edit_and_character_images_on_official_models():
    routes = {
        ("POST", f"https://replicate.test/v1/models/{model}/predictions"): (201, {"id": "p1"})
        for model in ReplicateProvider.tools.values()
    }
    http = FakeHttp(routes)
    provider = ReplicateProvider(
        http=http, api_token=lambda: "t", webhook_secret=lambda: "whsec_", base_url="https://replicate.test"
    )
    assert set(provider.tools) == {JobKind.UPSCALE, JobKind.EDIT, JobKind.CHARACTER_IMAGE}
    _, upscale = _submitted(provider, http, JobKind.UPSCALE)
    assert upscale["input"] == {"image": SOURCE, "upscale_factor": "4x", "output_format": "png"}
    _, edit = _submitted(provider, http, JobKind.EDIT)
    assert edit["input"]["input_image"] == SOURCE
    _, character = _submitted(provider, http, JobKind.CHARACTER_IMAGE)
    assert character["input"]["lora_weights"] == "https://w.test/lora.safetensors"
    assert character["input"]["prompt"].startswith("pkabc ")


# -- RunPod -----------------------------------------------------------------------------------------
def test_runpod_sends_each_kind_to_its_endpoint_and_reads_weights_and_videos_from_its_status_api():
    endpoints = RunPodProvider.tools.values()
    routes = {("POST", f"https://runpod.test/v2/{e}/run"): (200, {"id": "job-1"}) for e in endpoints}
    training_status = "https://runpod.test/v2/pixelkeep-train-character/status/job-1"
    render_status = "https://runpod.test/v2/pixelkeep-frames-to-mp4/status/job-1"
    routes[("GET", training_status)] = (200, {"status": "COMPLETED", "output": {"weights_url": "https://rp.test/w"}})
    routes[("GET", render_status)] = (200, {"status": "COMPLETED", "output": {"video_url": "https://rp.test/r.mp4"}})
    http = FakeHttp(routes)
    provider = RunPodProvider(http=http, api_key=lambda: "rp", base_url="https://runpod.test")
    url, body = _submitted(provider, http, JobKind.CHARACTER_TRAINING)
    assert url == "https://runpod.test/v2/pixelkeep-train-character/run"
    assert body["input"] == {
        "task": "character-training",
        "safety_level": "standard",
        "images_zip_url": ARCHIVE,
        "trigger_word": "pkabc",
    }
    unsigned = provider.read_delivery({}, b'{"id": "job-1"}')
    trained = provider.confirm(unsigned, "pixelkeep-train-character")
    assert (trained.succeeded, trained.model_ref) == (True, "https://rp.test/w")
    rendered = provider.confirm(unsigned, "pixelkeep-frames-to-mp4")
    assert (rendered.succeeded, rendered.result_url) == (True, "https://rp.test/r.mp4")
