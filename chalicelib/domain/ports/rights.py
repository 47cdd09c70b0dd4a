"""What the rights domain (export, erasure, requests, consent, contact, operators, minors) needs from
the world: plain records of the rights work, everything stored about one person, the workflows, and
small views of what other areas own (accounts, the credit ledger, email, rate limits)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Generic, Protocol, TypeVar

from chalicelib.profile.schema import Category

OPEN_STATUSES = frozenset({"open", "in_progress", "failed"})  # still owed an answer (DSR-8)


# -- the records of the rights work -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RightsRequest:
    """A data-subject request and its deadline (DSR-7, DSR-8); `version` guards concurrent writes."""

    request_id: str
    kind: str  # access | portability | erasure | restriction | objection | rectification | withdraw_consent
    status: str  # unverified | open | in_progress | failed | completed | rejected | cancelled
    channel: str  # signed_in | email
    policy_version: str
    created_at: datetime
    due_at: datetime
    contact_email: str | None = None
    verification_hash: str | None = None
    verification_attempts: int = 0
    owner_id: str | None = None
    completed_at: datetime | None = None
    reference: str | None = None  # the export or erasure id the request led to
    version: int | None = None
    # DSR-11: the deadline before any extension, the operator's reasons, the reminders already raised
    original_due_at: datetime | None = None
    extension_reason: str | None = None
    refusal_reason: str | None = None
    reminders_passed: tuple[int, ...] = ()


REMINDER_PERCENTS = (50, 90, 100)  # of a request's time to answer (DSR-11)


@dataclass(frozen=True, slots=True)
class DeadlineReminder:
    """A timer item: when its TTL (`at`) passes, `percent` of the time to answer `due_at` has gone.
    A reminder armed for another due date than the request's (before an extension) is stale."""

    request_id: str
    percent: int  # one of REMINDER_PERCENTS
    at: datetime
    due_at: datetime


@dataclass(frozen=True, slots=True)
class RequestEvent:
    what: str
    actor: str  # "user" | "system" | "requester" | "operator:<name>"
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OperatorAction:
    operator: str
    action: str
    target: str | None
    details: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Consent:
    purpose: str
    granted: bool
    policy_version: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MarketingContact:
    email: str
    created_at: datetime
    expires_at: datetime | None = None  # none while the profile keeps it until consent is withdrawn


@dataclass(frozen=True, slots=True)
class Tombstone:
    """The grace period (DSR-9): its expiry is the end of the grace, and its TTL delete starts erasure."""

    user_id: str
    erasure_id: str
    request_id: str | None
    cancel_hash: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ExportJob:
    user_id: str
    export_id: str
    status: str  # queued | collecting | archiving | ready | failed
    created_at: datetime
    items_total: int = 0
    items_done: int = 0
    object_key: str | None = None
    request_id: str | None = None
    ready_at: datetime | None = None
    cursors: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)  # as ErasureRun's (P3)


