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
import zipfile

from tests.e2e.web import call, eventually, latest_mail, sign_up, stored_text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the redirect surfaces as an HTTPError the test reads


def _unfollowed(request: urllib.request.Request):
    try:
        return urllib.request.build_opener(_NoRedirect).open(request, timeout=30)
    except urllib.error.HTTPError as answer:
        return answer


def test_dsr1_dsr2_export_is_built_mailed_and_downloaded_complete(local_cloud):
    user = sign_up(local_cloud, "e2e-rights")
    user_id, email, headers = user.user_id, user.email, user.headers
    assert call("POST", f"{local_cloud.api}/me/consents", {"purpose": "marketing", "granted": True}, headers)[0] == 200
    status, started = call("POST", f"{local_cloud.api}/me/exports", headers=headers)
    assert status == 202, started

    def ready():
        return call("GET", f"{local_cloud.api}/me/exports/{started['id']}", headers=headers)[1].get("status") == "ready"

    eventually(ready, "the export")
    link = re.search(r"(http\S+)", latest_mail(local_cloud, email, "export is ready")["body"]).group(1)
    assert link == f"{local_cloud.api}/me/exports/{started['id']}/download"  # the route, not a signed URL
    redirect = _unfollowed(urllib.request.Request(link, headers=headers))
    assert redirect.code == 302
    signed = json.loads(redirect.read())
    assert redirect.headers["Location"] == signed["url"]
    assert signed["expires_in"] == 300
    with urllib.request.urlopen(signed["url"], timeout=30) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["user_id"] == user_id
    profile = json.loads(archive.read("records/accounts/profile.json"))
    assert profile[0]["email"] == email
    consents = [n for n in archive.namelist() if n.startswith("records/accounts/consent")]
    assert json.loads(archive.read(consents[0]))[0]["purpose"] == "marketing"


def test_dsr4_dsr9_erasure_runs_from_the_expired_tombstone_to_its_receipt(local_cloud):
    user = sign_up(local_cloud, "e2e-rights")
    user_id, email, headers = user.user_id, user.email, user.headers
    status, scheduled = call("DELETE", f"{local_cloud.api}/me", headers=headers)
    assert status == 202, scheduled
    assert call("GET", f"{local_cloud.api}/me", headers=headers)[0] in (401, 403)  # disabled at once

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

    final = latest_mail(local_cloud, email, "has been erased")
    erasure_id = re.search(r"Receipt: ([0-9a-f]+)", final["body"]).group(1)
    stored = stored_text(local_cloud)
    assert f"ERASURE#{erasure_id}" in stored  # the receipt
    assert user_id not in stored
    assert email not in stored
