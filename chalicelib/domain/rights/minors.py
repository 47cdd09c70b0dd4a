"""Minors (ACC-7): an account reported or found to be a minor's is erased promptly, without grace."""

from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.rights import erasure
from chalicelib.domain.rights.context import RightsContext


def erase_minor(ctx: RightsContext, *, operator: str, user_id: str, note: str | None) -> dict[str, Any]:
    ctx.rights.audit(operator, "minor_takedown", clock.now(), user_id, {"note": note or ""})
    tombstone = ctx.rights.get_tombstone(user_id)
    if tombstone is not None and ctx.rights.delete_tombstone(tombstone):
        # Already counting down a grace period: cut it short.
        erasure.start_erasure(
            ctx, user_id=user_id, erasure_id=tombstone.erasure_id, request_id=tombstone.request_id, reason="minor"
        )
        return {"status": "erasing"}
    return erasure.request_erasure(ctx, user_id, reason="minor", actor=f"operator:{operator}")
