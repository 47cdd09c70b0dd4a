"""RunPod serverless: /run with a webhook for jobs; its webhooks are unsigned.

So a delivery proves nothing by itself: the URL carries the job's unguessable token (checked by the
caller) and the job's state is then re-fetched from RunPod's status API before anything is trusted.
The worker's output is expected as {"images": [{"url": ...}]} or {"image_url": ...}; a render's as
{"video_url": ...}, a training run's as {"weights_url": ...}. Every kind runs on the operator's own
serverless endpoint for it, which takes {"task": <kind>, ...} as its input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from urllib.parse import quote

from chalicelib import errors
from chalicelib.domain.ports.content import Delivery, JobRequest
from chalicelib.domain.ports.processors import ProcessorAck
from chalicelib.gateways.providers.common import (
    ASPECT_SIZES,
    Http,
    cancelled,
    download,
    ensure_ok,
    model_id,
    queued_id,
)
from chalicelib.profile.schema import JobKind

API_URL = "https://api.runpod.ai"


class RunPodProvider:
    name = "runpod"
    title = "RunPod"  # as the policy profile lists it among the processors
    # Public model name -> serverless endpoint id (the deployment's own endpoints).
    models: Mapping[str, str] = {"flux-schnell": "black-forest-labs-flux-1-schnell", "sdxl": "sdxl"}
    tools: Mapping[JobKind, str] = {
        JobKind.UPSCALE: "pixelkeep-upscale",
        JobKind.EDIT: "pixelkeep-edit",
        JobKind.CHARACTER_TRAINING: "pixelkeep-train-character",
        JobKind.CHARACTER_IMAGE: "pixelkeep-character-image",
        JobKind.VIDEO_RENDER: "pixelkeep-frames-to-mp4",
    }

    def __init__(self, *, http: Http, api_key: Callable[[], str], base_url: str | None = None) -> None:
        self._http = http
        self._api_key = api_key
        self._api_url = (base_url or API_URL).rstrip("/")

    def submit(self, job: JobRequest, webhook_url: str) -> str:
        width, height = ASPECT_SIZES[job.aspect_ratio]
        model_input: dict = {"task": str(job.kind), "safety_level": job.safety_level}
        if job.kind in (JobKind.TEXT_TO_IMAGE, JobKind.EDIT, JobKind.CHARACTER_IMAGE):
            model_input.update(prompt=job.styled_prompt(), width=width, height=height)
        if job.negative_prompt:
            model_input["negative_prompt"] = job.negative_prompt
        extra = {
            "image_url": job.source_image_url,
            "images_zip_url": job.inputs_url,
            "lora_url": job.character_ref,
            "trigger_word": job.trigger_word,
            "scale": job.scale,
            "fps": job.fps,
        }
        model_input.update({name: value for name, value in extra.items() if value is not None})
        endpoint = model_id(self, job.kind, job.model)
        response = self._http.request(
            "POST",
            f"{self._api_url}/v2/{endpoint}/run",
            headers=self._headers(),
            body=json.dumps({"input": model_input, "webhook": webhook_url}).encode(),
        )
        return queued_id(response, "id")

    def cancel(self, kind: JobKind, model: str, request_id: str) -> bool:
        """CNT-5: `POST /v2/{endpoint}/cancel/{job id}` takes a queued or running job off the endpoint."""
        endpoint = model_id(self, kind, model)
        url = f"{self._api_url}/v2/{endpoint}/cancel/{quote(request_id, safe='')}"
        return cancelled(self._http.request("POST", url, headers=self._headers()))

    def download(self, url: str, max_bytes: int) -> bytes:
        return download(self._http, url, max_bytes)

    def delete_request(self, request_id: str) -> ProcessorAck:
        """GEN-5: RunPod keeps a /run job's result for 30 minutes after completion and offers no
        call that deletes it earlier (RunPod docs, "Operation reference"); the acknowledgement says so."""
        return ProcessorAck(self.title, "removed_by_provider_after_30min", request_id, True)

    def read_delivery(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        try:
            data = json.loads(body)
        except ValueError:
            raise errors.InvalidInput("The webhook body is not JSON.") from None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise errors.InvalidInput("The webhook body names no job.")
        # Unsigned: only the id is taken from it; `confirm` asks RunPod for the rest.
        return Delivery(request_id=data["id"], succeeded=False, error="unconfirmed")

    def confirm(self, delivery: Delivery, model: str) -> Delivery:
        known = [*self.models.values(), *self.tools.values()]
        endpoints = [self.models[model]] if model in self.models else [model] if model in known else known
        for endpoint in endpoints:
            response = self._http.request(
                "GET",
                f"{self._api_url}/v2/{endpoint}/status/{quote(delivery.request_id, safe='')}",
                headers=self._headers(),
            )
            if response.status == 404:
                continue
            return _delivery(ensure_ok(response, "report the job status").json(), delivery.request_id)
        raise errors.SignatureInvalid("The provider does not know this job.")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key()}", "Content-Type": "application/json"}


def _delivery(status: dict, request_id: str) -> Delivery:
    state = status.get("status")
    if state in ("IN_QUEUE", "IN_PROGRESS"):
        raise errors.Conflict("The job is still running at the provider.")
    if state != "COMPLETED":
        return Delivery(
            request_id=request_id, succeeded=False, error=str(status.get("error") or state or "failed")[:200]
        )
    output = status.get("output") or {}
    images = output.get("images") if isinstance(output, dict) else None
    first = images[0] if isinstance(images, list) and images else None
    url = first.get("url") if isinstance(first, dict) else first
    named = output if isinstance(output, dict) else {}
    if isinstance(named.get("weights_url"), str):
        return Delivery(request_id=request_id, succeeded=True, model_ref=named["weights_url"])
    url = url or named.get("image_url") or named.get("video_url")
    if not isinstance(url, str):
        return Delivery(request_id=request_id, succeeded=False, error="The provider returned no result.")
    return Delivery(request_id=request_id, succeeded=True, result_url=url)
