"""e2e in the local cloud: an export is built by its state machine, mailed and downloaded complete
(DSR-1, DSR-2); an erasure runs from the expired grace tombstone through the TTL stream, the state
machine and the final email to its receipt, leaving nothing tied to the person (DSR-4, DSR-9)."""

from __future__ import annotations

import io
import json
import re
import time
import urllib.error
import urllib.request
import uuid
import zipfile

WAIT_SECONDS = 90.0


def _call(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "DELETE") else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_for(what: str, probe):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _mail(cloud, email: str, subject_part: str):
    def probe():
        return next(
            (m for m in reversed(cloud.outbox()) if email in m.get("to", []) and subject_part in m.get("subject", "")),
            None,
        )

    return _wait_for(f"an email '{subject_part}'", probe)


def _sign_up(cloud) -> tuple[str, str, dict]:
    email = f"e2e-rights-{uuid.uuid4().hex[:8]}@example.com"
    assert _call("POST", f"{cloud.api}/auth/email/code", {"email": email})[0] == 202
    code = re.search(r"\b(\d{8})\b", _mail(cloud, email, "")["body"]).group(1)
    status, session = _call(
        "POST", f"{cloud.api}/auth/email/verify", {"email": email, "code": code, "birth_date": "1990-01-01"}
    )
    assert status == 200, session
    return session["user_id"], email, {"Authorization": f"Bearer {session['token']}"}


def _stored(cloud) -> str:
    dynamodb = cloud.client("dynamodb")
    return json.dumps([dynamodb.scan(TableName=name)["Items"] for name in dynamodb.list_tables()["TableNames"]])


def test_dsr1_dsr2_export_is_built_mailed_and_downloaded_complete(local_cloud):
    user_id, email, headers = _sign_up(local_cloud)
    assert _call("POST", f"{local_cloud.api}/me/consents", {"purpose": "marketing", "granted": True}, headers)[0] == 200
    status, started = _call("POST", f"{local_cloud.api}/me/exports", headers=headers)
    assert status == 202, started

    def ready():
        return (
            _call("GET", f"{local_cloud.api}/me/exports/{started['id']}", headers=headers)[1].get("status") == "ready"
        )

    _wait_for("the export", ready)
    link = re.search(r"(http\S+)", _mail(local_cloud, email, "export is ready")["body"]).group(1)
    with urllib.request.urlopen(link, timeout=30) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["user_id"] == user_id
    profile = json.loads(archive.read("records/accounts/profile.json"))
    assert profile[0]["email"] == email
    consents = [n for n in archive.namelist() if n.startswith("records/accounts/consent")]
    assert json.loads(archive.read(consents[0]))[0]["purpose"] == "marketing"


def test_dsr4_dsr9_erasure_runs_from_the_expired_tombstone_to_its_receipt(local_cloud):
    user_id, email, headers = _sign_up(local_cloud)
    status, scheduled = _call("DELETE", f"{local_cloud.api}/me", headers=headers)
    assert status == 202, scheduled
    assert _call("GET", f"{local_cloud.api}/me", headers=headers)[0] in (401, 403)  # disabled at once

    if scheduled["status"] == "scheduled":
        # Let the grace pass: the tombstone's TTL moves to the past; the sweeper deletes it like
        # DynamoDB's TTL does and its stream record starts the erasure state machine.
        dynamodb = local_cloud.client("dynamodb")
        table = next(n for n in dynamodb.list_tables()["TableNames"] if n.endswith("-accounts"))
        dynamodb.update_item(
            TableName=table,
            Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "TOMBSTONE"}},
            UpdateExpression="SET expires_at = :past",
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 60)}},
        )

    final = _mail(local_cloud, email, "has been erased")
    erasure_id = re.search(r"Receipt: ([0-9a-f]+)", final["body"]).group(1)
    stored = _stored(local_cloud)
    assert f"ERASURE#{erasure_id}" in stored  # the receipt
    assert user_id not in stored
    assert email not in stored
