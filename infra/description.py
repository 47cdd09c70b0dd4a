"""The one resource description: what the CDK stack deploys and the local cloud provisions.

Tables come from the pynamodb models (keys, indexes, TTL attribute), lifecycle rules from the
active profile's retention, state machines from the ASL files in infra/asl/. Nothing here talks
to AWS; `infra/cdk/` and `infra/localcloud/` turn it into resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from chalicelib import metrics
from chalicelib.grants import Uses
from chalicelib.profile.schema import Category, Profile
from chalicelib.retention import log_retention_days
from chalicelib.settings import Settings
from chalicelib.store import layout
from chalicelib.store.base import Record, record_classes

ASL_DIR = Path(__file__).parent / "asl"
# Every Lambda function's runtime. c2pa-python's wheel needs glibc 2.28: python3.12 and later run on
# Amazon Linux 2023 (glibc 2.34); python3.11 (Amazon Linux 2, glibc 2.26) cannot load it.
LAMBDA_RUNTIME = "python3.13"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str | None


@dataclass(frozen=True)
class TableSpec:
    logical: str
    name: str
    hash_key: str
    range_key: str | None
    attribute_types: dict[str, str]  # key attribute name -> "S" | "N" | "B"
    indexes: tuple[IndexSpec, ...]
    ttl_attribute: str
    stream: bool
    point_in_time_recovery: bool
    recovery_days: int | None = None  # the profile's backup period (DSR-13), where recovery is on


@dataclass(frozen=True)
class LifecycleRuleSpec:
    id: str
    prefix: str
    days: int
    category: Category
    # DSR-12: the rule expires only objects tagged so (prefix AND tag); a legal hold retags them
    tag: tuple[str, str] = layout.LIFECYCLE_TAG


@dataclass(frozen=True)
class BucketSpec:
    logical: str
    name: str
    lifecycle_rules: tuple[LifecycleRuleSpec, ...]
    notifications: tuple[tuple[str, str, str], ...] = ()  # (key prefix, S3 event, queue logical name)
    cors_origins: tuple[str, ...] = ()  # origins whose pages POST to the bucket (presigned uploads)


@dataclass(frozen=True)
class QueueSpec:
    logical: str
    name: str
    consumer: str  # Chalice handler name: the function that declares it consumes the queue
    visibility_timeout: int = 120


@dataclass(frozen=True)
class StreamConsumerSpec:
    table: str  # logical table name
    consumer: str  # Chalice handler name


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function and everything its role grants (SEC-6: least privilege per function)."""

    name: str  # Chalice handler name
    uses: Uses
    stream: str | None = None  # logical table whose stream it consumes


@dataclass(frozen=True)
class StateMachineSpec:
    logical: str
    name: str
    asl_file: Path

    def definition(self) -> dict:
        return json.loads(self.asl_file.read_text(encoding="utf-8"))

    def task_functions(self) -> list[str]:
        """Chalice handler names referenced as `${name}` placeholders in the ASL."""
        text = self.asl_file.read_text(encoding="utf-8")
        names: list[str] = []
        for part in text.split("${")[1:]:
            name = part.split("}", 1)[0]
            if name not in names:
                names.append(name)
        return names

    def render(self, function_arns: dict[str, str]) -> str:
        text = self.asl_file.read_text(encoding="utf-8")
        for name in self.task_functions():
            text = text.replace("${" + name + "}", function_arns[name])
        return text


@dataclass(frozen=True)
class MetricAlarmSpec:
    """An alarm on one of the service's own metrics (OPS-7): the CDK stack and the local cloud both
    create it."""

    name: str
    metric: metrics.MetricSpec
    rule: metrics.AlarmRule

    def dimensions(self) -> dict[str, str]:
        return {"service": metrics.SERVICE, **dict(self.rule.series)}


