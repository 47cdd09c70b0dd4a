"""GET /health: the process is up and its profile loads."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_response, route

bp = Blueprint(__name__)


@route(bp, "/health", methods=["GET"])
def health():
    from chalicelib.profile import active_profile

    profile = active_profile()
    return json_response({"status": "ok", "profile": profile.id, "policy_version": profile.policy.version})
