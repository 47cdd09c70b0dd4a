"""HTTP routes: the gallery, share links, and the public share route."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _share_model():
    from pydantic import BaseModel, ConfigDict, Field

    class ShareRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        expires_in_hours: int | None = Field(default=None, ge=1, le=24 * 365)

    return ShareRequest


@route(bp, "/gallery", methods=["GET"])
def list_gallery():
    from chalicelib import errors, wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import gallery

    principal = require_user(bp.current_request)
    query = bp.current_request.query_params or {}
    try:
        limit = int(query.get("limit", 20))
    except ValueError:
        raise errors.InvalidInput("limit must be a whole number.") from None
    return json_response(
        gallery.list_images(
            user_id=principal.user_id,
            limit=limit,
            cursor=query.get("cursor"),
            content=wiring.content(),
            objects=wiring.objects(),
        )
    )


@route(bp, "/gallery/{gen_id}", methods=["GET"])
def view_image(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import gallery

    principal = require_user(bp.current_request)
    return json_response(
        gallery.get_image(user_id=principal.user_id, gen_id=gen_id, content=wiring.content(), objects=wiring.objects())
    )


@route(bp, "/gallery/{gen_id}", methods=["DELETE"])
def delete_image(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import gallery

    principal = require_user(bp.current_request)
    gallery.delete_image(user_id=principal.user_id, gen_id=gen_id, content=wiring.content(), objects=wiring.objects())
    return json_response({"deleted": gen_id})


@route(bp, "/gallery/{gen_id}/shares", methods=["POST"])
def create_share(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import shares

    principal = require_user(bp.current_request)
    body = parse_body(_share_model(), json_body(bp))
    link = shares.create_share(
        user_id=principal.user_id,
        gen_id=gen_id,
        expires_in_hours=body.expires_in_hours,
        content=wiring.content(),
        public_base_url=wiring.get_settings().public_base_url,
    )
    return json_response(link, status=201)


@route(bp, "/gallery/{gen_id}/shares", methods=["GET"])
def list_shares(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import shares

    principal = require_user(bp.current_request)
    return json_response(
        shares.list_shares(
            user_id=principal.user_id,
            gen_id=gen_id,
            content=wiring.content(),
            public_base_url=wiring.get_settings().public_base_url,
        )
    )


@route(bp, "/shares/{share_id}", methods=["DELETE"])
def revoke_share(share_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import shares

    principal = require_user(bp.current_request)
    shares.revoke_share(user_id=principal.user_id, share_id=share_id, content=wiring.content())
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
    from chalicelib.domain import shares

    image = shares.open_share(share_id=share_id, content=wiring.content(), objects=wiring.objects())
    if not _accepts(bp.current_request.headers.get("accept", ""), image.content_type):
        raise errors.InvalidInput(f"This link serves an image: send an Accept header allowing {image.content_type}.")
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
