"""When a workflow step exhausts its retries (DSR-4): a reason code, the request marked failed, and
one metric per failure for the operators' alarm (OPS-7). Nothing here carries personal data."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.rights import rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.metrics import Metric, emit
from chalicelib.observability import logger

UNKNOWN = "unknown"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")


def _name(text: Any) -> str:
    return text if isinstance(text, str) and _NAME.fullmatch(text) else UNKNOWN


def reason(event: dict[str, Any]) -> str:
    """`<state>:<error type>` from the ASL's Catch, which stores what it caught under `failure.<state>`.

    Only names: the error's message and cause may quote what the step was handling."""
    for state, caught in (event.get("failure") or {}).items():
        error = caught.get("Error") if isinstance(caught, dict) else None
        return f"{_name(state)}:{_name(error)}"
    return f"{UNKNOWN}:{UNKNOWN}"


def report(ctx: RightsContext, *, metric: Metric, request_id: str | None, reference: str, why: str) -> None:
    """Count `metric` (no dimension but the service), log the reference and reason, fail the request.

    A failed request stays in the operators' queue: it is still owed an answer by its due date."""
    emit(metric)
    logger.error("workflow failed", extra={"metric": metric.value.name, "reference": reference, "reason": why})
    if request_id:
        rights_requests.set_status(ctx, request_id, "failed", actor="system", reference=reference, note=why)
