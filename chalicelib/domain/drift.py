"""Drift (OPS-8): every difference between what the profile requires of the deployment and what
is deployed: TTL settings, lifecycle rules, log retention, point-in-time recovery, encryption, and
the TTLs of a sample of stored items.

A difference means a promise on the policy page is no longer kept by a mechanism, so the check is
an operator action (console, CLI) and `make drift` against the local cloud."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.domain.ports.drift import (
    AuditTrail,
    DeployedConfiguration,
    ExpectedBucket,
    ExpectedConfiguration,
    ExpectedTable,
    SampledItem,
)
from chalicelib.profile.schema import Profile

SAMPLE_PER_TABLE = 100
# A TTL is stamped from the item's own event time, which is never in the future: an item may expire
# at most its retention from now; a day of slack for clocks and the day-rounding of TTLs.
TTL_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Difference:
    resource: str
    setting: str
    expected: str
    deployed: str


def differences(
    expected: ExpectedConfiguration, deployed: DeployedConfiguration, profile: Profile, now: datetime
) -> list[Difference]:
    found: list[Difference] = []
    for table in expected.tables:
        found += _table(table, deployed)
    for bucket in expected.buckets:
        found += _bucket(bucket, deployed)
    for prefix in expected.log_group_prefixes:
        for name, days in sorted(deployed.log_groups(prefix).items()):
            if days != expected.log_retention_days:
                found.append(Difference(name, "retention_days", str(expected.log_retention_days), _days(days)))
    for table in expected.tables:
        if table.holds_records and deployed.table(table.name).exists:
            found += _sampled(deployed.sample_items(table.name, SAMPLE_PER_TABLE), profile, now)
    return found


def _table(expected: ExpectedTable, deployed: DeployedConfiguration) -> Iterator[Difference]:
    actual = deployed.table(expected.name)
    if not actual.exists:
        yield Difference(expected.name, "table", "exists", "missing")
        return
    if actual.ttl_attribute != expected.ttl_attribute:
        yield Difference(expected.name, "ttl_attribute", expected.ttl_attribute, actual.ttl_attribute or "disabled")
    if expected.recovery_days is not None:
        if not actual.recovery_enabled:
            yield Difference(expected.name, "point_in_time_recovery", "enabled", "disabled")
        elif actual.recovery_days is not None and actual.recovery_days != expected.recovery_days:
            yield Difference(expected.name, "recovery_days", str(expected.recovery_days), str(actual.recovery_days))
    if not actual.encrypted:
        yield Difference(expected.name, "encryption", "enabled", "disabled")


def _bucket(expected: ExpectedBucket, deployed: DeployedConfiguration) -> Iterator[Difference]:
    actual = deployed.bucket(expected.name)
    if not actual.exists:
        yield Difference(expected.name, "bucket", "exists", "missing")
        return
    rules = actual.expiration_days or {}
    tags = actual.tag_filters or {}
    for rule in expected.rules:
        days = rules.get(rule.prefix)
        setting = f"lifecycle {rule.prefix} ({rule.category.value})"
        if days != rule.days:
            yield Difference(expected.name, setting, f"{rule.days} days", _days(days, missing="no rule"))
        elif rule.tag is not None and tags.get(rule.prefix, ()) != (rule.tag,):
            # DSR-12: a rule without the clock tag filter would expire a held person's objects
            found = ", ".join(f"{k}={v}" for k, v in tags.get(rule.prefix, ())) or "no tag filter"
            yield Difference(expected.name, f"{setting} tag filter", f"{rule.tag[0]}={rule.tag[1]}", found)
    if not actual.encrypted:
        yield Difference(expected.name, "encryption", "enabled", "disabled")


def _sampled(items: list[SampledItem], profile: Profile, now: datetime) -> Iterator[Difference]:
    """Each kind whose category runs a clock: an item without a TTL, or one set past what the
    profile allows, is reported once per kind with how many of the sample it is."""
    late: dict[tuple[str, str], list[SampledItem]] = {}
    limits: dict[tuple[str, str], int] = {}
    for item in items:
        if item.held or item.category is None or not profile.stores(item.category):
            continue
        retention = profile.category(item.category).retention
        if not retention.time_limited:
            continue
        key = (item.table, item.kind)
        limits[key] = retention.days
        latest = now + timedelta(days=retention.days) + TTL_SLACK
        if item.expires_at is None or item.expires_at > latest:
            late.setdefault(key, []).append(item)
    for (table, kind), wrong in sorted(late.items()):
        missing = sum(1 for item in wrong if item.expires_at is None)
        found = f"{len(wrong)} sampled item(s): {missing} without a TTL, {len(wrong) - missing} later than allowed"
        yield Difference(f"{table} {kind}", "item_ttl", f"at most {limits[(table, kind)]} days ahead", found)


def _days(days: int | None, missing: str = "never expires") -> str:
    return missing if days is None else f"{days} days" if missing == "no rule" else str(days)


class DriftCheck:
    """The operator action: compare, audit that it ran, answer the differences."""

    def __init__(
        self, expected: ExpectedConfiguration, deployed: DeployedConfiguration, profile: Profile, audit: AuditTrail
    ) -> None:
        self._expected, self._deployed, self._profile, self._audit = expected, deployed, profile, audit

    def report(self, operator: str) -> dict:
        now = clock.now()
        found = differences(self._expected, self._deployed, self._profile, now)
        self._audit.audit(operator, "drift_check", now, None, {"differences": len(found)})
        return {
            "profile": self._profile.id,
            "checked_at": now.isoformat(),
            "in_step": not found,
            "differences": [asdict(d) for d in found],
        }
