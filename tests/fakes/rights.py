"""In-memory rights ports: the records of the rights work, what is stored about a person, the
workflows, and the small views of accounts, ledger, email and rate limits the rights domain uses."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import IO, Any

from chalicelib import clock
from chalicelib.domain.ports.rights import (
    Addressee,
    Announcement,
    CapturedIds,
    Consent,
    DeadlineReminder,
    ErasedSubject,
    ErasureReceipt,
    ErasureRun,
    ExportJob,
    MarketingContact,
    NoticeReceipt,
    OperatorAction,
    Page,
    PersonalItem,
    RecordKind,
    RequestEvent,
    RightsRequest,
    StoredObject,
    Subject,
    Tombstone,
    record_kind,
)
from chalicelib.domain.rights.context import RightsContext
from chalicelib.domain.rights.service import RightsService
from chalicelib.errors import Conflict
from chalicelib.profile.schema import Category, Profile
from tests.fakes.billing import FakePaymentProvider
from tests.fakes.content import FakeProvider

EXPORTS_PREFIX = "exports/"


class FakeRightsRecords:
    """Same semantics as store.rights.RightsStore: optimistic versions on requests, one tombstone per
    account hidden once it expires, a conditional delete of the tombstone, a run created once."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: clock.now())  # the clock as it reads then, as the store's
        self.requests: dict[str, RightsRequest] = {}
        self.request_events: dict[str, list[RequestEvent]] = {}
        self.reminder_items: dict[str, dict[int, DeadlineReminder]] = {}  # request -> percent -> timer
        self.actions: list[OperatorAction] = []
        self.consent_history: dict[str, list[Consent]] = {}
        self.marketing: dict[str, MarketingContact] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.tombstones: dict[str, Tombstone] = {}
        self.export_jobs: dict[str, ExportJob] = {}
        self.runs: dict[str, ErasureRun] = {}
        self.captures: dict[str, dict[int, CapturedIds]] = {}
        self.receipts: dict[str, ErasureReceipt] = {}
        self.erased: list[tuple[ErasedSubject, int]] = []

    # -- requests ledger
    def open_request(
        self, request: RightsRequest, *, reminders: Sequence[DeadlineReminder] | None = None
    ) -> RightsRequest:
        return self.put_request(request, reminders=reminders)

    def put_request(
        self, request: RightsRequest, *, reminders: Sequence[DeadlineReminder] | None = None
    ) -> RightsRequest:
        stored = self.requests.get(request.request_id)
        if (stored.version if stored else None) != request.version:
            raise Conflict("The request changed meanwhile; try again.")
        saved = replace(request, version=(request.version or 0) + 1)
        self.requests[request.request_id] = saved
        if reminders is not None:
            self.reminder_items[request.request_id] = {
                r.percent: r for r in reminders if r.request_id == request.request_id
            }
        return saved

    def reminders(self, request_id: str) -> list[DeadlineReminder]:
        now = self.now()
        items = self.reminder_items.get(request_id, {})
        return [items[p] for p in sorted(items) if items[p].at > now]

    def get_request(self, request_id: str) -> RightsRequest | None:
        return self.requests.get(request_id)

    def open_requests(self, limit: int = 100) -> list[RightsRequest]:
        owed = [r for r in self.requests.values() if r.status in ("open", "in_progress", "failed")]
        return sorted(owed, key=lambda r: r.due_at)[:limit]

    def user_requests(self, user_id: str) -> list[RightsRequest]:
        return [r for r in self.requests.values() if r.owner_id == user_id]

    def add_event(self, request_id: str, what: str, actor: str, at: datetime, owner_id: str | None) -> None:
        self.request_events.setdefault(request_id, []).append(RequestEvent(what=what, actor=actor, created_at=at))

    def events(self, request_id: str) -> list[RequestEvent]:
        return sorted(self.request_events.get(request_id, []), key=lambda e: e.created_at)

    # -- operators' audit log
    def audit(self, operator: str, action: str, at: datetime, target: str | None, details: Mapping[str, Any]) -> None:
        self.actions.append(OperatorAction(operator, action, target, dict(details), at))

    def audit_log(self, month: str) -> list[OperatorAction]:
        return sorted((a for a in self.actions if f"{a.created_at:%Y-%m}" == month), key=lambda a: a.created_at)

    # -- consent and marketing
    def add_consent(self, user_id: str, purpose: str, granted: bool, policy_version: str, at: datetime) -> None:
        self.consent_history.setdefault(user_id, []).append(Consent(purpose, granted, policy_version, at))

    def consents(self, user_id: str) -> list[Consent]:
        return list(self.consent_history.get(user_id, []))

    def put_marketing_contact(self, user_id: str, email: str, at: datetime) -> None:
        self.marketing[user_id] = MarketingContact(email=email, created_at=at)

    def marketing_contact(self, user_id: str) -> MarketingContact | None:
        return self.marketing.get(user_id)

    def delete_marketing_contact(self, user_id: str) -> None:
        self.marketing.pop(user_id, None)

    # -- contact messages
    def add_contact_message(
        self, message_id: str, *, email: str, subject: str, body: str, owner_id: str | None, at: datetime
    ) -> None:
        self.messages[message_id] = {"email": email, "subject": subject, "body": body, "owner_id": owner_id, "at": at}

    # -- tombstones
    def put_tombstone(self, tombstone: Tombstone) -> None:
        if self.get_tombstone(tombstone.user_id) is not None:
            raise Conflict("The account is already scheduled for erasure.")
        self.tombstones[tombstone.user_id] = tombstone

    def get_tombstone(self, user_id: str) -> Tombstone | None:
        tombstone = self.tombstones.get(user_id)
        return tombstone if tombstone is not None and tombstone.expires_at > self.now() else None

    def delete_tombstone(self, tombstone: Tombstone) -> bool:
        stored = self.tombstones.get(tombstone.user_id)
        if stored is None or stored.cancel_hash != tombstone.cancel_hash:
            return False
        del self.tombstones[tombstone.user_id]
        return True

    # -- exports
    def add_export(self, job: ExportJob) -> None:
        self.export_jobs[job.export_id] = job

    def get_export(self, user_id: str, export_id: str) -> ExportJob | None:
        job = self.export_jobs.get(export_id)
        return job if job is not None and job.user_id == user_id else None

    def find_export(self, export_id: str) -> ExportJob | None:
        return self.export_jobs.get(export_id)

    def exports(self, user_id: str) -> list[ExportJob]:
        return [job for job in self.export_jobs.values() if job.user_id == user_id]

    def update_export(self, user_id: str, export_id: str, **values: Any) -> None:
        if self.export_jobs[export_id].user_id != user_id:
            raise Conflict("not this person's export")
        self.export_jobs[export_id] = replace(self.export_jobs[export_id], **values)

    # -- erasure runs and receipts
    def create_run(self, run: ErasureRun) -> ErasureRun:
        return self.runs.setdefault(run.erasure_id, run)

    def get_run(self, erasure_id: str) -> ErasureRun | None:
        return self.runs.get(erasure_id)

    def update_run(self, erasure_id: str, **values: Any) -> None:
        self.runs[erasure_id] = replace(self.runs[erasure_id], **values)

    def keep_captured_page(self, erasure_id: str, page: int, captured: CapturedIds) -> None:
        self.captures.setdefault(erasure_id, {})[page] = captured

    def captured_page(self, erasure_id: str, page: int) -> CapturedIds | None:
        return self.captures.get(erasure_id, {}).get(page)

    def delete_run(self, erasure_id: str) -> None:
        self.runs.pop(erasure_id, None)
        self.captures.pop(erasure_id, None)

    def add_erased(self, erased: ErasedSubject, *, keep_days: int) -> None:
        self.erased.append((erased, keep_days))

    def erased_since(self, since: datetime) -> list[ErasedSubject]:
        return [erased for erased, _ in self.erased if erased.erased_at >= since]

    def put_receipt(self, receipt: ErasureReceipt) -> None:
        self.receipts[receipt.receipt_id] = receipt

    def get_receipt(self, receipt_id: str) -> ErasureReceipt | None:
        return self.receipts.get(receipt_id)


