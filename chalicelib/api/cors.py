"""CORS for a web app served from another origin than the API (a per-stage setting).

Chalice writes CORS into the API definition when it packages the app (an OPTIONS method per
route on API Gateway; the local server answers preflights the same way), so the origin is read
from the environment when app.py is imported: the stack packages with the stage's variables set.
API Gateway answers one static origin; credentials are allowed for the session-cookie mode, and
the CSRF, idempotency and fingerprint headers may be sent.
"""

from __future__ import annotations

import os

from chalice import CORSConfig

ALLOWED_HEADERS = ("X-CSRF-Token", "Idempotency-Key", "X-Client-Fingerprint")
EXPOSED_HEADERS = ("Retry-After",)
PREFLIGHT_CACHE_SECONDS = 600


def cors_config(origin: str) -> CORSConfig | None:
    """The stage's CORS rule; None when the app is served from the API's own origin."""
    origin = origin.strip().rstrip("/")
    if not origin:
        return None
    if origin == "*":
        raise ValueError("PIXELKEEP_CORS_ORIGIN must name the web app's origin: cookies are never sent to '*'.")
    return CORSConfig(
        allow_origin=origin,
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=PREFLIGHT_CACHE_SECONDS,
        allow_credentials=True,
    )


def from_environment() -> CORSConfig | None:
    return cors_config(os.environ.get("PIXELKEEP_CORS_ORIGIN", ""))
