"""Request bodies of the rights and operator routes (DSR-4 … DSR-11, ACC-7, OPS-6)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from chalicelib.api.http import email_address
from chalicelib.api.schemas.common import Reply

EmailStr = email_address()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExportRequest(Strict):
    """An export takes no options: an empty object or no body."""


class Cancel(Strict):
    token: str = Field(min_length=10, max_length=200)


class EmailRequest(Strict):
    kind: Literal["access", "portability", "rectification", "erasure", "restriction", "objection"]
    email: EmailStr


class Verify(Strict):
    code: str = Field(pattern=r"^\d{6}$")


class SignedInRequest(Strict):
    kind: Literal["rectification", "objection", "restriction"]


class ConsentChange(Strict):
    # marketing, service_improvement, or a purpose a later policy version asks consent for (OPS-2)
    purpose: str = Field(pattern=r"^[a-z_]{1,40}$")
    granted: bool


VERSION_PATTERN = r"^[A-Za-z0-9._-]{1,40}$"


class NoticeAck(Strict):
    """OPS-2: acknowledging a notice; a version that adds consent purposes needs an answer for each."""

    decisions: dict[str, StrictBool] = Field(default_factory=dict, max_length=20)  # true or false, nothing else


class AnnounceVersion(Strict):
    """`POST /operator/policy-versions/{version}/announce` takes no options (an empty object or no body)."""


class AnnounceVersionAction(Strict):
    """`operator_announce_policy_version`'s event: the version to e-mail (default: the one in force)."""

    version: str | None = Field(default=None, pattern=VERSION_PATTERN)


class Processing(Strict):
    restricted: bool | None = None
    objections: list[Literal["generation", "service_improvement", "marketing"]] | None = None


class Contact(Strict):
    email: EmailStr | None = None
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)


class StatusChange(Strict):
    status: Literal["in_progress", "completed"]  # a refusal needs its reason: /refuse (DSR-11)


class Extension(Strict):
    """DSR-11, Art. 12(3): the new due date (at most two further months in all) and why."""

    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class Refusal(Strict):
    """DSR-11, Art. 12(4): why the request will not be acted on; the requester is told."""

    reason: str = Field(min_length=1, max_length=2000)


class MinorReport(Strict):
    note: str | None = Field(default=None, max_length=500)


# -- responses -------------------------------------------------------------------------------
class Progress(Reply):
    done: int
    total: int


class ExportView(Reply):
    id: str
    status: str
    progress: Progress
    created_at: str
    ready_at: str | None


class ExportDownload(Reply):
    """Answered with 302 to `url`: a fresh link that lasts `expires_in` seconds (DSR-1)."""

    url: str
    expires_in: int


class ErasureScheduled(Reply):
    status: str
    request_id: str
    erase_after: str


class ErasureCancelled(Reply):
    status: str


class RequestReceipt(Reply):
    request_id: str
    status: str


class RequestView(Reply):
    id: str
    kind: str
    status: str
    channel: str
    created_at: str
    due_at: str
    completed_at: str | None
    original_due_at: str | None = None  # DSR-11: the due date before an extension
    extension_reason: str | None = None
    refusal_reason: str | None = None


class Requests(Reply):
    requests: list[RequestView]


class ConsentEvent(Reply):
    purpose: str
    granted: bool
    policy_version: str
    at: str


class Consents(Reply):
    consents: dict[str, bool]
    history: list[ConsentEvent]


class ProcessingView(Reply):
    restricted: bool
    objections: list[str]


class ContactReceipt(Reply):
    pass


class OperatorRequests(Reply):
    requests: list[dict]


class AuditLog(Reply):
    actions: list[dict]


# Operator actions invoked as Lambda functions (api/operator_actions.py): the path ids come in the event.
_ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


class OperatorStatusChange(StatusChange):
    request_id: str = _ID


class OperatorExtension(Extension):
    request_id: str = _ID


class OperatorRefusal(Refusal):
    request_id: str = _ID


class OperatorMinorReport(MinorReport):
    user_id: str = _ID


class AuditMonth(Strict):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class Notice(Reply):
    version: str
    effective: str
    changes: list[str]
    decisions: list[str]  # consent purposes to answer with the acknowledgement
    policy_url: str


class Notices(Reply):
    notices: list[Notice]


class NoticeAcknowledged(Reply):
    version: str
    acknowledged: bool
    consents: dict[str, bool]


class AnnouncementView(Reply):
    version: str
    status: str
    started_at: str
    sent: int
