"""The requests ledger (DSR-7, DSR-8): every rights request, its deadline, its audit trail; the
deadline's reminders, extension and refusal are in deadlines.py (DSR-11).

The due date comes from the profile (response deadline; erasure within `erasure_days`), and the
policy version in force when the request arrives is pinned on it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.domain.accounts.login_codes import code_hash
from chalicelib.domain.ports.accounts import same
from chalicelib.domain.ports.rights import RightsRequest
from chalicelib.domain.rights.context import RightsContext
from chalicelib.domain.rights.deadlines import reminders_for
from chalicelib.errors import Forbidden, InvalidInput, NotFound
from chalicelib.metrics import Metric, emit
from chalicelib.profile.schema import Profile

KINDS = ("access", "portability", "rectification", "erasure", "restriction", "objection", "withdraw_consent")
MAX_VERIFICATION_ATTEMPTS = 5
ENDED = frozenset({"completed", "rejected", "cancelled"})
ANSWERED = frozenset({"completed", "rejected"})  # ended by the controller (OPS-7), not withdrawn


def due_at(profile: Profile, kind: str, created_at: datetime) -> datetime:
    hours = profile.rights.response_hours
    if kind == "erasure":
        hours = max(hours, profile.rights.erasure_days * 24)
    return created_at + timedelta(hours=hours)


def open_request(
    ctx: RightsContext,
    *,
    kind: str,
    user_id: str | None,
    actor: str,
    contact_email: str | None = None,
    unverified: bool = False,
) -> RightsRequest:
    if kind not in KINDS:
        raise InvalidInput(f"Unknown request kind; use one of: {', '.join(KINDS)}.")
    now = clock.now()
    request = RightsRequest(
        request_id=uuid.uuid4().hex,
        kind=kind,
        status="unverified" if unverified else "open",
        channel="email" if contact_email else "signed_in",
        contact_email=contact_email,
        owner_id=user_id,
        policy_version=ctx.profile.policy.version,
        created_at=now,
        due_at=due_at(ctx.profile, kind, now),
    )
    # DSR-11: the deadline's reminders run once the request is owed (an emailed one: once verified)
    request = ctx.rights.open_request(request, reminders=None if unverified else reminders_for(request))
    ctx.rights.add_event(request.request_id, f"received ({request.channel})", actor, now, user_id)
    emit(Metric.REQUESTS_OPENED, kind=kind)
    return request


def set_status(
    ctx: RightsContext,
    request_id: str,
    status: str,
    *,
    actor: str,
    reference: str | None = None,
    note: str | None = None,
) -> None:
    request = ctx.rights.get_request(request_id)
    if request is None:
        return
    ctx.rights.put_request(
        replace(
            request,
            status=status,
            reference=reference or request.reference,
            completed_at=clock.now() if status in ENDED else request.completed_at,
        ),
        reminders=[] if status in ENDED else None,  # DSR-11: an answered request's reminders go with it
    )
    what = f"{status} ({note})" if note else status
    ctx.rights.add_event(request_id, what, actor, clock.now(), request.owner_id)
    if status in ANSWERED and request.status not in ENDED:
        emit(Metric.REQUESTS_ANSWERED, kind=request.kind)


def end_with_erasure(ctx: RightsContext, user_id: str, *, erasure_request_id: str | None) -> None:
    """Once a person's erasure starts nobody is left to answer their other requests (nor data to
    answer with): they end with it, and their reminders go (DSR-11). Safe to repeat."""
    for request in ctx.rights.user_requests(user_id):
        if request.request_id != erasure_request_id and request.status not in ENDED:
            set_status(ctx, request.request_id, "cancelled", actor="system", note="ended by the erasure of the account")


def complete(ctx: RightsContext, request_id: str, *, reference: str | None = None) -> None:
    set_status(ctx, request_id, "completed", actor="system", reference=reference)


def describe(request: RightsRequest) -> dict[str, Any]:
    return {
        "id": request.request_id,
        "kind": request.kind,
        "status": request.status,
        "channel": request.channel,
        "policy_version": request.policy_version,
        "created_at": request.created_at.isoformat(),
        "due_at": request.due_at.isoformat(),
        "completed_at": request.completed_at.isoformat() if request.completed_at else None,
        "reference": request.reference,
        # DSR-11: an extension keeps the first due date and its reason; a refusal its reason
        "original_due_at": request.original_due_at.isoformat() if request.original_due_at else None,
        "extension_reason": request.extension_reason,
        "refusal_reason": request.refusal_reason,
    }


def owner_of(ctx: RightsContext, email: str | None) -> str | None:
    """The account holding `email`, if any."""
    return ctx.accounts.find_user_id_by_email(email) if email else None


# -- requests from people who cannot sign in (DSR-7) -------------------------------------------
def submit_by_email(ctx: RightsContext, *, kind: str, email: str) -> dict[str, Any]:
    """Nothing happens for an emailed request until the sender proves they hold the address.

    The record belongs to the account holding the address from the start, so an erasure of that
    account removes even an unconfirmed request naming it. The code is kept only as the login codes'
    keyed hash (server secret), bound to this request: six digits under a plain hash would be
    reversed offline at once."""
    if not ctx.profile.rights.requests_without_sign_in:
        raise Forbidden("Requests must be made from your signed-in account.")
    code = f"{secrets.randbelow(10**6):06d}"
    request = open_request(
        ctx, kind=kind, user_id=owner_of(ctx, email), actor="requester", contact_email=email, unverified=True
    )
    request = ctx.rights.put_request(
        replace(request, verification_hash=code_hash(ctx.code_key(), request.request_id, code))
    )
    ctx.email.send(
        email,
        f"{ctx.profile.service.name}: confirm your privacy request",
        f"We received your {kind} request for this address. If you made it, confirm with code {code}; "
        "if not, ignore this e-mail and nothing happens.",
    )
    return {"request_id": request.request_id, "status": request.status}


def verify_by_email(ctx: RightsContext, *, request_id: str, code: str) -> RightsRequest:
    """A correct code opens the request and links it to the account holding the address, if any.

    Each request locks after a few wrong codes, and every guess also counts against the address
    (SEC-1), so submitting the request again gives no fresh guesses."""
    request = ctx.rights.get_request(request_id)
    if request is None or request.status != "unverified":
        raise NotFound("No request is waiting for this code.")
    if request.verification_attempts >= MAX_VERIFICATION_ATTEMPTS:
        raise Forbidden("Too many wrong codes; submit the request again.")
    ctx.limiter.check_address("rights_code_guess", request.contact_email)
    if not same(request.verification_hash or "", code_hash(ctx.code_key(), request_id, code)):
        ctx.rights.put_request(replace(request, verification_attempts=request.verification_attempts + 1))
        ctx.rights.add_event(request_id, "wrong verification code", "requester", clock.now(), None)
        raise InvalidInput("That code is not right.")
    opened = replace(request, status="open", verification_hash=None, owner_id=owner_of(ctx, request.contact_email))
    request = ctx.rights.put_request(opened, reminders=reminders_for(opened))
    ctx.rights.add_event(request_id, "identity verified", "requester", clock.now(), request.owner_id)
    return request


def open_queue(ctx: RightsContext) -> list[dict[str, Any]]:
    """Open requests, the most urgent first (DSR-8)."""
    return [describe(r) for r in ctx.rights.open_requests()]
