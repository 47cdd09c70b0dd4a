"""Request bodies of the incident routes and actions (OPS-5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.api.schemas.common import Reply

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


# -- responses -------------------------------------------------------------------------------
class Window(Reply):
    start: str
    end: str


class IncidentView(Reply):
    """An entry of the breach register; `authority_notice_due_at` is the notice clock (OPS-5)."""

    id: str
    detected_at: str
    window: Window
    categories: list[str]
    systems: list[str]
    description: str
    opened_by: str
    authority_notice_due_at: str
    affected_people: int
    authority_notified_at: str | None
    authority_reference: str | None
    users_notified_at: str | None
    users_notified: int
    escalations: list[str]


class IncidentDetail(IncidentView):
    """With drafts of the notices to the authority (Art. 33(3)) and to the people (Art. 34)."""

    drafts: dict[str, str]


class BreachRegister(Reply):
    incidents: list[IncidentView]


class RecordQuery(BaseModel):
    """`format=html` answers the record as a page."""

    format: Literal["json", "html"] | None = None


class RecordOfProcessing(Reply):
    """The Art. 30 record generated from the active profile (OPS-8)."""

    controller: dict[str, Any]
    policy_version: str
    activities: list[dict[str, Any]]


class DriftDifference(Reply):
    resource: str
    setting: str
    expected: str
    deployed: str


class DriftReport(Reply):
    """Every difference between what the profile requires of the deployment and what is deployed (OPS-8)."""

    profile: str
    checked_at: str
    in_step: bool
    differences: list[DriftDifference]
