"""`make drift`: the drift check (OPS-8) against the running local cloud, as the operator action
runs it in AWS. Prints the report as JSON; exits 1 when anything differs from the profile."""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    from infra.localcloud.cloud import FAKE_CREDENTIALS, HOST

    port = os.environ.get("PIXELKEEP_MOTO_PORT", "4566")
    os.environ.update({**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": f"http://{HOST}:{port}"})
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from chalicelib import wiring

    report = wiring.drift_check().report("local:make-drift")
    print(json.dumps(report, indent=2))
    return 0 if report["in_step"] else 1


if __name__ == "__main__":
    sys.exit(main())
