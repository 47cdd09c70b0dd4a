"""What every e2e test does over HTTP: call the JSON API, poll until something happens, read mail
from the local cloud's outbox and sign up a fresh user with the code it was sent."""

from __future__ import annotations

import functools
import http.client
import json
import random
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


class _FromAddress(urllib.request.HTTPHandler):
    """Connects from a given local address: each loopback address is a caller of its own."""

    def __init__(self, source_ip: str) -> None:
        super().__init__()
        self._source = (source_ip, 0)

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=self._source), req)


def another_caller() -> str:
    """A loopback address of its own (all of 127/8 reaches the local cloud): the sign-ups of a whole
    suite come from many machines, as they would, not all from 127.0.0.1's rate limits."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _send(
    method: str, url: str, body: dict | None, headers: dict | None, source_ip: str | None = None
) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "DELETE") else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    opener = urllib.request.build_opener(_FromAddress(source_ip)) if source_ip else urllib.request.build_opener()
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def call(
    method: str, url: str, body: dict | None = None, headers: dict | None = None, *, source_ip: str | None = None
) -> tuple[int, Any]:
    """(status, JSON body) of an API call, for 4xx/5xx too; an empty body reads as {}."""
    status, raw = _send(method, url, body, headers, source_ip)
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
    email, caller = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com", another_caller()
    assert call("POST", f"{cloud.api}/auth/email/code", {"email": email}, source_ip=caller)[0] == 202
    status, session = call(
        "POST",
        f"{cloud.api}/auth/email/verify",
        {"email": email, "code": login_code(cloud, email), "birth_date": "1990-01-01"},
        source_ip=caller,
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


def google_sign_in(cloud, prefix: str = "google") -> SignedIn:
    """Sign in through the cloud's Google stand-in: its consent form answers with a redirect whose
    fragment carries an RS256 ID token for the nonce, which the app checks against the stand-in's JWKS."""
    import urllib.parse

    import pytest

    from infra.emulators.google_signin import AUTH_PATH
    from infra.local_secrets import LOCAL_SECRETS

    caller = another_caller()
    status, issued = call("POST", f"{cloud.api}/auth/google/nonce", source_ip=caller)
    assert status == 201, issued
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    form = {
        "client_id": LOCAL_SECRETS["google-client-id"],
        "nonce": issued["nonce"],
        "email": email,
        "name": prefix.title(),
        "redirect_uri": f"{cloud.api}/app/",
        "state": "e2e",
    }

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(f"{cloud.google}{AUTH_PATH}", data=urllib.parse.urlencode(form).encode())
    with pytest.raises(urllib.error.HTTPError) as redirect:  # a redirect not followed is raised
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)  # noqa: S310  (local http URL)
    assert redirect.value.code == 302, redirect.value.read()
    fragment = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect.value.headers["Location"]).fragment)
    body = {"id_token": fragment["id_token"][0], "nonce": issued["nonce"], "birth_date": "1990-01-01"}
    status, session = call("POST", f"{cloud.api}/auth/google", body, source_ip=caller)
    assert status == 200, session
    return SignedIn(session["user_id"], email, {"Authorization": f"Bearer {session['token']}"})
