"""HTTP routes: webhooks from external parties, verified on the raw body before anything else."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_response, route

bp = Blueprint(__name__)


@route(bp, "/webhooks/stripe", methods=["POST"], content_types=["application/json", "text/plain"])
def stripe_webhook():
    from chalicelib import wiring
    from chalicelib.api.billing import require_rail

    require_rail("stripe")
    request = bp.current_request
    result = wiring.billing_service().handle_stripe_delivery(
        request.raw_body or b"", request.headers.get("stripe-signature")
    )
    return json_response({"received": result["received"], "handled": result["handled"]})


def _rail_delivery(rail: str):
    from chalicelib import wiring

    request = bp.current_request
    result = wiring.rail_billing().handle_delivery(rail, request.raw_body or b"", dict(request.headers))
    return json_response({"received": result["received"], "handled": result["handled"]})


@route(bp, "/webhooks/polar", methods=["POST"], content_types=["application/json", "text/plain"])
def polar_webhook():
    """Polar's Standard Webhooks deliveries (PAY-5)."""
    return _rail_delivery("polar")


@route(bp, "/webhooks/lemonsqueezy", methods=["POST"], content_types=["application/json", "text/plain"])
def lemonsqueezy_webhook():
    """Lemon Squeezy's X-Signature deliveries (PAY-5)."""
    return _rail_delivery("lemonsqueezy")


@route(bp, "/webhooks/telegram", methods=["POST"], content_types=["application/json", "text/plain"])
def telegram_webhook():
    """The Telegram bot's updates: Stars payments go to the rail (which checks the secret token
    first); any other update, once checked, to the bot."""
    import json

    from chalicelib import wiring

    request = bp.current_request
    body = request.raw_body or b""
    result = wiring.rail_billing().handle_delivery("telegram_stars", body, dict(request.headers))
    if not result["handled"]:
        wiring.telegram_bot().handle_update(json.loads(body))
    return json_response({"received": True, "handled": True})
