"""The reference web app's paths and response headers, defined once: the local cloud serves `web/`
with them (infra/localcloud/webapp.py) and the stack's CloudFront distribution carries them in its
response headers policy (infra/cdk/webapp.py), so the two cannot drift.
"""

from __future__ import annotations

from pathlib import Path

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
APP_PATH = "/app/"  # the app's files live under this path; its URLs are relative to it
REDIRECTED_PATHS = ("/", "/app")  # answered with a redirect to APP_PATH
INDEX_FILE = "index.html"
CONFIG_FILE = "config.json"  # what the app reads first: {"api": the API's base URL, ...}
HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 3600


def content_security_policy(data_origins: tuple[str, ...]) -> str:
    """Scripts and styles from the app's own origin only (no inline code, no CDN); data and images
    from its own origin and `data_origins` (the API where it is another origin, and storage)."""
    data = " ".join(data_origins)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' blob: data: {data}; connect-src 'self' {data}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ).replace("  ", " ")


def security_headers(data_origins: tuple[str, ...]) -> dict[str, str]:
    """Every header the app's files are served with, besides their Content-Type. Browsers ignore
    Strict-Transport-Security over plain HTTP (the local cloud), and honour it on CloudFront."""
    return {
        "Content-Security-Policy": content_security_policy(data_origins),
        "Strict-Transport-Security": f"max-age={HSTS_MAX_AGE_SECONDS}; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
