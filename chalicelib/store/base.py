"""The base every stored record inherits: generic keys, a TTL stamped from the profile, live reads.

Only `chalicelib/store/` touches pynamodb or boto3. Each table has `pk`/`sk` keys and an
`expires_at` TTL attribute; a record class names its logical table and its data category, and the
category's retention in the active profile decides the TTL on every write (save, transaction or
batch: all of them serialize through `serialize`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar

from pynamodb.attributes import Attribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import clock
from chalicelib.profile.schema import Category, Profile
from chalicelib.retention import expiry

R = TypeVar("R", bound="Record")

_RECORD_CLASSES: list[type[Record]] = []


class HeldExpiryAttribute(Attribute[datetime]):
    """An expiry moved aside by a legal hold (DSR-12): epoch seconds like the TTL attribute, but not
    the attribute DynamoDB's TTL reads (a model may have one TTL attribute)."""

    attr_type = NUMBER

    def serialize(self, value: datetime) -> str:
        return str(calendar.timegm(value.utctimetuple()))

    def deserialize(self, value: str) -> datetime:
        return datetime.fromtimestamp(int(float(value)), tz=timezone.utc)


class OwnerIndex(GlobalSecondaryIndex):
    """Every personal record carries `owner_id`: one query per table finds all of a user's data
    (export, erasure, residual scan). Records without an owner are not in this sparse index."""

    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Record(Model):
    """Abstract base. Subclasses set `Meta`, `logical_table`, `category`, `personal_fields` and the key
    prefixes that tell their items apart in a shared table.

    Convention: a record that belongs to a person sets `owner_id` to their user id.

    DSR-4, DSR-13: the erasure plan is derived from these declarations as the infrastructure is. The
    category's retention kind in the active profile decides an item's fate (legal: detached, its
    `personal_fields` removed and its owner replaced by a pseudonym; anything else: deleted).
    `personal_fields = None` means "not declared": tests/unit/test_erasure_plan.py refuses it. An
    operator's record that names no person and is never owned (the breach register) says so with
    `about_no_one = True` instead of a category: no category's retention applies and erasure never
    reaches it.
    """

    logical_table: ClassVar[str] = ""
    category: ClassVar[Category | None] = None
    personal_fields: ClassVar[tuple[str, ...] | None] = None
    about_no_one: ClassVar[bool] = False
    # A timer whose TTL delete is an action, not the end of retained data (a job's timeout, a credit
    # hold's lapse): a legal hold leaves its clock running (DSR-12).
    operational_timer: ClassVar[bool] = False
    pk_prefix: ClassVar[str] = ""
    sk_prefix: ClassVar[str] = ""
    _profile: ClassVar[Profile | None] = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)
    # DSR-12: while a legal hold is in force the expiry waits here, out of DynamoDB TTL's reach
    held_expires_at = HeldExpiryAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    by_owner = OwnerIndex()

    @classmethod
    def is_operational_timer(cls, fields: Mapping[str, Any]) -> bool:
        """Whether an item of this class with `fields` is such a timer (DSR-12)."""
        return cls.operational_timer

    @classmethod
    def subject_keys(cls, subject: Any) -> Iterable[tuple[str, str | None]]:
        """(pk, sk) where an item of this class about `subject` (ports.rights.Subject) would be, sk None
        for a whole partition: keys derived from the person's ids, read by the residual scan (DSR-13)
        and by the delete for records with no owner. Classes keyed by random ids have none."""
        return ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.logical_table:
            _RECORD_CLASSES.append(cls)

    # -- retention -------------------------------------------------------------------------
    def event_time(self) -> datetime:
        """The moment retention counts from; records with their own timestamp override this."""
        created = getattr(self, "created_at", None)
        return created if isinstance(created, datetime) else clock.now()

    def stamp_expiry(self) -> None:
        if self.category is None or self.expires_at is not None or self.held_expires_at is not None:
            return  # a held item saved again keeps its expiry aside (DSR-12)
        if self._profile is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to a profile; call store.bind() first")
        self.expires_at = expiry(self._profile, self.category, self.event_time())

    def hold_expiry_if_held(self) -> None:
        """DSR-12: written while its owner is under a legal hold, the expiry waits aside."""
        if self.expires_at is None or not self.owner_id:
            return
        if self.is_operational_timer({"state": getattr(self, "state", None)}):
            return
        from chalicelib.store import hold_state

        if hold_state.held(self.owner_id):
            self.held_expires_at, self.expires_at = self.expires_at, None

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        self.stamp_expiry()
        self.hold_expiry_if_held()
        return super().serialize(null_check=null_check)

    def is_live(self, now: datetime | None = None) -> bool:
        """DynamoDB deletes expired items up to ~2 days late, so reads check the clock themselves. A
        legal hold keeps an item stored past its expiry (DSR-12), not in service."""
        expires = self.expires_at or self.held_expires_at
        return expires is None or expires > (now or clock.now())

    # -- live reads --------------------------------------------------------------------------
    @classmethod
    def get_live(cls: type[R], pk: str, sk: str, *, consistent_read: bool = False) -> R | None:
        try:
            item = cls.get(pk, sk, consistent_read=consistent_read)
        except cls.DoesNotExist:
            return None
        return item if item.is_live() else None

    @classmethod
    def query_live(cls: type[R], pk: str, range_key_condition: Any = None, **kwargs: Any) -> Iterator[R]:
        now = clock.now()
        for item in cls.query(pk, range_key_condition, **kwargs):
            if item.is_live(now):
                yield item


