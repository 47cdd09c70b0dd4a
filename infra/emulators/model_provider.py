"""An embedded model provider speaking fal.ai's queue protocol, for the local cloud and the tests.

  POST /<model id>?fal_webhook=<url>        queue a job (Authorization: Key ...) -> request_id, URLs
  GET  /<model id>/requests/<id>/status     IN_QUEUE | IN_PROGRESS | COMPLETED
  GET  /<model id>/requests/<id>            the result payload
  PUT  /<model id>/requests/<id>/cancel     a queued request leaves the queue (202); one that started
                                            answers 400 ALREADY_COMPLETED
  GET  /.well-known/jwks.json               the Ed25519 keys webhooks are signed with
  GET  /files/<id>.<png|mp4|safetensors>    what the job made
  DELETE /v1/models/requests/<id>/payloads  the Platform API: forget the request's payloads and
                                            output files (GEN-5)

Like fal, it honours `X-Fal-Store-IO: 0` (the request's payloads are not kept once it completes)
and records each request's `X-Fal-Object-Lifecycle-Preference`; `deleted` lists payload deletions.

Jobs run on the CPU, by the model they name (`render`): a small real PNG with Pillow (from the prompt,
over the source image when one is given); an upscaled or edited PNG of the source; a training run that
reads the archive of photos and ends with LoRA weights (`diffusers_lora_file`); a real H.264 MP4 of the
archive's frames (PyAV). They call back exactly as fal does: headers X-Fal-Webhook-Request-Id/-User-Id/
-Timestamp/-Signature, the hex Ed25519 signature over "request_id\\nuser_id\\ntimestamp\\nsha256(body)".
A callback answered with anything but 2xx (or not answered) is retried, up to 10 times with growing
delays as fal does; the delays are shorter than fal's so a local developer sees the outcome soon.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from infra.local_secrets import LOCAL_SECRETS
from infra.redaction import redact_tokens

Deliver = Callable[[str, dict[str, str], bytes], int]  # (url, headers, body) -> HTTP status
Fetch = Callable[[str], bytes]

SIZES = {
    "square_hd": (64, 64),
    "square": (64, 64),
    "landscape_4_3": (64, 48),
    "portrait_4_3": (48, 64),
    "landscape_16_9": (64, 36),
    "portrait_16_9": (36, 64),
}
FILE_TYPES = {"png": "image/png", "mp4": "video/mp4", "safetensors": "application/octet-stream"}
# What each model needs besides (by the last part of its id); any other model needs a prompt.
REQUIRED: dict[str, tuple[str, ...]] = {
    "esrgan": ("image_url",),
    "image-to-image": ("image_url", "prompt"),
    "flux-lora-fast-training": ("images_data_url", "trigger_word"),
    "flux-lora": ("prompt", "loras"),
    "frames-to-mp4": ("images_data_url", "fps"),
}
CALLBACK_RETRIES = 10  # fal retries a queue callback up to 10 times
FIRST_RETRY_SECONDS = 0.1  # then doubling, at most MAX_RETRY_SECONDS apart
MAX_RETRY_SECONDS = 4.0
FAL_USER_ID = LOCAL_SECRETS["fal-user-id"]  # the account our callbacks are signed for


@dataclass
class Job:
    request_id: str
    model_id: str
    model_input: dict
    webhook_url: str | None
    base_url: str
    status: str = "IN_QUEUE"
    output: bytes | None = None  # the file the job made
    output_kind: str = "png"  # png | mp4 | safetensors
    size: tuple[int, int] = (0, 0)
    error: str | None = None
    deliveries: list[int] = field(default_factory=list)
    store_io: bool = True  # False when submitted with X-Fal-Store-IO: 0
    lifecycle: dict | None = None  # X-Fal-Object-Lifecycle-Preference, as sent

    def result(self) -> dict:
        """The payload in the shape fal's model for this job returns."""
        if self.error:
            return {"detail": [{"msg": self.error}]}
        url = f"{self.base_url}/files/{self.request_id}.{self.output_kind}"
        size = len(self.output or b"")
        if self.output_kind == "safetensors":
            return {
                "diffusers_lora_file": {"url": url, "content_type": "application/octet-stream", "file_size": size},
                "config_file": {"url": f"{url}.json", "content_type": "application/json"},
            }
        if self.output_kind == "mp4":
            return {"video": {"url": url, "content_type": "video/mp4", "file_size": size}}
        width, height = self.size
        image = {"url": url, "width": width, "height": height, "content_type": "image/png"}
        if self.model_id.endswith("esrgan"):
            return {"image": image}
        return {
            "images": [image],
            "has_nsfw_concepts": [False],
            "seed": int(hashlib.sha256(self.request_id.encode()).hexdigest()[:8], 16),
        }


