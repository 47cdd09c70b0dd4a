"""Erasure (DSR-4, DSR-9, DSR-13, PAY-3, ACC-7): a grace period, then a workflow of idempotent steps.

DELETE /me disables the account at once and leaves a tombstone whose TTL is the profile's grace
period; the TTL delete starts the workflow: plan → processors (rights/processors.py) → delete objects
→ delete records → pseudonymize what law keeps → residual scan → receipt → final email. The run
record is written before the workflow starts, and the workflow carries only its opaque id: no user id,
address or object key is in any execution's input, output or history (DSR-13). Which record is
deleted and which is detached comes from the plan derived from the record classes and the profile
(erasure_plan.py). Every step that walks the person's data does one bounded page per invocation
(paging.py, P3). Each step and page can run twice with the same result. A step that exhausts its
retries ends in `fail`; running the workflow again with the same input resumes the same run.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from chalicelib import clock
from chalicelib.domain.accounts.abuse import ROUTE_LIMITS
from chalicelib.domain.ports.accounts import email_hash, erased_hash, telegram_hash, token_hash, user_hash
from chalicelib.domain.ports.rights import (
    CapturedIds,
    ErasedSubject,
    ErasureReceipt,
    ErasureRun,
    Page,
    PersonalItem,
    StoredObject,
    Subject,
    Tombstone,
)
from chalicelib.domain.rights import erasure_plan, failures, paging, rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.domain.rights.erasure_plan import Fate
from chalicelib.errors import Conflict, DomainError, Gone, InvalidInput, NotFound
from chalicelib.metrics import Metric
from chalicelib.retention import grace_expiry

MAX_PASSES = 3


class LegalHoldInForce(DomainError):
    """Raised by an erasure step while the person is held (DSR-12, rights/holds.py): the workflow
    catches it by name and ends in its held state (infra/asl/erasure.asl.json)."""

    code = "legal_hold"


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
    """Write the run (the subject lives here), then start the workflow with the run id alone."""
    rights_requests.end_with_erasure(ctx, user_id, erasure_request_id=request_id)
    ctx.rights.create_run(
        ErasureRun(
            erasure_id=erasure_id,
            user_id=user_id,
            email=None,
            pseudonym=f"erased-{uuid.uuid4().hex}",
            request_id=request_id,
            reason=reason,
            created_at=clock.now(),
            receipt_id=uuid.uuid4().hex,
        )
    )
    return ctx.erasure_workflow.start(execution_name(erasure_id), {"erasure_id": erasure_id})


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
# Every step that walks the person's data does one page per invocation (paging.py, P3): the ASL
# invokes it again while its result says `more`.
def _run(ctx: RightsContext, event: dict[str, Any]) -> ErasureRun | None:
    return ctx.rights.get_run(event["erasure_id"])


def subject(ctx: RightsContext, run: ErasureRun, captured: CapturedIds = CapturedIds()) -> Subject:
    """Every way the person can be found (DSR-13): ids, their keyed hashes, and `captured`, ids the
    plan found (the scan reads those a page at a time; the delete finds the same records through
    their owner)."""
    key = ctx.subject_key()
    return Subject(
        user_id=run.user_id,
        email=run.email,
        email_hash=email_hash(key, run.email) if run.email else None,
        user_hash=user_hash(key, run.user_id),
        username=run.username,
        telegram_id=run.telegram_id,
        telegram_hash=telegram_hash(key, run.telegram_id) if run.telegram_id else None,
        captured=captured,
        rate_route_classes=tuple(ROUTE_LIMITS),
    )


def next_page(
    ctx: RightsContext, run: ErasureRun, step: str, position: paging.Position, sources: list[paging.Source]
) -> Page[Any]:
    """Every step that walks the person's data asks first whether a legal hold is in force (DSR-12):
    one placed before or during the run stops it here, at the next page, before anything goes."""
    if ctx.rights.holds_in_force(run.user_id):
        raise LegalHoldInForce("A legal hold is in force on this person.")

    def keep(cursors: dict[str, Any]) -> None:
        ctx.rights.update_run(run.erasure_id, cursors=cursors)

    return paging.next_page(position, run.cursors, step, sources, ctx.page_size, keep)


def owned(ctx: RightsContext, run: ErasureRun) -> paging.Source:
    return lambda cursor, limit: ctx.personal.owned_page(run.user_id, cursor, limit)


def _plan(ctx: RightsContext) -> dict[str, tuple[Fate, tuple[str, ...]]]:
    return erasure_plan.plan(ctx.profile, ctx.personal.record_kinds())


def plan(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Capture what the scan and the last step need (identifiers, the address) before anything goes:
    the address on the first page, the ids of things the person made a page at a time."""
    run = _run(ctx, event)
    if run is None:  # finished: the last step forgets the run
        return {"done": True, "more": False}
    position = paging.Position.of(event, "plan")
    if not position.continuing:
        if run.status in ("failed", "held"):  # a rerun: resume the same run with a fresh pass budget
            ctx.rights.update_run(run.erasure_id, status="running", passes=0)
        if run.request_id:
            rights_requests.set_status(ctx, run.request_id, "in_progress", actor="system")
        if run.captured:
            return {"done": False, "more": False}
        user = ctx.accounts.get_user(run.user_id, consistent=True)
        ctx.rights.update_run(
            run.erasure_id,
            email=user.email if user else None,
            username=user.username if user else None,
            telegram_id=user.telegram_id if user else None,
        )
    page = next_page(ctx, run, "plan", position, [owned(ctx, run)])
    shares, gens, requests = set(), set(), set()
    for item in page.items:
        fields = item.fields
        if item.record == "ShareLink":
            shares.add(f"{fields['share_id']}/{fields['gen_id']}")
        if "gen_id" in fields:
            gens.add(str(fields["gen_id"]))
        if fields.get("provider_request_id"):
            requests.add(str(fields["provider_request_id"]))
    captured = CapturedIds(tuple(sorted(shares)), tuple(sorted(gens)), tuple(sorted(requests)))
    ctx.rights.keep_captured_page(run.erasure_id, position.number, captured)
    if page.cursor is None:
        ctx.rights.update_run(run.erasure_id, captured=True)
    return {"done": False, **position.result(page)}


