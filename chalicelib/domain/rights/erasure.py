"""Erasure (DSR-4, DSR-9, PAY-3, ACC-7): a grace period, then a workflow of idempotent steps.

DELETE /me disables the account at once and leaves a tombstone whose TTL is the profile's grace
period; the TTL delete starts the workflow: plan → processors (rights/processors.py) → delete objects
→ delete records → pseudonymize what law keeps → residual scan → receipt → final email. Each step
can run twice with the same result.
A step that exhausts its retries ends in `fail`; running the workflow again with the same input
resumes the same run.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from chalicelib import clock
from chalicelib.domain.ports.accounts import token_hash
from chalicelib.domain.ports.rights import ErasureReceipt, ErasureRun, PersonalItem, Tombstone
from chalicelib.domain.rights import failures, rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import Conflict, Gone, InvalidInput, NotFound
from chalicelib.metrics import Metric
from chalicelib.retention import grace_expiry

ERASED = "[erased]"
MAX_PASSES = 3
# Kept by law, detached from the person: payment and credit records (PAY-3), logs still within their
# period (they expire by their own TTL), and the rights requests that prove the erasure was answered.
DETACHED_TABLES = frozenset({"ledger", "logs"})
DELETED_REQUEST_KINDS = ("EXPORT#", "CONTACT#")


def grace_days(ctx: RightsContext) -> int:
    return ctx.profile.account_grace_days if ctx.grace_days_override is None else ctx.grace_days_override


def execution_name(erasure_id: str) -> str:
    return f"erasure-{erasure_id}"


# -- request and cancel -----------------------------------------------------------------------------
def request_erasure(
    ctx: RightsContext, user_id: str, *, reason: str = "user", actor: str = "user", request_id: str | None = None
) -> dict[str, Any]:
    """Disable the account now; erase after the grace period (or at once when it is zero / a minor)."""
    user = ctx.accounts.get_user(user_id, consistent=True)
    if user is None:
        raise NotFound("No such account.")
    if ctx.rights.get_tombstone(user_id) is not None:
        raise Conflict("The account is already scheduled for erasure.")
    now = clock.now()
    ctx.accounts.set_status(user_id, "disabled")
    # Signed out everywhere now: a cancel restores the account, never these sessions (DSR-9).
    ctx.accounts.delete_sessions_of(user_id)
    if request_id is None:
        request_id = rights_requests.open_request(ctx, kind="erasure", user_id=user_id, actor=actor).request_id
    erasure_id = uuid.uuid4().hex
    days = 0 if reason == "minor" else grace_days(ctx)
    if days == 0:
        start_erasure(ctx, user_id=user_id, erasure_id=erasure_id, request_id=request_id, reason=reason)
        return {"request_id": request_id, "status": "erasing", "erase_after": now.isoformat()}
    token = f"{user_id}.{secrets.token_urlsafe(24)}"
    erase_after = grace_expiry(ctx.profile, now, days)
    ctx.rights.put_tombstone(
        Tombstone(
            user_id=user_id,
            erasure_id=erasure_id,
            request_id=request_id,
            cancel_hash=token_hash(token),
            created_at=now,
            expires_at=erase_after,
        )
    )
    ctx.email.send(
        user.email,
        f"{ctx.profile.service.name}: your account will be erased",
        f"Your account is disabled and will be erased after {erase_after:%Y-%m-%d %H:%M} UTC.\n"
        f"Changed your mind? Cancel before then with this code:\n\n{token}\n\n"
        f"Or open this link and confirm:\n\n{ctx.public_base_url}/me/erasure/cancel#token={token}",
    )
    return {"request_id": request_id, "status": "scheduled", "erase_after": erase_after.isoformat()}


def cancel_erasure(ctx: RightsContext, token: str) -> dict[str, Any]:
    """The emailed code proves identity while the account is disabled; valid only inside the grace."""
    user_id, _, _ = token.partition(".")
    tombstone = ctx.rights.get_tombstone(user_id) if user_id else None
    if tombstone is None or not secrets.compare_digest(tombstone.cancel_hash, token_hash(token)):
        raise InvalidInput("That cancel code is not valid, or the grace period has ended.")
    if not ctx.rights.delete_tombstone(tombstone):
        raise Gone("The grace period has ended; the erasure has started.")
    ctx.accounts.set_status(user_id, "active")
    if tombstone.request_id:
        rights_requests.set_status(ctx, tombstone.request_id, "cancelled", actor="user")
    return {"status": "cancelled"}


def start_erasure(ctx: RightsContext, *, user_id: str, erasure_id: str, request_id: str | None, reason: str) -> str:
    payload = {"user_id": user_id, "erasure_id": erasure_id, "request_id": request_id, "reason": reason}
    return ctx.erasure_workflow.start(execution_name(erasure_id), payload)


def start_after_grace(ctx: RightsContext, image: dict[str, Any]) -> str:
    """The tombstone's TTL fired (DSR-9): the grace is over and nobody cancelled."""
    return start_erasure(
        ctx,
        user_id=str(image["user_id"]),
        erasure_id=str(image["erasure_id"]),
        request_id=image.get("request_id"),
        reason="user",
    )


