"""Records of the rights work: requests and their audit trail, consents, contact messages, the
grace-period tombstone, exports, erasure runs and receipts, and the operators' audit log (the legal
holds are in `holds`)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.profile.schema import Category
from chalicelib.store.base import Record

OPEN_QUEUE = "OPEN"


class OpenRequestsIndex(GlobalSecondaryIndex):
    """Sparse: only requests still owed an answer carry `queue`; the operator view reads them by due date."""

    class Meta:
        index_name = "open_requests_by_due"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)


class RightsRequest(Record):
    """pk = REQUEST#<id>, sk = META. A data-subject request and its deadline (DSR-7, DSR-8)."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS

    personal_fields = ("contact_email", "verification_hash")
    pk_prefix = "REQUEST#"
    sk_prefix = "META"

    class Meta:
        table_name = "requests"

    request_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # access | erasure | restriction | objection | rectification | withdraw_consent
    status = UnicodeAttribute()  # unverified | open | in_progress | failed | completed | rejected | cancelled
    channel = UnicodeAttribute()  # signed_in | email
    contact_email = UnicodeAttribute(null=True)  # only for requests made without signing in
    verification_hash = UnicodeAttribute(null=True)
    verification_attempts = NumberAttribute(default=0)
    policy_version = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    due_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    reference = UnicodeAttribute(null=True)  # export id / erasure id the request led to
    queue = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)
    open_requests = OpenRequestsIndex()
    version = VersionAttribute()
    # DSR-11: the deadline before any extension, the operator's reasons, the reminders raised so far
    original_due_at = UTCDateTimeAttribute(null=True)
    extension_reason = UnicodeAttribute(null=True)
    refusal_reason = UnicodeAttribute(null=True)
    reminders_passed = ListAttribute(of=NumberAttribute, default=list)

    @staticmethod
    def key(request_id: str) -> tuple[str, str]:
        return f"REQUEST#{request_id}", "META"


class RequestReminder(Record):
    """pk = REQUEST#<id>, sk = REMINDER#<percent>: a timer (DSR-11). Its TTL delete means `percent` of
    the time to answer the request has passed; `armed_for` (epoch seconds) is the due date it was
    set for. It names no person and has no owner: the request it points to does."""

    logical_table = "requests"
    about_no_one = True
    personal_fields = ()
    pk_prefix = "REQUEST#"
    sk_prefix = "REMINDER#"

    class Meta:
        table_name = "requests"

    SK_PREFIX = "REMINDER#"

    request_id = UnicodeAttribute()
    percent = NumberAttribute()
    armed_for = NumberAttribute()

    @staticmethod
    def key(request_id: str, percent: int) -> tuple[str, str]:
        return f"REQUEST#{request_id}", f"{RequestReminder.SK_PREFIX}{percent:03d}"


