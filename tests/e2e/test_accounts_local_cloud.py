"""e2e: a new user signs in through the local cloud by reading the code from the outbox (ACC-1),
uses the session, signs out; the tables hold neither the code nor the token."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid


def _call(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _code_from_outbox(cloud, email: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(cloud.outbox()):
            if email in message.get("to", []):
                found = re.search(r"\b(\d{8})\b", message.get("body", ""))
                if found:
                    return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no sign-in code reached the outbox for {email}")


def _stored_text(cloud) -> str:
    dynamodb = cloud.client("dynamodb")
    names = [n for n in dynamodb.list_tables()["TableNames"] if n.endswith(("-accounts", "-logs"))]
    return json.dumps([dynamodb.scan(TableName=name)["Items"] for name in names])


def test_acc1_new_user_signs_in_with_the_code_from_the_outbox(local_cloud):
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    status, body = _call("POST", f"{local_cloud.api}/auth/email/code", {"email": email})
    assert (status, body) == (202, {"status": "sent_if_possible"})
    code = _code_from_outbox(local_cloud, email)

    status, session = _call(
        "POST", f"{local_cloud.api}/auth/email/verify", {"email": email, "code": code, "birth_date": "1990-01-01"}
    )
    assert status == 200, session
    headers = {"Authorization": f"Bearer {session['token']}"}
    status, me = _call("GET", f"{local_cloud.api}/me", headers=headers)
    assert status == 200
    assert (me["email"], me["email_verified"]) == (email, True)

    stored = _stored_text(local_cloud)
    assert code not in stored
    assert session["token"] not in stored

    assert _call("POST", f"{local_cloud.api}/auth/logout", headers=headers)[0] == 200
    assert _call("GET", f"{local_cloud.api}/me", headers=headers)[0] == 401
    assert _call("POST", f"{local_cloud.api}/auth/email/verify", {"email": email, "code": code})[0] == 401
