"""Job kinds on moto with the embedded provider (fal's protocol) and the real C2PA signer: character
training and images, upscaling and MP4 renders; their inputs' retention (CNT-5, CNT-6, CNT-8), the
marking of every result (GEN-4) and the per-tool ledger (PAY-2)."""

from __future__ import annotations

import io

import pytest

from chalicelib import wiring
from chalicelib.domain.generations import GenerationParams
from chalicelib.profile.schema import JobKind
from tests.functional import content_world
from tests.functional.generation_helpers import fund, run_provider
from tests.support.content import object_keys, stored_object, uploaded
from tests.support.marking import assert_marked_ai_generated
from tests.support.media import decoded

world = content_world.world  # the fixture
USER = "user-7d2e41"


def submit(**params) -> dict:
    return wiring.content_service().submit(USER, GenerationParams(**params), restricted=False, objections=frozenset())


def uploads(aws, count: int, size=(16, 12)) -> tuple[str, ...]:
    return tuple(uploaded(aws, USER, size=size)["id"] for _ in range(count))


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_cnt5_gen4_training_then_a_marked_image_of_the_character(world, aws):
    fund(USER, 30)
    photos = uploads(aws, 4)
    training = submit(kind=JobKind.CHARACTER_TRAINING, input_upload_ids=photos, name="Marisol Vega")
    assert object_keys(aws, "uploads/") == []
    assert object_keys(aws, "training/") == [f"training/{USER}/{training['id']}"]
    [sent] = world.emulator.jobs.values()
    assert sent.model_id == "fal-ai/flux-lora-fast-training"
    assert "Marisol" not in str(sent.model_input)
    assert run_provider(world) == [{"status": "completed", "changed": True}]
    assert object_keys(aws, "training/") == []  # CNT-5: gone when training completed
    [character] = wiring.content_service().list_characters(USER)["items"]
    assert (character["id"], character["name"]) == (training["id"], "Marisol Vega")

    picture = submit(kind=JobKind.CHARACTER_IMAGE, character_id=training["id"], prompt="on a bike")
    assert run_provider(world) == [{"status": "completed", "changed": True}]
    media = wiring.content_service().delivered_result(USER, picture["id"])
    assert_marked_ai_generated(
        media.data, media.content_type, model="fal-ai/flux-lora", provider="fal.ai", absent=(USER, "Marisol")
    )
    assert object_keys(aws, "") == []  # PromptPixels keeps no generated image (CNT-3)


@pytest.mark.parametrize("profile_name", ["promptpixels"])
@pytest.mark.parametrize(
    ("params", "model", "size"),
    [
        ({"kind": JobKind.UPSCALE, "scale": 4}, "fal-ai/esrgan", (40, 32)),
        ({"kind": JobKind.EDIT, "prompt": "warmer light"}, "fal-ai/flux/dev/image-to-image", (10, 8)),
    ],
)
def test_cnt8_gen4_an_upscaled_or_edited_image_is_delivered_marked_and_its_upload_deleted(
    world, aws, params, model, size
):
    from PIL import Image

    fund(USER, 5)
    [source] = uploads(aws, 1, size=(10, 8))
    job = submit(source_upload_id=source, **params)
    assert run_provider(world) == [{"status": "completed", "changed": True}]
    assert object_keys(aws, "uploads/") == []  # CNT-8
    media = wiring.content_service().delivered_result(USER, job["id"])
    with Image.open(io.BytesIO(media.data)) as image:
        assert image.size == size
    assert_marked_ai_generated(media.data, media.content_type, model=model, provider="fal.ai")


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_cnt6_gen4_pay2_an_mp4_render_is_stored_marked_and_playable_and_its_frames_discarded(world, aws):
    fund(USER, 20)
    frames = uploads(aws, 5)
    job = submit(kind=JobKind.VIDEO_RENDER, input_upload_ids=frames, fps=5)
    assert object_keys(aws, "render-inputs/") == [f"render-inputs/{USER}/{job['id']}"]
    assert run_provider(world) == [{"status": "completed", "changed": True}]
    assert object_keys(aws, "render-inputs/") == []  # CNT-6: discarded once the MP4 is stored
    assert object_keys(aws, "uploads/") == []
    stored = stored_object(aws, f"generated/{USER}/{job['id']}")
    assert stored["content_type"] == "video/mp4"
    assert decoded(stored["body"]) == (5, (16, 12), 5.0)
    assert_marked_ai_generated(
        stored["body"], "video/mp4", model="pixelkeep/frames-to-mp4", provider="fal.ai", absent=(USER,)
    )
    ledger = wiring.billing_service().ledger_page(USER)
    holds = [(entry["reason"], entry["amount"]) for entry in ledger["entries"] if entry["kind"] == "hold"]
    assert holds == [("video-render", -wiring.catalogue().tool_costs[JobKind.VIDEO_RENDER])]  # PAY-2


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_cnt5_gen5_a_cancelled_training_leaves_the_providers_queue_and_never_runs(world, aws):
    """Through fal's queue protocol: the cancel takes the request off the queue and its payload is
    deleted; the photos are gone here, the credits back, and the provider never calls back."""
    fund(USER, 30)
    training = submit(kind=JobKind.CHARACTER_TRAINING, input_upload_ids=uploads(aws, 4), name="Ines")
    [sent] = world.emulator.jobs.values()
    view = wiring.content_service().cancel_generation(USER, training["id"])
    assert (view["status"], view["failure"]) == ("failed", "cancelled")
    assert (sent.status, world.emulator.cancelled, world.emulator.deleted) == (
        "CANCELLED",
        [sent.request_id],
        [sent.request_id],
    )
    assert run_provider(world) == []  # it never runs, so no webhook
    assert object_keys(aws, "training/") == []
    assert wiring.ledger().balance(USER) == 30
