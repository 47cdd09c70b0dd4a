"""OPS-7 helpers: which metrics the code emits (read from the source, not listed by hand), and
whether a dimension value looks like personal data."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from chalicelib.metrics import Metric

ROOT = Path(__file__).resolve().parents[2]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*$")
# Identifiers: UUIDs, hex/base32/base64 tokens, ULIDs, long digit runs (account or phone numbers).
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,}")
_DIGITS = re.compile(r"\d{5,}")


def looks_personal(value: str) -> str | None:
    """Why `value` could identify a person (an e-mail, an IP, an id-like token), or None."""
    text = str(value)
    if _EMAIL.search(text):
        return "e-mail address"
    if _IPV4.search(text) or _IPV6.match(text):
        return "IP address"
    if _UUID.search(text):
        return "UUID"
    if _DIGITS.search(text):
        return "long number"
    for token in _TOKEN.findall(text):
        # A word_like_this is a label; a token mixing digits with letters is an identifier.
        if any(c.isdigit() for c in token) and any(c.isalpha() for c in token):
            return "identifier-like token"
    return None


def dimension_values(document: dict) -> dict[str, str]:
    """Every dimension of one EMF document, by name."""
    return {
        name: document[name]
        for directive in document["_aws"]["CloudWatchMetrics"]
        for group in directive["Dimensions"]
        for name in group
    }


def emitted_in_code(package: Path = ROOT / "chalicelib") -> dict[Metric, list[str]]:
    """Every `Metric.<MEMBER>` the code names outside the catalogue, with where (file:line).

    The catalogue module only declares them; a member is emitted where other code names it."""
    found: dict[Metric, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        if path.name == "metrics.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Metric"
                and node.attr in Metric.__members__
            ):
                found.setdefault(Metric[node.attr], []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found