def record_classes() -> list[type[Record]]:
    """Every concrete record class, for building table descriptions from the models."""
    import chalicelib.store.models  # noqa: F401  (registers every record class)

    return list(_RECORD_CLASSES)


def record_class_of(table: str, pk: str, sk: str) -> type[Record] | None:
    """The record class a stored item of logical `table` belongs to: the most specific key prefixes win."""
    matches = [
        cls
        for cls in record_classes()
        if cls.logical_table == table and pk.startswith(cls.pk_prefix) and sk.startswith(cls.sk_prefix)
    ]
    return max(matches, key=lambda cls: len(cls.pk_prefix) + len(cls.sk_prefix), default=None)


def bind(*, resource_prefix: str, region: str, profile: Profile) -> None:
    """Point every record class at this deployment's tables and the active profile's retention."""
    classes = record_classes()
    for cls in classes:
        cls.Meta.table_name = f"{resource_prefix}-{cls.logical_table}"
        cls.Meta.region = region
        cls._profile = profile
    _share_one_connection(classes, region)


class _SharedSessionConnection(Connection):
    """pynamodb's connection on the process's one botocore session (chalicelib/store/aws.py)."""

    @property
    def session(self) -> Any:
        from chalicelib.store import aws

        return aws.botocore_session()

    @property
    def client(self) -> Any:
        from chalicelib.store import aws

        with aws.building:  # its first use may race a boto3 client being built on another thread
            return super().client


def _share_one_connection(classes: list[type[Record]], region: str) -> None:
    """One botocore client for every record class, on the session every other client shares.

    Left alone, pynamodb opens a botocore session and client per model class, and each parses
    DynamoDB's service model: that dominates the first request of a cold Lambda. Classes of one
    table share a table connection whose metadata holds every index any of them declares.
    """
    from pynamodb.connection import TableConnection
    from pynamodb.connection.base import MetaTable

    shared = _SharedSessionConnection(region=region)
    by_table: dict[str, list[type[Record]]] = {}
    for cls in classes:
        by_table.setdefault(cls.Meta.table_name, []).append(cls)
    for table_name, members in by_table.items():
        meta = MetaTable(_merged_table_metadata(table_name, members))
        table = TableConnection(table_name, region=region, meta_table=meta)
        table.connection = shared
        shared.add_meta_table(meta)
        for cls in members:
            cls._connection = table


def _merged_table_metadata(table_name: str, members: list[type[Record]]) -> dict[str, Any]:
    attributes: dict[str, dict[str, str]] = {}
    indexes: dict[str, dict[str, Any]] = {}
    for cls in members:
        schema = cls._get_schema()
        for definition in schema["attribute_definitions"]:
            attributes[definition["AttributeName"]] = definition
        for index in schema["global_secondary_indexes"]:
            indexes[index["index_name"]] = {"IndexName": index["index_name"], "KeySchema": index["key_schema"]}
    return {
        "TableName": table_name,
        "KeySchema": members[0]._get_schema()["key_schema"],
        "AttributeDefinitions": list(attributes.values()),
        "GlobalSecondaryIndexes": list(indexes.values()),
        "LocalSecondaryIndexes": [],
    }
