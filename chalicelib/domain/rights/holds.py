"""Legal holds (DSR-12): while an operator's hold on a person is in force, no timer and no workflow
deletes anything of theirs; releasing it restores the timers. Every step is audited.

- Placing writes the hold and a marker beside the person, then starts the hold workflow
  (infra/asl/hold.asl.json), which walks the person's items a page at a time moving each expiry
  aside (the TTL attribute removed, so DynamoDB's TTL never sees it) and retags their objects
  `held` (the lifecycle rules match only `running`: store/layout.py).
- The erasure workflow's deleting steps ask `in_force` on every page: a hold placed before or during
  a run stops it at the next page, in the held state; the release resumes it.
- Releasing the last hold in force walks the same way back: expiries return (one already past goes
  at the next TTL pass), objects are retagged `running` (lifecycle age counts from creation).
- `until` is the date the operator expects the hold to end: nothing lapses by itself; an expired
  hold stays in force until an operator releases it, and the list shows it as overdue for review.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.ports.rights import LegalHold
from chalicelib.domain.rights import erasure, failures, paging
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import Conflict, NotFound
from chalicelib.metrics import Metric

PLACE, RELEASE = "hold", "release"


def describe(hold: LegalHold) -> dict[str, Any]:
    now = clock.now()
    return {
        "id": hold.hold_id,
        "user_id": hold.user_id or None,  # None: the person was erased after the release (DSR-13)
        "reason": hold.reason,
        "reference": hold.reference,
        "status": hold.status,
        "placed_by": hold.placed_by,
        "placed_at": hold.placed_at.isoformat(),
        "until": hold.until.isoformat() if hold.until else None,
        "review_due": hold.status == "held" and hold.until is not None and hold.until <= now,
        "released_by": hold.released_by,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
    }


def workflow_name(hold_id: str, action: str) -> str:
    return f"hold-{hold_id}-{action}"


# -- operator actions ---------------------------------------------------------------------------
def place(
    ctx: RightsContext, operator: str, user_id: str, *, reason: str, reference: str, until: datetime | None
) -> dict[str, Any]:
    if ctx.accounts.get_user(user_id, consistent=True) is None:
        raise NotFound("No such account.")
    now = clock.now()
    hold = LegalHold(
        hold_id=uuid.uuid4().hex,
        user_id=user_id,
        reason=reason,
        reference=reference,
        placed_by=operator,
        placed_at=now,
        until=until,
    )
    ctx.rights.place_hold(hold)
    ctx.rights.audit(operator, "place_legal_hold", now, user_id, {"hold_id": hold.hold_id, "reference": reference})
    ctx.hold_workflow.start(workflow_name(hold.hold_id, PLACE), {"hold_id": hold.hold_id, "action": PLACE})
    return describe(hold)


def list_holds(ctx: RightsContext, operator: str) -> list[dict[str, Any]]:
    ctx.rights.audit(operator, "view_legal_holds", clock.now(), None, {})
    return [describe(hold) for hold in ctx.rights.holds()]


def release(ctx: RightsContext, operator: str, hold_id: str, *, note: str | None = None) -> dict[str, Any]:
    hold = ctx.rights.get_hold(hold_id)
    if hold is None:
        raise NotFound("No such legal hold.")
    now = clock.now()
    released = ctx.rights.release_hold(hold_id, by=operator, at=now)
    if released is None:
        raise Conflict("The legal hold is already released.")
    details = {"hold_id": hold_id, **({"note": note} if note else {})}
    ctx.rights.audit(operator, "release_legal_hold", now, hold.user_id, details)
    if not ctx.rights.holds_in_force(hold.user_id):  # another hold keeps everything where it is
        ctx.hold_workflow.start(workflow_name(hold_id, RELEASE), {"hold_id": hold_id, "action": RELEASE})
    return describe(released)


def in_force(ctx: RightsContext, user_id: str) -> bool:
    return bool(ctx.rights.holds_in_force(user_id))


# -- the hold workflow's tasks: one bounded page per invocation (P3) -----------------------------
def _hold(ctx: RightsContext, event: dict[str, Any]) -> LegalHold:
    hold = ctx.rights.get_hold(event["hold_id"])
    if hold is None:
        raise NotFound("No such legal hold.")
    return hold


def _still_wanted(ctx: RightsContext, hold: LegalHold, action: str) -> bool:
    """A placing walk stops once its hold is released; a releasing walk once another hold came."""
    held = in_force(ctx, hold.user_id)
    return held if action == PLACE else not held


def _walk(ctx: RightsContext, event: dict[str, Any], stage: str, counter: str, page_of: Any, apply: Any) -> dict:
    """One page of the person's `stage` (records or objects), `apply`'d with held = placing; the
    walk stops once it is no longer wanted. `counter` names the running total in the result."""
    hold, action = _hold(ctx, event), event["action"]
    position = paging.Position.of(event, stage)
    if not _still_wanted(ctx, hold, action):
        return {"page": position.number + 1, "more": False, counter: position.total(counter, 0), "stopped": True}

    def keep(cursors: dict[str, Any]) -> None:
        ctx.rights.update_hold(hold.hold_id, cursors=cursors)

    source: paging.Source = lambda cursor, limit: page_of(hold.user_id, cursor, limit)  # noqa: E731
    page = paging.next_page(position, hold.cursors, f"{action}-{stage}", [source], ctx.page_size, keep)
    done = apply(page.items, held=action == PLACE)
    return position.result(page, **{counter: position.total(counter, done)})


def move_expiries(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """A page of the person's items: each expiry moved aside (placing) or back (releasing)."""
    return _walk(ctx, event, "records", "moved", ctx.personal.owned_page, ctx.personal.hold_expiry)


def retag_objects(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """A page of the person's objects retagged `held` (placing) or `running` (releasing)."""
    return _walk(ctx, event, "objects", "tagged", ctx.personal.objects_page, ctx.personal.tag_clock)


def finish(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Audit what the walk did; after the last release, resume every erasure a hold paused."""
    hold, action = _hold(ctx, event), event["action"]
    counts = {
        "items": int((event.get("records") or {}).get("moved", 0)),
        "objects": int((event.get("objects") or {}).get("tagged", 0)),
    }
    what = "legal_hold_applied" if action == PLACE else "legal_hold_lifted"
    ctx.rights.audit("system", what, clock.now(), hold.user_id, {"hold_id": hold.hold_id, **counts})
    resumed = 0
    if action == RELEASE and ctx.rights.forget_holds(hold.user_id):  # none left: nothing keyed by them stays
        for erasure_id in ctx.rights.paused_erasures(hold.user_id):
            erasure.resume(ctx, erasure_id, hold.hold_id)
            ctx.rights.resume_erasure(hold.user_id, erasure_id)
            resumed += 1
    return {**counts, "erasures_resumed": resumed}


def fail(ctx: RightsContext, event: dict[str, Any]) -> dict[str, str]:
    """The Catch path: audited by `system` and counted; the hold itself stays as placed or released,
    and running the workflow again with the same input resumes the walk."""
    why = failures.reason(event)
    hold = ctx.rights.get_hold(event["hold_id"])
    target = hold.user_id if hold is not None else None
    ctx.rights.audit(
        "system", "legal_hold_workflow_failed", clock.now(), target, {"hold_id": event["hold_id"], "reason": why}
    )
    failures.report(ctx, metric=Metric.HOLD_FAILED, request_id=None, reference=event["hold_id"], why=why)
    return {"status": "failed", "reason": why}
