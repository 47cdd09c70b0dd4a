"""The reference web app (web/) on the local cloud's API origin: `/app/…` serves its files with a
strict Content-Security-Policy, `/` redirects there, `/app/config.json` tells it where things are.

Same-origin with the API, so the app needs no CORS; storage (presigned uploads and image links)
is the one other origin it talks to.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"
PREFIX = "/app/"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def content_security_policy(storage_origins: tuple[str, ...]) -> str:
    """Scripts and styles from the app's own origin only (no inline code, no CDN); data from the
    API (same origin) and storage."""
    storage = " ".join(storage_origins)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' blob: data: {storage}; connect-src 'self' {storage}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ).replace("  ", " ")


@dataclass(frozen=True)
class WebApp:
    storage_origins: tuple[str, ...]
    config: dict = field(default_factory=dict)  # served as /app/config.json
    root: Path = WEB_ROOT

    def headers(self, content_type: str) -> dict[str, str]:
        return {
            "Content-Type": content_type,
            "Content-Security-Policy": content_security_policy(self.storage_origins),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }

    def answer(self, raw_path: str) -> tuple[int, dict[str, str], bytes | None] | None:
        """(status, headers, body) for the app's paths; None for the API's."""
        path = unquote(urlsplit(raw_path).path)
        if path in ("/", "/app"):
            return 302, {"Location": PREFIX, "Cache-Control": "no-store"}, None
        if not path.startswith(PREFIX):
            return None
        if path == PREFIX + "config.json":
            return 200, self.headers("application/json"), json.dumps(self.config).encode()
        relative = path[len(PREFIX) :] or "index.html"
        file = (self.root / relative).resolve()
        if self.root.resolve() not in file.parents or not file.is_file():
            body = json.dumps({"error": {"code": "not_found", "message": "No such page."}}).encode()
            return 404, {"Content-Type": "application/json"}, body
        content_type = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return 200, self.headers(content_type), file.read_bytes()
