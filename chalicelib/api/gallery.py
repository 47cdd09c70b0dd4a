"""HTTP routes: the gallery, share links, and the public share route."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


@route(bp, "/gallery", methods=["GET"])
def list_gallery():
    from chalicelib import errors, wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    query = bp.current_request.query_params or {}
    try:
        limit = int(query.get("limit", 20))
    except ValueError:
        raise errors.InvalidInput("limit must be a whole number.") from None
    return json_response(
        wiring.content_service().list_images(principal.user_id, limit=limit, cursor=query.get("cursor"))
    )


@route(bp, "/gallery/{gen_id}", methods=["GET"])
def view_image(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    return json_response(wiring.content_service().get_image(principal.user_id, gen_id))


@route(bp, "/gallery/{gen_id}/result", methods=["GET"])
def collect_result(gen_id):
    """The image bytes; deleted as they are delivered where the profile keeps results only until then."""
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    image = wiring.content_service().collect_result(principal.user_id, gen_id)
    return Response(
        body=image.data,
        status_code=200,
        headers={
            "Content-Type": image.content_type,
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@route(bp, "/gallery/{gen_id}", methods=["DELETE"])
def delete_image(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    wiring.content_service().delete_image(principal.user_id, gen_id)
    return json_response({"deleted": gen_id})


@route(bp, "/gallery/{gen_id}/shares", methods=["POST"])
def create_share(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.api.schemas.content import ShareRequest

    principal = require_user(bp.current_request)
    body = parse_body(ShareRequest, json_body(bp))
    link = wiring.content_service().create_share(principal.user_id, gen_id, body.expires_in_hours)
    return json_response(link, status=201)


@route(bp, "/gallery/{gen_id}/shares", methods=["GET"])
def list_shares(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    return json_response(wiring.content_service().list_shares(principal.user_id, gen_id))


@route(bp, "/shares/{share_id}", methods=["DELETE"])
def revoke_share(share_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    wiring.content_service().revoke_share(principal.user_id, share_id)
    return json_response({"revoked": share_id})


def _accepts(accept_header: str, content_type: str) -> bool:
    """Whether the Accept header allows `content_type` (Chalice refuses binary bodies otherwise)."""
    import re

    wanted = {part.strip().lower() for part in re.split("[,;]", accept_header)}
    return bool(wanted & {content_type, "image/*", "*/*"})


@route(bp, "/s/{share_id}", methods=["GET"])
def open_share(share_id):
    """Public: one link, one image, served by this route itself. No listing route exists."""
    from chalicelib import errors, wiring

    image = wiring.content_service().open_share(share_id)
    if not _accepts(bp.current_request.headers.get("accept", ""), image.content_type):
        raise errors.NotAcceptable(f"This link serves an image: send an Accept header allowing {image.content_type}.")
    return Response(
        body=image.data,
        status_code=200,
        headers={
            "Content-Type": image.content_type,
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",  # revocation takes effect at once
            "Referrer-Policy": "no-referrer",
        },
    )
