"""The page behind the erasure e-mail's cancel link (DSR-9).

The link carries the cancel code in its fragment (`#token=…`), which browsers never send: the
code, which starts with the user id, stays out of every access log. A hashed inline script copies
it into the form; without scripts the person pastes the code from the e-mail. The form posts
`application/x-www-form-urlencoded` to the same path, which answers with a page.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from chalice import Response

from chalicelib import errors

FORM = "application/x-www-form-urlencoded"
FILL_FROM_FRAGMENT = (
    "var m=/token=([^&]+)/.exec(location.hash);"
    "if(m){document.getElementById('token').value=decodeURIComponent(m[1]);history.replaceState(null,'',location.pathname);}"
)
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
    "input,button{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0 1rem}"
    "button{background:#1d4ed8;color:#fff;border:0;border-radius:4px;cursor:pointer}"
    "button:focus-visible,input:focus-visible{outline:3px solid #f59e0b}"
)


def _sha256(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


@functools.cache
def _headers() -> dict[str, str]:
    policy = (
        f"default-src 'none'; script-src '{_sha256(FILL_FROM_FRAGMENT)}'; style-src '{_sha256(STYLE)}'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(body=document, status_code=status, headers=_headers())


def landing_page() -> Response:
    form = (
        "<p>Your account is waiting to be erased. To keep it, confirm with the code from the e-mail.</p>"
        "<form method='post' action='/me/erasure/cancel'>"
        "<label for='token'>Cancel code</label>"
        "<input id='token' name='token' required autocomplete='off' minlength='10' maxlength='200'>"
        "<button type='submit'>Keep my account</button></form>"
        f"<script>{FILL_FROM_FRAGMENT}</script>"
    )
    return _page("Keep your account", form)


def is_form(request: Any) -> bool:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower() == FORM


def token_from_form(raw_body: bytes | None) -> str:
    values = parse_qs((raw_body or b"").decode("utf-8", errors="replace")).get("token") or [""]
    return values[0].strip()


def outcome_page(cancel: Callable[[], Any]) -> Response:
    """Runs the cancel; a refused code is the same 4xx status, as a page the person can read."""
    from chalicelib.api.http import STATUS

    try:
        cancel()
    except errors.DomainError as exc:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        return _page("Not cancelled", f"<p role='alert'>{html.escape(exc.message)}</p>", status)
    return _page("Erasure cancelled", "<p>Your account is active again. You can sign in as before.</p>")
