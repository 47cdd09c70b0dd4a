"""The reference web app (web/) on the local cloud's API origin: `/app/…` serves its files with a
strict Content-Security-Policy, `/` redirects there, `/app/config.json` tells it where things are.

Same-origin with the API, so the app needs no CORS; storage (presigned uploads and image links)
is the one other origin it talks to. Paths and headers are the ones the stack's CloudFront
distribution serves (infra/webapp_policy.py).
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from infra.webapp_policy import APP_PATH, CONFIG_FILE, INDEX_FILE, REDIRECTED_PATHS, WEB_ROOT, security_headers

TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class WebApp:
    storage_origins: tuple[str, ...]
    config: dict = field(default_factory=dict)  # served as /app/config.json
    root: Path = WEB_ROOT

    def headers(self, content_type: str) -> dict[str, str]:
        return {"Content-Type": content_type, **security_headers(self.storage_origins)}

    def answer(self, raw_path: str) -> tuple[int, dict[str, str], bytes | None] | None:
        """(status, headers, body) for the app's paths; None for the API's."""
        path = unquote(urlsplit(raw_path).path)
        if path in REDIRECTED_PATHS:
            return 302, {"Location": APP_PATH, "Cache-Control": "no-store"}, None
        if not path.startswith(APP_PATH):
            return None
        if path == APP_PATH + CONFIG_FILE:
            return 200, self.headers("application/json"), json.dumps(self.config).encode()
        relative = path[len(APP_PATH) :] or INDEX_FILE
        file = (self.root / relative).resolve()
        if self.root.resolve() not in file.parents or not file.is_file():
            body = json.dumps({"error": {"code": "not_found", "message": "No such page."}}).encode()
            return 404, {"Content-Type": "application/json"}, body
        content_type = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return 200, self.headers(content_type), file.read_bytes()
