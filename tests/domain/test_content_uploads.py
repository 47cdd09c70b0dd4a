"""Uploads on the in-memory ports (CNT-1, CNT-2, CNT-7, SEC-7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock, errors
from chalicelib.domain import uploads
from chalicelib.profile.schema import Category
from tests.domain.content_kit import kit, png


def started(k, user_id: str = "u1") -> tuple[dict, tuple[str, str]]:
    upload = k.service.start_upload(user_id, "image/png")
    return upload, k.objects.location(Category.UPLOADS, user_id, upload["id"])


def test_cnt2_a_started_upload_is_pending_and_expires_within_a_day():
    k = kit()
    upload, (_, key) = started(k)
    assert upload["status"] == "pending"
    assert upload["upload"]["fields"]["key"] == key
    assert upload["max_bytes"] == uploads.MAX_UPLOAD_BYTES
    expires = k.records.upload("u1", upload["id"]).expires_at
    assert expires - clock.now() <= uploads.PENDING_UPLOAD_TIME


def test_sec7_only_image_types_may_be_uploaded():
    with pytest.raises(errors.UnsupportedMediaType):
        kit().service.start_upload("u1", "image/gif")


def test_cnt7_an_accepted_image_is_stored_reencoded_without_its_metadata():
    k = kit()
    upload, (bucket, key) = started(k)
    k.objects.put(bucket, key, png(comment=b"taken at home"), content_type="image/png")
    assert k.service.process_uploaded_object(key) == "ready"
    stored = k.objects.read(bucket, key, max_bytes=1 << 20)
    assert b"taken at home" not in stored.data
    view = k.service.get_upload("u1", upload["id"])
    assert (view["status"], view["format"], view["width"], view["height"]) == ("ready", "PNG", 8, 6)
    assert k.service.process_uploaded_object(key) == "already_checked"  # our own write, notified again


def test_sec7_a_replayed_post_is_checked_again_and_a_non_image_is_deleted():
    k = kit()
    upload, (bucket, key) = started(k)
    k.objects.put(bucket, key, png(), content_type="image/png")
    k.service.process_uploaded_object(key)
    k.objects.put(bucket, key, b"<script>alert(1)</script>", content_type="image/png")
    assert k.service.process_uploaded_object(key) == "rejected"
    assert k.objects.read(bucket, key, max_bytes=100) is None
    view = k.service.get_upload("u1", upload["id"])
    assert (view["status"], view["reason"]) == ("rejected", uploads.NOT_AN_IMAGE)


def test_an_object_without_an_upload_record_is_deleted_and_other_keys_are_ignored():
    k = kit()
    bucket, key = k.objects.location(Category.UPLOADS, "u1", "never-issued")
    k.objects.put(bucket, key, png(), content_type="image/png")
    assert k.service.process_uploaded_object(key) == "orphan_deleted"
    assert k.objects.keys() == []
    assert k.service.process_uploaded_object("uploads/u1") == "ignored"
    assert k.service.process_uploaded_object("generated/u1/g1") == "ignored"


def test_cnt1_another_users_upload_is_not_found():
    k = kit()
    upload, _ = started(k)
    with pytest.raises(errors.NotFound):
        k.service.get_upload("u2", upload["id"])
    with pytest.raises(errors.NotFound):
        k.service.delete_upload("u2", upload["id"])
    assert [item["id"] for item in k.service.list_uploads("u1")["items"]] == [upload["id"]]
    assert k.service.list_uploads("u2")["items"] == []


def test_a_deleted_upload_takes_its_object_along():
    k = kit()
    upload, (bucket, key) = started(k)
    k.objects.put(bucket, key, png(), content_type="image/png")
    k.service.delete_upload("u1", upload["id"])
    assert k.objects.keys() == []
    assert k.records.upload("u1", upload["id"]) is None


def test_cnt2_an_expired_upload_record_takes_its_object_along(monkeypatch):
    k = kit()
    upload, (bucket, key) = started(k)
    k.objects.put(bucket, key, png(), content_type="image/png")
    later = clock.now() + uploads.PENDING_UPLOAD_TIME + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert k.records.upload("u1", upload["id"]) is None
    k.service.upload_expired("u1", upload["id"])
    assert k.objects.keys() == []
