"""OPS-8 `make drift` against the running local cloud: in step as started; a lifecycle rule changed
behind the stack's back is reported and the command fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


def _drift(cloud) -> tuple[int, dict]:
    env = {
        **os.environ,
        "PIXELKEEP_PROFILE": cloud.profile,
        "PIXELKEEP_MOTO_PORT": str(urlsplit(cloud.moto).port),
        "PIXELKEEP_STAGE": "local",
    }
    env.pop("PIXELKEEP_RESOURCE_PREFIX", None)
    done = subprocess.run(  # what `make drift` runs
        [sys.executable, "-m", "infra.drift"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    return done.returncode, json.loads(done.stdout)


def test_ops8_make_drift_reports_a_lifecycle_rule_changed_behind_the_stacks_back(local_cloud):
    status, report = _drift(local_cloud)
    assert (status, report["differences"]) == (0, [])
    s3 = local_cloud.client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].endswith("-exports"))
    kept = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    try:
        longer = [{**rule, "Expiration": {"Days": rule["Expiration"]["Days"] + 365}} for rule in kept]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": longer})
        status, report = _drift(local_cloud)
        assert status == 1
        assert [(d["resource"], d["setting"][:9]) for d in report["differences"]] == [(bucket, "lifecycle")]
    finally:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": kept})
