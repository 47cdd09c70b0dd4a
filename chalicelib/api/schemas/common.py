"""Response models every area shares: the one error shape, plain statuses, health, the policy."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Reply(BaseModel):
    """A response body: the fields named are always there; a newer server may add more.

    Replies describe the OpenAPI document and are checked by tests; no route validates its own
    answer through them, so their schemas are built when first used, not on every cold start."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx, the gateway's own included (api/http.py, infra/gateway_responses.py)."""

    error: ErrorDetail


class StatusReply(Reply):
    status: str


class Health(Reply):
    status: str
    profile: str
    policy_version: str


class PolicyDocument(Reply):
    """`GET /policy.json`: the page's data, rendered from the active profile (OPS-1)."""

    profile: str
    policy: dict[str, Any]
    service: dict[str, Any]
    sign_in: list[str]
    categories: list[dict[str, Any]]
    processors: list[dict[str, Any]]
    rights: dict[str, Any]
    cookies: list[dict[str, Any]]
    minimum_age: int


class OpenApiDocument(Reply):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
