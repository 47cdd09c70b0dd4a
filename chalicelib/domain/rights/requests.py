"""The requests ledger (DSR-7, DSR-8): every rights request, its deadline, its audit trail.

The due date comes from the profile (response deadline; erasure within `erasure_days`), and the
policy version in force when the request arrives is pinned on it.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import clock
from chalicelib.domain.accounts.login_codes import code_hash
from chalicelib.domain.ports.accounts import same
from chalicelib.domain.rights.deps import RightsDeps
from chalicelib.errors import Forbidden, InvalidInput, NotFound

if TYPE_CHECKING:
    from chalicelib.store.models.rights import RightsRequest

KINDS = ("access", "portability", "rectification", "erasure", "restriction", "objection", "withdraw_consent")
MAX_VERIFICATION_ATTEMPTS = 5


def due_at(deps: RightsDeps, kind: str, created_at):
    hours = deps.profile.rights.response_hours
    if kind == "erasure":
        hours = max(hours, deps.profile.rights.erasure_days * 24)
    return created_at + timedelta(hours=hours)


def open_request(
    deps: RightsDeps,
    *,
    kind: str,
    user_id: str | None,
    actor: str,
    contact_email: str | None = None,
    verification_hash: str | None = None,
) -> RightsRequest:
    if kind not in KINDS:
        raise InvalidInput(f"Unknown request kind; use one of: {', '.join(KINDS)}.")
    now = clock.now()
    request_id = uuid.uuid4().hex
    request = deps.rights.open_request(
        request_id,
        kind=kind,
        status="unverified" if verification_hash else "open",
        channel="email" if contact_email else "signed_in",
        contact_email=contact_email,
        verification_hash=verification_hash,
        owner_id=user_id,
        policy_version=deps.profile.policy.version,
        created_at=now,
        due_at=due_at(deps, kind, now),
    )
    deps.rights.add_event(request_id, f"received ({request.channel})", actor, now, user_id)
    return request


def set_status(
    deps: RightsDeps,
    request_id: str,
    status: str,
    *,
    actor: str,
    reference: str | None = None,
    note: str | None = None,
) -> None:
    request = deps.rights.get_request(request_id)
    if request is None:
        return
    request.status = status
    if reference:
        request.reference = reference
    if status in ("completed", "rejected", "cancelled"):
        request.completed_at = clock.now()
    deps.rights.put_request(request)
    what = f"{status} ({note})" if note else status
    deps.rights.add_event(request_id, what, actor, clock.now(), request.owner_id)


def complete(deps: RightsDeps, request_id: str, *, reference: str | None = None) -> None:
    set_status(deps, request_id, "completed", actor="system", reference=reference)


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
    }


# -- requests from people who cannot sign in (DSR-7) -------------------------------------------
def submit_by_email(deps: RightsDeps, *, kind: str, email: str, code_key: str, find_user_id) -> dict[str, Any]:
    """Nothing happens for an emailed request until the sender proves they hold the address.

    The record belongs to the account holding the address from the start, so an erasure of that
    account removes even an unconfirmed request naming it. The code is kept only as the login codes'
    keyed hash (server secret `code_key`), bound to this request: six digits under a plain hash
    would be reversed offline at once."""
    if not deps.profile.rights.requests_without_sign_in:
        raise Forbidden("Requests must be made from your signed-in account.")
    code = f"{secrets.randbelow(10**6):06d}"
    request = open_request(
        deps, kind=kind, user_id=find_user_id(email), actor="requester", contact_email=email, verification_hash="-"
    )
    request.verification_hash = code_hash(code_key, request.request_id, code)
    deps.rights.put_request(request)
    deps.email.send(
        email,
        f"{deps.profile.service.name}: confirm your privacy request",
        f"Someone asked us to handle a '{kind}' request for this address. If it was you, confirm with code {code}.",
    )
    return {"request_id": request.request_id, "status": request.status}


def verify_by_email(
    deps: RightsDeps, *, request_id: str, code: str, code_key: str, limiter, find_user_id
) -> dict[str, Any]:
    """A correct code opens the request and links it to the account holding the address, if any.

    Each request locks after a few wrong codes, and every guess also counts against the address
    (`limiter`, SEC-1), so submitting the request again gives no fresh guesses."""
    request = deps.rights.get_request(request_id)
    if request is None or request.status != "unverified":
        raise NotFound("No request is waiting for this code.")
    if request.verification_attempts >= MAX_VERIFICATION_ATTEMPTS:
        raise Forbidden("Too many wrong codes; submit the request again.")
    limiter.check_address("rights_code_guess", request.contact_email)
    if not same(request.verification_hash or "", code_hash(code_key, request_id, code)):
        request.verification_attempts += 1
        deps.rights.put_request(request)
        deps.rights.add_event(request_id, "wrong verification code", "requester", clock.now(), None)
        raise InvalidInput("That code is not right.")
    request.status = "open"
    request.verification_hash = None
    request.owner_id = find_user_id(request.contact_email)
    deps.rights.put_request(request)
    deps.rights.add_event(request_id, "identity verified", "requester", clock.now(), request.owner_id)
    if request.owner_id:
        _act(deps, request)
    return describe(deps.rights.get_request(request_id))


def _act(deps: RightsDeps, request: RightsRequest) -> None:
    """Verified access and erasure requests run by themselves; the rest wait in the operators' queue."""
    from chalicelib.domain.rights import erasure, export

    if request.kind in ("access", "portability"):
        export.request_export(deps, request.owner_id, request_id=request.request_id)
    elif request.kind == "erasure":
        erasure.request_erasure(deps, request.owner_id, actor="requester", request_id=request.request_id)


def open_queue(deps: RightsDeps) -> list[dict[str, Any]]:
    """Open requests, the most urgent first (DSR-8)."""
    return [describe(r) for r in deps.rights.open_requests()]
