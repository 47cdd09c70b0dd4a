"""Request bodies of the incident routes and actions (OPS-5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")]
_ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenIncident(Strict):
    window_start: AwareDatetime
    window_end: AwareDatetime
    detected_at: AwareDatetime | None = None  # when the operator learned of it; now if not given
    categories: list[Name] = Field(min_length=1, max_length=20)  # the profile's category ids
    systems: list[Name] = Field(default_factory=list, max_length=20)  # tables, buckets, processors
    description: str = Field(min_length=1, max_length=2000)


class AuthorityNotified(Strict):
    reference: str = Field(min_length=1, max_length=200)  # the authority's case number or receipt


class NotifyUsers(Strict):
    consequences: str = Field(min_length=1, max_length=2000)
    measures: str = Field(min_length=1, max_length=2000)


class IncidentRef(Strict):
    incident_id: str = _ID


class OpenIncidentAction(OpenIncident):
    pass


class AuthorityNotifiedAction(AuthorityNotified):
    incident_id: str = _ID


class NotifyUsersAction(NotifyUsers):
    incident_id: str = _ID
