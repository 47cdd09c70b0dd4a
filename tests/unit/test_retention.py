"""One function turns (profile, category, event time) into an expiry; lifecycle days and grace follow it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.profile.loader import load_profile
from chalicelib.profile.schema import Category
from chalicelib.retention import NotStored, expiry, grace_expiry, lifecycle_days

EVENT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("name", "category", "days"),
    [
        ("kaleipix", Category.GENERATION_LOGS, 365),  # fixed: GEN-2 "12 months"
        ("kaleipix", Category.ABUSE_SIGNALS, 90),  # fixed: SEC-1
        ("kaleipix", Category.PAYMENTS, 2557),  # legal: PAY-3 "7 years"
        ("pictomancer", Category.UPLOADS, 1),  # until processed, 24 h backstop: CNT-2
        ("pictomancer", Category.USAGE_LOGS, 730),  # fixed: SEC-4 "2 years"
        ("promptpixels", Category.TRAINING_IMAGES, 3),  # until processed: CNT-5
        ("pixelrender", Category.RENDER_INPUTS, 1),  # until processed: CNT-6
    ],
)
def test_time_limited_kinds_expire_days_after_the_event(name, category, days):
    assert expiry(load_profile(name), category, EVENT) == EVENT + timedelta(days=days)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("kaleipix", Category.UPLOADS),  # until the user deletes
        ("kaleipix", Category.ACCOUNT),  # account lifetime + grace: the timer starts at deletion
        ("pictomancer", Category.MARKETING),  # until consent is withdrawn
        ("promptpixels", Category.CONTACT_MESSAGES),
    ],
)
def test_untimed_kinds_carry_no_expiry(name, category):
    assert expiry(load_profile(name), category, EVENT) is None


def test_not_stored_category_refuses_an_expiry():
    """CNT-3: PromptPixels delivers generated images and keeps none."""
    with pytest.raises(NotStored):
        expiry(load_profile("promptpixels"), Category.GENERATED_IMAGES, EVENT)


def test_a_category_the_profile_does_not_list_is_not_stored():
    with pytest.raises(NotStored):
        expiry(load_profile("pixera"), Category.MARKETING, EVENT)


def test_lifecycle_days_follow_the_profile():
    assert lifecycle_days(load_profile("pictomancer"), Category.UPLOADS) == 1
    assert lifecycle_days(load_profile("kaleipix"), Category.EXPORTS) == 7
    assert lifecycle_days(load_profile("kaleipix"), Category.UPLOADS) is None  # until the user deletes
    assert lifecycle_days(load_profile("promptpixels"), Category.GENERATED_IMAGES) is None  # not stored
    assert lifecycle_days(load_profile("pixera"), Category.RENDER_INPUTS) is None  # not collected


def test_dsr9_grace_expiry_is_account_deletion_plus_the_profile_days():
    assert grace_expiry(load_profile("kaleipix"), EVENT) == EVENT + timedelta(days=30)
    assert grace_expiry(load_profile("promptpixels"), EVENT) == EVENT  # erased on request, no grace
    assert grace_expiry(load_profile("kaleipix"), EVENT, override_days=0) == EVENT
