"""The outbox: emails the app sent through SES, as recorded by the in-process moto backend,
served as an HTML page and as JSON on the local tools server (never part of the Chalice app)."""

from __future__ import annotations

import email
import html
import json
from collections.abc import Callable, Iterable
from email.message import Message as MimeMessage
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID


def _addresses(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        return list(destinations.get("ToAddresses") or [])
    return list(destinations or [])


def _text_part(message: MimeMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True) or b""
            return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


def _as_dict(message: Any) -> dict[str, Any]:
    if hasattr(message, "raw_data"):  # SendRawEmail
        parsed = email.message_from_string(message.raw_data)
        to = _addresses(message.destinations) or [a.strip() for a in (parsed.get("To") or "").split(",") if a]
        return {
            "id": message.id,
            "from": message.source or parsed.get("From", ""),
            "to": to,
            "subject": parsed.get("Subject", ""),
            "body": _text_part(parsed),
        }
    if hasattr(message, "template"):  # SendTemplatedEmail
        return {
            "id": getattr(message, "id", ""),
            "from": message.source,
            "to": _addresses(message.destinations),
            "subject": f"template {message.template}",
            "body": message.template_data,
        }
    return {
        "id": message.id,
        "from": message.source,
        "to": _addresses(message.destinations),
        "subject": message.subject or "",
        "body": message.body or "",
    }


def sent_emails(region: str) -> list[dict[str, Any]]:
    """Every email sent so far, oldest first, as {id, from, to: [addresses], subject, body}."""
    from moto.ses.models import ses_backends

    return [_as_dict(m) for m in list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages)]


def _page(messages: Iterable[dict[str, Any]]) -> str:
    rows = "".join(
        "<article><h2>{subject}</h2><p>to {to} · from {sender}</p><pre>{body}</pre></article>".format(
            subject=html.escape(m["subject"]),
            to=html.escape(", ".join(m["to"])),
            sender=html.escape(m["from"]),
            body=html.escape(m["body"]),
        )
        for m in messages
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Outbox</title></head><body>"
        "<h1>Outbox</h1><p>Emails sent through the local SES, newest first. "
        "<a href='/outbox.json'>JSON</a></p>" + (rows or "<p>No emails yet.</p>") + "</body></html>"
    )


def tools_app(
    region: str, pages: dict[str, Callable[[], tuple[str, str]]] | None = None
) -> Callable[..., Iterable[bytes]]:
    """WSGI app for local-only pages: `/` and `/outbox` (HTML), `/outbox.json`, and `pages`
    (path -> a function returning (body, content type))."""
    pages = pages or {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in pages:
            (body, content_type), status = pages[path](), "200 OK"
        elif path == "/outbox.json":
            body, content_type, status = json.dumps(sent_emails(region)), "application/json", "200 OK"
        elif path in ("/", "/outbox"):
            body, content_type, status = _page(reversed(sent_emails(region))), "text/html; charset=utf-8", "200 OK"
        else:
            body, content_type, status = json.dumps({"error": "not found"}), "application/json", "404 Not Found"
        data = body.encode("utf-8")
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]

    return app
