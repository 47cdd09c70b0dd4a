"""Records of the 'ledger' table: credit balances, append-only entries, holds, idempotency claims
and payment records.

Money is never deleted by the code: every record here carries the profile's legal retention
(7 years) as its TTL and is pseudonymized, not deleted, when its person is erased (PAY-3). The one
exception is a hold still held, whose TTL is its lapse (PAY-4).

Keys:
  ACCOUNT#<user>     BALANCE                     the balance item (one per user)
  ACCOUNT#<user>     ENTRY#<sequence, 12 digits> append-only ledger entries, in the order applied
  HOLD#<hold id>     HOLD                        a hold; its TTL is its lapse while held (PAY-4)
  CLAIM#<key>        CLAIM                       a business key already applied
  PAYMENT#<stripe id> PAYMENT                    a checkout session or invoice paid through Stripe;
                                                 `review_partition`/`review_since` while held
  PAYREF#<stripe id> PAYREF                      payment intent / charge / subscription -> payment
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.profile.schema import Category
from chalicelib.store.base import Record

PAYMENT_REVIEWS = "REVIEW"


class PaymentReviewIndex(GlobalSecondaryIndex):
    """Sparse: only payments held for an operator's review carry these attributes."""

    class Meta:
        index_name = "ledger_payment_reviews"
        projection = AllProjection()

    review_partition = UnicodeAttribute(hash_key=True)
    review_since = UnicodeAttribute(range_key=True)


class LedgerRecord(Record):
    """Base for records in the ledger table (their category is legal: detached at erasure, PAY-3)."""


class CreditBalance(LedgerRecord):
    logical_table = "ledger"
    category = Category.CREDIT_LEDGER

    personal_fields = ()
    pk_prefix = "ACCOUNT#"
    sk_prefix = "BALANCE"

    class Meta:
        table_name = "ledger"

    balance = NumberAttribute(default=0)
    sequence = NumberAttribute(null=True)  # movements applied so far: the last entry's number (PAY-2)
    unrecovered = NumberAttribute(default=0)  # credits clawed back after they had been spent
    updated_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"ACCOUNT#{user_id}", "BALANCE"

    @classmethod
    def subject_keys(cls, subject):
        return [(f"ACCOUNT#{subject.user_id}", None)]  # the balance and the entries


class LedgerEntry(LedgerRecord):
    """One movement. `amount` is signed; replayed in sequence, the entries of an account reach its
    balance, each one's `balance_after` on the way (PAY-2)."""

    logical_table = "ledger"
    category = Category.CREDIT_LEDGER

    personal_fields = ()
    pk_prefix = "ACCOUNT#"
    sk_prefix = "ENTRY#"

    class Meta:
        table_name = "ledger"

    kind = UnicodeAttribute()  # grant | hold | commit | release | clawback
    amount = NumberAttribute()
    reason = UnicodeAttribute()
    reference = UnicodeAttribute()  # the business key or hold id this entry applies
    details = UnicodeAttribute(null=True)  # JSON object, no personal data
    shortfall = NumberAttribute(null=True)  # clawback only: credits already spent
    sequence = NumberAttribute()  # 1, 2, 3… per account, in the order applied
    balance_after = NumberAttribute()
    created_at = UTCDateTimeAttribute()

    ENTRY_PREFIX: ClassVar[str] = "ENTRY#"

    @staticmethod
    def key(user_id: str, sequence: int) -> tuple[str, str]:
        return CreditBalance.key(user_id)[0], f"{LedgerEntry.ENTRY_PREFIX}{sequence:012d}"


