"""HTTP routes: generations, and the model providers' webhooks."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _request_model():
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    from chalicelib.domain import generations as g

    class GenerationRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
        prompt: str = Field(min_length=1, max_length=g.PROMPT_MAX)
        negative_prompt: str | None = Field(default=None, max_length=g.NEGATIVE_PROMPT_MAX)
        model: str = Field(min_length=1, max_length=64)
        aspect_ratio: Literal[g.ASPECT_RATIOS] = "1:1"  # type: ignore[valid-type]
        style: Literal[g.STYLES] = "none"  # type: ignore[valid-type]
        safety_level: Literal[g.SAFETY_LEVELS] = "standard"  # type: ignore[valid-type]
        source_upload_id: str | None = Field(default=None, min_length=1, max_length=64)

    return GenerationRequest


@route(bp, "/generations", methods=["POST"])
def submit_generation():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import generations

    principal = require_user(bp.current_request)
    body = parse_body(_request_model(), json_body(bp))
    wiring.rate_limiter().check_subject("generation", principal.user_id)
    job = generations.submit(
        user_id=principal.user_id,
        restricted=principal.restricted,
        objections=principal.objections,
        params=generations.GenerationParams(**body.model_dump()),
        content=wiring.content(),
        objects=wiring.objects(),
        ledger=wiring.ledger(),
        provider=wiring.provider(),
        profile=wiring.profile(),
        public_base_url=wiring.get_settings().public_base_url,
    )
    return json_response(job, status=202)


@route(bp, "/generations/{gen_id}", methods=["GET"])
def generation_status(gen_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import generations

    principal = require_user(bp.current_request)
    return json_response(
        generations.status(
            user_id=principal.user_id,
            gen_id=gen_id,
            content=wiring.content(),
            ledger=wiring.ledger(),
            profile=wiring.profile(),
        )
    )


@route(bp, "/webhooks/providers/{provider}/{job_token}", methods=["POST"], content_types=["application/json"])
def provider_webhook(provider, job_token):
    from chalicelib import wiring
    from chalicelib.domain import generations

    request = bp.current_request
    result = generations.handle_delivery(
        provider_name=provider,
        job_token=job_token,
        headers=dict(request.headers),
        body=request.raw_body or b"",
        content=wiring.content(),
        objects=wiring.objects(),
        ledger=wiring.ledger(),
        provider=wiring.provider(),
        profile=wiring.profile(),
    )
    return json_response(result)
