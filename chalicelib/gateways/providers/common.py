"""The HTTP transport the provider adapters share, and their common steps. What an adapter offers
is the ModelProvider port (chalicelib/domain/ports/content.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib import errors

ASPECT_SIZES = {"1:1": (1024, 1024), "4:3": (1152, 864), "3:4": (864, 1152), "16:9": (1344, 768), "9:16": (768, 1344)}


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise errors.UpstreamUnavailable("The model provider sent an unreadable response.") from exc


class Http(Protocol):
    def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResponse: ...


class UrllibHttp:
    """Plain HTTPS with the standard library: no extra runtime dependency in the Lambda bundle."""

    def __init__(self, timeout: float = 15.0) -> None:
        self._timeout = timeout

    def request(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResponse:
        import urllib.error
        import urllib.request

        if not url.startswith(("https://", "http://")):
            raise errors.UpstreamUnavailable("The model provider URL is not an HTTP URL.")
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return HttpResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return HttpResponse(exc.code, dict(exc.headers or {}), exc.read() or b"")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise errors.UpstreamUnavailable("The model provider could not be reached.") from exc


def model_id(provider: Any, kind: Any, model: str) -> str:
    """The provider's model (or endpoint) for a job: text-to-image by its public model name, every
    other kind by its tool."""
    from chalicelib.profile.schema import JobKind

    return provider.models[model] if kind == JobKind.TEXT_TO_IMAGE else provider.tools[kind]


def cancelled(response: HttpResponse) -> bool:
    """A cancel is done when the provider stopped the job, or it had ended or is gone already."""
    return response.status < 300 or response.status in (400, 404, 409)


def ensure_ok(response: HttpResponse, what: str) -> HttpResponse:
    if response.status >= 300:
        raise errors.UpstreamUnavailable(f"The model provider refused to {what} (HTTP {response.status}).")
    return response


def queued_id(response: HttpResponse, field: str) -> str:
    """The job id from a provider's answer to a submit."""
    job_id = ensure_ok(response, "queue the job").json().get(field)
    if not isinstance(job_id, str) or not job_id:
        raise errors.UpstreamUnavailable("The model provider did not return a job id.")
    return job_id


def header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive header lookup (API Gateway and WSGI spell header names differently)."""
    wanted = name.lower()
    return next((str(value) for key, value in headers.items() if key.lower() == wanted), "")


def download(http: Http, url: str, max_bytes: int) -> bytes:
    response = ensure_ok(http.request("GET", url), "return the image")
    if len(response.body) > max_bytes:
        raise errors.UpstreamUnavailable("The model provider returned an image that is too large.")
    return response.body
