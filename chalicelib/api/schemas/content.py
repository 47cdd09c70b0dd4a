"""Request models of the upload, generation and share routes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.schemas.common import Reply
from chalicelib.domain import generations as g
from chalicelib.domain.shares import MAX_EXPIRY_HOURS
from chalicelib.profile.schema import JobKind


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: str


UploadId = Annotated[str, Field(min_length=1, max_length=64)]


class GenerationRequest(BaseModel):
    """One job of any kind; what each kind needs besides is checked by the domain (generations)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: JobKind = JobKind.TEXT_TO_IMAGE
    prompt: str = Field(default="", max_length=g.PROMPT_MAX)
    negative_prompt: str | None = Field(default=None, max_length=g.NEGATIVE_PROMPT_MAX)
    model: str = Field(default="", max_length=64)
    aspect_ratio: Literal[g.ASPECT_RATIOS] = "1:1"  # type: ignore[valid-type]
    style: Literal[g.STYLES] = "none"  # type: ignore[valid-type]
    safety_level: Literal[g.SAFETY_LEVELS] = "standard"  # type: ignore[valid-type]
    source_upload_id: UploadId | None = None
    input_upload_ids: list[UploadId] = Field(default_factory=list, max_length=120)
    character_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=64)
    scale: int | None = None
    fps: int | None = None

    def params(self) -> g.GenerationParams:
        values = self.model_dump()
        values["input_upload_ids"] = tuple(values["input_upload_ids"])
        return g.GenerationParams(**values)


class GenerationListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: JobKind | None = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_in_hours: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_HOURS)


# -- responses -------------------------------------------------------------------------------
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


class JobProgress(Reply):
    percent: int
    estimated: bool


class JobView(Reply):
    """A job of any kind; the image settings only for kinds that make an image from a prompt."""

    id: str
    kind: str
    status: str
    model: str
    cost: int
    created_at: str
    finished_at: str | None
    aspect_ratio: str | None = None
    style: str | None = None
    safety_level: str | None = None
    progress: JobProgress | None = None
    character_id: str | None = None
    gallery_id: str | None = None
    result_url: str | None = None
    result_url_expires_at: str | None = None


class Jobs(Reply):
    items: list[JobView]
    next_cursor: str | None


class CharacterView(Reply):
    id: str
    name: str
    provider: str
    created_at: str


class Characters(Reply):
    items: list[CharacterView]


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
