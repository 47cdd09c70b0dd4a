"""The policy profile: a service's privacy policy as validated data.

Every retention timer, lifecycle rule, stored-or-not decision, rights deadline and the policy page
itself are derived from one of these. Values are traceable to the policy text through `source`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(StrEnum):
    """The data categories the code knows how to store. A profile lists the ones it uses."""

    ACCOUNT = "account"
    UPLOADS = "uploads"
    GENERATED_IMAGES = "generated_images"
    PROMPTS = "prompts"
    TRAINING_IMAGES = "training_images"
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


class Retention(Strict):
    kind: RetentionKind
    days: int | None = Field(default=None, ge=0, le=3660)
    deleted_within_hours: int | None = Field(
        default=None,
        ge=0,
        description="OPS-9: a deadline the policy promises in hours; the profile loads only if the "
        "mechanisms keep it (chalicelib/profile/bounds.py).",
    )

    @model_validator(mode="after")
    def _days_match_kind(self) -> Retention:
        if self.kind in _NEEDS_DAYS and self.days is None:
            raise ValueError(f"retention kind '{self.kind}' needs 'days'")
        if self.kind not in _NEEDS_DAYS and self.days is not None:
            raise ValueError(f"retention kind '{self.kind}' takes no 'days'")
        if self.deleted_within_hours is not None and not self.time_limited:
            raise ValueError(f"retention kind '{self.kind}' runs no timer: it cannot promise 'deleted_within_hours'")
        return self

    @property
    def time_limited(self) -> bool:
        """True when items of this category carry a TTL from the moment they are written."""
        return self.kind in {RetentionKind.FIXED, RetentionKind.UNTIL_PROCESSED, RetentionKind.LEGAL}


class LegalBasis(StrEnum):
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONSENT = "consent"
    LEGAL_OBLIGATION = "legal_obligation"


AbuseSignalKind = Literal["ip_hash", "user_agent", "accept_language", "fingerprint_hash"]
# How the page names each signal; the category's `fields` must say each one it stores (OPS-1).
SIGNAL_TEXT: dict[str, str] = {
    "ip_hash": "IP address (keyed hash)",
    "user_agent": "User-Agent header",
    "accept_language": "Accept-Language header",
    "fingerprint_hash": "browser fingerprint (keyed hash)",
}


class DataCategory(Strict):
    id: Category
    title: str
    fields: list[str] = Field(min_length=1)
    signals: list[AbuseSignalKind] = Field(
        default_factory=list,
        description="abuse_signals only: what a sign-in's signal record keeps; nothing else is stored (OPS-1).",
    )
    purposes: list[str] = Field(min_length=1)
    legal_basis: LegalBasis
    retention: Retention
    source: str = Field(min_length=1, description="The policy sentence this entry comes from.")
    note: str | None = Field(default=None, description="Why a concrete value was chosen where the policy is vague.")

    @model_validator(mode="after")
    def _signals_are_listed(self) -> DataCategory:
        if self.signals and self.id != Category.ABUSE_SIGNALS:
            raise ValueError("only the 'abuse_signals' category lists 'signals'")
        if self.signals and "ip_hash" not in self.signals:
            raise ValueError("a signal record is found by its keyed IP hash: 'signals' must include 'ip_hash'")
        unstated = [s for s in self.signals if not any(SIGNAL_TEXT[s] in field for field in self.fields)]
        if unstated:
            raise ValueError(f"'fields' must state every stored signal: missing {[SIGNAL_TEXT[s] for s in unstated]}")
        return self


class Service(Strict):
    name: str
    website: str | None = None
    controller: str
    contact_email: str | None = None
    contact_url: str | None = None
    jurisdiction: str
    shape: str
    seed: str
    note: str | None = Field(default=None, description="Where a contact detail had to be chosen, and why.")


class PolicyVersion(Strict):
    version: str
    effective: date
    change_notice: list[Literal["email", "in_app", "publication"]] = Field(min_length=1)


SignInMethod = Literal["email_code", "password", "google", "telegram", "api_key"]


class SignIn(Strict):
    methods: list[SignInMethod] = Field(min_length=1)
    api_requires_verified_email: bool = True
    login_code_minutes: int = Field(default=10, ge=1, le=60)
    login_code_attempts: int = Field(default=5, ge=1, le=10)
    session_days: int = Field(default=30, ge=1, le=400)


PaymentRail = Literal["stripe", "polar", "lemonsqueezy", "telegram_stars"]


class Processor(Strict):
    name: str
    purpose: str
    country: str
    receives: list[Category] = Field(min_length=1)
    kind: Literal["hosting", "email", "payment", "model_provider", "identity", "messaging"]
    # The payment rails this processor runs for the service (PAY-5): the deployment enables exactly
    # these adapters (chalicelib/gateways/payments/, Stripe's own gateway).
    rails: list[PaymentRail] = Field(default_factory=list)
    note: str | None = None

    @model_validator(mode="after")
    def _payment_processors_name_their_rails(self) -> Processor:
        if self.kind == "payment" and not self.rails:
            raise ValueError(f"payment processor '{self.name}' must name its rails")
        if self.rails and "payments" not in self.receives:
            raise ValueError(f"processor '{self.name}' runs payment rails but receives no 'payments'")
        return self


Right = Literal["access", "portability", "rectification", "erasure", "restriction", "objection", "withdraw_consent"]


class Rights(Strict):
    available: list[Right] = Field(min_length=1)
    channels: list[str] = Field(min_length=1)
    response_hours: int = Field(ge=1, le=24 * 90)
    erasure_days: int = Field(ge=0, le=90)
    requests_without_sign_in: bool
    verify_identity: bool = True
    source: str = Field(min_length=1)
    note: str | None = None


CookieRole = Literal["session", "csrf", "language", "theme", "preferences"]


class Cookie(Strict):
    name: str
    storage: Literal["cookie", "local_storage"]
    purpose: str
    essential: Literal[True] = Field(description="OPS-3: essential cookies and local storage only.")
    third_party: Literal[False] = False
    role: CookieRole | None = Field(default=None, description="What the code uses it for, so it can find the name.")


class Profile(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")
    service: Service
    policy: PolicyVersion
    minimum_age: int = Field(ge=13, le=21)
    sign_in: SignIn
    categories: list[DataCategory] = Field(min_length=1)
    processors: list[Processor]
    rights: Rights
    cookies: list[Cookie]
    breach_notice_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    transfers: str | None = Field(default=None, description="Safeguards for processing outside the user's country.")
    security: list[str] = Field(default_factory=list, description="Security measures the policy promises.")
    sells_data: Literal[False] = False

    @field_validator("categories")
    @classmethod
    def _categories_unique_with_account(cls, categories: list[DataCategory]) -> list[DataCategory]:
        ids = [c.id for c in categories]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"categories listed twice: {', '.join(duplicates)}")
        account = next((c for c in categories if c.id == Category.ACCOUNT), None)
        if account is None:
            raise ValueError("the 'account' category is required")
        if account.retention.kind != RetentionKind.ACCOUNT_LIFETIME_PLUS:
            raise ValueError("the 'account' category must use retention kind 'account_lifetime_plus'")
        return categories

    @model_validator(mode="after")
    def _processors_receive_listed_categories(self) -> Profile:
        rails = self.payment_rails
        if len(rails) != len(set(rails)):
            raise ValueError("a payment rail is named by two processors")
        ids = {c.id for c in self.categories}
        for processor in self.processors:
            missing = [c.value for c in processor.receives if c not in ids]
            if missing:
                raise ValueError(
                    f"processor '{processor.name}' receives categories the profile does not list: {missing}"
                )
        return self

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
