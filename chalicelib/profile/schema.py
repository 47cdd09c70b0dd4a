"""The policy profile: a service's privacy policy as validated data.

Every retention timer, lifecycle rule, stored-or-not decision, rights deadline and the policy page
itself are derived from one of these. Values are traceable to the policy text through `source`.

Plain frozen dataclasses, so a cold Lambda reads its profile without pydantic: the TOML files are
validated against these same classes at build time (`chalicelib/profile/compile.py`, pydantic
validating the dataclasses, `__post_init__` checks included) and written out as Python modules
(`chalicelib/profile/compiled/`). `__pydantic_config__` is a plain dict, read only there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date
from enum import Enum, StrEnum
from typing import Any, Literal

_STRICT = {"extra": "forbid"}  # pydantic's ConfigDict, as a plain dict: unknown keys are refused


class FieldError(ValueError):
    """A check that names the field it is about, so a broken profile's error can point at it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def _within(owner: Any, name: str, low: int | None, high: int | None) -> None:
    value = getattr(owner, name)
    if value is None or not isinstance(value, int):
        return
    if (low is not None and value < low) or (high is not None and value > high):
        limits = f"at least {low}" if high is None else f"between {low} and {high}"
        raise FieldError(name, f"must be {limits}, not {value}")


def _not_empty(owner: Any, *names: str) -> None:
    for name in names:
        if not getattr(owner, name):
            raise FieldError(name, "must not be empty")


class Category(StrEnum):
    """The data categories the code knows how to store. A profile lists the ones it uses."""

    ACCOUNT = "account"
    UPLOADS = "uploads"
    GENERATED_IMAGES = "generated_images"
    PROMPTS = "prompts"
    TRAINING_IMAGES = "training_images"
    CHARACTERS = "characters"
    RENDER_INPUTS = "render_inputs"
    GENERATION_LOGS = "generation_logs"
    USAGE_LOGS = "usage_logs"
    ABUSE_SIGNALS = "abuse_signals"
    TECHNICAL_LOGS = "technical_logs"
    CREDIT_LEDGER = "credit_ledger"
    PAYMENTS = "payments"
    CONTACT_MESSAGES = "contact_messages"
    MARKETING = "marketing"
    RIGHTS_REQUESTS = "rights_requests"
    EXPORTS = "exports"


class JobKind(StrEnum):
    """The jobs a service can offer; a profile lists the ones it does (`job_kinds`)."""

    TEXT_TO_IMAGE = "text-to-image"
    UPSCALE = "upscale"
    EDIT = "edit"
    CHARACTER_TRAINING = "character-training"
    CHARACTER_IMAGE = "character-image"  # an image of a character trained before
    VIDEO_RENDER = "video-render"  # an MP4 from a set of frames


# What each kind keeps while it runs (its inputs) and needs the profile to list.
KIND_NEEDS: dict[JobKind, tuple[Category, ...]] = {
    JobKind.TEXT_TO_IMAGE: (),
    JobKind.UPSCALE: (Category.UPLOADS,),
    JobKind.EDIT: (Category.UPLOADS,),
    JobKind.CHARACTER_TRAINING: (Category.UPLOADS, Category.TRAINING_IMAGES, Category.CHARACTERS),
    JobKind.CHARACTER_IMAGE: (Category.CHARACTERS,),
    JobKind.VIDEO_RENDER: (Category.UPLOADS, Category.RENDER_INPUTS),
}


class RetentionKind(StrEnum):
    FIXED = "fixed"  # `days` after the event that created the data
    UNTIL_USER_DELETES = "until_user_deletes"
    UNTIL_PROCESSED = "until_processed"  # deleted on completion; `days` is the backstop
    ACCOUNT_LIFETIME_PLUS = "account_lifetime_plus"  # `days` of grace after account deletion
    LEGAL = "legal"  # kept `days` by law, detached from the person at erasure
    UNTIL_CONSENT_WITHDRAWN = "until_consent_withdrawn"
    NOT_STORED = "not_stored"


_NEEDS_DAYS = {
    RetentionKind.FIXED,
    RetentionKind.UNTIL_PROCESSED,
    RetentionKind.ACCOUNT_LIFETIME_PLUS,
    RetentionKind.LEGAL,
}


class LegalBasis(StrEnum):
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONSENT = "consent"
    LEGAL_OBLIGATION = "legal_obligation"