@dataclass(frozen=True, slots=True)
class ErasureRun:
    """Working state of one erasure, written before its workflow starts: the workflow carries only
    `erasure_id` (an opaque run id, DSR-13) and every task reads the subject from here. Holds the
    person's identifiers (for the residual scan) and address (for the final email) until it ends."""

    erasure_id: str
    user_id: str
    email: str | None
    pseudonym: str
    request_id: str | None
    reason: str  # user | minor
    created_at: datetime
    receipt_id: str  # the receipt's own id: neither the receipt nor the final email names the run
    status: str = "running"  # running | failed
    failure: str | None = None
    passes: int = 0
    captured: bool = False  # the plan has recorded the identifiers below
    username: str | None = None
    telegram_id: str | None = None
    # Where each paged step's next page starts (P3): {step: {page number: cursor}}. The cursors are
    # store keys (they hold the user id), so they live here and the workflow carries page numbers.
    cursors: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CapturedIds:
    """Identifiers found while planning that no key derives from the user id: the scan looks them up
    by their own keys after the delete (DSR-13). Stored in pages beside the run."""

    share_ids: tuple[str, ...] = ()  # "<share id>/<gen id>": a share link's whole key
    gen_ids: tuple[str, ...] = ()
    provider_request_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Subject:
    """Everything an erased person can be found by (DSR-13): raw ids, their keyed hashes, and the ids
    of things they made. `rate_route_classes` are the rate-limit classes counted per person."""

    user_id: str
    email: str | None
    email_hash: str | None
    user_hash: str
    username: str | None = None
    telegram_id: str | None = None
    telegram_hash: str | None = None  # the Telegram claim's key (DSR-13)
    captured: CapturedIds = CapturedIds()
    rate_route_classes: tuple[str, ...] = ()

    @property
    def needles(self) -> tuple[str, ...]:
        """Strings that, found in an item, tie it to the person."""
        return tuple(v for v in (self.user_id, self.email, self.email_hash, self.user_hash) if v)


@dataclass(frozen=True, slots=True)
class ErasedSubject:
    """What outlives an erasure for the backup window (DSR-13): a keyed hash of the id and the time,
    so a restored backup can be erased again; nothing else about the person."""

    subject_hash: str
    erased_at: datetime


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    receipt_id: str
    reason: str
    profile: str
    policy_version: str
    counts: Mapping[str, int]
    started_at: datetime
    completed_at: datetime
    # GEN-5, PAY-6: each processor's acknowledgement: processor, action, count, ok (no references)
    processors: tuple[Mapping[str, Any], ...] = ()


# -- what is stored about one person --------------------------------------------------------------
def record_kind(pk: str, sk: str) -> str:
    """A record's kind: its sort key's first part ("CONSENT#..." -> "consent", "PROFILE" ->
    "profile"), or its partition key's where the sort key starts with a time ("SIGNAL#..." ->
    "signal"), so the export groups records by kind under names every file system accepts (DSR-2)."""
    head = sk.split("#", 1)[0]
    if not re.fullmatch(r"[A-Za-z_]+", head):
        head = pk.split("#", 1)[0]
    return re.sub(r"[^a-z0-9_-]", "_", head.lower()) or "record"


@dataclass(frozen=True, slots=True)
class PersonalItem:
    """One stored record owned by a person: its table, its kind ("consent", "profile", "message", …),
    its key, every attribute as plain values (str, Decimal, bool, list, dict, set, bytes) and the
    record class it belongs to (None when no class claims it)."""

    table: str  # logical table name
    kind: str
    key: tuple[str, str]  # (pk, sk)
    fields: Mapping[str, Any]
    record: str | None = None


@dataclass(frozen=True, slots=True)
class RecordKind:
    """A record class as the erasure plan sees it: its table, its data category and the attributes
    that hold personal values (DSR-4)."""

    name: str
    table: str
    category: Category | None
    personal_fields: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class StoredObject:
    bucket: str  # logical bucket name
    key: str
    size: int


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One bounded slice of a walk over a person's data (P3): the items, how many items or keys were
    read to find them (`read`, what a task invocation is bounded by), and where the next slice
    starts (None: the walk is over). The cursor is the store's own and may hold personal keys."""

    items: tuple[T, ...]
    read: int
    cursor: str | None


# -- policy change notices (OPS-2) -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NoticeReceipt:
    """What one person did with one policy version's notice: mailed once, acknowledged once."""

    version: str
    emailed_at: datetime | None = None
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Addressee:
    """An account as the change notices see it: who to write to, and since when they know the policy."""

    user_id: str
    email: str
    signed_up_at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class Announcement:
    """One e-mail fan-out of a policy version, written before its workflow starts. The workflow carries
    the version and page numbers; each page's store cursor (it holds a user id) is kept here (DSR-13)."""

    version: str
    run_id: str
    started_by: str
    started_at: datetime
    status: str = "running"  # running | sent | failed
    sent: int = 0
    cursors: Mapping[str, str | None] = field(default_factory=dict)  # page number -> where it starts
    finished_at: datetime | None = None