class _Stream:
    """The archive's multipart upload: bytes kept in the fake store per upload id. Resuming from a
    state drops what was written after it, as S3 overwrites a retried invocation's parts."""

    def __init__(self, store: FakePersonalData, key: str, state: Mapping[str, Any] | None) -> None:
        self.store, self.key = store, key
        if state is None:
            self.upload = f"upload-{len(store.uploads) + 1}"
            store.uploads[self.upload] = bytearray()
        else:
            self.upload = str(state["upload"])
            del store.uploads[self.upload][int(state["offset"]) :]
        self.data = store.uploads[self.upload]

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def tell(self) -> int:
        return len(self.data)

    def flush(self) -> None:
        return None

    def pause(self) -> dict[str, Any]:
        return {"upload": self.upload, "offset": len(self.data)}

    def complete(self) -> None:
        self.store.objects[("exports", self.key)] = bytes(self.store.uploads.pop(self.upload))

    def abort(self) -> None:
        self.store.uploads.pop(self.upload, None)

    def keep_piece(self, number: int, data: bytes) -> None:
        self.store.pieces[(self.key, number)] = data

    def piece(self, number: int) -> bytes:
        return self.store.pieces[(self.key, number)]

    def drop_piece(self, number: int) -> None:
        self.store.pieces.pop((self.key, number), None)


