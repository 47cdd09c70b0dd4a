"""Restriction of processing and objection (DSR-5): one check every processing path calls."""

from __future__ import annotations

from typing import Literal

from chalicelib.errors import Restricted

Purpose = Literal["generation", "service_improvement", "marketing"]

# A restricted account keeps its data but nothing new is processed, except what the user's own
# request needs (export, erasure). Objections switch off one purpose each.
_MESSAGES = {
    "generation": "Processing is restricted on this account; generation is paused until you lift the restriction.",
    "service_improvement": "You objected to the use of your data for service improvement.",
    "marketing": "You objected to marketing.",
}


def ensure_allowed(*, restricted: bool, objections: frozenset[str], purpose: Purpose) -> None:
    if restricted or purpose in objections:
        raise Restricted(_MESSAGES[purpose])
