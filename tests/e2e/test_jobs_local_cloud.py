"""e2e in the local cloud, over HTTP: a character training run (PromptPixels) and an MP4 render
(PixelRender) through the embedded provider; their inputs are gone afterwards (CNT-5, CNT-6), the
MP4 plays (decoded back, frames counted) and every result carries a validating AI-generated marking
(GEN-4); the ledger names each tool (PAY-2) and the job list shows progress.

Each profile runs in a local cloud of its own. PromptPixels signs in only with Google: through
the local cloud's Google stand-in, as a browser does."""

from __future__ import annotations

import urllib.request

import pytest

from tests.e2e.conftest import _run_cloud
from tests.e2e.test_content_local_cloud import _post_form
from tests.e2e.web import balance, call, eventually, google_sign_in, http_get, sign_up, visit
from tests.support.marking import assert_marked_ai_generated
from tests.support.media import decoded


@pytest.fixture(scope="module")
def pixelrender_cloud(tmp_path_factory):
    """PixelRender's local cloud (renders; Stripe), started only for this module."""
    yield from _run_cloud(tmp_path_factory, "pixelrender")


def buy_credits(cloud, headers) -> None:
    """The hosted checkout's pay button, on whichever rail the profile sells through."""
    status, started = call("POST", f"{cloud.api}/billing/checkout", {"product": "studio"}, headers)
    assert status == 201, started
    if started.get("rail", "stripe") == "stripe":
        assert visit("POST", f"{cloud.stripe}/pay/{started['session_id']}/complete") == 200
    else:
        assert visit("POST", f"{started['url']}/pay") == 200
    eventually(lambda: balance(cloud, headers) > 0, "the credits", detail=lambda: cloud.log()[-3000:])


def ready_uploads(cloud, headers, count: int) -> list[str]:
    import io

    from tests.support.media import frames

    ids = []
    for number, frame in enumerate(frames(count, (48, 32))):
        data = io.BytesIO()
        frame.save(data, format="PNG")
        status, upload = call("POST", f"{cloud.api}/uploads", {"content_type": "image/png"}, headers)
        assert status == 201, upload
        assert _post_form(upload["upload"]["url"], upload["upload"]["fields"], data.getvalue()) in (200, 204), number
        ids.append(upload["id"])

    def checked(upload_id: str) -> bool:
        return call("GET", f"{cloud.api}/uploads/{upload_id}", headers=headers)[1].get("status") == "ready"

    for upload_id in ids:
        eventually(lambda upload_id=upload_id: checked(upload_id), "the uploads to be checked")
    return ids


def finished(cloud, headers, gen_id: str) -> dict:
    return eventually(
        lambda: (
            (view := call("GET", f"{cloud.api}/generations/{gen_id}", headers=headers)[1])["status"] != "queued"
            and view
        ),
        "the job to finish",
        detail=lambda: cloud.log()[-3000:],
    )


def keys_under(cloud, prefix: str) -> list[str]:
    s3 = cloud.client("s3")
    [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].endswith("-content")]
    return [obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_cnt5_gen4_pay2_a_character_training_run_and_a_marked_image_of_it(promptpixels_cloud):
    cloud = promptpixels_cloud
    if cloud.provider is None:
        pytest.skip("the model provider emulator is not part of this checkout")
    headers = google_sign_in(cloud, "trainer").headers
    buy_credits(cloud, headers)
    photos = ready_uploads(cloud, headers, 4)
    body = {"kind": "character-training", "input_upload_ids": photos, "name": "Beach me"}
    status, training = call("POST", f"{cloud.api}/generations", body, headers)
    assert status == 202, training
    assert "progress" in training
    done = finished(cloud, headers, training["id"])
    assert (done["status"], done["character_id"], done["progress"]["percent"]) == ("completed", training["id"], 100)
    assert keys_under(cloud, "training/") == []  # CNT-5: the photos are gone
    assert keys_under(cloud, "uploads/") == []
    status, characters = call("GET", f"{cloud.api}/characters", headers=headers)
    assert [c["name"] for c in characters["items"]] == ["Beach me"]

    body = {"kind": "character-image", "character_id": training["id"], "prompt": "riding a bike"}
    status, picture = call("POST", f"{cloud.api}/generations", body, headers)
    assert status == 202, picture
    assert finished(cloud, headers, picture["id"])["status"] == "completed"
    request = urllib.request.Request(
        f"{cloud.api}/generations/{picture['id']}/result", headers={**headers, "Accept": "image/*"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (loopback)
        data, content_type = response.read(), response.headers["Content-Type"]
    assert_marked_ai_generated(data, content_type, model="fal-ai/flux-lora", provider="fal.ai", absent=("trainer-",))
    assert keys_under(cloud, "generated/") == []  # delivered marked, never kept

    status, listed = call("GET", f"{cloud.api}/generations?kind=character-training", headers=headers)
    assert [job["id"] for job in listed["items"]] == [training["id"]]
    status, ledger = call("GET", f"{cloud.api}/me/ledger", headers=headers)
    assert {"character-training", "character-image"} <= {entry["reason"] for entry in ledger["entries"]}


def test_cnt6_gen4_an_mp4_render_plays_is_marked_and_its_frames_are_gone(pixelrender_cloud):
    cloud = pixelrender_cloud
    if cloud.provider is None or cloud.stripe is None:
        pytest.skip("the model provider or Stripe emulator is not part of this checkout")
    user = sign_up(cloud, "render")
    buy_credits(cloud, user.headers)
    frames = ready_uploads(cloud, user.headers, 6)
    body = {"kind": "video-render", "input_upload_ids": frames, "fps": 3}
    status, render = call("POST", f"{cloud.api}/generations", body, user.headers)
    assert status == 202, render
    done = finished(cloud, user.headers, render["id"])
    assert done["status"] == "completed", done
    assert keys_under(cloud, "render-inputs/") == []  # CNT-6: discarded once the MP4 is stored
    assert keys_under(cloud, "uploads/") == []
    status, item = call("GET", f"{cloud.api}/gallery/{render['id']}", headers=user.headers)
    assert status == 200, item
    status, _, video = http_get(item["url"], timeout=30)
    assert status == 200
    assert decoded(video) == (6, (48, 32), 3.0)  # it plays: every frame decodes
    assert_marked_ai_generated(video, "video/mp4", model="pixelkeep/frames-to-mp4", provider="fal.ai")
    status, listed = call("GET", f"{cloud.api}/generations?kind=video-render", headers=user.headers)
    assert [(job["id"], job["progress"]["percent"]) for job in listed["items"]] == [(render["id"], 100)]
