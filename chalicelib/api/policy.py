"""GET /policy and /policy.json: the published policy, rendered from the active profile (OPS-1)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import json_response, route

bp = Blueprint(__name__)


@route(bp, "/policy", methods=["GET"])
def policy_page():
    from chalicelib import wiring
    from chalicelib.profile.page import html_headers, policy_document, render_html

    return Response(body=render_html(policy_document(wiring.profile())), status_code=200, headers=html_headers())


@route(bp, "/policy.json", methods=["GET"])
def policy_json():
    from chalicelib import wiring
    from chalicelib.profile.page import policy_document

    return json_response(policy_document(wiring.profile()), headers={"Cache-Control": "public, max-age=300"})
