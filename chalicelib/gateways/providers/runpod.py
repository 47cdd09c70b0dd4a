"""RunPod serverless: /run with a webhook for jobs; its webhooks are unsigned.

So a delivery proves nothing by itself: the URL carries the job's unguessable token (checked by the
caller) and the job's state is then re-fetched from RunPod's status API before anything is trusted.
The worker's output is expected as {"images": [{"url": ...}]} or {"image_url": ...}.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from urllib.parse import quote

from chalicelib import errors
from chalicelib.domain.ports.billing import ProcessorAck
from chalicelib.domain.ports.content import Delivery, JobRequest
from chalicelib.gateways.providers.common import (
    ASPECT_SIZES,
    Http,
    download,
    ensure_ok,
    queued_id,
)

API_URL = "https://api.runpod.ai"


class RunPodProvider:
    name = "runpod"
    title = "RunPod"  # as the policy profile lists it among the processors
    # Public model name -> serverless endpoint id (the deployment's own endpoints).
    models: Mapping[str, str] = {"flux-schnell": "black-forest-labs-flux-1-schnell", "sdxl": "sdxl"}

    def __init__(self, *, http: Http, api_key: Callable[[], str], base_url: str | None = None) -> None:
        self._http = http
        self._api_key = api_key
        self._api_url = (base_url or API_URL).rstrip("/")

    def submit(self, job: JobRequest, webhook_url: str) -> str:
        width, height = ASPECT_SIZES[job.aspect_ratio]
        model_input: dict = {
            "prompt": job.styled_prompt(),
            "width": width,
            "height": height,
            "safety_level": job.safety_level,
        }
        if job.negative_prompt:
            model_input["negative_prompt"] = job.negative_prompt
        if job.source_image_url:
            model_input["image_url"] = job.source_image_url
        response = self._http.request(
            "POST",
            f"{self._api_url}/v2/{self.models[job.model]}/run",
            headers=self._headers(),
            body=json.dumps({"input": model_input, "webhook": webhook_url}).encode(),
        )
        return queued_id(response, "id")

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
        endpoints = [self.models[model]] if model in self.models else list(self.models.values())
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
    url = url or (output.get("image_url") if isinstance(output, dict) else None)
    if not isinstance(url, str):
        return Delivery(request_id=request_id, succeeded=False, error="The provider returned no image.")
    return Delivery(request_id=request_id, succeeded=True, image_url=url)
