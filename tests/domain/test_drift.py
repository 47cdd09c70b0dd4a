"""OPS-8 drift: the check reports every setting the deployment keeps differently from what the
profile requires, for every profile, and nothing when they agree."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.drift import DriftCheck, differences
from chalicelib.domain.ports.drift import BucketSettings, SampledItem
from chalicelib.profile.loader import load_profile
from chalicelib.profile.schema import Category
from chalicelib.settings import get_settings
from chalicelib.store.layout import expected_configuration
from tests.conftest import PROFILES
from tests.fakes.deployment import FakeDeployment

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _world(profile_name: str):
    profile = load_profile(profile_name)
    expected = expected_configuration(get_settings(), profile)
    return profile, expected, FakeDeployment.as_expected(expected)


def _timed_category(profile) -> Category:
    """A category of the profile whose retention runs a clock."""
    return next(c.id for c in profile.categories if profile.stores(c.id) and c.retention.time_limited)


@pytest.mark.parametrize("profile_name", PROFILES)
def test_ops8_a_deployment_as_the_profile_requires_has_no_drift(profile_name):
    profile, expected, deployed = _world(profile_name)
    assert differences(expected, deployed, profile, NOW) == []


@pytest.mark.parametrize("profile_name", PROFILES)
def test_ops8_each_setting_that_drifts_is_reported(profile_name):
    profile, expected, deployed = _world(profile_name)
    table, other = expected.tables[0], expected.tables[1]
    bucket = next(b for b in expected.buckets if b.rules)
    rule = bucket.rules[0]
    deployed.tables[table.name] = dataclasses.replace(deployed.tables[table.name], ttl_attribute=None)
    deployed.tables[other.name] = dataclasses.replace(deployed.tables[other.name], recovery_enabled=False)
    deployed.buckets[bucket.name] = BucketSettings(
        exists=True, expiration_days={rule.prefix: rule.days + 30}, encrypted=False
    )
    group = next(iter(deployed.groups))
    deployed.groups[group] = None  # someone set "never expire"
    found = {(d.resource, d.setting, d.deployed) for d in differences(expected, deployed, profile, NOW)}
    assert (table.name, "ttl_attribute", "disabled") in found
    assert (other.name, "point_in_time_recovery", "disabled") in found
    assert any(r == bucket.name and s.startswith(f"lifecycle {rule.prefix}") for r, s, _ in found)
    assert (bucket.name, "encryption", "disabled") in found
    assert (group, "retention_days", "never expires") in found


def test_ops8_a_missing_rule_table_or_a_changed_recovery_period_is_reported():
    profile, expected, deployed = _world("pixera")
    table = next(t for t in expected.tables if t.recovery_days is not None)
    shorter = profile.backups.days - 1
    deployed.tables[table.name] = dataclasses.replace(deployed.tables[table.name], recovery_days=shorter)
    del deployed.tables[expected.tables[-1].name]
    bucket = next(b for b in expected.buckets if b.rules)
    deployed.buckets[bucket.name] = BucketSettings(exists=True, expiration_days={}, encrypted=True)
    found = {(d.resource, d.setting, d.expected, d.deployed) for d in differences(expected, deployed, profile, NOW)}
    assert (table.name, "recovery_days", str(profile.backups.days), str(shorter)) in found
    assert (expected.tables[-1].name, "table", "exists", "missing") in found
    assert any(r == bucket.name and d == "no rule" for r, _, _, d in found)


@pytest.mark.parametrize("profile_name", PROFILES)
def test_ops8_sampled_items_without_their_clock_or_set_past_the_retention_are_reported(profile_name):
    profile, expected, deployed = _world(profile_name)
    category = _timed_category(profile)
    days = profile.category(category).retention.days
    table = expected.tables[0].name
    deployed.items[table] = [
        SampledItem("content", "Good", category, NOW + timedelta(days=days)),
        SampledItem("content", "Unstamped", category, None),
        SampledItem("content", "Late", category, NOW + timedelta(days=days + 10)),
        SampledItem("content", "Untimed", None, None),  # a record about no one: no clock to check
    ]
    found = {d.resource: d for d in differences(expected, deployed, profile, NOW) if d.setting == "item_ttl"}
    assert set(found) == {"content Unstamped", "content Late"}
    assert "1 without a TTL" in found["content Unstamped"].deployed
    assert "1 later than allowed" in found["content Late"].deployed


def test_ops8_the_check_is_audited_with_its_operator_and_answers_in_step():
    profile, expected, deployed = _world("kaleipix")
    audited = []

    class Trail:
        def audit(self, operator, action, at, target, details):
            audited.append((operator, action, target, details))

    report = DriftCheck(expected, deployed, profile, Trail()).report("arn:aws:iam::123:user/ana")
    assert report["in_step"] is True
    assert report["differences"] == []
    assert audited == [("arn:aws:iam::123:user/ana", "drift_check", None, {"differences": 0})]


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr12_a_lifecycle_rule_without_the_clock_tag_filter_is_drift(profile_name):
    """DSR-12: a rule on the prefix alone would expire a held person's objects too."""
    profile, expected, deployed = _world(profile_name)
    bucket = next(b for b in expected.buckets if b.rules)
    rule = bucket.rules[0]
    settings = deployed.buckets[bucket.name]
    deployed.buckets[bucket.name] = dataclasses.replace(settings, tag_filters={**settings.tag_filters, rule.prefix: ()})
    (found,) = differences(expected, deployed, profile, NOW)
    assert (found.resource, found.setting) == (
        bucket.name,
        f"lifecycle {rule.prefix} ({rule.category.value}) tag filter",
    )
    assert (found.expected, found.deployed) == ("pixelkeep-clock=running", "no tag filter")


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr12_a_held_item_without_its_ttl_is_not_drift(profile_name):
    """DSR-12: under a legal hold an item's expiry waits aside; the sample does not report it."""
    profile, expected, deployed = _world(profile_name)
    category = _timed_category(profile)
    deployed.items[expected.tables[0].name] = [SampledItem("content", "Held", category, None, held=True)]
    assert differences(expected, deployed, profile, NOW) == []
