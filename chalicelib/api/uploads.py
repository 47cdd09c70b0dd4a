"""HTTP routes: uploads. The file itself goes to S3 through the presigned POST returned here."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _request_model():
    from pydantic import BaseModel, ConfigDict

    class UploadRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        content_type: str

    return UploadRequest


@route(bp, "/uploads", methods=["POST"])
def start_upload():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import uploads

    principal = require_user(bp.current_request)
    body = parse_body(_request_model(), json_body(bp))
    wiring.rate_limiter().check_subject("upload", principal.user_id)
    result = uploads.start_upload(
        user_id=principal.user_id,
        content_type=body.content_type,
        content=wiring.content(),
        objects=wiring.objects(),
        profile=wiring.profile(),
    )
    return json_response(result, status=201)


@route(bp, "/uploads", methods=["GET"])
def list_uploads():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import uploads

    principal = require_user(bp.current_request)
    return json_response(
        uploads.list_uploads(user_id=principal.user_id, content=wiring.content(), profile=wiring.profile())
    )


@route(bp, "/uploads/{upload_id}", methods=["GET"])
def get_upload(upload_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import uploads

    principal = require_user(bp.current_request)
    return json_response(
        uploads.get_upload(
            user_id=principal.user_id, upload_id=upload_id, content=wiring.content(), profile=wiring.profile()
        )
    )


@route(bp, "/uploads/{upload_id}", methods=["DELETE"])
def delete_upload(upload_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.domain import uploads

    principal = require_user(bp.current_request)
    uploads.delete_upload(
        user_id=principal.user_id, upload_id=upload_id, content=wiring.content(), objects=wiring.objects()
    )
    return json_response({"deleted": upload_id})
