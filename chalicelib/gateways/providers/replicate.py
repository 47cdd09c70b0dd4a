"""Replicate: predictions API for jobs, Standard Webhooks signatures for results.

Submit: POST /v1/models/{owner}/{name}/predictions with the input, the webhook URL and the
"completed" event filter. Webhook headers webhook-id/-timestamp/-signature ("v1,<base64 HMAC>" over
"id.timestamp.body" with the whsec_ secret); `standardwebhooks` checks the signature and refuses
timestamps more than five minutes off.

Besides text-to-image, official models upscale (Topaz), edit (FLUX Kontext) and draw a trained
character (FLUX dev LoRA, from weights trained elsewhere). Character training and MP4 renders are not
offered here: Replicate trains through its trainings API into a destination model the operator must
create first, and has no frames-to-MP4 model; a service that offers them runs on fal or RunPod.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from urllib.parse import quote

from chalicelib import errors
from chalicelib.domain.ports.content import Delivery, JobRequest
from chalicelib.domain.ports.processors import ProcessorAck
from chalicelib.gateways.providers.common import Http, cancelled, download, header, model_id, queued_id
from chalicelib.profile.schema import JobKind

API_URL = "https://api.replicate.com"
SAFETY_TOLERANCE = {"strict": 1, "standard": 2, "relaxed": 4}


class ReplicateProvider:
    name = "replicate"
    title = "Replicate"  # as the policy profile lists it among the processors
    models: Mapping[str, str] = {
        "flux-schnell": "black-forest-labs/flux-schnell",
        "flux-dev": "black-forest-labs/flux-dev",
    }
    tools: Mapping[JobKind, str] = {
        JobKind.UPSCALE: "topazlabs/image-upscale",
        JobKind.EDIT: "black-forest-labs/flux-kontext-pro",
        JobKind.CHARACTER_IMAGE: "black-forest-labs/flux-dev-lora",
    }

    def __init__(
        self,
        *,
        http: Http,
        api_token: Callable[[], str],
        webhook_secret: Callable[[], str],
        base_url: str | None = None,
    ) -> None:
        self._http = http
        self._api_token = api_token
        self._webhook_secret = webhook_secret
        self._api_url = (base_url or API_URL).rstrip("/")

    def submit(self, job: JobRequest, webhook_url: str) -> str:
        model = model_id(self, job.kind, job.model)
        body = {"input": _model_input(job), "webhook": webhook_url, "webhook_events_filter": ["completed"]}
        response = self._http.request(
            "POST",
            f"{self._api_url}/v1/models/{model}/predictions",
            headers={"Authorization": f"Bearer {self._api_token()}", "Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )
        return queued_id(response, "id")

    def cancel(self, kind: JobKind, model: str, request_id: str) -> bool:
        """CNT-5: `POST /v1/predictions/{id}/cancel` stops a prediction that is still running."""
        response = self._http.request(
            "POST",
            f"{self._api_url}/v1/predictions/{quote(request_id, safe='')}/cancel",
            headers={"Authorization": f"Bearer {self._api_token()}"},
        )
        return cancelled(response)

    def download(self, url: str, max_bytes: int) -> bytes:
        return download(self._http, url, max_bytes)

    def delete_request(self, request_id: str) -> ProcessorAck:
        """GEN-5: Replicate's API has no call that deletes a prediction; it removes an API
        prediction's input, output, files and logs itself an hour after it was created (Replicate
        docs, "Data retention"). Nothing is left to ask for, so the acknowledgement says which rule holds."""
        return ProcessorAck(self.title, "removed_by_provider_after_1h", request_id, True)

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        from standardwebhooks import Webhook
        from standardwebhooks.webhooks import WebhookVerificationError

        signed = {name: header(headers, name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        try:
            data = Webhook(self._webhook_secret()).verify(body, signed)
        except WebhookVerificationError:
            raise errors.SignatureInvalid("The webhook signature is missing, wrong or stale.") from None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise errors.InvalidInput("The webhook body is not a prediction.")
        return _delivery(data)

    def confirm(self, delivery: Delivery, model: str) -> Delivery:
        return delivery  # signed by Replicate: the delivery itself is the provider's word


def _model_input(job: JobRequest) -> dict:
    if job.kind == JobKind.UPSCALE:
        return {"image": job.source_image_url, "upscale_factor": f"{job.scale}x", "output_format": "png"}
    if job.kind == JobKind.EDIT:
        return {"prompt": job.styled_prompt(), "input_image": job.source_image_url, "output_format": "png"}
    model_input: dict = {
        "prompt": job.styled_prompt(),
        "aspect_ratio": job.aspect_ratio,
        "num_outputs": 1,
        "output_format": "png",
        "disable_safety_checker": False,
        "safety_tolerance": SAFETY_TOLERANCE[job.safety_level],
    }
    if job.negative_prompt:
        model_input["negative_prompt"] = job.negative_prompt
    if job.source_image_url:
        model_input["image"] = job.source_image_url
    if job.kind == JobKind.CHARACTER_IMAGE:
        model_input["prompt"] = f"{job.trigger_word} {model_input['prompt']}"
        model_input["lora_weights"] = job.character_ref
    return model_input


def _delivery(prediction: dict) -> Delivery:
    prediction_id = prediction["id"]
    if prediction.get("status") != "succeeded":
        return Delivery(request_id=prediction_id, succeeded=False, error=str(prediction.get("error") or "failed")[:200])
    output = prediction.get("output")
    url = output[0] if isinstance(output, list) and output else output
    if not isinstance(url, str):
        return Delivery(request_id=prediction_id, succeeded=False, error="The provider returned no image.")
    return Delivery(request_id=prediction_id, succeeded=True, result_url=url)
