"""What each route asks of its caller, in one table next to the routes (ACC-9, SEC-4, ACC-5).

A value is an API-key scope (a key needs it; a signed-in person always has it), `SIGNED_IN`
(account-level: a person's session, never an API key), or one of the routes that take no user
credentials (`PUBLIC`, `WEBHOOK`, `OPERATOR`). A route missing here is refused to every caller
that presents credentials; tests/functional/test_accounts_scopes.py checks the table against the
app's own route list.
"""

from __future__ import annotations

from chalicelib.domain.accounts.authorizer import OPERATOR, PUBLIC, SIGNED_IN, USER_LEVEL, WEBHOOK

ROUTE_ACCESS: dict[tuple[str, str], str] = {
    # Health, policy, sign-in: anyone.
    ("GET", "/health"): PUBLIC,
    ("HEAD", "/health"): PUBLIC,
    ("GET", "/policy"): PUBLIC,
    ("GET", "/policy.json"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("POST", "/auth/email/code"): PUBLIC,
    ("POST", "/auth/email/verify"): PUBLIC,
    ("POST", "/auth/password/sign-up"): PUBLIC,
    ("POST", "/auth/password/sign-in"): PUBLIC,
    ("POST", "/auth/google/nonce"): PUBLIC,
    ("POST", "/auth/google"): PUBLIC,
    ("POST", "/auth/telegram"): PUBLIC,
    ("POST", "/auth/logout"): SIGNED_IN,
    ("POST", "/auth/logout-everywhere"): SIGNED_IN,
    # The account itself: profile, credentials, links, keys (ACC-9: never with a key).
    ("GET", "/me"): SIGNED_IN,
    ("PATCH", "/me"): SIGNED_IN,
    ("PUT", "/me/password"): SIGNED_IN,
    ("PUT", "/me/telegram"): SIGNED_IN,
    ("DELETE", "/me/telegram"): SIGNED_IN,
    ("GET", "/me/api-keys"): SIGNED_IN,
    ("POST", "/me/api-keys"): SIGNED_IN,
    ("DELETE", "/me/api-keys/{key_id}"): SIGNED_IN,
    ("GET", "/me/api-keys/{key_id}/usage"): "usage",
    # Uploads, generation, gallery and sharing: what API keys are for.
    ("POST", "/uploads"): "uploads",
    ("GET", "/uploads"): "uploads",
    ("GET", "/uploads/{upload_id}"): "uploads",
    ("DELETE", "/uploads/{upload_id}"): "uploads",
    ("POST", "/generations"): "generate",
    ("GET", "/generations"): "generate",
    ("GET", "/generations/{gen_id}"): "generate",
    ("DELETE", "/generations/{gen_id}"): "generate",
    ("GET", "/characters"): "generate",
    ("DELETE", "/characters/{character_id}"): "generate",
    ("GET", "/generations/{gen_id}/result"): "generate",
    ("GET", "/gallery"): "gallery",
    ("GET", "/gallery/{gen_id}"): "gallery",
    ("GET", "/gallery/{gen_id}/result"): "gallery",
    ("DELETE", "/gallery/{gen_id}"): "gallery",
    ("GET", "/gallery/{gen_id}/shares"): "gallery",
    ("POST", "/gallery/{gen_id}/shares"): "gallery",
    ("DELETE", "/shares/{share_id}"): "gallery",
    ("GET", "/s/{share_id}"): PUBLIC,
    # Credits and payments: a key may read the balance; paying is a person's act.
    ("GET", "/billing/catalogue"): PUBLIC,
    ("POST", "/billing/checkout"): SIGNED_IN,
    ("GET", "/billing/success"): PUBLIC,
    ("GET", "/billing/cancelled"): PUBLIC,
    ("GET", "/me/ledger"): "usage",
    # Rights: export, erasure, requests, consent, restriction (ACC-9: never with a key).
    ("POST", "/me/exports"): SIGNED_IN,
    ("GET", "/me/exports/{export_id}"): SIGNED_IN,
    ("GET", "/me/exports/{export_id}/download"): SIGNED_IN,
    ("DELETE", "/me"): SIGNED_IN,
    ("GET", "/me/erasure/cancel"): PUBLIC,  # the e-mailed link's page: a form, changes nothing
    ("POST", "/me/erasure/cancel"): PUBLIC,  # the emailed cancel token proves who asks
    ("GET", "/me/requests"): SIGNED_IN,
    ("POST", "/me/requests"): SIGNED_IN,
    ("GET", "/me/consents"): SIGNED_IN,
    ("POST", "/me/consents"): SIGNED_IN,
    ("PUT", "/me/processing"): SIGNED_IN,
    # OPS-2: a notice is addressed to the person and its acknowledgement may record a consent, an
    # account-level act (ACC-9): a session only, no API-key scope.
    ("GET", "/me/notices"): SIGNED_IN,
    ("POST", "/me/notices/{version}/ack"): SIGNED_IN,
    ("POST", "/contact"): PUBLIC,  # anonymous senders welcome; a named sender must be signed in
    ("POST", "/requests"): PUBLIC,
    ("POST", "/requests/{request_id}/verify"): PUBLIC,
    # Signed by their sender, checked in the view.
    ("POST", "/webhooks/stripe"): WEBHOOK,
    ("POST", "/webhooks/polar"): WEBHOOK,
    ("POST", "/webhooks/lemonsqueezy"): WEBHOOK,
    ("POST", "/webhooks/telegram"): WEBHOOK,
    ("POST", "/webhooks/providers/{provider}/{job_token}"): WEBHOOK,
    ("GET", "/operator/requests"): OPERATOR,
    ("POST", "/operator/requests/{request_id}"): OPERATOR,
    ("POST", "/operator/requests/{request_id}/extend"): OPERATOR,
    ("POST", "/operator/requests/{request_id}/refuse"): OPERATOR,
    ("POST", "/operator/users/{user_id}/minor"): OPERATOR,
    ("GET", "/operator/audit/{month}"): OPERATOR,
    ("GET", "/operator/payments/review"): OPERATOR,
    ("GET", "/operator/ropa"): OPERATOR,
    ("GET", "/operator/drift"): OPERATOR,
    ("POST", "/operator/incidents"): OPERATOR,
    ("GET", "/operator/incidents"): OPERATOR,
    ("GET", "/operator/incidents/{incident_id}"): OPERATOR,
    ("POST", "/operator/incidents/{incident_id}/authority-notified"): OPERATOR,
    ("POST", "/operator/incidents/{incident_id}/notify-users"): OPERATOR,
    ("POST", "/operator/policy-versions/{version}/announce"): OPERATOR,
}


def route_of(request) -> tuple[str, str]:
    """(method, resource path) of the current request, as API Gateway names the route."""
    context = request.context or {}
    return (context.get("httpMethod") or request.method or "").upper(), context.get("resourcePath") or ""


def needed_by(request) -> str | None:
    """What the current route asks of its caller; None for a route the table does not declare."""
    return ROUTE_ACCESS.get(route_of(request))


def asks_for_a_user(request) -> bool:
    return needed_by(request) in USER_LEVEL
