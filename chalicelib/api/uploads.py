"""HTTP routes: uploads. The file itself goes to S3 through the presigned POST returned here."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


@route(bp, "/uploads", methods=["POST"])
def start_upload():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user
    from chalicelib.api.schemas.content import UploadRequest

    principal = require_user(bp.current_request)
    body = parse_body(UploadRequest, json_body(bp))
    wiring.rate_limiter().check_person("upload", principal.user_id)
    return json_response(wiring.content_service().start_upload(principal.user_id, body.content_type), status=201)


@route(bp, "/uploads", methods=["GET"])
def list_uploads():
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    return json_response(wiring.content_service().list_uploads(principal.user_id))


@route(bp, "/uploads/{upload_id}", methods=["GET"])
def get_upload(upload_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    return json_response(wiring.content_service().get_upload(principal.user_id, upload_id))


@route(bp, "/uploads/{upload_id}", methods=["DELETE"])
def delete_upload(upload_id):
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    principal = require_user(bp.current_request)
    wiring.content_service().delete_upload(principal.user_id, upload_id)
    return json_response({"deleted": upload_id})
