"""Stripe, through its SDK: Checkout Sessions, re-fetching the objects events name, and webhook
signature verification. Returns plain dicts so the domain never handles SDK objects.

Locally `api_base` points the same client at the embedded emulator; the code path is the same.
"""

from __future__ import annotations

from typing import Any

from chalicelib import errors

WEBHOOK_TOLERANCE_SECONDS = 300


class StripeGateway:
    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str | None = None) -> None:
        import stripe

        self._stripe = stripe
        base = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=2)
        self._webhook_secret = webhook_secret

    # -- webhooks ------------------------------------------------------------------------------
    def verify_event(self, payload: bytes, signature_header: str | None) -> dict:
        """The event in a signed delivery; SignatureInvalid when unsigned, forged or stale."""
        try:
            event = self._stripe.Webhook.construct_event(
                payload, signature_header or "", self._webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except (self._stripe.SignatureVerificationError, ValueError) as exc:
            raise errors.SignatureInvalid("The webhook signature is invalid.") from exc
        return event.to_dict()

    # -- checkout ------------------------------------------------------------------------------
    def create_checkout_session(self, params: dict, *, idempotency_key: str) -> dict:
        return self._call(
            self._client.v1.checkout.sessions.create, params, options={"idempotency_key": idempotency_key}
        )

    def checkout_session(self, session_id: str) -> dict:
        return self._call(self._client.v1.checkout.sessions.retrieve, session_id, {"expand": ["line_items"]})

    def checkout_sessions_for_payment_intent(self, payment_intent_id: str) -> list[dict]:
        found = self._call(self._client.v1.checkout.sessions.list, {"payment_intent": payment_intent_id})
        return list(found.get("data", []))

    # -- objects named by events ---------------------------------------------------------------
    def invoice(self, invoice_id: str) -> dict:
        return self._call(self._client.v1.invoices.retrieve, invoice_id, {"expand": ["payments"]})

    def subscription(self, subscription_id: str) -> dict:
        return self._call(self._client.v1.subscriptions.retrieve, subscription_id)

    def charge(self, charge_id: str) -> dict:
        return self._call(self._client.v1.charges.retrieve, charge_id)

    def dispute(self, dispute_id: str) -> dict:
        return self._call(self._client.v1.disputes.retrieve, dispute_id)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> dict:
        try:
            return method(*args, **kwargs).to_dict()
        except self._stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise errors.NotFound("Stripe does not know this object.") from exc
            raise errors.InvalidInput("Stripe refused the request.") from exc
        except self._stripe.StripeError as exc:
            raise errors.UpstreamUnavailable("The payment provider is unavailable; please retry.") from exc
