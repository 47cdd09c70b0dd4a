"""What every e2e test does over HTTP: call the JSON API, poll until something happens, read mail
from the local cloud's outbox and sign up a fresh user with the code it was sent."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

# Workflows, webhooks and mail run in the background of a loaded machine: wait generously, poll often.
WAIT_SECONDS = 90.0
POLL_SECONDS = 0.2
LOGIN_CODE = re.compile(r"\b(\d{8})\b")


def http_get(url: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET, for 4xx/5xx too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _send(method: str, url: str, body: dict | None, headers: dict | None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "DELETE") else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def call(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, Any]:
    """(status, JSON body) of an API call, for 4xx/5xx too; an empty body reads as {}."""
    status, raw = _send(method, url, body, headers)
    return status, json.loads(raw or b"{}")


def visit(method: str, url: str) -> int:
    """The status of a request to a page that answers with HTML or a redirect (the pay page, say)."""
    return _send(method, url, None, None)[0]


def eventually(check, what: str, timeout: float = WAIT_SECONDS, detail=None):
    """Poll `check` until it returns something truthy and return that; fail after `timeout` seconds.

    `detail`, if given, is called on timeout to say what the state was."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            explained = f": {detail()}" if detail else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{explained}")
        time.sleep(POLL_SECONDS)


def latest_mail(cloud, email: str, subject_part: str = "") -> dict[str, Any]:
    """The newest message to `email` whose subject contains `subject_part`, once it has arrived."""

    def probe():
        return next(
            (m for m in reversed(cloud.outbox()) if email in m.get("to", []) and subject_part in m.get("subject", "")),
            None,
        )

    return eventually(probe, f"an email '{subject_part}' to the test address")


def login_code(cloud, email: str) -> str:
    """The newest sign-in code mailed to `email`."""

    def probe():
        for message in reversed(cloud.outbox()):
            if email in message.get("to", []):
                found = LOGIN_CODE.search(message.get("body", ""))
                if found:
                    return found.group(1)
        return None

    return eventually(probe, "a sign-in code in the outbox")


@dataclass
class SignedIn:
    user_id: str
    email: str
    headers: dict[str, str]  # the bearer token


def sign_up(cloud, prefix: str = "e2e") -> SignedIn:
    """A new adult user signed in by the code from the outbox."""
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    assert call("POST", f"{cloud.api}/auth/email/code", {"email": email})[0] == 202
    status, session = call(
        "POST",
        f"{cloud.api}/auth/email/verify",
        {"email": email, "code": login_code(cloud, email), "birth_date": "1990-01-01"},
    )
    assert status == 200, session
    return SignedIn(session["user_id"], email, {"Authorization": f"Bearer {session['token']}"})


def balance(cloud, headers: dict[str, str]) -> int:
    status, page = call("GET", f"{cloud.api}/me/ledger", headers=headers)
    assert status == 200, page
    return page["balance"]


def stored_text(cloud, table_suffixes: tuple[str, ...] | None = None) -> str:
    """Every item of the cloud's tables (those ending in one of `table_suffixes`, if given) as JSON text."""
    dynamodb = cloud.client("dynamodb")
    names = [n for n in dynamodb.list_tables()["TableNames"] if table_suffixes is None or n.endswith(table_suffixes)]
    return json.dumps([dynamodb.scan(TableName=name)["Items"] for name in names])
