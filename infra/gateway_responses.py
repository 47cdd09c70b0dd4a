"""API Gateway's own answers (an unknown route, throttling, a body too large, ...) in the API's one
error shape, `{"error": {"code", "message"}}`: the CDK stack declares them as Gateway Responses and
the local cloud's API server answers with the same ones."""

from __future__ import annotations

import json
from dataclasses import dataclass

GATEWAY_MESSAGE = "$context.error.messageString"  # API Gateway's own message, already quoted


@dataclass(frozen=True)
class GatewayResponse:
    response_type: str  # API Gateway's name for the situation
    code: str
    status: int | None = None  # None keeps API Gateway's status
    message: str | None = None  # None keeps API Gateway's message

    def template(self) -> str:
        message = json.dumps(self.message) if self.message else GATEWAY_MESSAGE
        return f'{{"error": {{"code": "{self.code}", "message": {message}}}}}'

    def body(self, gateway_message: str) -> bytes:
        """The body as API Gateway renders the template, for the local server."""
        return json.dumps({"error": {"code": self.code, "message": self.message or gateway_message}}).encode()


# API Gateway answers an unknown route (or method) with 403 "Missing Authentication Token".
UNKNOWN_ROUTE = GatewayResponse("MISSING_AUTHENTICATION_TOKEN", "not_found", 404, "No such route.")
DEFAULT_4XX = GatewayResponse("DEFAULT_4XX", "invalid_request")
DEFAULT_5XX = GatewayResponse("DEFAULT_5XX", "internal_error")
# Operator routes take IAM authorization (SigV4): a bad signature, or a principal IAM does not allow.
INVALID_SIGNATURE = GatewayResponse("INVALID_SIGNATURE", "unauthenticated", 403)
ACCESS_DENIED = GatewayResponse("ACCESS_DENIED", "forbidden", 403)
GATEWAY_RESPONSES = (
    UNKNOWN_ROUTE,
    INVALID_SIGNATURE,
    ACCESS_DENIED,
    GatewayResponse("THROTTLED", "rate_limited", 429),
    GatewayResponse("QUOTA_EXCEEDED", "rate_limited", 429),
    GatewayResponse("REQUEST_TOO_LARGE", "payload_too_large", 413),
    GatewayResponse("UNSUPPORTED_MEDIA_TYPE", "unsupported_media_type", 415),
    GatewayResponse("INTEGRATION_TIMEOUT", "timeout", 504),
    DEFAULT_4XX,
    DEFAULT_5XX,
)
HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}
