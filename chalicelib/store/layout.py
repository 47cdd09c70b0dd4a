"""Where each kind of data lives: tables, buckets and prefixes, queues, streams.

This is the storage layout the code relies on. `infra/description.py` combines it with the models
and the active profile into the one resource description that both the CDK stack and the local
cloud provision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.profile.schema import Category, Profile
from chalicelib.retention import lifecycle_days

if TYPE_CHECKING:
    from chalicelib.domain.ports.drift import ExpectedConfiguration
    from chalicelib.settings import Settings


@dataclass(frozen=True)
class TableTraits:
    # A table's stream is not a trait: a table has one when a TTL reaction is registered for one of
    # its record classes (chalicelib/events/reactions.py).
    point_in_time_recovery: bool = True


TABLES: dict[str, TableTraits] = {
    "accounts": TableTraits(),
    "content": TableTraits(),
    "ledger": TableTraits(),
    "logs": TableTraits(),
    "requests": TableTraits(),
}

IDEMPOTENCY_TABLE = "idempotency"
TTL_ATTRIBUTE = "expires_at"  # every record's (store/base.py)
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"  # Powertools' DynamoDBPersistenceLayer default

CONTENT_BUCKET = "content"
EXPORTS_BUCKET = "exports"

# Each category stored as objects gets its own prefix, so each gets its own lifecycle rule.
OBJECT_PREFIXES: dict[Category, tuple[str, str]] = {
    Category.UPLOADS: (CONTENT_BUCKET, "uploads/"),
    Category.GENERATED_IMAGES: (CONTENT_BUCKET, "generated/"),
    Category.TRAINING_IMAGES: (CONTENT_BUCKET, "training/"),
    Category.RENDER_INPUTS: (CONTENT_BUCKET, "render-inputs/"),
    Category.EXPORTS: (EXPORTS_BUCKET, "exports/"),
}


# DSR-12: S3 lifecycle filters can only include (prefix AND tags). Every object a rule should expire
# is written with the clock tag "running"; a legal hold retags the person's objects "held", so the
# rule no longer matches them, and release retags them "running" (age counts from creation).
CLOCK_TAG = "pixelkeep-clock"
CLOCK_RUNNING = "running"
CLOCK_HELD = "held"


# The tag every lifecycle rule's filter requires besides its prefix.
LIFECYCLE_TAG = (CLOCK_TAG, CLOCK_RUNNING)


def clock_tagging(*, held: bool = False) -> str:
    """The clock tag as S3's `Tagging` parameter and presigned POST `tagging` field take it (query form)."""
    return f"{CLOCK_TAG}={CLOCK_HELD if held else CLOCK_RUNNING}"


def clock_tagging_xml(*, held: bool = False) -> str:
    """The clock tag as a presigned POST's `tagging` form field takes it (S3's Tagging XML)."""
    value = CLOCK_HELD if held else CLOCK_RUNNING
    return f"<Tagging><TagSet><Tag><Key>{CLOCK_TAG}</Key><Value>{value}</Value></Tag></TagSet></Tagging>"


def owner_of_key(key: str) -> str | None:
    """The person whose per-user prefix holds `key` (CNT-1), if it is under one."""
    for _, prefix in OBJECT_PREFIXES.values():
        if key.startswith(prefix):
            return key[len(prefix) :].split("/", 1)[0] or None
    return None


def lifecycle_rules(profile: Profile) -> list[tuple[str, Category, str, int]]:
    """(bucket, category, prefix, days) of each object category whose retention runs a clock."""
    rules = []
    for category, (bucket, prefix) in OBJECT_PREFIXES.items():
        days = lifecycle_days(profile, category)
        if days is not None:
            rules.append((bucket, category, prefix, days))
    return rules


UPLOADS_QUEUE = "uploads"
# Browsers write uploads only by presigned POST; the processor writes the re-encoded image back with
# PutObject, which must not notify it again (CNT-7). Every POST, replays included, is checked (SEC-7).
UPLOAD_NOTIFICATION_EVENT = "s3:ObjectCreated:Post"


def object_key(category: Category, user_id: str, object_id: str) -> tuple[str, str]:
    """(bucket logical name, key) for an object of `category` owned by `user_id` (CNT-1)."""
    bucket, prefix = OBJECT_PREFIXES[category]
    return bucket, f"{prefix}{user_id}/{object_id}"


def expected_configuration(settings: Settings, profile: Profile) -> ExpectedConfiguration:
    """What the profile requires of the deployment (OPS-8's drift check), from the same functions the
    resource description uses, so the check and the stack cannot disagree about the profile."""
    from chalicelib.domain.ports.drift import ExpectedBucket, ExpectedConfiguration, ExpectedRule, ExpectedTable
    from chalicelib.retention import log_retention_days

    tables = [
        ExpectedTable(
            name=settings.table_name(logical),
            ttl_attribute=TTL_ATTRIBUTE,
            recovery_days=profile.backups.days if traits.point_in_time_recovery else None,
        )
        for logical, traits in TABLES.items()
    ]
    idempotency = settings.table_name(IDEMPOTENCY_TABLE)
    tables.append(ExpectedTable(idempotency, IDEMPOTENCY_TTL_ATTRIBUTE, None, holds_records=False))
    rules: dict[str, list[ExpectedRule]] = {CONTENT_BUCKET: [], EXPORTS_BUCKET: []}
    for bucket, category, prefix, days in lifecycle_rules(profile):
        rules[bucket].append(ExpectedRule(prefix, days, category, LIFECYCLE_TAG))
    prefix = settings.resource_prefix
    return ExpectedConfiguration(
        tables=tuple(tables),
        buckets=tuple(ExpectedBucket(settings.bucket_name(name), tuple(found)) for name, found in rules.items()),
        # the functions' (the stack is named after the prefix), the workflows' and the API's access log
        log_group_prefixes=(
            f"/aws/lambda/{prefix}-",
            f"/aws/vendedlogs/states/{prefix}-",
            f"/aws/apigateway/{prefix}/",
        ),
        log_retention_days=log_retention_days(profile),
    )
