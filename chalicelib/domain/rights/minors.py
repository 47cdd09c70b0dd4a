"""Minors (ACC-7): an account reported or found to be a minor's is erased promptly, without grace."""

from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.rights import erasure
from chalicelib.domain.rights.deps import RightsDeps


def erase_minor(deps: RightsDeps, *, operator: str, user_id: str, note: str | None) -> dict[str, Any]:
    deps.rights.audit(operator, "minor_takedown", clock.now(), user_id, {"note": note or ""})
    tombstone = deps.rights.get_tombstone(user_id)
    if tombstone is not None and deps.rights.delete_tombstone(tombstone):
        # Already counting down a grace period: cut it short.
        erasure.start_erasure(
            deps, user_id=user_id, erasure_id=tombstone.erasure_id, request_id=tombstone.request_id, reason="minor"
        )
        return {"status": "erasing"}
    return erasure.request_erasure(deps, user_id, reason="minor", actor=f"operator:{operator}")
