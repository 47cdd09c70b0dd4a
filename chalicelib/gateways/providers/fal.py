"""fal.ai: the queue API for jobs, Ed25519-signed webhooks checked against fal's JWKS.

Submit: POST {queue}/{model id}?fal_webhook=<url> with the model input; the answer carries the
request id. Every kind runs on the same queue API: ESRGAN upscaling, FLUX image-to-image editing,
FLUX LoRA fast training (a zip of photos -> `diffusers_lora_file`) and FLUX LoRA generation; MP4
renders run on an app deployed to the operator's own fal account (`pixelkeep/frames-to-mp4`: a zip
of frames and a frame rate -> `video`), which fal serves through the same queue.

Webhook headers X-Fal-Webhook-Request-Id/-User-Id/-Timestamp/-Signature; the signature (hex) covers
"request_id\\nuser_id\\ntimestamp\\nsha256hex(body)", the timestamp must be within
300 seconds of now and the user id must be our fal account (GEN-3).

GEN-5 (fal's "Data Retention" docs): every submit carries `X-Fal-Store-IO: 0`, so fal keeps no
request payload, and `X-Fal-Object-Lifecycle-Preference`, so the output files on fal's CDN expire
after OUTPUT_LIFETIME_SECONDS (a training run's weights excepted: they live as long as the character).
Erasure, and a character's deletion, delete what is left of a request through the Platform API:
DELETE {platform}/models/requests/{request_id}/payloads (payloads and output CDN files; an admin key).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from urllib.parse import quote

from chalicelib import clock, errors
from chalicelib.domain.ports.content import Delivery, JobRequest
from chalicelib.domain.ports.processors import ProcessorAck
from chalicelib.gateways.providers.common import (
    Http,
    cancelled,
    download,
    ensure_ok,
    header,
    model_id,
    queued_id,
)
from chalicelib.profile.schema import JobKind

QUEUE_URL = "https://queue.fal.run"
PLATFORM_URL = "https://api.fal.ai/v1"
# Long enough to fetch the result (and, where results are not stored, to hand its URL out), no longer.
OUTPUT_LIFETIME_SECONDS = 3600
JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
TOLERANCE_SECONDS = 300
JWKS_REFRESH = timedelta(minutes=5)  # a failing signature refetches the keys at most this often

IMAGE_SIZES = {
    "1:1": "square_hd",
    "4:3": "landscape_4_3",
    "3:4": "portrait_4_3",
    "16:9": "landscape_16_9",
    "9:16": "portrait_16_9",
}
SAFETY_TOLERANCE = {"strict": "1", "standard": "2", "relaxed": "4"}
NO_STORE_HEADERS = {
    "X-Fal-Store-IO": "0",
    "X-Fal-Object-Lifecycle-Preference": json.dumps({"expiration_duration_seconds": OUTPUT_LIFETIME_SECONDS}),
}
# A training run's output is the character's weights, drawn with until the character is deleted: no
# expiry (null), and the character's deletion and erasure delete them (`delete_request`).
KEEP_WEIGHTS_HEADERS = {
    **NO_STORE_HEADERS,
    "X-Fal-Object-Lifecycle-Preference": json.dumps({"expiration_duration_seconds": None}),
}


class FalProvider:
    name = "fal"
    title = "fal.ai"  # as the policy profile lists it among the processors
    models: Mapping[str, str] = {
        "flux-schnell": "fal-ai/flux/schnell",
        "flux-dev": "fal-ai/flux/dev",
        "sdxl": "fal-ai/fast-sdxl",
    }
    tools: Mapping[JobKind, str] = {
        JobKind.UPSCALE: "fal-ai/esrgan",
        JobKind.EDIT: "fal-ai/flux/dev/image-to-image",
        JobKind.CHARACTER_TRAINING: "fal-ai/flux-lora-fast-training",
        JobKind.CHARACTER_IMAGE: "fal-ai/flux-lora",
        JobKind.VIDEO_RENDER: "pixelkeep/frames-to-mp4",
    }

    def __init__(
        self,
        *,
        http: Http,
        api_key: Callable[[], str],
        account_id: Callable[[], str],
        admin_key: Callable[[], str] | None = None,
        base_url: str | None = None,
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._admin_key = admin_key or api_key
        self._platform_url = f"{base_url.rstrip('/')}/v1" if base_url else PLATFORM_URL
        self._account_id = account_id  # our fal account: callbacks for any other are not ours (GEN-3)
        self._queue_url = (base_url or QUEUE_URL).rstrip("/")
        self._jwks_url = f"{base_url.rstrip('/')}/.well-known/jwks.json" if base_url else JWKS_URL
        self._keys: list = []
        self._keys_fetched: datetime | None = None

    # -- jobs -----------------------------------------------------------------------------------
    def submit(self, job: JobRequest, webhook_url: str) -> str:
        payload = _model_input(job)
        url = f"{self._queue_url}/{model_id(self, job.kind, job.model)}?fal_webhook={quote(webhook_url, safe='')}"
        response = self._http.request(
            "POST",
            url,
            headers={
                "Authorization": f"Key {self._api_key()}",
                "Content-Type": "application/json",
                **(KEEP_WEIGHTS_HEADERS if job.kind == JobKind.CHARACTER_TRAINING else NO_STORE_HEADERS),
            },
            body=json.dumps(payload).encode(),
        )
        return queued_id(response, "request_id")

    def cancel(self, kind: JobKind, model: str, request_id: str) -> bool:
        """CNT-5: a queued request leaves fal's queue (202); one that ran already answers 400."""
        url = f"{self._queue_url}/{model_id(self, kind, model)}/requests/{quote(request_id, safe='')}/cancel"
        return cancelled(self._http.request("PUT", url, headers={"Authorization": f"Key {self._api_key()}"}))

    def delete_request(self, request_id: str) -> ProcessorAck:
        """GEN-5: fal deletes the request's payloads and output files; one it no longer has is done."""
        url = f"{self._platform_url}/models/requests/{quote(request_id, safe='')}/payloads"
        response = self._http.request(
            "DELETE", url, headers={"Authorization": f"Key {self._admin_key()}", "Idempotency-Key": request_id}
        )
        return ProcessorAck(
            self.title, "delete_request_payloads", request_id, response.status < 300 or response.status == 404
        )

    def download(self, url: str, max_bytes: int) -> bytes:
        return download(self._http, url, max_bytes)

    # -- webhooks -------------------------------------------------------------------------------
    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        request_id = header(headers, "X-Fal-Webhook-Request-Id")
        user_id = header(headers, "X-Fal-Webhook-User-Id")
        timestamp = header(headers, "X-Fal-Webhook-Timestamp")
        signature = header(headers, "X-Fal-Webhook-Signature")
        if not (request_id and user_id and timestamp and signature):
            raise errors.SignatureInvalid("The webhook is not signed.")
        try:
            sent_at = int(timestamp)
            signature_bytes = bytes.fromhex(signature)
        except ValueError:
            raise errors.SignatureInvalid("The webhook signature is malformed.") from None
        if abs(clock.now().timestamp() - sent_at) > TOLERANCE_SECONDS:
            raise errors.SignatureInvalid("The webhook is too old or from the future.")
        if user_id != self._account_id():  # signed by fal, but for a job of another fal account
            raise errors.SignatureInvalid("The webhook is not for our account.")
        message = "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()
        if not self._verified(signature_bytes, message):
            raise errors.SignatureInvalid("The webhook signature does not match.")
        return _delivery(request_id, body)

    def confirm(self, delivery: Delivery, model: str) -> Delivery:
        return delivery  # signed by fal: the delivery itself is the provider's word

    def _verified(self, signature: bytes, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        for attempt in range(2):
            if attempt == 1 and not self._may_refresh():
                return False
            for key in self._public_keys(refresh=attempt == 1):
                try:
                    key.verify(signature, message)
                    return True
                except InvalidSignature:
                    continue
        return False

    def _may_refresh(self) -> bool:
        return self._keys_fetched is None or clock.now() - self._keys_fetched >= JWKS_REFRESH

    def _public_keys(self, *, refresh: bool) -> list:
        if self._keys and not refresh:
            return self._keys
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        jwks = ensure_ok(self._http.request("GET", self._jwks_url), "publish its webhook keys").json()
        keys = []
        for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and isinstance(jwk.get("x"), str):
                raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
                keys.append(Ed25519PublicKey.from_public_bytes(raw))
        self._keys, self._keys_fetched = keys, clock.now()
        return keys


def _model_input(job: JobRequest) -> dict:
    """The input of the fal model that runs this kind of job."""
    if job.kind == JobKind.UPSCALE:
        return {"image_url": job.source_image_url, "scale": job.scale, "output_format": "png"}
    if job.kind == JobKind.CHARACTER_TRAINING:
        return {"images_data_url": job.inputs_url, "trigger_word": job.trigger_word, "create_masks": True}
    if job.kind == JobKind.VIDEO_RENDER:
        return {"images_data_url": job.inputs_url, "fps": job.fps}
    payload: dict = {
        "prompt": job.styled_prompt(),
        "image_size": IMAGE_SIZES[job.aspect_ratio],
        "num_images": 1,
        "enable_safety_checker": True,
        "safety_tolerance": SAFETY_TOLERANCE[job.safety_level],
        "output_format": "png",
    }
    if job.negative_prompt:
        payload["negative_prompt"] = job.negative_prompt
    if job.source_image_url:
        payload["image_url"] = job.source_image_url
    if job.kind == JobKind.CHARACTER_IMAGE:
        payload["prompt"] = f"{job.trigger_word} {payload['prompt']}"
        payload["loras"] = [{"path": job.character_ref, "scale": 1.0}]
    return payload


def _file_url(value: object) -> str | None:
    url = value.get("url") if isinstance(value, dict) else None
    return url if isinstance(url, str) else None


def _delivery(request_id: str, body: bytes) -> Delivery:
    try:
        data = json.loads(body)
    except ValueError:
        raise errors.InvalidInput("The webhook body is not JSON.") from None
    if not isinstance(data, dict) or data.get("request_id") != request_id:
        raise errors.SignatureInvalid("The webhook body does not match its signed request id.")
    if data.get("status") != "OK":
        return Delivery(request_id=request_id, succeeded=False, error=str(data.get("error") or "failed")[:200])
    payload = data.get("payload") if isinstance(data.get("payload"), dict) else {}
    weights = _file_url(payload.get("diffusers_lora_file"))
    if weights:  # a training run
        return Delivery(request_id=request_id, succeeded=True, model_ref=weights)
    images = payload.get("images") if isinstance(payload.get("images"), list) else []
    url = _file_url(images[0] if images else None) or _file_url(payload.get("image")) or _file_url(payload.get("video"))
    if url is None:
        return Delivery(request_id=request_id, succeeded=False, error="The provider returned no result.")
    return Delivery(request_id=request_id, succeeded=True, result_url=url)
