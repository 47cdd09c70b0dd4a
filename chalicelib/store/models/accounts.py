"""Records of the 'accounts' table: users and everything that identifies or authenticates them."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute

from chalicelib.profile.schema import Category
from chalicelib.store.base import Record


class User(Record):
    """pk = USER#<id>, sk = PROFILE."""

    logical_table = "accounts"
    category = Category.ACCOUNT

    class Meta:
        table_name = "accounts"

    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    username = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    status = UnicodeAttribute(default="active")  # active | disabled | erased
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(user_id: str) -> tuple[str, str]:
        return f"USER#{user_id}", "PROFILE"