def http_deliver(url: str, headers: dict[str, str], body: bytes) -> int:
    """The callback's HTTP status, or 0 when no answer came (refused, reset, timed out)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (local URLs)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class RedactedAccessLines(logging.Filter):
    """The web server's access lines keep the method, path and status, never a job's token."""

    def filter(self, record: logging.LogRecord) -> bool:
        line = record.getMessage()
        if (redacted := redact_tokens(line)) != line:
            record.msg, record.args = redacted, ()
        return True


def redact_access_lines(logger_name: str = "werkzeug") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactedAccessLines) for f in logger.filters):
        logger.addFilter(RedactedAccessLines())


def retry_delays() -> list[float]:
    return [min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2**attempt) for attempt in range(CALLBACK_RETRIES)]


def http_fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310  (local URLs)
        return response.read()


class ModelProviderEmulator:
    def __init__(
        self,
        *,
        api_base_url: str = "",
        deliver: Deliver = http_deliver,
        fetch: Fetch = http_fetch,
        autoflush: bool = True,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.api_base_url = api_base_url.rstrip("/")  # informational: jobs name their own webhook URL
        self.private_key = Ed25519PrivateKey.generate()
        self.deliver = deliver
        self.fetch = fetch
        self.autoflush = autoflush
        self.sleep = sleep
        self.jobs: dict[str, Job] = {}
        self.deleted: list[str] = []  # request ids whose payloads and outputs were deleted (GEN-5)
        self.cancelled: list[str] = []  # request ids taken off the queue before they ran (CNT-5)
        self._lock = threading.Lock()
        self._counter = seed or 0

    # -- protocol -------------------------------------------------------------------------------
    def jwks(self) -> dict:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "local-1", "use": "sig"}]}

    def sign(self, request_id: str, body: bytes, timestamp: int | None = None, user_id: str = FAL_USER_ID) -> dict:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        message = "\n".join([request_id, user_id, stamp, hashlib.sha256(body).hexdigest()]).encode()
        return {
            "Content-Type": "application/json",
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": self.private_key.sign(message).hex(),
        }

    def submit(
        self,
        model_id: str,
        model_input: dict,
        webhook_url: str | None,
        base_url: str,
        *,
        store_io: bool = True,
        lifecycle: dict | None = None,
    ) -> Job:
        with self._lock:
            self._counter += 1
            request_id = f"{self._counter:08d}-{secrets.token_hex(6)}"
            job = Job(request_id, model_id, model_input, webhook_url, base_url, store_io=store_io, lifecycle=lifecycle)
            self.jobs[request_id] = job
        if self.autoflush:
            threading.Thread(target=self.run, args=(request_id,), daemon=True).start()
        return job

    def webhook_body(self, job: Job) -> bytes:
        if job.error:
            body = {"request_id": job.request_id, "gateway_request_id": job.request_id, "status": "ERROR"}
            body.update(error=job.error, payload=job.result())
        else:
            body = {"request_id": job.request_id, "gateway_request_id": job.request_id, "status": "OK"}
            body["payload"] = job.result()
        return json.dumps(body).encode()

    def run(self, request_id: str) -> Job:
        """Render the job and call its webhook (what fal's workers do)."""
        job = self.jobs[request_id]
        with self._lock:
            if job.status != "IN_QUEUE":  # cancelled, or taken by another worker
                return job
            job.status = "IN_PROGRESS"
        try:
            job.output, job.output_kind, job.size = render(job.model_id, job.model_input, self.fetch)
        except Exception as exc:  # noqa: BLE001  (any rendering failure is the job's failure)
            job.error = f"could not render: {type(exc).__name__}"
        job.status = "COMPLETED"
        if job.webhook_url:
            self.call_back(job)
        if not job.store_io:
            job.model_input = {}  # no payload kept on the platform (fal: X-Fal-Store-IO: 0)
        return job

    def cancel(self, request_id: str) -> tuple[int, dict]:
        """The queue's cancel: a queued request leaves the queue and never runs (202); one that
        started or ended cannot be cancelled (400)."""
        with self._lock:
            job = self.jobs.get(request_id)
            if job is None:
                return 404, {"detail": "Request not found"}
            if job.status != "IN_QUEUE":
                return 400, {"status": "ALREADY_COMPLETED"}
            job.status = "CANCELLED"
            self.cancelled.append(request_id)
        return 202, {"status": "CANCELLATION_REQUESTED"}

    def delete_payloads(self, request_id: str) -> dict | None:
        """The Platform API's payload deletion: input/output payloads and output CDN files go."""
        job = self.jobs.get(request_id)
        if job is None:
            return None
        url = f"{job.base_url}/files/{request_id}.{job.output_kind}"
        job.model_input, job.output = {}, None
        self.deleted.append(request_id)
        return {"cdn_delete_results": [{"link": url, "exception": None}]}

    def call_back(self, job: Job) -> None:
        """Deliver the job's webhook until it is taken (2xx) or the retries run out, as fal does."""
        body = self.webhook_body(job)
        for delay in [0.0, *retry_delays()]:
            if delay:
                self.sleep(delay)
            job.deliveries.append(self.deliver(job.webhook_url, self.sign(job.request_id, body), body))
            if 200 <= job.deliveries[-1] < 300:
                return

    def flush(self) -> list[Job]:
        return [self.run(rid) for rid, job in list(self.jobs.items()) if job.status == "IN_QUEUE"]

    # -- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        from wsgiref.util import application_uri

        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/")
        base_url = application_uri(environ).rstrip("/")
        authorized = (environ.get("HTTP_AUTHORIZATION") or "").startswith("Key ")
        if method == "GET" and path == "/.well-known/jwks.json":
            return _json(start_response, 200, self.jwks())
        if method == "GET" and path.startswith("/files/"):
            request_id, _, suffix = path.removeprefix("/files/").partition(".")
            job = self.jobs.get(request_id)
            if job is None or job.output is None or suffix != job.output_kind:
                return _json(start_response, 404, {"detail": "Not found"})
            headers = [("Content-Type", FILE_TYPES[suffix]), ("Content-Length", str(len(job.output)))]
            start_response("200 OK", headers)
            return [job.output]
        if not authorized:
            return _json(start_response, 401, {"detail": "Missing or invalid Authorization header"})
        if method == "DELETE" and path.startswith("/v1/models/requests/") and path.endswith("/payloads"):
            deleted = self.delete_payloads(path.removeprefix("/v1/models/requests/").removesuffix("/payloads"))
            if deleted is None:
                return _json(start_response, 404, {"detail": "Request not found"})
            return _json(start_response, 200, deleted)
        if method == "PUT" and "/requests/" in path and path.endswith("/cancel"):
            request_id = path.strip("/").partition("/requests/")[2].removesuffix("/cancel")
            return _json(start_response, *self.cancel(request_id))
        if method == "POST":
            return self._submit(environ, start_response, path.strip("/"), base_url)
        if method == "GET" and "/requests/" in path:
            model_id, _, rest = path.strip("/").partition("/requests/")
            request_id, _, tail = rest.partition("/")
            job = self.jobs.get(request_id)
            if job is None:
                return _json(start_response, 404, {"detail": "Request not found"})
            if tail == "status":
                return _json(start_response, 200, {"status": job.status, "request_id": request_id, "queue_position": 0})
            if job.status != "COMPLETED":
                return _json(start_response, 400, {"detail": "Request is still in progress"})
            return _json(start_response, 200, job.result())
        return _json(start_response, 404, {"detail": "Not found"})

    def _submit(self, environ: dict, start_response: Callable, model_id: str, base_url: str) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            model_input = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            return _json(start_response, 422, {"detail": "Body is not JSON"})
        missing = required_input(model_id, model_input)
        if missing:
            return _json(start_response, 422, {"detail": [{"loc": ["body", missing], "msg": "field required"}]})
        webhook = parse_qs(environ.get("QUERY_STRING", "")).get("fal_webhook", [None])[0]
        lifecycle = environ.get("HTTP_X_FAL_OBJECT_LIFECYCLE_PREFERENCE")
        job = self.submit(
            model_id,
            model_input,
            webhook,
            base_url,
            store_io=environ.get("HTTP_X_FAL_STORE_IO") != "0",
            lifecycle=json.loads(lifecycle) if lifecycle else None,
        )
        queue = f"{base_url}/{model_id}/requests/{job.request_id}"
        return _json(
            start_response,
            200,
            {
                "request_id": job.request_id,
                "response_url": queue,
                "status_url": f"{queue}/status",
                "cancel_url": f"{queue}/cancel",
                "queue_position": 0,
            },
        )


def required_input(model_id: str, model_input: object) -> str | None:
    """The first input field the model needs and did not get (fal answers 422 naming it)."""
    if not model_id or not isinstance(model_input, dict):
        return "body"
    for name in REQUIRED.get(model_id.rsplit("/", 1)[-1], ("prompt",)):
        if not model_input.get(name):
            return name
    return None


def render(model_id: str, model_input: dict, fetch: Fetch) -> tuple[bytes, str, tuple[int, int]]:
    """(file, its kind, its size) of a job, by the model it asks for."""
    name = model_id.rsplit("/", 1)[-1]
    if name == "esrgan":
        return _png(_source(model_input, fetch, scale=int(model_input.get("scale") or 2)))
    if name == "image-to-image":
        return _png(_drawn(_source(model_input, fetch), str(model_input["prompt"])))
    if name == "flux-lora-fast-training":
        return _train(model_input, fetch)
    if name == "frames-to-mp4":
        from infra.emulators.media import encode_mp4

        frames = _archive_images(fetch(model_input["images_data_url"]))
        return encode_mp4(frames, int(model_input.get("fps") or 1)), "mp4", frames[0].size
    size = SIZES.get(str(model_input.get("image_size")), (64, 64))
    if model_input.get("image_url"):
        canvas = _source(model_input, fetch).resize(size)
    else:
        from PIL import Image

        canvas = Image.new("RGB", size, tuple(_digest(model_input)[0:3]))
    return _png(_drawn(canvas, str(model_input["prompt"]) + json.dumps(model_input.get("loras") or [])))


def _digest(model_input: dict) -> bytes:
    return hashlib.sha256(str(model_input.get("prompt")).encode()).digest()


def _source(model_input: dict, fetch: Fetch, scale: int = 1):
    from PIL import Image

    with Image.open(io.BytesIO(fetch(model_input["image_url"]))) as source:
        image = source.convert("RGB")
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.LANCZOS) if scale > 1 else image


