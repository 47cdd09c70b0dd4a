"""Export (DSR-1, DSR-2): every category the person has, as JSON plus the original files, in one zip."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter

import pytest

from tests.conftest import PROFILES
from tests.support.auth import sign_up
from tests.support.mail import allow_sending, sent_emails
from tests.support.paging import owned_items
from tests.support.rights import CapturingStarter, run_export, use_every_feature


@pytest.fixture
def starter(monkeypatch):
    from chalicelib import wiring

    capturing = CapturingStarter()
    monkeypatch.setattr(wiring, "workflow", lambda kind: capturing)
    return capturing


def _archive(session, user_id, export_id) -> zipfile.ZipFile:
    from chalicelib.settings import get_settings

    key = f"exports/{user_id}/{export_id}.zip"
    body = session.client("s3").get_object(Bucket=get_settings().bucket_name("exports"), Key=key)["Body"].read()
    return zipfile.ZipFile(io.BytesIO(body))


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr1_dsr2_export_holds_every_record_and_file_as_json_and_originals(client, aws, starter, profile_name):
    from chalicelib import wiring
    from chalicelib.profile.schema import Category

    person = sign_up(client)
    other = sign_up(client)
    use_every_feature(client, aws, person)
    use_every_feature(client, aws, other)
    started = client.http.post("/me/exports", headers=person.headers)
    assert started.status_code == 202
    export_id = started.json_body["id"]
    assert client.http.get(f"/me/exports/{export_id}", headers=person.headers).json_body["status"] == "queued"

    run_export(wiring.rights_service().context, starter.started[-1][1])

    status = client.http.get(f"/me/exports/{export_id}", headers=person.headers).json_body
    assert status["status"] == "ready"
    assert status["progress"]["done"] == status["progress"]["total"] > 0
    archive = _archive(aws, person.user_id, export_id)
    names = archive.namelist()
    assert [name for name in names if set(name) & set('<>:"\\|?*')] == []  # DSR-2: unzips anywhere
    manifest = json.loads(archive.read("manifest.json"))
    assert {c["id"] for c in manifest["categories"]} == {c.id.value for c in wiring.profile().categories}
    records = {name: json.loads(archive.read(name)) for name in names if name.startswith("records/")}
    everything = json.dumps(records)
    # Every owned record of every table is in the archive, and nothing of the other person.
    owned = list(owned_items(wiring.personal_data(), person.user_id))
    assert sum(len(v) for v in records.values()) >= len(owned) - 1  # the export's own record moves on
    assert person.email in everything
    assert other.user_id not in everything
    assert "records/accounts/profile.json" in names
    assert any(n.startswith("records/accounts/consent") for n in names)
    assert any(n.startswith("files/uploads/") for n in names)
    if wiring.profile().stores(Category.GENERATED_IMAGES):
        assert any(n.startswith("files/generated/") for n in names)
    assert not any("_hash" in key for rows in records.values() for row in rows for key in row)
    upload = next(n for n in names if n.startswith("files/uploads/"))
    assert archive.read(upload).startswith(b"\x89PNG upload of ")
    # The person gets the download route, not a presigned URL (it would die with Lambda's credentials).
    mail = [m for m in sent_emails() if person.email in m["to"] and "export is ready" in m["subject"]]
    assert mail
    assert f"/me/exports/{export_id}/download" in mail[-1]["body"]
    assert not re.search(r"X-Amz-|Signature=", mail[-1]["body"])


def test_dsr1_each_download_signs_a_fresh_short_lived_url_while_the_profile_keeps_the_archive(
    client, aws, starter, monkeypatch
):
    """DSR-1: the route signs a new 5-minute URL per download, only for the owner, only while the
    profile's `exports` retention lasts; the URL fetches the archive."""
    from datetime import timedelta
    from urllib.parse import parse_qs, urlsplit

    from chalicelib import clock, wiring

    person = sign_up(client)
    stranger = sign_up(client)
    export_id = client.http.post("/me/exports", headers=person.headers).json_body["id"]
    path = f"/me/exports/{export_id}/download"
    assert client.http.get(path, headers=person.headers).status_code == 409  # not ready yet
    run_export(wiring.rights_service().context, starter.started[-1][1])
    assert client.http.get(f"/me/exports/{export_id}", headers=person.headers).json_body["download"] == path

    first = client.http.get(path, headers=person.headers)
    assert first.status_code == 302
    assert first.headers["Location"] == first.json_body["url"]
    assert first.headers["Cache-Control"] == "no-store"
    query = parse_qs(urlsplit(first.json_body["url"]).query)
    if "X-Amz-Expires" in query:  # SigV4
        assert query["X-Amz-Expires"] == ["300"]
    else:  # SigV2: an absolute expiry time
        assert 0 < int(query["Expires"][0]) - clock.now().timestamp() <= 301
    assert first.json_body["expires_in"] == 300
    assert f"{person.user_id}/{export_id}.zip" in urlsplit(first.json_body["url"]).path
    assert _archive(aws, person.user_id, export_id).testzip() is None
    second = client.http.get(path, headers=person.headers).json_body["url"]
    assert second.startswith(first.json_body["url"].split("?")[0])  # signed again for each download

    assert client.http.get(path, headers=stranger.headers).status_code == 404
    assert client.http.get(path).status_code == 401

    days = wiring.profile().category("exports").retention.days
    later = clock.now() + timedelta(days=days, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    gone = client.http.get(path, headers=person.headers)  # the record's TTL has passed too: reads hide it
    assert gone.status_code in (404, 410)
    assert gone.json_body["error"]["code"] in ("not_found", "gone")


def test_dsr1_export_lifecycle_rule_removes_archives_after_the_profile_period(aws):
    from chalicelib import wiring
    from chalicelib.settings import get_settings

    rules = aws.client("s3").get_bucket_lifecycle_configuration(Bucket=get_settings().bucket_name("exports"))["Rules"]
    (rule,) = [r for r in rules if r["Filter"]["And"]["Prefix"] == "exports/"]
    assert rule["Filter"]["And"]["Tags"] == [{"Key": "pixelkeep-clock", "Value": "running"}]  # DSR-12
    assert rule["Expiration"]["Days"] == wiring.profile().category("exports").retention.days


def test_dsr1_export_status_is_private_to_its_owner(client, aws, starter):
    person = sign_up(client)
    stranger = sign_up(client)
    export_id = client.http.post("/me/exports", headers=person.headers).json_body["id"]
    assert client.http.get(f"/me/exports/{export_id}", headers=stranger.headers).status_code == 404
    assert client.http.get(f"/me/exports/{export_id}").status_code == 401


def test_dsr1_exports_are_limited_in_flight_and_per_day_with_429_in_the_one_error_shape(client, aws, starter):
    """One export in flight per person, and a few a day (each one e-mails a link and runs a workflow)."""
    from chalicelib import wiring
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS

    person = sign_up(client)
    assert client.http.post("/me/exports", headers=person.headers).status_code == 202
    refused = client.http.post("/me/exports", headers=person.headers)
    assert refused.status_code == 429
    assert refused.json_body["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    run_export(wiring.rights_service().context, starter.started[-1][1])
    daily = ROUTE_LIMITS["export"].requests
    for _ in range(daily - 1):
        assert client.http.post("/me/exports", headers=person.headers).status_code == 202
        run_export(wiring.rights_service().context, starter.started[-1][1])
    over = client.http.post("/me/exports", headers=person.headers)
    assert over.status_code == 429
    assert over.json_body["error"]["code"] == "rate_limited"
    assert len(starter.started) == daily
    mailed = [m for m in sent_emails() if person.email in m["to"] and "export" in m["subject"]]
    assert len(mailed) == daily


@pytest.mark.parametrize("body", ['{"format": "tar"}', "[1]", '"x"', "{"])
def test_dsr1_an_export_request_body_with_unknown_fields_or_of_the_wrong_type_is_a_400(client, aws, starter, body):
    person = sign_up(client)
    refused = client.http.post("/me/exports", body=body, headers={**person.headers, "Content-Type": "application/json"})
    assert refused.status_code == 400
    assert refused.json_body["error"]["code"] == "invalid_input"
    assert starter.started == []
    assert client.http.post("/me/exports", body="{}", headers=person.headers).status_code == 202


def test_dsr1_a_failed_archive_step_is_retried_to_the_same_complete_archive(client, aws, starter, monkeypatch):
    from chalicelib import wiring
    from chalicelib.domain.rights import export

    person = sign_up(client)
    use_every_feature(client, aws, person)
    client.http.post("/me/exports", headers=person.headers)
    payload = starter.started[-1][1]
    deps = wiring.rights_service().context
    export.collect(deps, payload)
    calls = {"n": 0}
    real_open = deps.personal.open_object

    def flaky_open(obj):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected read failure")
        return real_open(obj)

    monkeypatch.setattr(deps.personal, "open_object", flaky_open)
    with pytest.raises(RuntimeError):
        export.archive(deps, payload)
    state = {**payload, "archive": export.archive(deps, payload)}
    state["sealed"] = export.seal(deps, state)
    export.notify(deps, state)
    archive = _archive(aws, person.user_id, payload["export_id"])
    assert archive.testzip() is None
    assert any(n.startswith("files/uploads/") for n in archive.namelist())


def test_dsr2_streamed_multipart_archive_is_byte_identical(aws):
    """Writes of any size (zip headers, a write larger than a part, ones straddling part boundaries) go
    through one part buffer, across invocations that pause and resume it; what S3 assembles is
    exactly what was written, and nothing is left beside it."""
    import os

    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from chalicelib.store.personal_data import PART_SIZE

    written = [os.urandom(30), os.urandom(PART_SIZE + 7), b""]
    written += [os.urandom(size) for size in (4093, 46, 22, 16) * (PART_SIZE * 6 // 5 // 4177)]
    store = wiring.personal_data()
    writer = store.archive_stream("exports/u/test.zip", None)
    for n, chunk in enumerate(written):
        writer.write(chunk)
        if n in (1, len(written) // 2):  # invocations end mid-part and the next one resumes (P3)
            writer = store.archive_stream("exports/u/test.zip", writer.pause())
    writer.complete()
    assert writer.parts == 3
    body = aws.client("s3").get_object(Bucket=get_settings().bucket_name("exports"), Key="exports/u/test.zip")["Body"]
    assert body.read() == b"".join(written)
    listed = aws.client("s3").list_objects_v2(Bucket=get_settings().bucket_name("exports"), Prefix="exports/u/")
    assert [o["Key"] for o in listed["Contents"]] == ["exports/u/test.zip"]


def _calls_per_invocation(aws, starter, invocations: list, images: int) -> dict[str, Counter]:
    """The most AWS calls of each operation one invocation of each export task made, for a person
    with `images` images; `invocations` is filled by the counting hook as the tasks run."""
    import uuid

    from chalicelib import wiring
    from chalicelib.domain.rights import export
    from tests.support.rights import seed_gallery

    user_id = uuid.uuid4().hex
    seed_gallery(aws, user_id, images)
    context = wiring.rights_service().context
    export.request_export(context, user_id)
    invocations.clear()
    run_export(context, starter.started[-1][1], on_task=lambda task: invocations.append((task, Counter())))
    most: dict[str, Counter] = {}
    for task, calls in invocations:
        most[task] = most.get(task, Counter()) | calls  # the larger count of each operation
    most["pages"] = Counter(task for task, _ in invocations)
    invocations.clear()
    return most


def test_p5_an_export_invocation_makes_as_many_aws_calls_at_any_n(aws, starter, monkeypatch):
    """P5: no export invocation's AWS calls grow with the person's data (no listing or query from the
    start again, no re-read of earlier parts or records): at 6 and at 30 images, with a page of 4,
    the most calls one invocation of each task makes, operation by operation, are the same; only
    the number of invocations grows."""
    from chalicelib import wiring
    from chalicelib.store import aws as clients

    invocations: list[tuple[str, Counter]] = []

    def count(model, **_):
        if invocations:
            invocations[-1][1][f"{model.service_model.service_name}.{model.name}"] += 1

    monkeypatch.setenv("PIXELKEEP_PAGE_ITEMS", "4")
    wiring.reset()
    clients.botocore_session().register("before-call", count)  # before any client is built: all carry it
    wiring.bound_models()
    allow_sending(aws)  # the last step mails the person
    few = _calls_per_invocation(aws, starter, invocations, 6)
    many = _calls_per_invocation(aws, starter, invocations, 30)
    assert many.pop("pages")["export_archive"] > few.pop("pages")["export_archive"] + 10
    assert few["export_archive"]["s3.ListObjectsV2"] >= 1  # the hook sees every client's calls
    assert few["export_archive"]["dynamodb.Query"] >= 1
    assert many == few
