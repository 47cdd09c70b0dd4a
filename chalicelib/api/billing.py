"""HTTP routes: the catalogue, checkout on the profile's rails, the success redirect, and the user's
ledger (PAY-2, PAY-5)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


@route(bp, "/billing/catalogue", methods=["GET"])
def catalogue_view():
    from chalicelib import wiring

    billing = wiring.billing_service()
    return json_response({"products": billing.products(), "tools": billing.tools(wiring.profile().job_kinds)})


@route(bp, "/billing/checkout", methods=["POST"])
def checkout():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.api.schemas.billing import CheckoutRequest

    user = require_user(bp.current_request)
    body = parse_body(CheckoutRequest, with_idempotency_key(json_body(bp), bp.current_request.headers))
    rail = body.rail or next(iter(wiring.payment_rails()), "stripe")  # none named: refused just below
    if rail == "stripe":
        require_rail("stripe")
        result = wiring.billing_service().start_checkout(user.user_id, body.product, body.attempt)
    else:
        result = wiring.rail_billing().start_checkout(rail, user.user_id, body.product, body.attempt)
    return json_response(result, status=201)


def with_idempotency_key(body, headers) -> object:
    """The Idempotency-Key header is the body's `attempt` by another name; both must agree."""
    from chalicelib import errors

    key = headers.get("idempotency-key")
    if key is None or not isinstance(body, dict | None):
        return body
    body = dict(body or {})
    if body.setdefault("attempt", key) != key:
        raise errors.InvalidInput("The Idempotency-Key header and the attempt field differ.")
    return body


def require_rail(rail: str) -> None:
    """Only the rails the profile's processors name take payments (PAY-5)."""
    from chalicelib import errors, wiring

    if rail not in wiring.payment_rails():
        raise errors.NotFound("This service takes no payments through that processor.")


@route(bp, "/billing/success", methods=["GET"])
def checkout_success():
    """A pay page's success redirect. Stripe's: fulfil now rather than wait for the webhook (both
    paths run the same idempotent fulfilment; the Checkout Session names its buyer). The other
    rails fulfil from their signed deliveries. A browser is sent on to the web app."""
    from chalicelib import errors, wiring

    query = bp.current_request.query_params or {}
    if query.get("rail") not in (None, "stripe"):
        # The other rails fulfil from their signed deliveries; the redirect only says it is under way.
        wiring.rail_billing().rail(query["rail"])
        if _wants_a_page(bp.current_request.headers.get("accept", "")):
            return _back_to_the_app()
        return json_response({"rail": query["rail"], "status": "processing"})
    require_rail("stripe")
    session_id = query.get("session_id", "")
    if not session_id.startswith("cs_") or len(session_id) > 255:
        raise errors.InvalidInput("A checkout session id is required.")
    result = wiring.billing_service().fulfill_checkout(session_id)
    if _wants_a_page(bp.current_request.headers.get("accept", "")):
        return _back_to_the_app()
    return json_response({"session_id": session_id, "status": result["status"]})


def _wants_a_page(accept: str) -> bool:
    """A browser returning from the pay page (Accept: text/html…), not a client reading JSON."""
    return "text/html" in accept.lower()


def _back_to_the_app():
    """The person lands on the web app's credits page (PIXELKEEP_APP_URL; by default the app the
    API's origin serves locally), which waits there for the purchase's credits (`?paid`)."""
    from chalice import Response

    from chalicelib.settings import get_settings

    settings = get_settings()
    app_url = settings.app_url or f"{settings.public_base_url}/app/"
    headers = {"Location": f"{app_url}#/credits?paid", "Cache-Control": "no-store"}
    return Response(body="", status_code=303, headers=headers)


@route(bp, "/billing/cancelled", methods=["GET"])
def checkout_cancelled():
    return json_response({"status": "cancelled"})


@route(bp, "/me/ledger", methods=["GET"])
def my_ledger():
    from chalicelib import errors, wiring
    from chalicelib.api.identity import require_user

    user = require_user(bp.current_request)
    query = bp.current_request.query_params or {}
    try:
        limit = int(query.get("limit", 50))
    except ValueError:
        raise errors.InvalidInput("limit must be a whole number.") from None
    return json_response(wiring.billing_service().ledger_page(user.user_id, limit=limit, cursor=query.get("cursor")))
