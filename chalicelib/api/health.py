"""GET /health: the process is up and its profile loads; HEAD /health the same without a body."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_response, route

bp = Blueprint(__name__)


@route(bp, "/health", methods=["GET", "HEAD"])
def health():
    from chalice import Response

    from chalicelib.profile import active_profile

    profile = active_profile()
    if bp.current_request.method == "HEAD":
        return Response(body="", status_code=200, headers={"Content-Type": "application/json"})
    return json_response({"status": "ok", "profile": profile.id, "policy_version": profile.policy.version})


@route(bp, "/openapi.json", methods=["GET"])
def openapi_document():
    """The API's contract, generated from the route table and the request/response models."""
    from chalicelib import wiring
    from chalicelib.api.openapi import document
    from chalicelib.domain.accounts.service import declared_cookie
    from chalicelib.settings import get_settings

    cookie = declared_cookie(wiring.profile(), "session")
    return json_response(
        document(cookie, get_settings().public_base_url), headers={"Cache-Control": "public, max-age=300"}
    )
