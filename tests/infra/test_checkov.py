"""The synthesized template passes checkov, a security scanner nobody here wrote, offline
(`--skip-download`): every failed check is on the allow-list (tests/infra/checkov_allowlist.toml),
each entry with its reason, and every entry still matches a failure (no stale exceptions)."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

ALLOWLIST = Path(__file__).with_name("checkov_allowlist.toml")
REPO = Path(__file__).resolve().parents[2]
DEFAULT_CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def _checkov() -> Path:
    path = Path(os.environ.get("PIXELKEEP_CHECKOV") or DEFAULT_CHECKOV)
    assert path.exists(), f"checkov is not installed at {path}: run `make install` (its own virtualenv)"
    return path


@pytest.fixture(scope="session")
def failed_checks(template) -> list[tuple[str, str, str]]:
    """(check id, resource, check name) of every failed check on the default profile's template."""
    completed = subprocess.run(  # noqa: S603  (our own pinned checkov, our own template)
        [
            str(_checkov()),
            "--file",
            str(template.path),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert completed.stdout.strip(), completed.stderr[-2000:]
    report = json.loads(completed.stdout)
    reports = report if isinstance(report, list) else [report]
    return sorted(
        (check["check_id"], check["resource"], check["check_name"])
        for one in reports
        for check in one.get("results", {}).get("failed_checks", [])
    )


def allowlist() -> list[dict]:
    entries = tomllib.loads(ALLOWLIST.read_text(encoding="utf-8"))["allow"]
    for entry in entries:
        assert entry.get("reason", "").strip(), f"{entry['check']}: every exception says why"
    return entries


def _allowed(check: str, resource: str, entries: list[dict]) -> bool:
    return any(e["check"] == check and fnmatch.fnmatchcase(resource, e.get("resources", "*")) for e in entries)


def test_sec_checkov_finds_nothing_outside_the_allowlist(failed_checks):
    entries = allowlist()
    unexpected = [f"{c} {r}: {n}" for c, r, n in failed_checks if not _allowed(c, r, entries)]
    assert unexpected == []


def test_sec_every_allowlist_entry_still_matches_a_failure(failed_checks):
    stale = [
        e["check"]
        for e in allowlist()
        if not any(c == e["check"] and fnmatch.fnmatchcase(r, e.get("resources", "*")) for c, r, _ in failed_checks)
    ]
    assert stale == []