class RequestEvent(Record):
    """pk = REQUEST#<id>, sk = EVENT#<time>#<n>: the request's audit trail."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS

    personal_fields = ()
    pk_prefix = "REQUEST#"
    sk_prefix = "EVENT#"

    class Meta:
        table_name = "requests"

    what = UnicodeAttribute()
    actor = UnicodeAttribute()  # "user" | "system" | "operator:<name>"
    created_at = UTCDateTimeAttribute()


class OperatorAction(Record):
    """pk = OPERATOR_AUDIT#<yyyy-mm>, sk = <time>#<id>: every operator action (OPS-6)."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS

    personal_fields = ()
    pk_prefix = "OPERATOR_AUDIT#"

    class Meta:
        table_name = "requests"

    operator = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute(null=True)
    details = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class Consent(Record):
    """pk = USER#<id>, sk = CONSENT#<purpose>#<time>: one grant or withdrawal (DSR-6)."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    personal_fields = ()
    pk_prefix = "USER#"
    sk_prefix = "CONSENT#"

    class Meta:
        table_name = "accounts"

    purpose = UnicodeAttribute()
    granted = BooleanAttribute()
    policy_version = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class MarketingContact(Record):
    """pk = USER#<id>, sk = MARKETING: what marketing uses, kept only while consent stands."""

    logical_table = "accounts"
    category = Category.MARKETING

    personal_fields = ("email",)
    pk_prefix = "USER#"
    sk_prefix = "MARKETING"

    class Meta:
        table_name = "accounts"

    email = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ContactMessage(Record):
    """pk = CONTACT#<id>, sk = MESSAGE (DSR-10)."""

    logical_table = "requests"
    category = Category.CONTACT_MESSAGES

    personal_fields = ("email", "subject", "body")
    pk_prefix = "CONTACT#"
    sk_prefix = "MESSAGE"

    class Meta:
        table_name = "requests"

    message_id = UnicodeAttribute()
    email = UnicodeAttribute()
    subject = UnicodeAttribute()
    body = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class Tombstone(Record):
    """pk = USER#<id>, sk = TOMBSTONE. Its TTL is the grace period; its TTL delete starts erasure (DSR-9)."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    personal_fields = ("user_id", "cancel_hash")
    pk_prefix = "USER#"
    sk_prefix = "TOMBSTONE"

    class Meta:
        table_name = "accounts"

    SK_PREFIX = "TOMBSTONE"

    user_id = UnicodeAttribute()
    erasure_id = UnicodeAttribute()
    request_id = UnicodeAttribute(null=True)
    cancel_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", Tombstone.SK_PREFIX


class ExportRecord(Record):
    """pk = EXPORT#<id>, sk = EXPORT: status and progress of one export; `owner_id` is its person.
    Keyed by the export id alone, so the workflow carries that opaque id and nothing else (DSR-13)."""

    logical_table = "requests"
    category = Category.EXPORTS

    personal_fields = ("object_key", "cursors")
    pk_prefix = "EXPORT#"
    sk_prefix = "EXPORT"

    class Meta:
        table_name = "requests"

    export_id = UnicodeAttribute()
    status = UnicodeAttribute()  # queued | collecting | archiving | ready | failed
    items_total = NumberAttribute(default=0)
    items_done = NumberAttribute(default=0)
    object_key = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    ready_at = UTCDateTimeAttribute(null=True)
    cursors = JSONAttribute(default=dict)  # where each paged step's next page starts (P3): store keys

    @staticmethod
    def key(export_id: str) -> tuple[str, str]:
        return f"EXPORT#{export_id}", "EXPORT"


class ErasureRun(Record):
    """pk = ERASURE#<id>, sk = RUN: working state while an erasure runs; deleted when it ends.

    Written before the workflow starts, which then carries only the erasure id (DSR-13). Holds the
    person's identifiers and address (captured by the plan, forgotten after the final email). It has
    no `owner_id` on purpose: it is the erasure's own bookkeeping, not data about the person.
    """

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS

    personal_fields = ("user_id", "email", "username", "telegram_id", "cursors")
    pk_prefix = "ERASURE#"
    sk_prefix = "RUN"

    class Meta:
        table_name = "requests"

    erasure_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    pseudonym = UnicodeAttribute()
    request_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute()  # user | minor | grace_zero
    status = UnicodeAttribute(default="running")  # running | failed (a rerun sets it running again)
    failure = UnicodeAttribute(null=True)  # "<state>:<error type>" of the last failure
    passes = NumberAttribute(default=0)
    counts = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    receipt_id = UnicodeAttribute()
    captured = BooleanAttribute(default=False)
    username = UnicodeAttribute(null=True)
    telegram_id = UnicodeAttribute(null=True)
    cursors = JSONAttribute(default=dict)  # where each paged step's next page starts (P3): store keys

    @staticmethod
    def key(erasure_id: str) -> tuple[str, str]:
        return f"ERASURE#{erasure_id}", "RUN"


class ErasureCapture(Record):
    """pk = ERASURE#<id>, sk = CAPTURED#<page>: ids the plan found (share, generation, provider
    request ids) for the residual scan to read by their own keys (DSR-13); deleted with the run."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS
    personal_fields = ("share_ids", "gen_ids", "provider_request_ids")
    pk_prefix = "ERASURE#"
    sk_prefix = "CAPTURED#"

    class Meta:
        table_name = "requests"

    share_ids = JSONAttribute(default=list)
    gen_ids = JSONAttribute(default=list)
    provider_request_ids = JSONAttribute(default=list)

    PAGE = 4000  # ids per item: a page stays well under DynamoDB's 400 KB item limit


class ErasedSubject(Record):
    """pk = ERASED, sk = <time>#<keyed hash of the user id>: for the backup window only (DSR-13), so a
    restored table can be erased again. Its TTL is the profile's backup period."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS
    personal_fields = ()
    pk_prefix = "ERASED"

    class Meta:
        table_name = "requests"

    PARTITION = "ERASED"

    subject_hash = UnicodeAttribute()
    erased_at = UTCDateTimeAttribute()


class ErasureReceipt(Record):
    """pk = RECEIPT#<receipt id>, sk = RECEIPT: proof an erasure completed, with no personal data and
    no workflow name in it (its id is not the run's, DSR-13)."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS

    personal_fields = ()
    pk_prefix = "RECEIPT#"
    sk_prefix = "RECEIPT"

    class Meta:
        table_name = "requests"

    receipt_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    profile = UnicodeAttribute()
    policy_version = UnicodeAttribute()
    counts = JSONAttribute(default=dict)
    processors = JSONAttribute(default=list)  # GEN-5, PAY-6: acknowledgements, without references
    started_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute()

    @staticmethod
    def key(receipt_id: str) -> tuple[str, str]:
        return f"RECEIPT#{receipt_id}", "RECEIPT"


class PolicyAnnouncement(Record):
    """pk = ANNOUNCEMENTS, sk = VERSION#<version>: the e-mail fan-out of a policy version (OPS-2).
    Its page cursors are account keys (they hold a user id): kept here, never in the workflow
    (DSR-13), and cleared when the run ends."""

    logical_table = "requests"
    category = Category.RIGHTS_REQUESTS
    personal_fields = ("cursors",)
    pk_prefix = "ANNOUNCEMENTS"
    sk_prefix = "VERSION#"

    class Meta:
        table_name = "requests"

    version = UnicodeAttribute()
    run_id = UnicodeAttribute()
    started_by = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default="running")  # running | sent | failed
    sent = NumberAttribute(default=0)
    cursors = JSONAttribute(default=dict)
    finished_at = UTCDateTimeAttribute(null=True)

    def event_time(self):
        return self.started_at

    @staticmethod
    def key(version: str) -> tuple[str, str]:
        return "ANNOUNCEMENTS", f"VERSION#{version}"