class NoticeRecords(Protocol):
    """Per person: which notices were mailed and acknowledged. Per version: its announcement."""

    def receipts(self, user_id: str) -> list[NoticeReceipt]: ...
    def acknowledge(self, user_id: str, version: str, at: datetime) -> bool:
        """Records the acknowledgement; False if it was already recorded."""
        ...

    def claim_email(self, user_id: str, version: str, at: datetime) -> bool:
        """True once per person and version: whoever gets True sends the e-mail (retries never mail twice)."""
        ...

    def release_email(self, user_id: str, version: str) -> None:
        """The send failed after the claim: the next attempt may send."""
        ...

    def addressee(self, user_id: str) -> Addressee | None: ...
    def addressees_page(self, cursor: str | None, limit: int) -> Page[Addressee]:
        """Every account, a bounded page at a time (P3): `read` items at most `limit`."""
        ...

    def start_announcement(self, announcement: Announcement) -> bool:
        """Writes it unless one for that version is running or sent; False then."""
        ...

    def get_announcement(self, version: str) -> Announcement | None: ...
    def update_announcement(self, version: str, **values: Any) -> None: ...


# -- ports -----------------------------------------------------------------------------------------
class RightsRecords(Protocol):
    """The requests ledger, consents, contact messages, tombstones, exports, erasure runs and
    receipts, and the operators' audit log."""

    def open_request(
        self, request: RightsRequest, *, reminders: Sequence[DeadlineReminder] | None = None
    ) -> RightsRequest: ...
    def put_request(
        self, request: RightsRequest, *, reminders: Sequence[DeadlineReminder] | None = None
    ) -> RightsRequest:
        """Saves the request if it is the stored version (else Conflict). `reminders`, when given,
        replace the request's reminder items in the same transaction ([] removes them all)."""
        ...

    def reminders(self, request_id: str) -> list[DeadlineReminder]: ...
    def get_request(self, request_id: str) -> RightsRequest | None: ...
    def open_requests(self, limit: int = 100) -> list[RightsRequest]: ...
    def user_requests(self, user_id: str) -> list[RightsRequest]: ...
    def add_event(self, request_id: str, what: str, actor: str, at: datetime, owner_id: str | None) -> None: ...
    def events(self, request_id: str) -> list[RequestEvent]: ...
    def audit(
        self, operator: str, action: str, at: datetime, target: str | None, details: Mapping[str, Any]
    ) -> None: ...
    def audit_log(self, month: str) -> list[OperatorAction]: ...
    def add_consent(self, user_id: str, purpose: str, granted: bool, policy_version: str, at: datetime) -> None: ...
    def consents(self, user_id: str) -> list[Consent]: ...
    def put_marketing_contact(self, user_id: str, email: str, at: datetime) -> None: ...
    def marketing_contact(self, user_id: str) -> MarketingContact | None: ...
    def delete_marketing_contact(self, user_id: str) -> None: ...
    def add_contact_message(
        self, message_id: str, *, email: str, subject: str, body: str, owner_id: str | None, at: datetime
    ) -> None: ...
    def put_tombstone(self, tombstone: Tombstone) -> None: ...
    def get_tombstone(self, user_id: str) -> Tombstone | None: ...
    def delete_tombstone(self, tombstone: Tombstone) -> bool: ...
    def add_export(self, job: ExportJob) -> None: ...
    def get_export(self, user_id: str, export_id: str) -> ExportJob | None: ...
    def find_export(self, export_id: str) -> ExportJob | None: ...
    def exports(self, user_id: str) -> list[ExportJob]: ...
    def update_export(self, user_id: str, export_id: str, **values: Any) -> None: ...
    def create_run(self, run: ErasureRun) -> ErasureRun: ...
    def get_run(self, erasure_id: str) -> ErasureRun | None: ...
    def update_run(self, erasure_id: str, **values: Any) -> None: ...
    def keep_captured_page(self, erasure_id: str, page: int, captured: CapturedIds) -> None: ...
    def captured_page(self, erasure_id: str, page: int) -> CapturedIds | None: ...
    def delete_run(self, erasure_id: str) -> None: ...
    def put_receipt(self, receipt: ErasureReceipt) -> None: ...
    def get_receipt(self, receipt_id: str) -> ErasureReceipt | None: ...
    def add_erased(self, erased: ErasedSubject, *, keep_days: int) -> None: ...
    def erased_since(self, since: datetime) -> list[ErasedSubject]: ...


