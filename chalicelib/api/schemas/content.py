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