@dataclass(frozen=True)
class Retention:
    __pydantic_config__ = _STRICT

    kind: RetentionKind
    days: int | None = None
    # OPS-9: a deadline the policy promises in hours; the profile compiles only if the mechanisms
    # keep it (chalicelib/profile/bounds.py).
    deleted_within_hours: int | None = None

    def __post_init__(self) -> None:
        _within(self, "days", 0, 3660)
        _within(self, "deleted_within_hours", 0, None)
        if self.kind in _NEEDS_DAYS and self.days is None:
            raise ValueError(f"retention kind '{self.kind}' needs 'days'")
        if self.kind not in _NEEDS_DAYS and self.days is not None:
            raise ValueError(f"retention kind '{self.kind}' takes no 'days'")
        if self.deleted_within_hours is not None and not self.time_limited:
            raise FieldError(
                "deleted_within_hours", f"retention kind '{self.kind}' runs no timer: it cannot promise it"
            )

    @property
    def time_limited(self) -> bool:
        """True when items of this category carry a TTL from the moment they are written."""
        return self.kind in {RetentionKind.FIXED, RetentionKind.UNTIL_PROCESSED, RetentionKind.LEGAL}


AbuseSignalKind = Literal["ip_hash", "user_agent", "accept_language", "fingerprint_hash"]
# How the page names each signal; the category's `fields` must say each one it stores (OPS-1).
SIGNAL_TEXT: dict[str, str] = {
    "ip_hash": "IP address (keyed hash)",
    "user_agent": "User-Agent header",
    "accept_language": "Accept-Language header",
    "fingerprint_hash": "browser fingerprint (keyed hash)",
}


@dataclass(frozen=True)
class DataCategory:
    __pydantic_config__ = _STRICT

    id: Category
    title: str
    fields: list[str]
    purposes: list[str]
    legal_basis: LegalBasis
    retention: Retention
    source: str  # the policy sentence this entry comes from
    # abuse_signals only: what a sign-in's signal record keeps; nothing else is stored (OPS-1).
    signals: list[AbuseSignalKind] = field(default_factory=list)
    note: str | None = None  # why a concrete value was chosen where the policy is vague

    def __post_init__(self) -> None:
        _not_empty(self, "fields", "purposes", "source")
        self._check_signals()

    def _check_signals(self) -> None:
        if self.signals and self.id != Category.ABUSE_SIGNALS:
            raise FieldError("signals", "only the 'abuse_signals' category lists 'signals'")
        if self.signals and "ip_hash" not in self.signals:
            raise FieldError("signals", "a signal record is found by its keyed IP hash: it must include 'ip_hash'")
        unstated = [s for s in self.signals if not any(SIGNAL_TEXT[s] in entry for entry in self.fields)]
        if unstated:
            missing = [SIGNAL_TEXT[s] for s in unstated]
            raise FieldError("fields", f"must state every stored signal: missing {missing}")


@dataclass(frozen=True)
class Service:
    __pydantic_config__ = _STRICT

    name: str
    controller: str
    jurisdiction: str
    shape: str
    seed: str
    website: str | None = None
    contact_email: str | None = None
    contact_url: str | None = None
    note: str | None = None  # where a contact detail had to be chosen, and why


@dataclass(frozen=True)
class PolicyVersion:
    __pydantic_config__ = _STRICT

    version: str
    effective: date
    change_notice: list[ChangeNotice]

    def __post_init__(self) -> None:
        _not_empty(self, "change_notice")


ChangeNotice = Literal["email", "in_app", "publication"]
ChangeKind = Literal[
    "new_category",
    "longer_retention",
    "new_processor",
    "new_recipient",
    "new_transfer",
    "new_consent_purpose",
    "removed_category",
    "shorter_retention",
    "removed_processor",
    "wording",
]
# OPS-2: the changes a person is told about (e-mail, in-app notice); the rest are published only.
SIGNIFICANT_CHANGES: frozenset[str] = frozenset(
    {"new_category", "longer_retention", "new_processor", "new_recipient", "new_transfer", "new_consent_purpose"}
)


@dataclass(frozen=True)
class PolicyChange:
    """One difference between a policy version and the one before it (OPS-2), computed by
    `chalicelib/profile/changes.py` from the two profiles, never typed."""

    __pydantic_config__ = _STRICT

    kind: ChangeKind
    subject: str  # the category id, processor name, country or consent purpose it is about
    text: str  # how the policy page states it

    @property
    def significant(self) -> bool:
        return self.kind in SIGNIFICANT_CHANGES


