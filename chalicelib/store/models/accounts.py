"""Records of the 'accounts' table: users and everything that identifies or authenticates them.

Secrets never reach this table in the clear: login codes, session tokens, API keys and passwords
are stored as hashes only. Uniqueness (email, username, Telegram id) is held by claim records
written in the same transaction as the user.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from chalicelib.profile.schema import Category
from chalicelib.store.base import Record


class Preferences(MapAttribute):
    language = UnicodeAttribute(null=True)
    theme = UnicodeAttribute(null=True)
    notifications = MapAttribute(null=True)  # notification kind -> bool


class User(Record):
    """pk = USER#<id>, sk = PROFILE."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    personal_fields = ("user_id", "email", "username", "display_name", "picture", "password_hash", "telegram_id")
    pk_prefix = "USER#"
    sk_prefix = "PROFILE"

    class Meta:
        table_name = "accounts"

    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    username = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)
    picture = UnicodeAttribute(null=True)  # Google profile picture URL (ACC-3)
    email_verified = BooleanAttribute(default=False)
    status = UnicodeAttribute(default="active")  # active | disabled | erased
    processing_restricted = BooleanAttribute(default=False)  # DSR-5
    objections = UnicodeSetAttribute(null=True)  # DSR-5: generation | service_improvement | marketing
    preferences = Preferences(null=True)
    minimum_age_attested = NumberAttribute(null=True)  # ACC-7: the profile minimum the user attested to
    age_attested_at = UTCDateTimeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)  # argon2id (ACC-2)
    telegram_id = UnicodeAttribute(null=True)  # ACC-6
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", "PROFILE"

    @classmethod
    def subject_keys(cls, subject):
        return [(f"USER#{subject.user_id}", None)]  # the user and everything else under it


class Claim(Record):
    """A unique value held by one user: pk = <KIND>#<value or its hash>, sk = CLAIM.

    Kinds: EMAIL (keyed hash of the normalized address), USERNAME (lower-cased), TELEGRAM (keyed hash
    of the id).
    """

    logical_table = "accounts"
    category = Category.ACCOUNT

    personal_fields = ("user_id",)
    pk_prefix = ""
    sk_prefix = "CLAIM"

    class Meta:
        table_name = "accounts"

    user_id = UnicodeAttribute()

    @staticmethod
    def key(kind: str, value: str) -> tuple[str, str]:
        return f"{kind}#{value}", "CLAIM"

    @classmethod
    def subject_keys(cls, subject):
        values = [("EMAIL", subject.email_hash), ("TELEGRAM", subject.telegram_hash)]
        values.append(("USERNAME", subject.username.lower() if subject.username else None))
        return [cls.key(kind, value) for kind, value in values if value]


class LoginCode(Record):
    """ACC-1: pk = LOGINCODE#<email hash>, sk = CODE. Only the code's hash; dies by TTL or attempts."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    personal_fields = ("code_hash",)
    pk_prefix = "LOGINCODE#"
    sk_prefix = "CODE"

    class Meta:
        table_name = "accounts"

    code_hash = UnicodeAttribute()
    attempts_left = NumberAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(email_hash: str) -> tuple[str, str]:
        return f"LOGINCODE#{email_hash}", "CODE"

    @classmethod
    def subject_keys(cls, subject):
        return [cls.key(subject.email_hash)] if subject.email_hash else []


class Session(Record):
    """pk = SESSION#<token hash>, sk = SESSION. The token itself is never stored."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    personal_fields = ("user_id",)
    pk_prefix = "SESSION#"
    sk_prefix = "SESSION"

    class Meta:
        table_name = "accounts"

    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    SORT_KEY = "SESSION"

    @classmethod
    def key(cls, token_hash: str) -> tuple[str, str]:
        return f"SESSION#{token_hash}", cls.SORT_KEY


class ApiKey(Record):
    """ACC-5: pk = APIKEY#<key id>, sk = APIKEY. The key id is the visible prefix; the secret is hashed."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    personal_fields = ("user_id", "name", "secret_hash")
    pk_prefix = "APIKEY#"
    sk_prefix = "APIKEY"

    class Meta:
        table_name = "accounts"

    key_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    secret_hash = UnicodeAttribute()
    scopes = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)

    SORT_KEY = "APIKEY"

    @classmethod
    def key(cls, key_id: str) -> tuple[str, str]:
        return f"APIKEY#{key_id}", cls.SORT_KEY


class Nonce(Record):
    """A one-time value the service handed out (Google sign-in nonce): pk = NONCE#<hash>, sk = NONCE."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    category = Category.ACCOUNT
    personal_fields = ()
    pk_prefix = "NONCE#"
    sk_prefix = "NONCE"

    class Meta:
        table_name = "accounts"

    purpose = UnicodeAttribute()

    @staticmethod
    def key(nonce_hash: str) -> tuple[str, str]:
        return f"NONCE#{nonce_hash}", "NONCE"


class NoticeReceipt(Record):
    """pk = USER#<id>, sk = NOTICE#<version>: a policy change notice and the person (OPS-2). `emailed_at`
    is the claim written before the e-mail is sent, so the fan-out mails each person once."""

    logical_table = "accounts"
    category = Category.ACCOUNT
    personal_fields = ("owner_id",)
    pk_prefix = "USER#"
    sk_prefix = "NOTICE#"

    class Meta:
        table_name = "accounts"

    version = UnicodeAttribute()
    emailed_at = UTCDateTimeAttribute(null=True)
    acknowledged_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(user_id: str, version: str) -> tuple[str, str]:
        return f"USER#{user_id}", f"NOTICE#{version}"
