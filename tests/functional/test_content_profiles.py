"""Every profile's content promises, checked against the profile that states them (CNT-2, CNT-3,
GEN-1, GEN-2): what is stored, for how long, and which provider may receive prompts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import errors, wiring
from chalicelib.profile.schema import Category, RetentionKind
from chalicelib.store.models.content import GalleryImage, GenerationLog
from tests.conftest import PROFILES
from tests.functional import content_world
from tests.functional.generation_helpers import fund, run_provider, status, submit
from tests.support.content import object_keys, uploaded

world = content_world.world  # the fixture
pytestmark = pytest.mark.parametrize("profile_name", PROFILES)


def _expected_ttl(category: Category) -> timedelta | None:
    retention = wiring.profile().category(category).retention
    return timedelta(days=retention.days) if retention.time_limited else None


def _ttl(record) -> timedelta | None:
    return None if record.expires_at is None else record.expires_at - record.created_at.replace(microsecond=0)


def test_cnt2_upload_retention_is_the_profiles(aws, profile_name):
    upload = uploaded(aws, "u1")
    assert upload["outcomes"] == ["ready"]
    record = wiring.content().upload("u1", upload["id"])
    expected = _expected_ttl(Category.UPLOADS)
    assert _ttl(record) == expected
    if wiring.profile().category(Category.UPLOADS).retention.kind == RetentionKind.UNTIL_USER_DELETES:
        assert expected is None
    else:
        assert expected <= timedelta(days=1)  # "deleted within 24 h" / "when processing completes"


def test_cnt3_generated_images_are_stored_only_where_the_profile_keeps_them(world, aws, profile_name):
    fund("u1", 1)
    job = submit("u1")
    run_provider(world)
    view = status("u1", job["id"])
    assert view["status"] == "completed"
    images = list(GalleryImage.scan(GalleryImage.sk.startswith("IMG#")))
    if wiring.profile().stores(Category.GENERATED_IMAGES):
        [image] = images
        assert _ttl(image) == _expected_ttl(Category.GENERATED_IMAGES)
        assert object_keys(aws, "generated/") == [f"generated/u1/{job['id']}"]
    else:
        assert images == []
        assert object_keys(aws, "generated/") == []
        assert view["result_url"]


def test_gen2_generation_logs_follow_the_profile(world, profile_name):
    fund("u1", 1)
    submit("u1", prompt="logged?")
    logs = list(GenerationLog.query("USER#u1"))
    if wiring.profile().stores(Category.GENERATION_LOGS):
        [log] = logs
        assert log.prompt == "logged?"
        assert _ttl(log) == _expected_ttl(Category.GENERATION_LOGS)
    else:
        assert logs == []


def test_gen1_prompts_go_only_to_a_provider_the_policy_lists(world, monkeypatch, profile_name):
    fund("u1", 1)
    provider = wiring.provider()
    listed = {p.name for p in wiring.profile().model_providers}
    assert provider.title in listed
    monkeypatch.setattr(type(provider), "title", "Unlisted Cloud GPU")
    with pytest.raises(errors.UpstreamUnavailable):
        submit("u1")
    assert world.emulator.jobs == {}
    assert wiring.ledger().balance("u1") == 1
