"""DSR-12 in the local cloud: an operator holds a person with SigV4 credentials; their upload, past
its 24-hour lifetime (Pictomancer), survives the sweeper's lifecycle passes; released, it goes.

No AWS API sets an object's age, so the upload is aged the way the local cloud carries ages across a
restart: stop, set its saved `last_modified` two days back, start again on the same state."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import cloud_environment, start_cloud, stop_cloud
from tests.e2e.test_operators_local_cloud import _operator, _signed
from tests.e2e.test_restart_local_cloud import _ready_upload
from tests.e2e.web import eventually, sign_up


def _clock_tag(cloud, bucket: str, key: str) -> str | None:
    tags = cloud.client("s3").get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}.get("pixelkeep-clock")


def _keys(cloud, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in cloud.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_dsr12_a_held_upload_past_its_lifetime_survives_the_sweeper_and_goes_once_released(tmp_path):
    state = tmp_path / "state"
    env = cloud_environment(state, PIXELKEEP_PROFILE="pictomancer")
    log_file = tmp_path / "local-cloud.log"
    process, cloud = start_cloud(env, log_file)
    try:
        person = sign_up(cloud, "held")
        _ready_upload(cloud, person.headers)
        (bucket,) = [b for b in cloud.client("s3").list_buckets()["Buckets"] if b["Name"].endswith("-content")]
        prefix = f"uploads/{person.user_id}/"
        (key,) = _keys(cloud, bucket["Name"], prefix)
        assert _clock_tag(cloud, bucket["Name"], key) == "running"

        ana = _operator(cloud, "e2e-hold-operator")
        status, hold = _signed(
            cloud, ana, "POST", "/operator/holds", {"user": person.user_id, "reason": "litigation", "reference": "c-1"}
        )
        assert status == 201, hold
        eventually(lambda: _clock_tag(cloud, bucket["Name"], key) == "held", "the hold to retag the upload")
    finally:
        stop_cloud(process, cloud)

    index = state / "objects" / "content" / "index.json"
    saved = json.loads(index.read_text())
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    for entry in saved:
        if entry["key"].startswith(prefix):
            entry["last_modified"] = two_days_ago
    index.write_text(json.dumps(saved))

    process, cloud = start_cloud(env, log_file)
    try:
        time.sleep(3)  # several sweeps (PIXELKEEP_SWEEP_SECONDS=1) with the upload past its 1-day rule
        assert _keys(cloud, bucket["Name"], prefix) == [key], "a held upload outlives its lifecycle rule"
        ana = _operator(cloud, "e2e-hold-operator-again")  # IAM users are not kept across a restart
        status, released = _signed(cloud, ana, "POST", f"/operator/holds/{hold['id']}/release", {"note": "closed"})
        assert status == 200, released
        eventually(lambda: _keys(cloud, bucket["Name"], prefix) == [], "the released upload to expire")
    finally:
        stop_cloud(process, cloud)
