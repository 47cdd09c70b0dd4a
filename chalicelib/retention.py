"""One function turns (profile, category, event time) into an expiry; everything else asks it."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.profile.schema import Category, Profile, RetentionKind


class NotStored(Exception):
    """The profile says this category is not stored at all."""


def expiry(profile: Profile, category: Category, event_time: datetime) -> datetime | None:
    """When an item of `category` written at `event_time` must be gone; None when no timer runs yet.

    Untimed kinds (until the user deletes, account lifetime, until consent is withdrawn) end by an
    action, not a clock: the action deletes the data or starts a timer of its own.
    """
    if not profile.has(category):
        raise NotStored(f"profile '{profile.id}' does not collect '{category}'")
    retention = profile.category(category).retention
    if retention.kind == RetentionKind.NOT_STORED:
        raise NotStored(f"profile '{profile.id}' does not store '{category}'")
    if retention.time_limited:
        return event_time + timedelta(days=retention.days)
    return None


def lifecycle_days(profile: Profile, category: Category) -> int | None:
    """The S3 lifecycle expiration for objects of `category` (S3 counts whole days, minimum 1)."""
    if not profile.stores(category):
        return None
    retention = profile.category(category).retention
    if retention.time_limited:
        return max(1, retention.days)
    return None


def grace_expiry(profile: Profile, deleted_at: datetime, override_days: int | None = None) -> datetime:
    """When an account deleted at `deleted_at` is erased (DSR-9: account lifetime + N days)."""
    days = profile.account_grace_days if override_days is None else override_days
    return deleted_at + timedelta(days=days)


def log_retention_days(profile: Profile) -> int:
    """How long every log group keeps its events: the profile's technical logs, else 90 days."""
    if profile.has(Category.TECHNICAL_LOGS):
        return profile.category(Category.TECHNICAL_LOGS).retention.days or 90
    return 90
