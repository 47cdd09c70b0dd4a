"""HTTP routes: webhooks from external parties, verified on the raw body before anything else."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_response, route

bp = Blueprint(__name__)


@route(bp, "/webhooks/stripe", methods=["POST"], content_types=["application/json", "text/plain"])
def stripe_webhook():
    from chalicelib import wiring

    request = bp.current_request
    result = wiring.billing_service().handle_stripe_delivery(
        request.raw_body or b"", request.headers.get("stripe-signature")
    )
    return json_response({"received": result["received"], "handled": result["handled"]})