@dataclass(frozen=True)
class Description:
    tables: tuple[TableSpec, ...]
    idempotency_table: TableSpec
    buckets: tuple[BucketSpec, ...]
    queues: tuple[QueueSpec, ...]
    stream_consumers: tuple[StreamConsumerSpec, ...]
    state_machines: tuple[StateMachineSpec, ...]
    log_retention_days: int
    functions: tuple[FunctionSpec, ...]
    metric_alarms: tuple[MetricAlarmSpec, ...] = ()

    def table(self, logical: str) -> TableSpec:
        return next(t for t in self.all_tables() if t.logical == logical)

    def bucket(self, logical: str) -> BucketSpec:
        return next(b for b in self.buckets if b.logical == logical)

    def all_tables(self) -> tuple[TableSpec, ...]:
        return (*self.tables, self.idempotency_table)


def functions() -> tuple[FunctionSpec, ...]:
    """Every function of the app with what it touches: as declared where it is registered, and for
    each table with TTL reactions, its stream consumer with what those reactions declare.

    Event sources are wired here, not by Chalice decorators, so handlers need no resource names at
    import time."""
    import app  # noqa: F401  (registers every function and its declaration)
    from chalicelib.events.expiry import stream_consumer_name
    from chalicelib.events.reactions import TTL_REACTIONS
    from chalicelib.events.streams import consumer_uses
    from chalicelib.grants import DECLARED

    declared = tuple(FunctionSpec(name=name, uses=uses) for name, uses in sorted(DECLARED.items()))
    tables = sorted({reaction.table for reaction in TTL_REACTIONS})
    consumers = tuple(
        FunctionSpec(name=stream_consumer_name(table), uses=consumer_uses(table), stream=table) for table in tables
    )
    return declared + consumers


def _queue_consumer(specs: tuple[FunctionSpec, ...], queue: str) -> str:
    (consumer,) = (f.name for f in specs if queue in f.uses.consume_queues)
    return consumer


def _table_spec(settings: Settings, profile: Profile, logical: str, streamed: set[str]) -> TableSpec:
    """Keys, indexes and attribute types merged from every model stored in the table."""
    attribute_types: dict[str, str] = {"pk": "S", "sk": "S"}
    indexes: dict[str, IndexSpec] = {}
    # The base Record's owner index is on every table, even one whose models are yet to come.
    for cls in (Record, *(c for c in record_classes() if c.logical_table == logical)):
        schema = cls._get_schema()
        for definition in schema["attribute_definitions"]:
            attribute_types[definition["AttributeName"]] = definition["AttributeType"]
        for index in schema["global_secondary_indexes"]:
            keys = {k["KeyType"]: k["AttributeName"] for k in index["key_schema"]}
            spec = IndexSpec(name=index["index_name"], hash_key=keys["HASH"], range_key=keys.get("RANGE"))
            if indexes.setdefault(spec.name, spec) != spec:
                raise ValueError(f"index {spec.name} on table {logical} is declared two different ways")
    traits = layout.TABLES[logical]
    return TableSpec(
        logical=logical,
        name=settings.table_name(logical),
        hash_key="pk",
        range_key="sk",
        attribute_types=attribute_types,
        indexes=tuple(sorted(indexes.values(), key=lambda i: i.name)),
        ttl_attribute=layout.TTL_ATTRIBUTE,
        stream=logical in streamed,
        point_in_time_recovery=traits.point_in_time_recovery,
        recovery_days=profile.backups.days if traits.point_in_time_recovery else None,
    )


def _idempotency_table(settings: Settings) -> TableSpec:
    # Powertools' DynamoDBPersistenceLayer defaults: key "id", TTL attribute "expiration".
    return TableSpec(
        logical=layout.IDEMPOTENCY_TABLE,
        name=settings.table_name(layout.IDEMPOTENCY_TABLE),
        hash_key="id",
        range_key=None,
        attribute_types={"id": "S"},
        indexes=(),
        ttl_attribute=layout.IDEMPOTENCY_TTL_ATTRIBUTE,
        stream=False,
        point_in_time_recovery=False,
    )


