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
from functools import cache
from typing import Any, ClassVar, TypeVar

from pynamodb.attributes import Attribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import MetaModel, Model

from chalicelib import clock
from chalicelib.profile.schema import Category, Profile
from chalicelib.retention import expiry

R = TypeVar("R", bound="Record")

_RECORD_CLASSES: list[type[Record]] = []
_binding: _Binding | None = None


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


class _RecordClass(MetaModel):
    """Registers each concrete record class once pynamodb has set it up, and binds it to the
    deployment when `bind` already ran: a record module is imported only by the stores (and
    routes) that use it, so a cold Lambda's first request loads its own area's records only."""

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], discriminator: Any = None):
        super().__init__(name, bases, namespace, discriminator)
        if cls.logical_table:
            _RECORD_CLASSES.append(cls)
            if _binding is not None:
                _binding.attach(cls)


class Record(Model, metaclass=_RecordClass):
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
    _import_every_record_module()
    return list(_RECORD_CLASSES)


@cache
def _import_every_record_module() -> None:
    import importlib
    import pkgutil

    from chalicelib.store import models

    for module in pkgutil.iter_modules(models.__path__):  # importing one registers its record classes
        importlib.import_module(f"{models.__name__}.{module.name}")


def record_class_of(table: str, pk: str, sk: str) -> type[Record] | None:
    """The record class a stored item of logical `table` belongs to: the most specific key prefixes win."""
    matches = [
        cls
        for cls in record_classes()
        if cls.logical_table == table and pk.startswith(cls.pk_prefix) and sk.startswith(cls.sk_prefix)
    ]
    return max(matches, key=lambda cls: len(cls.pk_prefix) + len(cls.sk_prefix), default=None)


def bind(*, resource_prefix: str, region: str, profile: Profile) -> None:
    """Point every record class at this deployment's tables and the active profile's retention:
    those imported so far now, the others as they are imported."""
    global _binding
    _binding = _Binding(resource_prefix, region, profile)
    for cls in list(_RECORD_CLASSES):
        _binding.attach(cls)


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


class _Binding:
    """One deployment's tables, with one botocore client for every record class.

    Left alone, pynamodb opens a botocore session and client per model class, and each parses
    DynamoDB's service model: that dominates the first request of a cold Lambda. Classes of one
    table share a table connection whose metadata holds every index any of them declares.
    """

    def __init__(self, resource_prefix: str, region: str, profile: Profile) -> None:
        self.resource_prefix, self.region, self.profile = resource_prefix, region, profile
        self.connection = _SharedSessionConnection(region=region)
        self.tables: dict[str, Any] = {}  # table name -> pynamodb TableConnection
        self.members: dict[str, list[type[Record]]] = {}

    def attach(self, cls: type[Record]) -> None:
        from pynamodb.connection import TableConnection
        from pynamodb.connection.base import MetaTable

        table_name = f"{self.resource_prefix}-{cls.logical_table}"
        cls.Meta.table_name = table_name
        cls.Meta.region = self.region
        cls._profile = self.profile
        members = self.members.setdefault(table_name, [])
        members.append(cls)
        table = self.tables.get(table_name)
        if table is None:
            meta = MetaTable(_merged_table_metadata(table_name, members))
            table = self.tables[table_name] = TableConnection(table_name, region=self.region, meta_table=meta)
            table.connection = self.connection
            self.connection.add_meta_table(meta)
        else:  # a class imported later may add an index to its table
            table.get_meta_table().data = _merged_table_metadata(table_name, members)
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