# The record classes the domain tests store, as the stores declare them (chalicelib/store/models):
# name -> (table, category, personal fields, pk prefix, sk prefix).
FAKE_KINDS = {
    "User": ("accounts", Category.ACCOUNT, ("email",), "USER#", "PROFILE"),
    "Consent": ("accounts", Category.ACCOUNT, (), "USER#", "CONSENT#"),
    "LoginCode": ("accounts", Category.ACCOUNT, (), "LOGINCODE#", "CODE"),
    "Generation": ("content", Category.PROMPTS, ("prompt",), "GEN#", "JOB"),
    "ShareLink": ("content", Category.GENERATED_IMAGES, (), "SHARE#", "LINK#"),
    "Character": ("content", Category.GENERATED_IMAGES, ("provider_request_id", "model_ref"), "USER#", "CHAR#"),
    "RateCounter": ("logs", Category.ABUSE_SIGNALS, (), "RATE#", "WINDOW#"),
    "LedgerEntry": ("ledger", Category.CREDIT_LEDGER, (), "ACCOUNT#", "ENTRY#"),
    "PaymentRecord": ("ledger", Category.PAYMENTS, ("customer_id",), "PAYMENT#", ""),
    "RightsRequest": ("requests", Category.RIGHTS_REQUESTS, ("contact_email",), "REQUEST#", "META"),
    "ExportRecord": ("requests", Category.EXPORTS, ("object_key",), "EXPORT#", "EXPORT"),
    "ContactMessage": ("requests", Category.CONTACT_MESSAGES, ("email", "body"), "CONTACT#", "MESSAGE"),
}


def fake_record_of(table: str, pk: str, sk: str) -> str | None:
    matches = [
        (len(p) + len(s), name)
        for name, (t, _, _, p, s) in FAKE_KINDS.items()
        if t == table and pk.startswith(p) and sk.startswith(s)
    ]
    return max(matches)[1] if matches else None