def delete_objects(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Every object under the user's prefixes: a page listed, then deleted in one DeleteObjects call
    per 1,000 keys. A rerun deletes keys that are already gone, which S3 accepts."""
    run = _run(ctx, event)
    if run is None:
        return {"deleted": 0, "more": False}
    position = paging.Position.of(event, "objects")
    page = next_page(
        ctx, run, "objects", position, [lambda cursor, limit: ctx.personal.objects_page(run.user_id, cursor, limit)]
    )
    return position.result(page, deleted=position.total("deleted", ctx.personal.delete_objects(page.items)))


def delete_records(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Every record the plan deletes, 25 per BatchWriteItem: those the person owns, then those keyed
    by a value derived from them (rate counters, login codes) that have no owner."""
    run = _run(ctx, event)
    if run is None:
        return {"deleted": 0, "more": False}
    position = paging.Position.of(event, "records")
    who = subject(ctx, run)
    derived: paging.Source = lambda cursor, limit: ctx.personal.subject_page(who, cursor, limit)  # noqa: E731
    page = next_page(ctx, run, "records", position, [owned(ctx, run), derived])
    fates = _plan(ctx)
    by_table: dict[str, set[tuple[str, str]]] = {}
    for item in page.items:
        if item.record in fates and fates[item.record][0] is Fate.DELETE:
            by_table.setdefault(item.table, set()).add(item.key)
    deleted = sum(ctx.personal.delete_items(table, sorted(keys)) for table, keys in by_table.items())
    return position.result(page, deleted=position.total("deleted", deleted))


def detach(ctx: RightsContext, items: Iterable[PersonalItem], user_id: str, pseudonym: str, email: str | None) -> int:
    """The one pseudonymizer (PAY-3): every kept record among `items`, through `erasure_plan.detached`."""
    fates = _plan(ctx)
    detached = 0
    for owned_item in items:
        if owned_item.record not in fates or fates[owned_item.record][0] is not Fate.DETACH:
            continue
        item = erasure_plan.detached(owned_item.fields, fates[owned_item.record][1], user_id, pseudonym, email)
        ctx.personal.put_items(owned_item.table, [item])
        if (item["pk"], item["sk"]) != owned_item.key:
            ctx.personal.delete_items(owned_item.table, [owned_item.key])
        detached += 1
    return detached


def pseudonymize(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """What law keeps stays, detached (PAY-3): personal fields removed, the owner a pseudonym."""
    run = _run(ctx, event)
    if run is None:
        return {"detached": 0, "more": False}
    position = paging.Position.of(event, "pseudonymized")
    page = next_page(ctx, run, "pseudonymize", position, [owned(ctx, run)])
    detached = detach(ctx, page.items, run.user_id, run.pseudonym, run.email)
    return position.result(page, detached=position.total("detached", detached))


def residual_sources(ctx: RightsContext, run: ErasureRun) -> list[paging.Source]:
    """Where the scan looks (DSR-13), independent of the plan and of the owner index alone: every key
    derived from the person's ids, the owner index, every object prefix, and every id the plan
    captured, read by its own key, one captured page after another."""
    who = subject(ctx, run)

    def derived(cursor: str | None, limit: int) -> Page[Any]:
        return ctx.personal.subject_page(who, cursor, limit)

    def objects(cursor: str | None, limit: int) -> Page[Any]:
        return ctx.personal.objects_page(run.user_id, cursor, limit)

    def captured(cursor: str | None, limit: int) -> Page[Any]:
        at = json.loads(cursor) if cursor else {"page": 0, "cursor": None}
        ids = ctx.rights.captured_page(run.erasure_id, at["page"])
        if ids is None:
            return Page((), 1, None)
        found = ctx.personal.subject_page(replace(who, captured=ids), at["cursor"], limit, captured_only=True)
        after = {"page": at["page"] + 1, "cursor": None} if found.cursor is None else {**at, "cursor": found.cursor}
        return Page(found.items, found.read + 1, json.dumps(after))

    return [derived, owned(ctx, run), objects, captured]


def residual(ctx: RightsContext, run: ErasureRun, found: Iterable[PersonalItem | StoredObject]) -> Counter[str]:
    """Where the person still is, by record class or bucket, counted; no value is reported. An item
    is residual if it still holds an id; every object still under their prefixes is."""
    needles = subject(ctx, run).needles
    counted: Counter[str] = Counter()
    for thing in found:
        if isinstance(thing, StoredObject):
            counted[f"bucket:{thing.bucket}"] += 1
            continue
        text = repr(sorted(thing.fields.items(), key=lambda kv: kv[0]))
        if any(needle in text for needle in needles):
            counted[f"{thing.table}:{thing.record or 'unclaimed'}"] += 1
    return counted


def residual_scan(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Nothing may still point at the person; if something does, the workflow deletes again."""
    run = _run(ctx, event)
    if run is None:
        return {"clean": True, "remaining": 0, "more": False}
    position = paging.Position.of(event, "residual")
    page = next_page(ctx, run, "residual", position, residual_sources(ctx, run))
    found = Counter(position.prior.get("found") or {}) if position.continuing else Counter()
    found.update(residual(ctx, run, page.items))
    if not position.continuing and ctx.accounts.get_user(run.user_id, consistent=True) is not None:
        found["accounts:user"] += 1
    remaining = sum(found.values())
    if page.cursor is not None:
        return position.result(page, clean=False, remaining=remaining, found=dict(found))
    if remaining:
        if run.passes + 1 >= MAX_PASSES:
            where = ", ".join(f"{place} x{count}" for place, count in sorted(found.items()))
            raise RuntimeError(f"erasure {run.erasure_id}: still found after {MAX_PASSES} passes in {where}")
        ctx.rights.update_run(run.erasure_id, passes=run.passes + 1)
    return position.result(page, clean=remaining == 0, remaining=remaining)


def receipt(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Proof of erasure with no personal data and no workflow name: its own id, the rule set, counts.

    For the backup window only a keyed hash of the id and the time stay (DSR-13): a restore replays
    the erasures it would undo (chalicelib/domain/rights/restore.py)."""
    run = _run(ctx, event)
    if run is None or ctx.rights.get_receipt(run.receipt_id) is not None:
        return {"issued": False}
    counts = {
        step: int((event.get(step) or {}).get(field, 0))
        for step, field in (("objects", "deleted"), ("records", "deleted"), ("pseudonymized", "detached"))
    }
    now = clock.now()
    ctx.rights.add_erased(
        ErasedSubject(subject_hash=erased_hash(ctx.subject_key(), run.user_id), erased_at=now),
        keep_days=ctx.profile.backups.days,
    )
    ctx.rights.put_receipt(
        ErasureReceipt(
            receipt_id=run.receipt_id,
            reason=run.reason,
            profile=ctx.profile.id,
            policy_version=ctx.profile.policy.version,
            counts=counts,
            started_at=run.created_at,
            completed_at=now,
            processors=tuple((event.get("processors") or {}).get("acknowledged") or ()),  # GEN-5, PAY-6
        )
    )
    if run.request_id:
        rights_requests.complete(ctx, run.request_id, reference=run.receipt_id)
    return {"issued": True}


def notify(ctx: RightsContext, event: dict[str, Any]) -> dict[str, bool]:
    """Tell the person it is done, then forget the address: the run record goes, the receipt stays."""
    run = _run(ctx, event)
    if run is None:
        return {"sent": False}
    if run.email:
        ctx.email.send(
            run.email,
            f"{ctx.profile.service.name}: your account has been erased",
            f"Your account and personal data have been erased. Receipt: {run.receipt_id}.\n"
            "Payment records the law requires us to keep are retained without your name or email.",
        )
    ctx.rights.delete_run(run.erasure_id)
    return {"sent": bool(run.email)}


def held(ctx: RightsContext, event: dict[str, Any]) -> dict[str, str]:
    """The held state (DSR-12): a step found a legal hold in force. The run stops where it is (nothing
    more is deleted), the request shows it is paused, and the release resumes it (`resume`)."""
    run = _run(ctx, event)
    if run is not None:
        ctx.rights.update_run(run.erasure_id, status="held")
        ctx.rights.pause_erasure(run.user_id, run.erasure_id)
        if run.request_id:
            rights_requests.set_status(ctx, run.request_id, "held", actor="system", note="paused by a legal hold")
    return {"status": "held"}


def resume(ctx: RightsContext, erasure_id: str, hold_id: str) -> None:
    """After the last hold's release: the same run again, under a new execution name. Every step is
    idempotent and what was deleted before the hold stays deleted, so it goes on from where it stopped."""
    run = ctx.rights.get_run(erasure_id)
    if run is None:
        return
    ctx.rights.update_run(erasure_id, status="running")
    if run.request_id:
        rights_requests.set_status(ctx, run.request_id, "in_progress", actor="system", note="legal hold released")
    ctx.erasure_workflow.start(f"{execution_name(erasure_id)}-resumed-{hold_id}", {"erasure_id": erasure_id})


def fail(ctx: RightsContext, event: dict[str, Any]) -> dict[str, str]:
    """The Catch path (DSR-4): mark the run and the request failed and count `ErasureFailed`.

    The run keeps what a rerun needs (the address for the final email, the pseudonym)."""
    why = failures.reason(event)
    run = _run(ctx, event)
    if run is not None:
        ctx.rights.update_run(run.erasure_id, status="failed", failure=why)
    request_id = run.request_id if run is not None else None
    failures.report(ctx, metric=Metric.ERASURE_FAILED, request_id=request_id, reference=event["erasure_id"], why=why)
    return {"status": "failed", "reason": why}
