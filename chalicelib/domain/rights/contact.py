"""Contact messages (DSR-10): stored for support, part of the export, removed by erasure."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib import clock
from chalicelib.domain.rights import rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import InvalidInput
from chalicelib.profile.schema import Category


def submit(ctx: RightsContext, *, user_id: str | None, email: str | None, subject: str, body: str) -> dict[str, Any]:
    """A signed-in sender's message is theirs; an anonymous one belongs to the account holding the address."""
    if not ctx.profile.stores(Category.CONTACT_MESSAGES):
        where = ctx.profile.service.contact_email or ctx.profile.service.contact_url or "the address in the policy"
        raise InvalidInput(f"This service does not store contact messages; write to {where}.")
    if user_id:
        user = ctx.accounts.get_user(user_id, consistent=True)
        email = user.email if user else email
    if not email:
        raise InvalidInput("An email address is needed so we can answer.")
    owner_id = user_id or rights_requests.owner_of(ctx, email)
    message_id = uuid.uuid4().hex
    ctx.rights.add_contact_message(
        message_id, email=email, subject=subject, body=body, owner_id=owner_id, at=clock.now()
    )
    return {"id": message_id, "status": "received"}


def submit_once(ctx: RightsContext, *, attempt: dict[str, Any]) -> dict[str, Any]:
    """`submit`, for a client that sent an Idempotency-Key (DSR-10): a retried form stores one message
    and gets the first answer again; the same key with another message is refused."""
    return ctx.idempotency.run_once(
        _submit_attempt, ctx, attempt=attempt, key="[idempotency_key, sender]", payload="[subject, body]"
    )


def _submit_attempt(ctx: RightsContext, *, attempt: dict[str, Any]) -> dict[str, Any]:
    return submit(
        ctx,
        user_id=attempt["user_id"],
        email=attempt["email"],
        subject=attempt["subject"],
        body=attempt["body"],
    )