class FakePersonalData:
    """Items by (table, pk, sk) with their owner; objects by (bucket, key) under per-user prefixes.
    Items belong to the record classes of FAKE_KINDS by their key prefixes, as in the stores."""

    PREFIXES = {
        Category.UPLOADS: ("content", "uploads/"),
        Category.GENERATED_IMAGES: ("content", "generated/"),
        Category.EXPORTS: ("exports", EXPORTS_PREFIX),
    }

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], bytes] = {}
        self.uploads: dict[str, bytearray] = {}  # multipart uploads in progress
        self.pieces: dict[tuple[str, int], bytes] = {}  # kept beside an archive until written

    def add_item(self, table: str, fields: Mapping[str, Any]) -> None:
        self.items[(table, fields["pk"], fields["sk"])] = dict(fields)

    def record_kinds(self) -> list[RecordKind]:
        return [RecordKind(name, t, category, fields) for name, (t, category, fields, _, _) in FAKE_KINDS.items()]

    def _item(self, table: str, pk: str, sk: str, fields: Mapping[str, Any]) -> PersonalItem:
        return PersonalItem(table, record_kind(pk, sk), (pk, sk), dict(fields), fake_record_of(table, pk, sk))

    def owned_items(self, user_id: str) -> Iterator[PersonalItem]:
        for (table, pk, sk), fields in sorted(self.items.items()):
            if fields.get("owner_id") == user_id:
                yield self._item(table, pk, sk, fields)

    def scan_items(self, table: str) -> Iterator[PersonalItem]:
        for (t, pk, sk), fields in sorted(self.items.items()):
            if t == table:
                yield self._item(t, pk, sk, fields)

    def _derived(self, subject: Subject) -> set[str]:
        """Partitions keyed by values derived from the person: their ids, hashes and captured ids."""
        derived = {f"USER#{subject.user_id}", f"ACCOUNT#{subject.user_id}"}
        derived |= {f"LOGINCODE#{subject.email_hash}"} if subject.email_hash else set()
        hashes = (subject.email_hash, subject.user_hash)
        derived |= {f"RATE#{route}#{h}" for route in subject.rate_route_classes for h in hashes}
        derived |= {f"SHARE#{s.split('/')[0]}" for s in subject.captured.share_ids}
        derived |= {f"GEN#{g}" for g in subject.captured.gen_ids}
        return derived

    def subject_page(
        self, subject: Subject, cursor: str | None, limit: int, *, captured_only: bool = False
    ) -> Page[PersonalItem]:
        derived = self._derived(subject)
        if captured_only:
            derived -= self._derived(replace(subject, captured=CapturedIds()))
        found = ((table, pk, sk) for (table, pk, sk) in self.items if pk in derived)
        return self._page(found, cursor, limit, lambda key: self._item(*key, self.items[key]))

    def owned_page(self, user_id: str, cursor: str | None, limit: int) -> Page[PersonalItem]:
        found = (key for key, fields in self.items.items() if fields.get("owner_id") == user_id)
        return self._page(found, cursor, limit, lambda key: self._item(*key, self.items[key]))

    @staticmethod
    def _page(keys: Iterable[tuple[str, ...]], cursor: str | None, limit: int, make: Callable[[Any], Any]) -> Page:
        """The first `limit` keys after the cursor (the last key of the page before), in key order."""
        after = tuple(json.loads(cursor)) if cursor else ()
        ordered = sorted(key for key in keys if key > after)
        chosen = ordered[:limit]
        more = len(ordered) > limit
        return Page(tuple(make(key) for key in chosen), len(chosen), json.dumps(chosen[-1]) if more else None)

    def delete_items(self, table: str, keys: Iterable[tuple[str, str]]) -> int:
        keys = list(keys)
        for pk, sk in keys:
            self.items.pop((table, pk, sk), None)
        return len(keys)

    def put_items(self, table: str, items: Iterable[Mapping[str, Any]]) -> int:
        items = list(items)
        for item in items:
            self.add_item(table, item)
        return len(items)

    def owned_objects(self, user_id: str, *, skip: Iterable[Category] = ()) -> Iterator[StoredObject]:
        skipped = set(skip)
        places = [place for category, place in self.PREFIXES.items() if category not in skipped]
        for bucket, key in sorted(self.objects):
            if any(bucket == b and key.startswith(f"{prefix}{user_id}/") for b, prefix in places):
                yield StoredObject(bucket, key, len(self.objects[(bucket, key)]))

    def objects_page(
        self, user_id: str, cursor: str | None, limit: int, *, skip: Iterable[Category] = ()
    ) -> Page[StoredObject]:
        by_key = {(o.bucket, o.key): o for o in self.owned_objects(user_id, skip=skip)}
        return self._page(by_key, cursor, limit, by_key.__getitem__)

    def delete_objects(self, objects: Iterable[StoredObject]) -> int:
        objects = list(objects)
        for obj in objects:
            self.objects.pop((obj.bucket, obj.key), None)
        return len(objects)

    def open_object(self, obj: StoredObject) -> IO[bytes]:
        return io.BytesIO(self.objects[(obj.bucket, obj.key)])

    def archive_key(self, user_id: str, export_id: str) -> str:
        return f"{EXPORTS_PREFIX}{user_id}/{export_id}.zip"

    def archive_stream(self, key: str, state: Mapping[str, Any] | None) -> _Stream:
        return _Stream(self, key, state)

    def download_url(self, key: str, expires_seconds: int) -> str:
        return f"https://exports.invalid/{key}?expires={expires_seconds}"


