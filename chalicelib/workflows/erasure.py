"""Step Functions task handlers for the erasure workflow: one small function per task."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
