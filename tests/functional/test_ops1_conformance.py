"""OPS-1: for every profile and every category it lists, the retention the policy page states is
what the system does: the TTL every record class of that category stamps, the lifecycle rule on
its object prefix, and the log group's retention.

Pairs come from the profile files and record classes from `record_classes()` at collection time,
so a new profile, category or model is covered without touching this file.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache

import pytest
from pynamodb.attributes import UTCDateTimeAttribute

from chalicelib.profile.loader import available_profiles, load_profile
from chalicelib.profile.schema import Category, Profile, RetentionKind
from chalicelib.retention import NotStored
from chalicelib.store.base import Record, record_classes
from chalicelib.store.layout import OBJECT_PREFIXES

EVENT = datetime(2026, 5, 17, 9, 30, tzinfo=timezone.utc)
UNTIMED_WORDING = ("Until you delete it", "Account lifetime", "Until you withdraw consent", "Not stored")


def pytest_generate_tests(metafunc):
    if "profile_and_category" in metafunc.fixturenames:
        pairs = [(name, c.id) for name in available_profiles() for c in load_profile(name).categories]
        metafunc.parametrize("profile_and_category", pairs, ids=[f"{n}-{c.value}" for n, c in pairs])
    if "unlisted" in metafunc.fixturenames:
        pairs = [(n, c) for n in available_profiles() for c in Category if not load_profile(n).has(c)]
        metafunc.parametrize("unlisted", pairs, ids=[f"{n}-{c.value}" for n, c in pairs])


@cache
def _description(profile_name: str):
    from chalicelib.settings import get_settings
    from infra.description import describe

    return describe(get_settings(), load_profile(profile_name))


def _records_of(category: Category) -> list[type[Record]]:
    return [cls for cls in record_classes() if cls.category == category]


def _stamped(cls: type[Record], profile: Profile, monkeypatch) -> datetime | None:
    """The TTL `cls` stamps for a fresh item created at EVENT under `profile` (NotStored if refused)."""
    monkeypatch.setattr(cls, "_profile", profile)
    item = cls("pk-ops1", "sk-ops1")
    for name, attribute in cls.get_attributes().items():
        if isinstance(attribute, UTCDateTimeAttribute):
            setattr(item, name, EVENT)
    item.stamp_expiry()
    # a legal hold's own records keep theirs aside while the hold is in force, restored at release (DSR-12)
    return item.expires_at or item.held_expires_at


@pytest.fixture
def stated(profile_and_category, settings_env):
    """What the served policy says about this category: the /policy.json entry and the HTML row."""
    from chalice.test import Client

    from app import app
    from chalicelib import wiring
    from tests.functional.test_policy_page import PageParts

    name, category = profile_and_category
    settings_env(PIXELKEEP_PROFILE=name)
    assert wiring.profile().id == name  # resolved before chalice.test applies its stage variables
    with Client(app) as client:
        document = client.http.get("/policy.json").json_body
        parts = PageParts()
        parts.feed(client.http.get("/policy").body.decode("utf-8"))
    entry = next(c for c in document["categories"] if c["id"] == category.value)
    (row,) = [r for r in parts.rows if len(r) == 3 and r[0] == entry["title"]]
    return entry, row[1]


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    from chalicelib import clock

    monkeypatch.setattr(clock, "now", lambda: EVENT)


def test_ops1_page_retention_matches_ttl_lifecycle_and_logs(profile_and_category, stated, monkeypatch):
    """OPS-1: the page's retention for this category is the TTL, lifecycle rule and log retention."""
    from chalicelib.profile.page import duration_text

    name, category = profile_and_category
    profile = load_profile(name)
    entry, html_row = stated
    kind, days = RetentionKind(entry["retention"]["kind"]), entry["retention"]["days"]
    assert (kind, days) == (profile.category(category).retention.kind, profile.category(category).retention.days)
    time_limited = kind in (RetentionKind.FIXED, RetentionKind.UNTIL_PROCESSED, RetentionKind.LEGAL)
    checked: list[str] = []

    if time_limited:
        assert duration_text(days) in html_row, f"the page row says {html_row!r}, the profile {days} days"
    else:
        assert html_row.startswith(UNTIMED_WORDING), f"an untimed category is worded {html_row!r}"

    # (a) every record class of this category stamps the TTL the page states
    for cls in _records_of(category):
        if kind == RetentionKind.NOT_STORED:
            with pytest.raises(NotStored):
                _stamped(cls, profile, monkeypatch)
        else:
            expires_at = _stamped(cls, profile, monkeypatch)
            if time_limited:
                assert expires_at is not None, f"{cls.__name__} stamps no TTL; the page says {days} days"
                assert expires_at - EVENT == timedelta(days=days), f"{cls.__name__}: {expires_at - EVENT}"
            else:
                assert expires_at is None, f"{cls.__name__} stamps a TTL; the page says {html_row!r}"
        checked.append(f"record {cls.__name__}")

    # (b) objects of this category expire by the lifecycle rule on their prefix, and only if timed
    if category in OBJECT_PREFIXES:
        bucket_logical, prefix = OBJECT_PREFIXES[category]
        rules = [r for r in _description(name).bucket(bucket_logical).lifecycle_rules if r.prefix == prefix]
        if time_limited:
            assert [r.days for r in rules] == [max(1, days)], f"lifecycle on {prefix}: {rules}"
        else:
            assert rules == [], f"{prefix} must not expire by a lifecycle rule: the page says {html_row!r}"
        checked.append(f"prefix {prefix}")

    # (c) the log groups keep technical logs as long as the page says
    if category == Category.TECHNICAL_LOGS:
        assert _description(name).log_retention_days == days
        checked.append("log groups")

    assert checked, f"the page lists '{category.value}' but no record, object prefix or log holds it"


def test_ops1_unlisted_categories_are_never_stored(unlisted, monkeypatch):
    """OPS-1: data of a category the page does not list cannot be written, nor kept as objects."""
    name, category = unlisted
    profile = load_profile(name)
    for cls in _records_of(category):
        with pytest.raises(NotStored):
            _stamped(cls, profile, monkeypatch)
    if category in OBJECT_PREFIXES:
        bucket_logical, prefix = OBJECT_PREFIXES[category]
        assert not [r for r in _description(name).bucket(bucket_logical).lifecycle_rules if r.prefix == prefix]
