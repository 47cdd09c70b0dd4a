"""HTTP routes: jobs of every kind, their listing and results, trained characters, and the model
providers' webhooks."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import accepts, json_body, json_response, parse_body, route

bp = Blueprint(__name__)


@route(bp, "/generations", methods=["POST"])
def submit_generation():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.api.schemas.content import GenerationRequest

    principal = require_user(bp.current_request)
    body = parse_body(GenerationRequest, json_body(bp))
    wiring.rate_limiter().check_person("generation", principal.user_id)
    job = wiring.content_service().submit(
        principal.user_id, body.params(), restricted=principal.restricted, objections=principal.objections
    )
    return json_response(job, status=202)


@route(bp, "/generations", methods=["GET"])
def list_generations():
    """The caller's jobs newest first, of one kind or all, with progress for long ones."""
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.api.schemas.content import GenerationListQuery

    principal = require_user(bp.current_request)
    query = parse_body(GenerationListQuery, dict(bp.current_request.query_params or {}))
    return json_response(
        wiring.content_service().list_generations(
            principal.user_id, kind=query.kind, limit=query.limit, cursor=query.cursor
        )
    )


@route(bp, "/generations/{gen_id}", methods=["DELETE"])
def cancel_generation(gen_id):
    """Stops a running job: its credits return and its inputs are deleted now (CNT-5, CNT-6)."""
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    return json_response(wiring.content_service().cancel_generation(principal.user_id, gen_id))


@route(bp, "/characters", methods=["GET"])
def list_characters():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    return json_response(wiring.content_service().list_characters(principal.user_id))


@route(bp, "/characters/{character_id}", methods=["DELETE"])
def delete_character(character_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    wiring.content_service().delete_character(principal.user_id, character_id)
    return json_response({"deleted": character_id})


@route(bp, "/generations/{gen_id}", methods=["GET"])
def generation_status(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    return json_response(wiring.content_service().generation_status(principal.user_id, gen_id))


@route(bp, "/generations/{gen_id}/result", methods=["GET"])
def delivered_result(gen_id):
    """GEN-4, CNT-3: a result the service does not keep, marked as AI-generated on its way out."""
    from chalicelib import errors, wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    media = wiring.content_service().delivered_result(principal.user_id, gen_id)
    if not accepts(bp.current_request.headers.get("accept", ""), media.content_type):
        raise errors.NotAcceptable(f"This route serves media: send an Accept header allowing {media.content_type}.")
    return Response(
        body=media.data,
        status_code=200,
        headers={
            "Content-Type": media.content_type,
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",  # nothing keeps a copy, browsers included
        },
    )


@route(bp, "/webhooks/providers/{provider}/{job_token}", methods=["POST"], content_types=["application/json"])
def provider_webhook(provider, job_token):
    from chalicelib import wiring

    request = bp.current_request
    result = wiring.content_service().provider_delivery(
        provider, job_token, dict(request.headers), request.raw_body or b""
    )
    return json_response(result)
