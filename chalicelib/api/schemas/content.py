"""Request models of the upload, generation and share routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain import generations as g
from chalicelib.domain.shares import MAX_EXPIRY_HOURS


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: str


class GenerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    prompt: str = Field(min_length=1, max_length=g.PROMPT_MAX)
    negative_prompt: str | None = Field(default=None, max_length=g.NEGATIVE_PROMPT_MAX)
    model: str = Field(min_length=1, max_length=64)
    aspect_ratio: Literal[g.ASPECT_RATIOS] = "1:1"  # type: ignore[valid-type]
    style: Literal[g.STYLES] = "none"  # type: ignore[valid-type]
    safety_level: Literal[g.SAFETY_LEVELS] = "standard"  # type: ignore[valid-type]
    source_upload_id: str | None = Field(default=None, min_length=1, max_length=64)

    def params(self) -> g.GenerationParams:
        return g.GenerationParams(**self.model_dump())


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_in_hours: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_HOURS)


# -- responses -------------------------------------------------------------------------------
class Reply(BaseModel):
    model_config = ConfigDict(extra="allow")


class UploadView(Reply):
    id: str
    status: str
    created_at: str
    retention: str
    expires_at: str | None


class PresignedPost(Reply):
    """A browser form POST straight to the content bucket: `fields` first, then the file."""

    url: str
    fields: dict[str, str]
    expires_in: int


class UploadStarted(UploadView):
    upload: PresignedPost
    max_bytes: int


class Uploads(Reply):
    items: list[UploadView]


class Deleted(Reply):
    deleted: str


class JobView(Reply):
    id: str
    status: str
    model: str
    aspect_ratio: str
    style: str
    safety_level: str
    cost: int
    created_at: str
    finished_at: str | None


class ImageView(Reply):
    id: str
    created_at: str
    model: str
    format: str
    width: int | None
    height: int | None
    url: str
    url_expires_in: int


class Gallery(Reply):
    items: list[ImageView]
    next_cursor: str | None


class ShareView(Reply):
    id: str
    image_id: str
    url: str
    created_at: str
    expires_at: str | None


class Shares(Reply):
    items: list[ShareView]


class ShareRevoked(Reply):
    revoked: str


class DeliveryReceipt(Reply):
    pass


class PageQuery(BaseModel):
    """`?limit=&cursor=` of a paged list."""

    limit: int | None = Field(default=None, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class ProviderDelivery(BaseModel):
    """A model provider's result callback, verified by its sender's signature scheme; its shape
    is the provider's own."""

    model_config = ConfigDict(extra="allow")
