"""No dead code in the app: every function, method, class and import is used by the app, its
infrastructure, or a framework that calls it (tests/deadcode_allowlist.py says which and why).
Variables and attributes are left out: pydantic and pynamodb fields are used by their frameworks."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Chalice and the grants registry call what these decorators register.
FRAMEWORK_DECORATORS = ["@route", "@bp.route", "@bp.lambda_function", "@lambda_function", "@bp.on_sqs_message"]
CHECKED_KINDS = {"function", "method", "class", "property", "import", "unreachable_code"}


def _unused() -> list[str]:
    import vulture

    scanner = vulture.Vulture(ignore_decorators=FRAMEWORK_DECORATORS)
    scanner.scavenge([str(ROOT / name) for name in ("app.py", "chalicelib", "infra", "tests/deadcode_allowlist.py")])
    return [
        f"{Path(item.filename).relative_to(ROOT)}:{item.first_lineno}: {item.message}"
        for item in scanner.get_unused_code(min_confidence=60)
        if item.typ in CHECKED_KINDS
    ]


def test_no_dead_code():
    assert _unused() == []