def _drawn(canvas, text: str):
    """Rings coloured by the text's hash: a deterministic picture of the prompt."""
    from PIL import ImageDraw

    digest = hashlib.sha256(text.encode()).digest()
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    for band in range(4):
        inset = band * min(width, height) // 10
        draw.ellipse((inset, inset, width - inset, height - inset), outline=tuple(digest[3 + band * 3 : 6 + band * 3]))
    return canvas


def _png(image) -> tuple[bytes, str, tuple[int, int]]:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), "png", image.size


def _archive_images(data: bytes) -> list:
    """The images of a zip archive, in name order (fal's trainers take photos as one zip)."""
    import zipfile

    from PIL import Image

    images = []
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        for name in sorted(bundle.namelist()):
            with Image.open(io.BytesIO(bundle.read(name))) as image:
                images.append(image.convert("RGB"))
    if not images:
        raise ValueError("the archive holds no images")
    return images


def _train(model_input: dict, fetch: Fetch) -> tuple[bytes, str, tuple[int, int]]:
    """A "training run": reads every photo, then writes weights derived from them and the trigger word."""
    photos = _archive_images(fetch(model_input["images_data_url"]))
    digest = hashlib.sha256(str(model_input.get("trigger_word")).encode())
    for photo in photos:
        digest.update(photo.tobytes())
    return b"LORA" + digest.digest() * 8, "safetensors", (0, 0)


def _json(start_response: Callable, status: int, body: Any) -> list[bytes]:
    from http import HTTPStatus

    data = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def create_app(
    *, api_base_url: str, deliver: Deliver | None = None, fetch: Fetch | None = None, autoflush: bool = True
) -> ModelProviderEmulator:
    """The WSGI app (the emulator object itself). Webhooks go to the URL each job names; the
    Pixelkeep API at `api_base_url` is where the local cloud's jobs point them. The server's access
    lines leave out the job tokens those URLs carry."""
    redact_access_lines()
    return ModelProviderEmulator(
        api_base_url=api_base_url, deliver=deliver or http_deliver, fetch=fetch or http_fetch, autoflush=autoflush
    )