@dataclass(frozen=True)
class PolicyRelease:
    """A dated version in a profile's history, with what changed from the version before (OPS-2).
    The compiler writes the history from the snapshots kept in `profiles/history/<id>/`."""

    __pydantic_config__ = _STRICT

    version: str
    effective: date
    change_notice: list[ChangeNotice]
    changes: list[PolicyChange] = field(default_factory=list)  # none for the first version

    @property
    def significant(self) -> bool:
        return any(change.significant for change in self.changes)

    @property
    def consent_purposes_added(self) -> list[str]:
        """Purposes this version asks consent for anew: each needs the person's answer (re-consent)."""
        return [change.subject for change in self.changes if change.kind == "new_consent_purpose"]


SignInMethod = Literal["email_code", "password", "google", "telegram", "api_key"]


@dataclass(frozen=True)
class SignIn:
    __pydantic_config__ = _STRICT

    methods: list[SignInMethod]
    api_requires_verified_email: bool = True
    login_code_minutes: int = 10
    login_code_attempts: int = 5
    session_days: int = 30

    def __post_init__(self) -> None:
        _not_empty(self, "methods")
        _within(self, "login_code_minutes", 1, 60)
        _within(self, "login_code_attempts", 1, 10)
        _within(self, "session_days", 1, 400)


PaymentRail = Literal["stripe", "polar", "lemonsqueezy", "telegram_stars"]


# What the Telegram bot carries through Telegram: the prompts sent to it, the images it sends back.
BOT_CARRIES = frozenset({Category.PROMPTS, Category.GENERATED_IMAGES})


@dataclass(frozen=True)
class Processor:
    __pydantic_config__ = _STRICT

    name: str
    purpose: str
    country: str
    receives: list[Category]
    kind: Literal["hosting", "email", "payment", "model_provider", "identity", "messaging"]
    # The payment rails this processor runs for the service (PAY-5): the deployment enables exactly
    # these adapters (chalicelib/gateways/payments/, Stripe's own gateway).
    rails: list[PaymentRail] = field(default_factory=list)
    note: str | None = None

    def __post_init__(self) -> None:
        _not_empty(self, "receives")
        if self.kind == "payment" and not self.rails:
            raise ValueError(f"payment processor '{self.name}' must name its rails")
        if self.rails and "payments" not in self.receives:
            raise ValueError(f"processor '{self.name}' runs payment rails but receives no 'payments'")


Right = Literal["access", "portability", "rectification", "erasure", "restriction", "objection", "withdraw_consent"]


@dataclass(frozen=True)
class Complaint:
    """Where a person may lodge a complaint (GDPR Art. 77), named on the policy page and in every
    refusal or extension notice (DSR-11, Art. 12(4)): the authority of the profile's jurisdiction."""

    __pydantic_config__ = _STRICT

    authority: str  # a phrase completing "lodge a complaint with ..."
    url: str
    source: str
    note: str | None = None

    def __post_init__(self) -> None:
        _not_empty(self, "authority", "source")
        if not self.url.startswith("https://"):
            raise FieldError("url", "must be an https:// address")


@dataclass(frozen=True)
class Rights:
    __pydantic_config__ = _STRICT

    available: list[Right]
    channels: list[str]
    response_hours: int
    erasure_days: int
    requests_without_sign_in: bool
    complaint: Complaint
    source: str
    verify_identity: bool = True
    note: str | None = None

    def __post_init__(self) -> None:
        _not_empty(self, "available", "channels", "source")
        _within(self, "response_hours", 1, 24 * 90)
        _within(self, "erasure_days", 0, 90)


@dataclass(frozen=True)
class Backups:
    """Point-in-time recovery of the tables (DSR-13): how long a backup keeps what was erased. Each
    erasure leaves only a keyed hash of the erased id for this long, so a restore can replay it."""

    __pydantic_config__ = _STRICT

    days: int  # DynamoDB keeps point-in-time recovery 1 to 35 days
    source: str
    note: str | None = None

    def __post_init__(self) -> None:
        _within(self, "days", 1, 35)
        _not_empty(self, "source")


CookieRole = Literal["session", "csrf", "language", "theme", "preferences"]


@dataclass(frozen=True)
class Cookie:
    __pydantic_config__ = _STRICT

    name: str
    storage: Literal["cookie", "local_storage"]
    purpose: str
    essential: Literal[True]  # OPS-3: essential cookies and local storage only
    third_party: Literal[False] = False
    role: CookieRole | None = None  # what the code uses it for, so it can find the name


_PROFILE_ID = re.compile(r"[a-z][a-z0-9_-]{1,31}")