class CreditHold(LedgerRecord):
    """Credits reserved for work. While held, `expires_at` is the hold's lapse (deadline + margin),
    not the legal retention: its TTL delete releases it (PAY-4). Settling restores the legal TTL."""

    logical_table = "ledger"
    category = Category.CREDIT_LEDGER
    SK_PREFIX = "HOLD"

    personal_fields = ()
    pk_prefix = "HOLD#"
    sk_prefix = "HOLD"

    class Meta:
        table_name = "ledger"

    amount = NumberAttribute()
    state = UnicodeAttribute()  # held | committed | released
    reason = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    settled_at = UTCDateTimeAttribute(null=True)

    @classmethod
    def is_operational_timer(cls, fields: Mapping[str, Any]) -> bool:
        """Held, its TTL is the lapse that returns the credits (PAY-4): a legal hold leaves it
        running (DSR-12). Settled, it is a ledger record like any other."""
        return fields.get("state") == "held"

    @staticmethod
    def key(hold_id: str) -> tuple[str, str]:
        return f"HOLD#{hold_id}", CreditHold.SK_PREFIX


class LedgerClaim(LedgerRecord):
    """A business key (payment, refund, grant reason) that has been applied exactly once."""

    logical_table = "ledger"
    category = Category.CREDIT_LEDGER

    personal_fields = ()
    pk_prefix = "CLAIM#"
    sk_prefix = "CLAIM"

    class Meta:
        table_name = "ledger"

    amount = NumberAttribute(null=True)  # credits the key actually moved
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(business_key: str) -> tuple[str, str]:
        return f"CLAIM#{business_key}", "CLAIM"


class PaymentRecord(LedgerRecord):
    """What a payment leaves behind (PAY-1): confirmation, product, amount, times, Stripe ids.

    Never card data: Checkout is hosted by Stripe and no payment method detail is copied here.
    """

    logical_table = "ledger"
    category = Category.PAYMENTS
    personal_fields = ("customer_id",)

    pk_prefix = "PAYMENT#"
    sk_prefix = "PAYMENT"

    class Meta:
        table_name = "ledger"

    kind = UnicodeAttribute()  # pack | plan
    product_id = UnicodeAttribute()  # catalogue id of the pack or plan
    mode = UnicodeAttribute()  # payment | subscription
    status = UnicodeAttribute()  # open | paid | failed | expired | subscribed | mismatch
    credits = NumberAttribute(default=0)
    amount = NumberAttribute(null=True)  # minor units
    currency = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    invoice_id = UnicodeAttribute(null=True)
    payment_intent_id = UnicodeAttribute(null=True)
    subscription_id = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)  # links to Stripe's customer: dropped at erasure
    billing_reason = UnicodeAttribute(null=True)
    refunded_amount = NumberAttribute(default=0)  # minor units refunded so far
    credits_refunded = NumberAttribute(default=0)  # credits taken back for those refunds
    dispute_id = UnicodeAttribute(null=True)
    dispute_status = UnicodeAttribute(null=True)  # open | won | lost
    credits_disputed = NumberAttribute(default=0)  # credits taken back while a dispute stands
    mismatch = UnicodeAttribute(null=True)  # JSON: what differed from the catalogue price
    review_partition = UnicodeAttribute(null=True)  # set while held for an operator's review
    review_since = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    paid_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()
    reviews = PaymentReviewIndex()

    @staticmethod
    def key(stripe_id: str) -> tuple[str, str]:
        return f"PAYMENT#{stripe_id}", "PAYMENT"


class PaymentReference(LedgerRecord):
    """Finds the payment behind a payment intent; for a subscription, its owner, plan and status."""

    logical_table = "ledger"
    category = Category.PAYMENTS

    personal_fields = ()
    pk_prefix = "PAYREF#"
    sk_prefix = "PAYREF"

    class Meta:
        table_name = "ledger"

    payment_key = UnicodeAttribute(null=True)  # the PaymentRecord's Stripe id
    status = UnicodeAttribute(null=True)  # subscriptions: Stripe's status
    product_id = UnicodeAttribute(null=True)  # subscriptions: the plan
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(stripe_id: str) -> tuple[str, str]:
        return f"PAYREF#{stripe_id}", "PAYREF"
