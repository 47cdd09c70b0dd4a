"""GEN-4 on moto with the embedded provider and the real C2PA signer: every profile's output,
stored or delivered, reads back as a validating AI-generated marking with no personal data."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.profile.schema import Category
from tests.conftest import PROFILES
from tests.functional import content_world
from tests.functional.generation_helpers import fund, run_provider, submit
from tests.support.content import object_keys, stored_object
from tests.support.marking import assert_marked_ai_generated

world = content_world.world  # the fixture


@pytest.mark.parametrize("profile_name", PROFILES)
def test_gen4_every_profiles_text_to_image_result_is_marked(world, aws, profile_name):
    user_id = "user-4f1c9a"
    fund(user_id, 1)
    job = submit(user_id, prompt="a lighthouse at dusk")
    assert run_provider(world) == [{"status": "completed", "changed": True}]
    if wiring.profile().stores(Category.GENERATED_IMAGES):
        [key] = object_keys(aws, "generated/")
        data = stored_object(aws, key)["body"]
        content_type = stored_object(aws, key)["content_type"]
    else:
        assert object_keys(aws, "generated/") == []
        media = wiring.content_service().delivered_result(user_id, job["id"])
        data, content_type = media.data, media.content_type
        assert object_keys(aws, "") == []  # delivered marked, nothing kept (CNT-3)
    assert_marked_ai_generated(
        data, content_type, model="flux-schnell", provider="fal.ai", absent=(user_id, "lighthouse")
    )
