"""Request and response models of the legal hold routes and Lambda actions (DSR-12)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaceHold(Strict):
    """Who is held (the account's user id, as the other operator routes name a person), why, the
    case it serves, and when it is expected to end (the hold stays in force past `until` until an
    operator releases it)."""

    user: str = _ID
    reason: str = Field(min_length=1, max_length=2000)
    reference: str = Field(min_length=1, max_length=200)
    until: AwareDatetime | None = None


class ReleaseHold(Strict):
    """Optional: why the hold ends (the case closed, a court order); kept in the audit entry."""

    note: str | None = Field(default=None, max_length=2000)


class OperatorReleaseHold(ReleaseHold):
    hold_id: str = _ID


class HoldView(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    user_id: str | None  # None once the person was erased after the release (DSR-13)
    reason: str
    reference: str
    status: str  # held | released
    placed_by: str
    placed_at: str
    until: str | None
    review_due: bool  # `until` has passed and the hold is still in force
    released_by: str | None
    released_at: str | None


class Holds(BaseModel):
    holds: list[HoldView]