class ArchiveStream(Protocol):
    """One archive written across task invocations (P3): a multipart upload resumed from the state
    `pause` returned (upload id, parts, bytes so far: nothing personal), plus numbered pieces kept
    beside it until they are written (the central directory, page by page)."""

    def write(self, data: bytes) -> int: ...
    def tell(self) -> int: ...
    def flush(self) -> None: ...
    def pause(self) -> dict[str, Any]: ...
    def complete(self) -> None: ...
    def abort(self) -> None: ...
    def keep_piece(self, number: int, data: bytes) -> None: ...
    def piece(self, number: int) -> bytes: ...
    def drop_piece(self, number: int) -> None: ...


class PersonalData(Protocol):
    """Everything stored about one person across every table and bucket, found and removed in bulk."""

    def record_kinds(self) -> list[RecordKind]: ...
    def owned_page(self, user_id: str, cursor: str | None, limit: int) -> Page[PersonalItem]: ...
    def subject_page(
        self, subject: Subject, cursor: str | None, limit: int, *, captured_only: bool = False
    ) -> Page[PersonalItem]: ...
    def scan_items(self, table: str) -> Iterator[PersonalItem]: ...
    def delete_items(self, table: str, keys: Iterable[tuple[str, str]]) -> int: ...
    def put_items(self, table: str, items: Iterable[Mapping[str, Any]]) -> int: ...
    def objects_page(
        self, user_id: str, cursor: str | None, limit: int, *, skip: Iterable[Category] = ()
    ) -> Page[StoredObject]: ...
    def delete_objects(self, objects: Iterable[StoredObject]) -> int: ...
    def open_object(self, obj: StoredObject) -> IO[bytes]: ...
    def archive_key(self, user_id: str, export_id: str) -> str: ...
    def archive_stream(self, key: str, state: Mapping[str, Any] | None) -> ArchiveStream: ...
    def download_url(self, key: str, expires_seconds: int) -> str: ...


class WorkflowStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str: ...


# -- what other areas own, as far as rights needs it -----------------------------------------------
class Person(Protocol):
    @property
    def email(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def telegram_id(self) -> str | None: ...
    @property
    def processing_restricted(self) -> bool | None: ...
    @property
    def objections(self) -> Iterable[str] | None: ...


class Users(Protocol):
    def get_user(self, user_id: str, *, consistent: bool = False) -> Person | None: ...
    def find_user_id_by_email(self, email: str) -> str | None: ...
    def set_status(self, user_id: str, status: str) -> None: ...
    def delete_sessions_of(self, user_id: str) -> int: ...
    def set_processing_flags(self, user_id: str, *, restricted: bool | None, objections: set[str] | None) -> None: ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str) -> Any: ...


class Idempotency(Protocol):
    def run_once(
        self, function: Callable[..., Any], *args: Any, attempt: dict[str, Any], key: str, payload: str
    ) -> Any: ...


class AddressLimiter(Protocol):
    def check_address(self, route_class: str, email: str) -> None: ...
    def check_person(self, route_class: str, user_id: str) -> None: ...