class CapturingWorkflow:
    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []

    def start(self, name: str, payload: dict[str, Any]) -> str:
        self.started.append((name, payload))
        return f"execution:{name}"


@dataclass
class FakePerson:
    email: str
    status: str = "active"
    created_at: datetime = field(default_factory=lambda: clock.now())
    username: str | None = None
    telegram_id: str | None = None
    processing_restricted: bool | None = None
    objections: set[str] = field(default_factory=set)


class FakeUsers:
    """Accounts whose profile lives as an item in `personal` (accounts table, USER#<id>/PROFILE), as in
    DynamoDB: erasing the person's items erases the account."""

    def __init__(self, personal: FakePersonalData) -> None:
        self.personal = personal
        self.users: dict[str, FakePerson] = {}
        self.sessions: dict[str, str] = {}  # token hash -> user id

    def add(self, user_id: str, email: str, *, created_at: datetime | None = None) -> None:
        self.users[user_id] = FakePerson(email, created_at=created_at or clock.now())
        self.personal.add_item(
            "accounts", {"pk": f"USER#{user_id}", "sk": "PROFILE", "owner_id": user_id, "email": email}
        )

    def get_user(self, user_id: str, *, consistent: bool = False) -> FakePerson | None:
        if ("accounts", f"USER#{user_id}", "PROFILE") not in self.personal.items:
            return None
        return self.users.get(user_id)

    def find_user_id_by_email(self, email: str) -> str | None:
        return next((uid for uid, u in self.users.items() if u.email == email), None)

    def set_status(self, user_id: str, status: str) -> None:
        self.users[user_id].status = status

    def delete_sessions_of(self, user_id: str) -> int:
        closed = [token for token, owner in self.sessions.items() if owner == user_id]
        for token in closed:
            del self.sessions[token]
        return len(closed)

    def set_processing_flags(self, user_id: str, *, restricted: bool | None, objections: set[str] | None) -> None:
        user = self.users[user_id]
        if restricted is not None:
            user.processing_restricted = restricted
        if objections is not None:
            user.objections = set(objections)


class FakeNoticeRecords:
    """Same semantics as store.notices.NoticeStore: a receipt's marks are set once; the accounts are
    read in pages of at most `limit`; an announcement starts again only after it failed."""

    def __init__(self, users: FakeUsers) -> None:
        self.users = users
        self.marks: dict[tuple[str, str], dict[str, datetime]] = {}  # (user, version) -> mark -> when
        self.announcements: dict[str, Announcement] = {}

    def receipts(self, user_id: str) -> list[NoticeReceipt]:
        return [
            NoticeReceipt(version, marks.get("emailed_at"), marks.get("acknowledged_at"))
            for (owner, version), marks in sorted(self.marks.items())
            if owner == user_id and self.users.get_user(user_id) is not None
        ]

    def _mark(self, user_id: str, version: str, name: str, at: datetime) -> bool:
        marks = self.marks.setdefault((user_id, version), {})
        if name in marks:
            return False
        marks[name] = at
        return True

    def acknowledge(self, user_id: str, version: str, at: datetime) -> bool:
        return self._mark(user_id, version, "acknowledged_at", at)

    def claim_email(self, user_id: str, version: str, at: datetime) -> bool:
        return self._mark(user_id, version, "emailed_at", at)

    def release_email(self, user_id: str, version: str) -> None:
        self.marks.get((user_id, version), {}).pop("emailed_at", None)

    def addressee(self, user_id: str) -> Addressee | None:
        person = self.users.get_user(user_id)
        if person is None:
            return None
        return Addressee(user_id, person.email, person.created_at, person.status == "active")

    def addressees_page(self, cursor: str | None, limit: int) -> Page[Addressee]:
        ids = sorted(uid for uid in self.users.users if cursor is None or uid > cursor)
        chunk = ids[:limit]
        found = tuple(a for a in (self.addressee(uid) for uid in chunk) if a is not None)
        return Page(found, len(chunk), chunk[-1] if len(ids) > limit else None)

    def start_announcement(self, announcement: Announcement) -> bool:
        existing = self.announcements.get(announcement.version)
        if existing is not None and existing.status != "failed":
            return False
        self.announcements[announcement.version] = announcement
        return True

    def get_announcement(self, version: str) -> Announcement | None:
        return self.announcements.get(version)

    def update_announcement(self, version: str, **values: Any) -> None:
        self.announcements[version] = replace(self.announcements[version], **values)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, text: str) -> str:
        self.sent.append((to, subject, text))
        return f"message-{len(self.sent)}"