# -- workflow steps -----------------------------------------------------------------------------
def _run(ctx: RightsContext, event: dict[str, Any]) -> ErasureRun | None:
    return ctx.rights.get_run(event["erasure_id"])


def plan(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Capture what the last step needs (the address for the final email) before anything is deleted."""
    if ctx.rights.get_receipt(event["erasure_id"]) is not None:
        return {"done": True}
    user = ctx.accounts.get_user(event["user_id"], consistent=True)
    run = ctx.rights.create_run(
        ErasureRun(
            erasure_id=event["erasure_id"],
            user_id=event["user_id"],
            email=user.email if user else None,
            pseudonym=f"erased-{uuid.uuid4().hex}",
            request_id=event.get("request_id"),
            reason=event.get("reason") or "user",
            created_at=clock.now(),
        )
    )
    if run.status == "failed":  # a rerun: resume the same run with a fresh pass budget
        ctx.rights.update_run(run.erasure_id, status="running", passes=0)
    if run.request_id:
        rights_requests.set_status(ctx, run.request_id, "in_progress", actor="system")
    return {"done": False}


def delete_objects(ctx: RightsContext, event: dict[str, Any]) -> dict[str, int]:
    """Every object under the user's prefixes, 1,000 keys per DeleteObjects call.

    A rerun deletes keys that are already gone, which S3 accepts; the count is what was asked."""
    if _run(ctx, event) is None:
        return {"deleted": 0}
    user_id = event["user_id"]
    deleted = ctx.personal.delete_objects(ctx.personal.referenced_objects(user_id))
    # Then whatever no record points at; after the first pass the listing finds (nearly) nothing.
    deleted += ctx.personal.delete_objects(ctx.personal.owned_objects(user_id))
    return {"deleted": deleted}


def deleted_outright(item: PersonalItem) -> bool:
    """The fate of one stored item (DSR-4, PAY-3): deleted, or kept detached from the person."""
    if item.table in DETACHED_TABLES:
        return False
    if item.table == "requests":
        return any(part.startswith(DELETED_REQUEST_KINDS) for part in item.key)
    return True


def delete_records(ctx: RightsContext, event: dict[str, Any]) -> dict[str, int]:
    """Every record the person owns that no law keeps, 25 per BatchWriteItem."""
    if _run(ctx, event) is None:
        return {"deleted": 0}
    deleted = 0
    by_table: dict[str, list[tuple[str, str]]] = {}
    for owned in ctx.personal.owned_items(event["user_id"]):
        if deleted_outright(owned):
            by_table.setdefault(owned.table, []).append(owned.key)
    for table, keys in by_table.items():
        deleted += ctx.personal.delete_items(table, keys)
    return {"deleted": deleted}


def detach(value: Any, user_id: str, pseudonym: str, email: str | None) -> Any:
    """A stored value with the person's id replaced by the pseudonym and their address removed (PAY-3)."""
    if isinstance(value, str):
        value = value.replace(user_id, pseudonym)
        return value.replace(email, ERASED) if email else value
    if isinstance(value, list | tuple):
        return [detach(v, user_id, pseudonym, email) for v in value]
    if isinstance(value, set | frozenset):
        return {detach(v, user_id, pseudonym, email) for v in value}
    if isinstance(value, Mapping):
        return {k: detach(v, user_id, pseudonym, email) for k, v in value.items()}
    return value


def pseudonymize(ctx: RightsContext, event: dict[str, Any]) -> dict[str, int]:
    """What law keeps stays, detached: ids replaced by a pseudonym, the address removed, no owner."""
    run = _run(ctx, event)
    if run is None:
        return {"detached": 0}
    user_id = event["user_id"]
    ctx.ledger.pseudonymize(user_id, run.pseudonym)
    detached = 0
    for owned in list(ctx.personal.owned_items(user_id)):
        if deleted_outright(owned):
            continue
        item = detach({k: v for k, v in owned.fields.items() if k != "owner_id"}, user_id, run.pseudonym, run.email)
        ctx.personal.put_items(owned.table, [item])
        if (item["pk"], item["sk"]) != owned.key:
            ctx.personal.delete_items(owned.table, [owned.key])
        detached += 1
    return {"detached": detached}


def residual_scan(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Nothing may still point at the person; if something does, the workflow deletes again."""
    run = _run(ctx, event)
    if run is None:
        return {"clean": True, "remaining": 0}
    user_id = event["user_id"]
    remaining = sum(1 for _ in ctx.personal.owned_items(user_id)) + sum(1 for _ in ctx.personal.owned_objects(user_id))
    if ctx.accounts.get_user(user_id, consistent=True) is not None:
        remaining += 1
    if remaining:
        if run.passes + 1 >= MAX_PASSES:
            raise RuntimeError(f"erasure {run.erasure_id}: {remaining} items remain after {MAX_PASSES} passes")
        ctx.rights.update_run(run.erasure_id, passes=run.passes + 1)
    return {"clean": remaining == 0, "remaining": remaining}


def receipt(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Proof of erasure with no personal data: the erasure id, the rule set and the counts."""
    run = _run(ctx, event)
    existing = ctx.rights.get_receipt(event["erasure_id"])
    if existing is not None or run is None:
        return {"erasure_id": event["erasure_id"]}
    counts = {
        step: int((event.get(step) or {}).get(field, 0))
        for step, field in (("objects", "deleted"), ("records", "deleted"), ("pseudonymized", "detached"))
    }
    ctx.rights.put_receipt(
        ErasureReceipt(
            erasure_id=run.erasure_id,
            reason=run.reason,
            profile=ctx.profile.id,
            policy_version=ctx.profile.policy.version,
            counts=counts,
            started_at=run.created_at,
            completed_at=clock.now(),
            processors=tuple((event.get("processors") or {}).get("acknowledged") or ()),  # GEN-5, PAY-6
        )
    )
    if run.request_id:
        rights_requests.complete(ctx, run.request_id, reference=run.erasure_id)
    return {"erasure_id": run.erasure_id}


def notify(ctx: RightsContext, event: dict[str, Any]) -> dict[str, bool]:
    """Tell the person it is done, then forget the address: the run record goes, the receipt stays."""
    run = _run(ctx, event)
    if run is None:
        return {"sent": False}
    if run.email:
        ctx.email.send(
            run.email,
            f"{ctx.profile.service.name}: your account has been erased",
            f"Your account and personal data have been erased. Receipt: {run.erasure_id}.\n"
            "Payment records the law requires us to keep are retained without your name or email.",
        )
    ctx.rights.delete_run(run.erasure_id)
    return {"sent": bool(run.email)}


def fail(ctx: RightsContext, event: dict[str, Any]) -> dict[str, str]:
    """The Catch path (DSR-4): mark the run and the request failed and count `ErasureFailed`.

    The run keeps what a rerun needs (the address for the final email, the pseudonym)."""
    why = failures.reason(event)
    run = _run(ctx, event)
    if run is not None:
        ctx.rights.update_run(run.erasure_id, status="failed", failure=why)
    failures.report(
        ctx, metric=Metric.ERASURE_FAILED, request_id=event.get("request_id"), reference=event["erasure_id"], why=why
    )
    return {"status": "failed", "reason": why}
