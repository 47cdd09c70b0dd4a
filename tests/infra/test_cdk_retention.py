"""Retention in the template equals the profile's: S3 lifecycle days per object category and the TTL
attribute of every table (CNT-2, CNT-5, CNT-6, GEN-2, PAY-3 backstops)."""

from __future__ import annotations

import inspect

import pytest

from chalicelib.profile.loader import available_profiles, load_profile
from chalicelib.profile.schema import Category
from chalicelib.retention import lifecycle_days
from chalicelib.store import layout
from tests.infra.conftest import description_for

SYNTHESIZED_PROFILES = [p for p in ("kaleipix", "pictomancer") if p in available_profiles()]


def _lifecycle_by_prefix(template, bucket_name: str) -> dict[str, dict]:
    _, bucket = template.named("AWS::S3::Bucket", "BucketName", bucket_name)
    rules = bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    expiring = [rule for rule in rules if "ExpirationInDays" in rule]
    by_prefix = {rule["Prefix"]: rule for rule in expiring}
    assert len(by_prefix) == len(expiring), "two expiration rules share a prefix"
    return by_prefix


@pytest.mark.parametrize("profile", SYNTHESIZED_PROFILES)
def test_dsr12_every_expiration_rule_filters_on_the_running_clock_tag(synthesized, profile):
    """DSR-12: a rule on the prefix alone would expire a held person's objects; each expiration rule
    names the prefix AND `pixelkeep-clock=running`, the tag a legal hold replaces."""
    template = synthesized(profile)
    for bucket in description_for(profile).buckets:
        for prefix, rule in _lifecycle_by_prefix(template, bucket.name).items():
            assert rule["TagFilters"] == [{"Key": "pixelkeep-clock", "Value": "running"}], prefix


@pytest.mark.parametrize("profile", SYNTHESIZED_PROFILES)
def test_lifecycle_days_equal_the_profiles_retention(synthesized, profile):
    """Every object category's prefix expires after exactly the profile's days, or never when the
    profile keeps it until the user deletes it (then no rule may delete it early)."""
    template = synthesized(profile)
    loaded = load_profile(profile)
    description = description_for(profile)
    for category, (bucket_logical, prefix) in layout.OBJECT_PREFIXES.items():
        rules = _lifecycle_by_prefix(template, description.bucket(bucket_logical).name)
        expected = lifecycle_days(loaded, category)
        if expected is None:
            assert prefix not in rules, f"{profile}: {category} has a lifecycle rule but no time limit"
        else:
            assert rules[prefix]["ExpirationInDays"] == expected, f"{profile}: {category}"
            assert rules[prefix]["Status"] == "Enabled"


def test_cnt2_pictomancer_uploads_expire_within_a_day(synthesized):
    """CNT-2 (Pictomancer): uploaded images are deleted within 24 h; the lifecycle backstop says 1 day."""
    if "pictomancer" not in available_profiles():
        pytest.skip("pictomancer profile not present")
    template = synthesized("pictomancer")
    bucket_logical, prefix = layout.OBJECT_PREFIXES[Category.UPLOADS]
    rules = _lifecycle_by_prefix(template, description_for("pictomancer").bucket(bucket_logical).name)
    assert rules[prefix]["ExpirationInDays"] == 1


def test_lifecycle_rules_abort_abandoned_uploads(template):
    """S3 takes no tag filter on the multipart abort, so each prefix has a rule of its own for it."""
    for name, bucket in template.of_type("AWS::S3::Bucket").items():
        rules = bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        aborting = {r["Prefix"] for r in rules if "AbortIncompleteMultipartUpload" in r and "TagFilters" not in r}
        assert aborting == {r["Prefix"] for r in rules if "ExpirationInDays" in r}, name
        for rule in rules:
            if "AbortIncompleteMultipartUpload" in rule:
                assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1, name


@pytest.mark.parametrize("profile", available_profiles())
def test_lifecycle_conversion_matches_profile_for_every_profile(profile):
    """The description -> CDK lifecycle conversion, without a synth, for all shipped profiles."""
    from infra.cdk.storage import lifecycle_rules

    loaded = load_profile(profile)
    for bucket in description_for(profile).buckets:
        converted = {r.prefix: r.expiration.to_days() for r in lifecycle_rules(bucket) if r.expiration is not None}
        expected = {
            prefix: lifecycle_days(loaded, category)
            for category, (bucket_logical, prefix) in layout.OBJECT_PREFIXES.items()
            if bucket_logical == bucket.logical and lifecycle_days(loaded, category) is not None
        }
        assert converted == expected


def _ttl_attribute_of(model_class) -> str:
    from pynamodb.attributes import TTLAttribute

    names = [name for name, attr in model_class.get_attributes().items() if isinstance(attr, TTLAttribute)]
    assert len(names) == 1
    return names[0]


@pytest.mark.parametrize("profile", SYNTHESIZED_PROFILES)
def test_every_table_has_ttl_on_the_attribute_the_store_stamps(synthesized, profile):
    """DynamoDB deletes what the store stamps: the records' TTLAttribute, and Powertools' own
    `expiration` on the idempotency table."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from chalicelib.store.base import Record, record_classes

    template = synthesized(profile)
    description = description_for(profile)
    stamped = {_ttl_attribute_of(Record)} | {_ttl_attribute_of(cls) for cls in record_classes()}
    assert len(stamped) == 1
    (record_ttl,) = stamped
    expected = {table.name: record_ttl for table in description.tables}
    expected[description.idempotency_table.name] = (
        inspect.signature(DynamoDBPersistenceLayer.__init__).parameters["expiry_attr"].default
    )
    tables = template.of_type("AWS::DynamoDB::Table")
    assert {t["Properties"]["TableName"] for t in tables.values()} == set(expected)
    for table in tables.values():
        ttl = table["Properties"]["TimeToLiveSpecification"]
        assert ttl == {"AttributeName": expected[table["Properties"]["TableName"]], "Enabled": True}


@pytest.mark.parametrize("profile", SYNTHESIZED_PROFILES)
def test_dsr13_point_in_time_recovery_keeps_the_profiles_backup_period(synthesized, profile):
    """The page states the backup period (DSR-13); the tables keep exactly that, no longer."""
    template = synthesized(profile)
    description = description_for(profile)
    days = load_profile(profile).backups.days
    for table in description.tables:
        _, resource = template.named("AWS::DynamoDB::Table", "TableName", table.name)
        recovery = resource["Properties"]["PointInTimeRecoverySpecification"]
        assert recovery == {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": days}, table.name
