"""The gallery and share links on the in-memory ports (CNT-1, CNT-3, CNT-4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock, errors
from chalicelib.domain import shares
from chalicelib.domain.generations import GenerationParams
from chalicelib.profile.schema import Category
from tests.domain.content_kit import kit, png


def generated(k, user_id: str = "u1", count: int = 1) -> list[str]:
    ids = []
    for n in range(count):
        k.holds.grant(user_id, 1, f"grant-{user_id}-{n}", "test")
        job = k.service.submit(
            user_id, GenerationParams(prompt="a cat", model="flux-schnell"), restricted=False, objections=frozenset()
        )
        k.service.provider_delivery("fal", *k.provider.callback(job["id"], image=png()))
        ids.append(job["id"])
    return ids


def test_cnt3_the_gallery_lists_ones_own_images_newest_first_by_pages(monkeypatch):
    k = kit()
    start, ticks = clock.now(), iter(range(1_000_000))
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(milliseconds=next(ticks)))  # ids sort by time
    ids = generated(k, count=3)
    generated(k, "u2")
    first = k.service.list_images("u1", limit=2, cursor=None)
    rest = k.service.list_images("u1", limit=2, cursor=first["next_cursor"])
    assert [item["id"] for item in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None
    assert first["items"][0]["url"].startswith("https://content.objects.test/generated/u1/")


def test_cnt1_another_users_image_is_not_found():
    k = kit()
    [gen_id] = generated(k)
    for call in (k.service.get_image, k.service.delete_image, k.service.list_shares):
        with pytest.raises(errors.NotFound):
            call("u2", gen_id)
    with pytest.raises(errors.NotFound):
        k.service.create_share("u2", gen_id, None)


def test_cnt3_a_deleted_image_takes_its_object_links_and_job_along():
    k = kit()
    [gen_id] = generated(k)
    link = k.service.create_share("u1", gen_id, None)
    k.service.delete_image("u1", gen_id)
    assert k.objects.keys() == []
    assert k.records.share(link["id"]) is None
    assert k.records.job(gen_id) is None
    with pytest.raises(errors.NotFound):
        k.service.open_share(link["id"])


def test_cnt3_an_expired_image_record_takes_its_object_along():
    k = kit()
    [gen_id] = generated(k)
    k.service.image_expired("u1", gen_id)
    assert k.objects.keys() == []


def test_cnt4_a_link_serves_the_image_itself_until_revoked():
    k = kit()
    [gen_id] = generated(k)
    link = k.service.create_share("u1", gen_id, None)
    assert link["url"] == f"https://api.test/s/{link['id']}"
    assert [item["id"] for item in k.service.list_shares("u1", gen_id)["items"]] == [link["id"]]
    opened = k.service.open_share(link["id"])
    bucket, key = k.objects.location(Category.GENERATED_IMAGES, "u1", gen_id)
    assert (opened.data, opened.content_type) == (k.objects.read(bucket, key, max_bytes=1 << 20).data, "image/png")
    with pytest.raises(errors.NotFound):
        k.service.revoke_share("u2", link["id"])
    k.service.revoke_share("u1", link["id"])
    with pytest.raises(errors.NotFound):
        k.service.open_share(link["id"])


def test_cnt4_a_link_expires_when_its_owner_chose(monkeypatch):
    k = kit()
    [gen_id] = generated(k)
    link = k.service.create_share("u1", gen_id, 1)
    later = clock.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(errors.NotFound):
        k.service.open_share(link["id"])
    with pytest.raises(errors.InvalidInput):
        k.service.create_share("u1", gen_id, shares.MAX_EXPIRY_HOURS + 1)


def test_cnt4_an_image_too_large_for_a_response_is_refused_by_link():
    k = kit()
    [gen_id] = generated(k)
    link = k.service.create_share("u1", gen_id, None)
    bucket, key = k.objects.location(Category.GENERATED_IMAGES, "u1", gen_id)
    k.objects.put(bucket, key, b"\0" * (shares.SHARED_IMAGE_MAX_BYTES + 1), content_type="image/png")
    with pytest.raises(errors.PayloadTooLarge):
        k.service.open_share(link["id"])
    with pytest.raises(errors.NotFound):
        k.service.open_share("")


def test_ops9_cnt2_a_result_kept_until_delivered_is_deleted_as_it_is_delivered():
    """OPS-9 (Pictomancer): the result's explicit deletion on delivery is what keeps "within 24 h"."""
    k = kit("pictomancer")
    [gen_id] = generated(k)
    view = k.service.get_image("u1", gen_id)
    assert "url" not in view, "a presigned URL would deliver the result without deleting it"
    assert view["result"] == f"/gallery/{gen_id}/result"
    image = k.service.collect_result("u1", gen_id)
    assert image.data.startswith(b"\x89PNG")
    assert k.objects.keys() == []
    assert k.records.image("u1", gen_id) is None
    assert k.records.job(gen_id) is None
    with pytest.raises(errors.NotFound):
        k.service.collect_result("u1", gen_id)


def test_cnt3_a_result_kept_until_the_user_deletes_it_stays_after_delivery():
    k = kit("kaleipix")
    [gen_id] = generated(k)
    assert k.service.collect_result("u1", gen_id).data.startswith(b"\x89PNG")
    assert k.records.image("u1", gen_id) is not None
    assert "url" in k.service.get_image("u1", gen_id)
    with pytest.raises(errors.NotFound):
        k.service.collect_result("u2", gen_id)
