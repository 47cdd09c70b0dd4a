"""What the drift check (OPS-8) compares: the settings the profile requires and what is deployed.

Both sides are plain values. The expected side is derived from the active profile by the same
functions the resource description uses; the deployed side is read through the AWS APIs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.profile.schema import Category


@dataclass(frozen=True, slots=True)
class ExpectedTable:
    name: str
    ttl_attribute: str
    recovery_days: int | None  # point-in-time recovery period; None: recovery off
    holds_records: bool = True  # the service's records, whose TTLs are sampled (not Powertools' idempotency)


@dataclass(frozen=True, slots=True)
class ExpectedRule:
    prefix: str
    days: int
    category: Category
    tag: tuple[str, str] | None = None  # DSR-12: the rule expires only objects carrying this tag


@dataclass(frozen=True, slots=True)
class ExpectedBucket:
    name: str
    rules: tuple[ExpectedRule, ...]


@dataclass(frozen=True, slots=True)
class ExpectedConfiguration:
    tables: tuple[ExpectedTable, ...]
    buckets: tuple[ExpectedBucket, ...]
    log_group_prefixes: tuple[str, ...]  # every log group under these is the deployment's
    log_retention_days: int


@dataclass(frozen=True, slots=True)
class TableSettings:
    exists: bool
    ttl_attribute: str | None = None  # None: TTL is not enabled
    recovery_enabled: bool = False
    recovery_days: int | None = None
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class BucketSettings:
    exists: bool
    expiration_days: dict[str, int] | None = None  # prefix -> days of each enabled expiration rule
    tag_filters: dict[str, tuple[tuple[str, str], ...]] | None = None  # prefix -> the tags its rule requires
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class SampledItem:
    """One stored item: its record kind, the category its kind declares, and its TTL."""

    table: str
    kind: str
    category: Category | None
    expires_at: datetime | None
    held: bool = False  # its expiry waits aside under a legal hold (DSR-12)


class DeployedConfiguration(Protocol):
    def table(self, name: str) -> TableSettings: ...
    def bucket(self, name: str) -> BucketSettings: ...
    def log_groups(self, prefix: str) -> dict[str, int | None]: ...  # name -> retention days (None: forever)
    def sample_items(self, table: str, limit: int) -> list[SampledItem]: ...


class AuditTrail(Protocol):
    def audit(self, operator: str, action: str, at: datetime, target: str | None, details: dict) -> None: ...
