"""Schemathesis against the local cloud with GET /openapi.json: no server error, every response in
the documented status codes, content types and schemas. A CI-sized budget here (3 examples an
operation, seeded); `make fuzz` runs the same with a larger one (PIXELKEEP_FUZZ_EXAMPLES,
PIXELKEEP_FUZZ_SECONDS). The run's report is
written to test-output/schemathesis.txt."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.browser import REPO
from tests.e2e.web import sign_up

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# They end the caller's session, which the rest of the run signs in with.
ENDS_THE_SESSION = ("delete_me", "post_auth_logout", "post_auth_logout_everywhere")


def test_no_server_error_and_no_schema_violation(local_cloud):
    examples = os.environ.get("PIXELKEEP_FUZZ_EXAMPLES") or "3"
    # The CI run is bounded by its example count (seeded: the same cases each run), not by a clock,
    # so a slow machine tests every operation all the same; `make fuzz` adds a time budget.
    seconds = os.environ.get("PIXELKEEP_FUZZ_SECONDS")
    signed_in = sign_up(local_cloud, "fuzz")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{local_cloud.api}/openapi.json",
        "--url",
        local_cloud.api,
        "--checks",
        CHECKS,
        "--max-examples",
        examples,
        *(("--max-time", seconds) if seconds else ()),
        "--seed",
        "13",
        "--no-color",
        "--header",
        f"Authorization: {signed_in.headers['Authorization']}",
        *[option for operation in ENDS_THE_SESSION for option in ("--exclude-operation-id", operation)],
    ]
    report = Path(os.environ.get("PIXELKEEP_TEST_OUTPUT") or REPO / "test-output") / "schemathesis.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    # Run in the output folder: schemathesis keeps its crash cache in its working directory.
    run = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=int(seconds or 600) + 300, check=False, cwd=report.parent
    )
    report.write_text(run.stdout + run.stderr, encoding="utf-8")
    assert run.returncode == 0, f"schemathesis found failures (report: {report}):\n{run.stdout[-6000:]}"
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert selected, run.stdout[-3000:]
    assert tested, run.stdout[-3000:]
    assert int(tested.group(1)) == int(selected.group(1)), "every selected operation was tested"
    assert int(selected.group(2)) - int(selected.group(1)) == len(ENDS_THE_SESSION)
