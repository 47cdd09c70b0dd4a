"""Uploads: presigned POST conditions, the content check, per-user keys and retention by profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock, errors, wiring
from chalicelib.domain import uploads
from tests.support.content import (
    drain_upload_queue,
    image_bytes,
    object_keys,
    policy_conditions,
    post_file,
    sqs_event,
    upload_messages,
)


def start(user_id: str = "user-a", content_type: str = "image/png") -> dict:
    return uploads.start_upload(
        user_id=user_id,
        content_type=content_type,
        content=wiring.content(),
        objects=wiring.objects(),
        profile=wiring.profile(),
    )


def view(user_id: str, upload_id: str) -> dict:
    return uploads.get_upload(user_id=user_id, upload_id=upload_id, content=wiring.content(), profile=wiring.profile())


def test_sec7_presigned_post_limits_size_type_and_key(aws):
    upload = start(content_type="image/webp")
    conditions = policy_conditions(upload)
    assert ["content-length-range", 1, uploads.MAX_UPLOAD_BYTES] in conditions
    assert {"Content-Type": "image/webp"} in conditions
    assert {"key": f"uploads/user-a/{upload['id']}"} in conditions
    assert upload["upload"]["fields"]["key"] == f"uploads/user-a/{upload['id']}"


def test_sec7_undeclarable_types_are_refused_before_any_url(aws):
    with pytest.raises(errors.UnsupportedMediaType):
        start(content_type="image/svg+xml")
    assert object_keys(aws, "uploads/") == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_cnt1_accepted_image_records_format_and_dimensions(aws, fmt):
    upload = start(content_type=uploads.CONTENT_TYPES[fmt])
    assert post_file(upload, image_bytes(fmt, (12, 7))) in (200, 204)
    assert drain_upload_queue(aws) == ["ready"]
    stored = view("user-a", upload["id"])
    assert (stored["status"], stored["format"], stored["width"], stored["height"]) == ("ready", fmt, 12, 7)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"#!/bin/sh\nrm -rf /\n", uploads.NOT_AN_IMAGE),
        (image_bytes("GIF"), uploads.NOT_AN_IMAGE),
        (image_bytes("BMP"), uploads.NOT_AN_IMAGE),
        (image_bytes("PNG", (64, 64))[:60], "The image is damaged or truncated."),
    ],
    ids=["script-named-png", "gif", "bmp", "truncated-png"],
)
def test_sec7_type_is_judged_by_content_and_rejects_are_deleted(aws, payload, reason):
    upload = start(content_type="image/png")
    post_file(upload, payload, filename="innocent.png")
    assert drain_upload_queue(aws) == ["rejected"]
    stored = view("user-a", upload["id"])
    assert stored["status"] == "rejected"
    assert stored["reason"] == reason
    assert object_keys(aws, "uploads/") == []


def test_cnt1_objects_without_an_issued_upload_are_deleted(aws):
    s3 = aws.client("s3")
    bucket = wiring.get_settings().bucket_name("content")
    s3.put_object(Bucket=bucket, Key="uploads/user-a/never-issued", Body=image_bytes())
    assert drain_upload_queue(aws) == ["orphan_deleted"]
    assert object_keys(aws, "uploads/") == []


def test_cnt1_another_users_upload_is_not_found(aws):
    upload = start(user_id="owner")
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    with pytest.raises(errors.NotFound):
        view("someone-else", upload["id"])
    with pytest.raises(errors.NotFound):
        uploads.delete_upload(
            user_id="someone-else", upload_id=upload["id"], content=wiring.content(), objects=wiring.objects()
        )
    assert object_keys(aws, "uploads/owner/") == [f"uploads/owner/{upload['id']}"]


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_cnt2_kaleipix_uploads_are_kept_until_the_user_deletes_them(aws):
    upload = start()
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    assert view("user-a", upload["id"])["expires_at"] is None
    description_rules = _upload_lifecycle_days()
    assert description_rules is None
    uploads.delete_upload(user_id="user-a", upload_id=upload["id"], content=wiring.content(), objects=wiring.objects())
    assert object_keys(aws, "uploads/") == []
    with pytest.raises(errors.NotFound):
        view("user-a", upload["id"])


@pytest.mark.parametrize("profile_name", ["promptpixels"])
def test_cnt2_promptpixels_uploads_carry_a_backstop_expiry_and_lifecycle_rule(aws):
    upload = start()
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    stored = view("user-a", upload["id"])
    assert stored["retention"] == "until_processed"
    created = clock.now()
    expires = wiring.content().upload("user-a", upload["id"]).expires_at
    assert expires - created <= timedelta(days=1, minutes=1)
    assert _upload_lifecycle_days() == 1


def test_cnt2_expired_upload_record_takes_its_object_along(aws):
    upload = start()
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    record = wiring.content().upload("user-a", upload["id"])
    from chalicelib.events.content_ttl import expired_upload

    expired_upload({"sk": record.sk, "owner_id": record.owner_id, "upload_id": record.upload_id})
    assert object_keys(aws, "uploads/") == []


def test_cnt2_unused_upload_urls_leave_no_permanent_record(aws):
    upload = start()
    record = wiring.content().upload("user-a", upload["id"])
    assert record.status == "pending"
    assert record.expires_at is not None


def _upload_lifecycle_days() -> int | None:
    from infra.description import describe

    bucket = describe(wiring.get_settings(), wiring.profile()).bucket("content")
    return next((rule.days for rule in bucket.lifecycle_rules if rule.prefix == "uploads/"), None)


def _ttl_delete_event(**image: str) -> dict:
    return {
        "Records": [
            {
                "eventName": "REMOVE",
                "eventSource": "aws:dynamodb",
                "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
                "dynamodb": {"OldImage": {name: {"S": value} for name, value in image.items()}},
            }
        ]
    }


def test_cnt2_content_stream_routes_ttl_deletes_of_uploads_and_images_to_their_objects(aws):
    from chalicelib.events.streams import content_stream

    upload = start()
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    s3 = aws.client("s3")
    bucket = wiring.get_settings().bucket_name("content")
    s3.put_object(Bucket=bucket, Key="generated/user-a/g1", Body=image_bytes())
    upload_gone = _ttl_delete_event(sk=f"UPLOAD#{upload['id']}", owner_id="user-a", upload_id=upload["id"])
    image_gone = _ttl_delete_event(sk="IMG#g1", owner_id="user-a", gen_id="g1")
    assert content_stream(upload_gone, None) == {"handled": 1}
    assert content_stream(image_gone, None) == {"handled": 1}
    assert object_keys(aws, "uploads/") == []
    assert object_keys(aws, "generated/") == []


def test_sec7_a_poison_message_fails_alone_and_the_rest_of_the_batch_is_processed_once(aws):
    """report_batch_item_failures is on: only the failed message may come back, never the batch."""
    from chalicelib.events.uploads import upload_processor

    drain_upload_queue(aws)  # S3's test event, sent when the notification was configured
    first, second = start(), start()
    post_file(first, image_bytes())
    post_file(second, image_bytes())
    one, two = upload_messages(aws)
    poison = {"MessageId": "poison-1", "Body": "{not json"}
    response = upload_processor(sqs_event([one, poison, two]), None)
    assert response == {"batchItemFailures": [{"itemIdentifier": "poison-1"}]}
    assert view("user-a", first["id"])["status"] == view("user-a", second["id"])["status"] == "ready"