class FakeIdempotency:
    """One result per key (a JMESPath over the attempt); the same key with another payload is a Conflict."""

    def __init__(self) -> None:
        self.results: dict[str, tuple[str, Any]] = {}

    def run_once(
        self, function: Callable[..., Any], *args: Any, attempt: dict[str, Any], key: str, payload: str
    ) -> Any:
        import jmespath

        seen_key, seen_payload = repr(jmespath.search(key, attempt)), repr(jmespath.search(payload, attempt))
        if seen_key in self.results:
            first_payload, result = self.results[seen_key]
            if first_payload != seen_payload:
                raise Conflict("This idempotency key was already used for a different request.")
            return result
        result = function(*args, attempt=attempt)
        self.results[seen_key] = (seen_payload, result)
        return result


class FakeLimiter:
    def __init__(self) -> None:
        self.checked: list[tuple[str, str]] = []

    def check_address(self, route_class: str, email: str) -> None:
        self.checked.append((route_class, email))

    def check_person(self, route_class: str, user_id: str) -> None:
        self.checked.append((route_class, user_id))


@dataclass
class RightsWorld:
    """A rights service over fakes, and the fakes themselves for the test to look into."""

    service: RightsService
    records: FakeRightsRecords
    personal: FakePersonalData
    users: FakeUsers
    outbox: Outbox
    exports: CapturingWorkflow
    erasures: CapturingWorkflow
    notices: FakeNoticeRecords
    announcements: CapturingWorkflow
    limiter: FakeLimiter
    payments: FakePaymentProvider
    provider: FakeProvider

    @property
    def context(self) -> RightsContext:
        return self.service.context


def rights_world(profile: Profile, *, now: Callable[[], datetime] | None = None) -> RightsWorld:
    personal = FakePersonalData()
    records, users, outbox = FakeRightsRecords(now), FakeUsers(personal), Outbox()
    exports, erasures, limiter = CapturingWorkflow(), CapturingWorkflow(), FakeLimiter()
    payments, provider = FakePaymentProvider(), FakeProvider()
    notices, announcements = FakeNoticeRecords(users), CapturingWorkflow()
    context = RightsContext(
        profile=profile,
        rights=records,
        personal=personal,
        accounts=users,
        email=outbox,
        export_workflow=exports,
        erasure_workflow=erasures,
        notices=notices,
        notices_workflow=announcements,
        idempotency=FakeIdempotency(),
        limiter=limiter,
        code_key=lambda: "code-key-for-tests",
        subject_key=lambda: "subject-key-for-tests",
        payment_processor=lambda rail: payments,
        model_provider={provider.name: provider}.__getitem__,
        public_base_url="https://api.invalid",
    )
    service = RightsService(context)
    workflows = (exports, erasures, notices, announcements)
    return RightsWorld(service, records, personal, users, outbox, *workflows, limiter, payments, provider)
