"""GEN-3: a provider callback is bound to its job by the provider's own id for it (fal request id,
Replicate prediction id, RunPod job id), recorded at submit. A genuine callback of one job posted to
another job's webhook URL changes nothing, whichever provider runs them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from itertools import count

import pytest

from chalicelib import errors, wiring
from chalicelib.profile.schema import Category
from infra.local_secrets import LOCAL_SECRETS
from tests.functional import content_world
from tests.functional.generation_helpers import deliver, fund, status, submit
from tests.support.content import image_bytes

world = content_world.world  # the fixture: fal's protocol, spoken by the embedded provider

REPLICATE_URL = "http://replicate.test"
RUNPOD_URL = "http://runpod.test"


class ReplicateAndRunPod:
    """The two other providers' HTTP APIs, as far as a submit, a status and a download go. Each
    job renders its own image, so whose image landed where can be told apart."""

    def __init__(self) -> None:
        self.ids = count(1)
        self.jobs: dict[str, dict] = {}  # provider id -> webhook URL, image

    def request(self, method, url, *, headers=None, body=None):
        from chalicelib.gateways.providers.common import HttpResponse

        def answer(payload, status=200):
            return HttpResponse(status, {}, json.dumps(payload).encode())

        if method == "POST":  # a submit: Replicate's predictions or RunPod's /run
            number = next(self.ids)
            job_id = f"job-{number}"
            self.jobs[job_id] = {"webhook": json.loads(body)["webhook"], "image": image_bytes("PNG", (number, 3))}
            return answer({"id": job_id, "status": "starting" if url.startswith(REPLICATE_URL) else "IN_QUEUE"})
        job_id = url.rsplit("/", 1)[-1]
        if "/files/" in url:
            return HttpResponse(200, {}, self.jobs[job_id]["image"])
        return answer({"id": job_id, "status": "COMPLETED", "output": {"image_url": f"{RUNPOD_URL}/files/{job_id}"}})

    def callback(self, job_id: str) -> tuple[dict, bytes]:
        """The webhook the provider sends when `job_id` completes (Replicate's is signed)."""
        if wiring.get_settings().provider == "replicate":
            from standardwebhooks import Webhook

            body = json.dumps(
                {"id": job_id, "status": "succeeded", "output": [f"{REPLICATE_URL}/files/{job_id}"]}
            ).encode()
            message_id = f"msg_{job_id}"
            signed = Webhook(LOCAL_SECRETS["replicate-webhook-secret"]).sign(
                message_id, datetime.now(timezone.utc), body.decode()
            )
            stamp = str(int(datetime.now(timezone.utc).timestamp()))
            return {"webhook-id": message_id, "webhook-timestamp": stamp, "webhook-signature": signed}, body
        return {}, json.dumps({"id": job_id, "status": "COMPLETED"}).encode()


@pytest.fixture(params=["replicate", "runpod"])
def other_provider(request, aws, monkeypatch):
    fake = ReplicateAndRunPod()
    monkeypatch.setenv("PIXELKEEP_MODEL_PROVIDER", request.param)
    monkeypatch.setenv("PIXELKEEP_PROVIDER_BASE_URL", REPLICATE_URL if request.param == "replicate" else RUNPOD_URL)
    monkeypatch.setenv("PIXELKEEP_PUBLIC_URL", "http://api.test")
    wiring.reset()
    wiring.bound_models()
    monkeypatch.setattr(wiring, "provider_http", lambda: fake)
    return fake


def _gallery_image(user_id: str, gen_id: str) -> bytes | None:
    image = wiring.content().image(user_id, gen_id)
    if image is None:
        return None
    bucket, key = wiring.objects().location(Category.GENERATED_IMAGES, user_id, gen_id)
    return wiring.objects().read(bucket, key, max_bytes=1 << 20).data


@pytest.mark.parametrize("profile_name", ["pixera"])  # its policy names Replicate and RunPod
def test_gen3_replicate_and_runpod_callbacks_complete_only_their_own_job(other_provider):
    fund("alice", 1)
    fund("bob", 1)
    job_a, job_b = submit("alice")["id"], submit("bob")["id"]
    (id_a, sent_a), (id_b, sent_b) = other_provider.jobs.items()
    assert job_a in sent_a["webhook"]
    assert job_b in sent_b["webhook"]

    with pytest.raises(errors.SignatureInvalid):
        deliver(sent_b["webhook"], *other_provider.callback(id_a))
    assert status("bob", job_b)["status"] == "queued"
    assert wiring.ledger().hold_state(job_b) == "held"

    assert deliver(sent_a["webhook"], *other_provider.callback(id_a))["status"] == "completed"
    assert deliver(sent_b["webhook"], *other_provider.callback(id_b))["status"] == "completed"
    bobs = _gallery_image("bob", job_b)
    assert bobs is not None
    assert bobs != _gallery_image("alice", job_a)


def test_gen3_fal_callback_for_another_request_id_is_refused_at_the_job(world):
    fund("alice", 1)
    fund("bob", 1)
    job_a, job_b = submit("alice")["id"], submit("bob")["id"]
    world.emulator.flush()
    (url_a, headers_a, body_a), (url_b, headers_b, _) = world.delivered
    assert job_a in url_a
    assert job_b in url_b
    with pytest.raises(errors.SignatureInvalid):
        deliver(url_b, headers_a, body_a)
    assert status("bob", job_b)["status"] == "queued"
    assert wiring.content().job(job_b).provider_request_id == headers_b["X-Fal-Webhook-Request-Id"]
