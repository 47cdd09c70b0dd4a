"""An embedded model provider speaking fal.ai's queue protocol, for the local cloud and the tests.

  POST /<model id>?fal_webhook=<url>        queue a job (Authorization: Key ...) -> request_id, URLs
  GET  /<model id>/requests/<id>/status     IN_QUEUE | IN_PROGRESS | COMPLETED
  GET  /<model id>/requests/<id>            the result payload
  GET  /.well-known/jwks.json               the Ed25519 keys webhooks are signed with
  GET  /files/<id>.png                      the rendered image
  DELETE /v1/models/requests/<id>/payloads  the Platform API: forget the request's payloads and
                                            output files (GEN-5)

Like fal, it honours `X-Fal-Store-IO: 0` (the request's payloads are not kept once it completes)
and records each request's `X-Fal-Object-Lifecycle-Preference`; `deleted` lists payload deletions.

Jobs render a small real PNG on the CPU with Pillow (from the prompt, over the source image when
one is given) and call back exactly as fal does: headers X-Fal-Webhook-Request-Id/-User-Id/
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
    image: bytes | None = None
    size: tuple[int, int] = (0, 0)
    error: str | None = None
    deliveries: list[int] = field(default_factory=list)
    store_io: bool = True  # False when submitted with X-Fal-Store-IO: 0
    lifecycle: dict | None = None  # X-Fal-Object-Lifecycle-Preference, as sent

    def result(self) -> dict:
        if self.error:
            return {"detail": [{"msg": self.error}]}
        width, height = self.size
        return {
            "images": [
                {
                    "url": f"{self.base_url}/files/{self.request_id}.png",
                    "width": width,
                    "height": height,
                    "content_type": "image/png",
                }
            ],
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
        job.status = "IN_PROGRESS"
        try:
            job.image, job.size = render(job.model_input, self.fetch)
        except Exception as exc:  # noqa: BLE001  (any rendering failure is the job's failure)
            job.error = f"could not render: {type(exc).__name__}"
        job.status = "COMPLETED"
        if job.webhook_url:
            self.call_back(job)
        if not job.store_io:
            job.model_input = {}  # no payload kept on the platform (fal: X-Fal-Store-IO: 0)
        return job

    def delete_payloads(self, request_id: str) -> dict | None:
        """The Platform API's payload deletion: input/output payloads and output CDN files go."""
        job = self.jobs.get(request_id)
        if job is None:
            return None
        url = f"{job.base_url}/files/{request_id}.png"
        job.model_input, job.image = {}, None
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
        if method == "GET" and path.startswith("/files/") and path.endswith(".png"):
            job = self.jobs.get(path.removeprefix("/files/").removesuffix(".png"))
            if job is None or job.image is None:
                return _json(start_response, 404, {"detail": "Not found"})
            start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(job.image)))])
            return [job.image]
        if not authorized:
            return _json(start_response, 401, {"detail": "Missing or invalid Authorization header"})
        if method == "DELETE" and path.startswith("/v1/models/requests/") and path.endswith("/payloads"):
            deleted = self.delete_payloads(path.removeprefix("/v1/models/requests/").removesuffix("/payloads"))
            if deleted is None:
                return _json(start_response, 404, {"detail": "Request not found"})
            return _json(start_response, 200, deleted)
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
        if not model_id or not isinstance(model_input, dict) or not isinstance(model_input.get("prompt"), str):
            return _json(start_response, 422, {"detail": [{"loc": ["body", "prompt"], "msg": "field required"}]})
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


def render(model_input: dict, fetch: Fetch) -> tuple[bytes, tuple[int, int]]:
    """A small deterministic picture of the prompt: colours from its hash, over the source image."""
    from PIL import Image, ImageDraw

    size = SIZES.get(str(model_input.get("image_size")), (64, 64))
    digest = hashlib.sha256(str(model_input["prompt"]).encode()).digest()
    if model_input.get("image_url"):
        with Image.open(io.BytesIO(fetch(model_input["image_url"]))) as source:
            canvas = source.convert("RGB").resize(size)
    else:
        canvas = Image.new("RGB", size, tuple(digest[0:3]))
    draw = ImageDraw.Draw(canvas)
    width, height = size
    for band in range(4):
        inset = band * min(width, height) // 10
        draw.ellipse((inset, inset, width - inset, height - inset), outline=tuple(digest[3 + band * 3 : 6 + band * 3]))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue(), size


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