@dataclass(frozen=True)
class Profile:
    __pydantic_config__ = _STRICT

    id: str
    service: Service
    policy: PolicyVersion
    minimum_age: int
    sign_in: SignIn
    categories: list[DataCategory]
    processors: list[Processor]
    rights: Rights
    cookies: list[Cookie]
    backups: Backups
    breach_notice_hours: int | None = None
    transfers: str | None = None  # safeguards for processing outside the user's country
    security: list[str] = field(default_factory=list)  # security measures the policy promises
    sells_data: Literal[False] = False
    job_kinds: list[JobKind] = field(default_factory=lambda: [JobKind.TEXT_TO_IMAGE])  # the jobs offered
    # OPS-2: every dated version, oldest first, the last one `policy`; written by the compiler from
    # the snapshots of earlier versions (never typed in the TOML).
    history: list[PolicyRelease] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _PROFILE_ID.fullmatch(self.id):
            raise FieldError("id", f"'{self.id}' is not a profile id (lower case, 2 to 32 characters)")
        _within(self, "minimum_age", 13, 21)
        _within(self, "breach_notice_hours", 1, 24 * 30)
        self._check_categories()
        rails = self.payment_rails
        if len(rails) != len(set(rails)):
            raise FieldError("processors", "a payment rail is named by two processors")
        ids = {c.id for c in self.categories}
        for processor in self.processors:
            missing = [c.value for c in processor.receives if c not in ids]
            if missing:
                listed = f"processor '{processor.name}' receives categories the profile does not list"
                raise FieldError("processors", f"{listed}: {missing}")
            if "telegram_stars" in processor.rails and not BOT_CARRIES <= set(processor.receives):
                # The Stars rail brings the bot, which takes prompts and sends generated images (OPS-1).
                bot = f"processor '{processor.name}' runs the Telegram bot but does not receive"
                raise FieldError("processors", f"{bot}: {sorted(c.value for c in BOT_CARRIES)}")
        self._check_job_kinds()

    def _check_categories(self) -> None:
        _not_empty(self, "categories")
        ids = [c.id for c in self.categories]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise FieldError("categories", f"categories listed twice: {', '.join(duplicates)}")
        account = next((c for c in self.categories if c.id == Category.ACCOUNT), None)
        if account is None:
            raise FieldError("categories", "the 'account' category is required")
        if account.retention.kind != RetentionKind.ACCOUNT_LIFETIME_PLUS:
            raise FieldError("categories", "the 'account' category must use retention kind 'account_lifetime_plus'")

    def _check_job_kinds(self) -> None:
        _not_empty(self, "job_kinds")
        for kind in self.job_kinds:
            missing = [c.value for c in KIND_NEEDS[kind] if not self.stores(c)]
            if missing:
                raise FieldError(
                    "job_kinds", f"job kind '{kind}' needs categories the profile does not store: {missing}"
                )

    @property
    def consent_purposes(self) -> list[str]:
        """What the service asks consent for: each category processed on consent, by its id (DSR-6)."""
        return [c.id.value for c in self.categories if c.legal_basis == LegalBasis.CONSENT]

    def release(self, version: str) -> PolicyRelease | None:
        return next((r for r in self.history if r.version == version), None)

    def offers(self, kind: JobKind) -> bool:
        return kind in self.job_kinds

    def has(self, category: Category) -> bool:
        return any(c.id == category for c in self.categories)

    def category(self, category: Category) -> DataCategory:
        for entry in self.categories:
            if entry.id == category:
                return entry
        raise KeyError(category)

    def stores(self, category: Category) -> bool:
        """Whether data of this category is kept at all (CNT-3: some services deliver and forget)."""
        return self.has(category) and self.category(category).retention.kind != RetentionKind.NOT_STORED

    @property
    def account_grace_days(self) -> int:
        return self.category(Category.ACCOUNT).retention.days or 0

    @property
    def payment_rails(self) -> list[str]:
        """The rails this service takes payments through, as its processors name them (PAY-5)."""
        return [rail for processor in self.processors for rail in processor.rails]

    @property
    def model_providers(self) -> list[Processor]:
        return [p for p in self.processors if p.kind == "model_provider"]

    def cookie_name(self, role: CookieRole) -> str | None:
        """The name of the cookie or storage key the profile declares for `role` (OPS-3)."""
        return next((c.name for c in self.cookies if c.role == role), None)


def plain(value: Any, exclude: frozenset[str] = frozenset()) -> Any:
    """JSON-ready form of a profile part (enums by value, dates in ISO form), minus `exclude`d fields."""
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value) if f.name not in exclude}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value