def _buckets(settings: Settings, profile: Profile) -> tuple[BucketSpec, ...]:
    rules: dict[str, list[LifecycleRuleSpec]] = {layout.CONTENT_BUCKET: [], layout.EXPORTS_BUCKET: []}
    for bucket, category, prefix, days in layout.lifecycle_rules(profile):
        rules[bucket].append(
            LifecycleRuleSpec(id=f"expire-{category.value}", prefix=prefix, days=days, category=category)
        )
    uploads_prefix = layout.OBJECT_PREFIXES[Category.UPLOADS][1]
    return (
        BucketSpec(
            logical=layout.CONTENT_BUCKET,
            name=settings.bucket_name(layout.CONTENT_BUCKET),
            lifecycle_rules=tuple(rules[layout.CONTENT_BUCKET]),
            notifications=((uploads_prefix, layout.UPLOAD_NOTIFICATION_EVENT, layout.UPLOADS_QUEUE),),
            cors_origins=browser_origins(settings),
        ),
        BucketSpec(
            logical=layout.EXPORTS_BUCKET,
            name=settings.bucket_name(layout.EXPORTS_BUCKET),
            lifecycle_rules=tuple(rules[layout.EXPORTS_BUCKET]),
        ),
    )


def browser_origins(settings: Settings) -> tuple[str, ...]:
    """Where the web app runs: its own origin (CORS setting) and the API's, which serves it locally.
    Browsers send presigned upload forms there and load images from there."""
    from urllib.parse import urlsplit

    origins = []
    for url in (settings.cors_origin, settings.public_base_url):
        parts = urlsplit(url or "")
        if parts.scheme and parts.netloc and f"{parts.scheme}://{parts.netloc}" not in origins:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)


def with_app_origin(description: Description, origin: str) -> Description:
    """The description with the web app's `origin` first among the content bucket's CORS origins
    (the stack learns it only when it creates the app's distribution; it may be a CDK token)."""
    buckets = tuple(
        replace(b, cors_origins=(origin, *(o for o in b.cors_origins if o != origin)))
        if b.logical == layout.CONTENT_BUCKET
        else b
        for b in description.buckets
    )
    return replace(description, buckets=buckets)


def _state_machines(settings: Settings) -> tuple[StateMachineSpec, ...]:
    return tuple(
        StateMachineSpec(
            logical=path.name.removesuffix(".asl.json"),
            name=f"{settings.resource_prefix}-{path.name.removesuffix('.asl.json')}",
            asl_file=path,
        )
        for path in sorted(ASL_DIR.glob("*.asl.json"))
    )


def _metric_alarms(settings: Settings) -> tuple[MetricAlarmSpec, ...]:
    return tuple(
        MetricAlarmSpec(name=f"{settings.resource_prefix}-{rule.name}", metric=metric.value, rule=rule)
        for metric in metrics.Metric
        for rule in metric.value.alarms
    )


def operators_group(settings: Settings) -> str:
    """The IAM group whose members may call the operator routes and actions (OPS-6)."""
    return f"{settings.resource_prefix}-operators"


def describe(settings: Settings, profile: Profile) -> Description:
    every_function = functions()
    streamed = {f.stream for f in every_function if f.stream}
    return Description(
        tables=tuple(_table_spec(settings, profile, logical, streamed) for logical in layout.TABLES),
        idempotency_table=_idempotency_table(settings),
        buckets=_buckets(settings, profile),
        queues=(
            QueueSpec(
                logical=layout.UPLOADS_QUEUE,
                name=settings.queue_name(layout.UPLOADS_QUEUE),
                consumer=_queue_consumer(every_function, layout.UPLOADS_QUEUE),
            ),
        ),
        stream_consumers=tuple(StreamConsumerSpec(table=f.stream, consumer=f.name) for f in every_function if f.stream),
        state_machines=_state_machines(settings),
        log_retention_days=log_retention_days(profile),
        functions=every_function,
        metric_alarms=_metric_alarms(settings),
    )
