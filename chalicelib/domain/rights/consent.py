"""Consent (DSR-6) and restriction/objection (DSR-5): every change recorded with the policy version.

Consent history is append-only. Withdrawing marketing consent deletes the marketing data at once where
the profile keeps it "until consent is withdrawn"; marketing itself checks consent and the DSR-5 flags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import clock
from chalicelib.domain.ports.rights import Consent, Person
from chalicelib.domain.restrictions import ensure_allowed
from chalicelib.domain.rights import rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import Forbidden, InvalidInput, NotFound
from chalicelib.profile.schema import Category

PURPOSES = ("marketing", "service_improvement")
OBJECTIONS = frozenset({"generation", "service_improvement", "marketing"})


def _user(ctx: RightsContext, user_id: str) -> Person:
    user = ctx.accounts.get_user(user_id, consistent=True)
    if user is None:
        raise NotFound("No such account.")
    return user


def purposes(ctx: RightsContext) -> tuple[str, ...]:
    """The fixed purposes, and every category the profile processes on consent (OPS-2: a version may add one)."""
    return PURPOSES + tuple(p for p in ctx.profile.consent_purposes if p not in PURPOSES)


def _answered_under_current_terms(ctx: RightsContext) -> Callable[[Consent], bool]:
    """OPS-2: a purpose a later version added counts as not granted until the person answers under
    that version or a later one; an answer given under an earlier version does not carry over."""
    order = {release.version: index for index, release in enumerate(ctx.profile.history)}
    added = {p: order[r.version] for r in ctx.profile.history for p in r.consent_purposes_added}
    return lambda c: c.purpose not in added or order.get(c.policy_version, -1) >= added[c.purpose]


def record_consent(ctx: RightsContext, user_id: str, purpose: str, granted: bool) -> dict[str, Any]:
    if purpose not in purposes(ctx):
        raise InvalidInput(f"Unknown purpose; use one of: {', '.join(purposes(ctx))}.")
    user = _user(ctx, user_id)
    now = clock.now()
    ctx.rights.add_consent(user_id, purpose, granted, ctx.profile.policy.version, now)
    if purpose == "marketing" and ctx.profile.stores(Category.MARKETING):
        if granted:
            ctx.rights.put_marketing_contact(user_id, user.email, now)
        else:
            ctx.rights.delete_marketing_contact(user_id)
    if not granted:
        rights_requests.complete(
            ctx,
            rights_requests.open_request(ctx, kind="withdraw_consent", user_id=user_id, actor="user").request_id,
        )
    return current_consents(ctx, user_id)


def current_consents(ctx: RightsContext, user_id: str) -> dict[str, Any]:
    history = sorted(ctx.rights.consents(user_id), key=lambda c: c.created_at)
    counts = _answered_under_current_terms(ctx)
    state: dict[str, bool] = {}
    for consent in history:
        if not counts(consent):
            continue
        state[consent.purpose] = consent.granted
    return {
        "consents": state,
        "history": [
            {
                "purpose": c.purpose,
                "granted": c.granted,
                "policy_version": c.policy_version,
                "at": c.created_at.isoformat(),
            }
            for c in history
        ],
    }


def send_marketing(ctx: RightsContext, user_id: str, subject: str, text: str) -> None:
    """The one marketing path: it needs standing consent and no restriction or objection (DSR-5)."""
    user = _user(ctx, user_id)
    ensure_allowed(
        restricted=bool(user.processing_restricted), objections=frozenset(user.objections or ()), purpose="marketing"
    )
    if not current_consents(ctx, user_id)["consents"].get("marketing"):
        raise Forbidden("No marketing consent.")
    contact = ctx.rights.marketing_contact(user_id) if ctx.profile.stores(Category.MARKETING) else None
    ctx.email.send(contact.email if contact else user.email, subject, text)


def set_processing(
    ctx: RightsContext, user_id: str, *, restricted: bool | None, objections: list[str] | None
) -> dict[str, Any]:
    """Restriction and objections are requests too: recorded in the ledger and effective at once."""
    if objections is not None and not set(objections) <= OBJECTIONS:
        raise InvalidInput(f"Objections can be to: {', '.join(sorted(OBJECTIONS))}.")
    _user(ctx, user_id)
    ctx.accounts.set_processing_flags(
        user_id, restricted=restricted, objections=set(objections) if objections is not None else None
    )
    for kind, changed in (("restriction", restricted is not None), ("objection", objections is not None)):
        if changed:
            request = rights_requests.open_request(ctx, kind=kind, user_id=user_id, actor="user")
            rights_requests.complete(ctx, request.request_id)
    user = _user(ctx, user_id)
    return {"restricted": bool(user.processing_restricted), "objections": sorted(user.objections or ())}
