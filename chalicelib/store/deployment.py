"""The deployment as the AWS APIs describe it (OPS-8); what the profile requires of it is
`layout.expected_configuration`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.ports.drift import BucketSettings, SampledItem, TableSettings
from chalicelib.store import aws, layout


def _missing(error: Exception, *codes: str) -> bool:
    return getattr(error, "response", {}).get("Error", {}).get("Code") in codes


class DeployedAws:
    """Reads each setting through its describe call; a resource that is not there reads as missing."""

    def table(self, name: str) -> TableSettings:
        dynamodb = aws.client("dynamodb")
        try:
            described = dynamodb.describe_table(TableName=name)["Table"]
        except Exception as error:
            if _missing(error, "ResourceNotFoundException"):
                return TableSettings(exists=False)
            raise
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        recovery = backups.get("PointInTimeRecoveryDescription", {})
        return TableSettings(
            exists=True,
            ttl_attribute=ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None,
            recovery_enabled=recovery.get("PointInTimeRecoveryStatus") == "ENABLED",
            recovery_days=recovery.get("RecoveryPeriodInDays"),
            # DynamoDB encrypts every table; the stack asks for a KMS key (AWS- or customer-managed)
            encrypted=described.get("SSEDescription", {}).get("Status") in ("ENABLED", "UPDATING"),
        )

    def bucket(self, name: str) -> BucketSettings:
        s3 = aws.client("s3")
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        except Exception as error:
            if _missing(error, "NoSuchBucket"):
                return BucketSettings(exists=False)
            if not _missing(error, "NoSuchLifecycleConfiguration"):
                raise
            rules = []
        try:
            s3.get_bucket_encryption(Bucket=name)
            encrypted = True
        except Exception as error:
            if not _missing(error, "ServerSideEncryptionConfigurationNotFoundError"):
                raise
            encrypted = False
        return BucketSettings(
            exists=True, expiration_days=_expirations(rules), tag_filters=_tag_filters(rules), encrypted=encrypted
        )

    def log_groups(self, prefix: str) -> dict[str, int | None]:
        groups: dict[str, int | None] = {}
        for page in aws.client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
            for group in page["logGroups"]:
                groups[group["logGroupName"]] = group.get("retentionInDays")
        return groups

    def sample_items(self, table: str, limit: int) -> list[SampledItem]:
        """One page of a scan: enough to see a record kind written without its clock."""
        from chalicelib.settings import get_settings
        from chalicelib.store.base import record_class_of

        logical = table.removeprefix(f"{get_settings().resource_prefix}-")
        items = aws.client("dynamodb").scan(TableName=table, Limit=limit).get("Items", [])
        sampled = []
        for item in items:
            cls = record_class_of(logical, _text(item.get("pk")), _text(item.get("sk")))
            if cls is None:
                continue
            expires = item.get(layout.TTL_ATTRIBUTE, {}).get("N")
            sampled.append(
                SampledItem(
                    table=logical,
                    kind=cls.__name__,
                    category=cls.category,
                    expires_at=datetime.fromtimestamp(int(float(expires)), UTC) if expires else None,
                    held="held_expires_at" in item,  # DSR-12: its expiry waits aside under a legal hold
                )
            )
        return sampled


def _text(value: Any) -> str:
    return (value or {}).get("S", "")


def _rule_prefix(rule: dict[str, Any]) -> str:
    found = rule.get("Filter", {})
    found = found.get("And", found)
    return found.get("Prefix", rule.get("Prefix", ""))


def _rule_tags(rule: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found = rule.get("Filter", {})
    tags = found.get("And", {}).get("Tags") or ([found["Tag"]] if "Tag" in found else [])
    return tuple(sorted((tag["Key"], tag["Value"]) for tag in tags))


def _expiring(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rules if r.get("Status") == "Enabled" and r.get("Expiration", {}).get("Days") is not None]


def _expirations(rules: list[dict[str, Any]]) -> dict[str, int]:
    return {_rule_prefix(rule): rule["Expiration"]["Days"] for rule in _expiring(rules)}


def _tag_filters(rules: list[dict[str, Any]]) -> dict[str, tuple[tuple[str, str], ...]]:
    """DSR-12: the tags each expiration rule requires; none means it would expire held objects too."""
    return {_rule_prefix(rule): _rule_tags(rule) for rule in _expiring(rules)}
