"""Uploads: presigned POST conditions, the content check, per-user keys and retention by profile."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from chalicelib import clock, errors, wiring
from chalicelib.domain import uploads
from chalicelib.profile.schema import Category
from tests.support.content import (
    ORIENTATION,
    drain_upload_queue,
    embedded_metadata,
    image_bytes,
    object_keys,
    photo_with_location,
    policy_conditions,
    polyglot_png,
    post_file,
    sqs_event,
    stored_object,
    upload_messages,
)


def start(user_id: str = "user-a", content_type: str = "image/png") -> dict:
    return wiring.content_service().start_upload(user_id, content_type)


def view(user_id: str, upload_id: str) -> dict:
    return wiring.content_service().get_upload(user_id, upload_id)


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
    upload = start()
    wiring.content_service().delete_upload("user-a", upload["id"])
    post_file(upload, image_bytes())  # the form outlives the record it was issued with
    assert drain_upload_queue(aws) == ["orphan_deleted"]
    assert object_keys(aws, "uploads/") == []


def test_cnt7_the_processors_own_writes_do_not_notify_it(aws):
    """Only browsers' POSTs are checked; the re-encoded image written back is not a new upload."""
    from infra.description import describe

    content_bucket = describe(wiring.get_settings(), wiring.profile()).bucket("content")
    assert [(prefix, event) for prefix, event, _ in content_bucket.notifications] == [
        ("uploads/", "s3:ObjectCreated:Post")
    ]


def test_cnt1_another_users_upload_is_not_found(aws):
    upload = start(user_id="owner")
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    with pytest.raises(errors.NotFound):
        view("someone-else", upload["id"])
    with pytest.raises(errors.NotFound):
        wiring.content_service().delete_upload("someone-else", upload["id"])
    assert object_keys(aws, "uploads/owner/") == [f"uploads/owner/{upload['id']}"]


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_cnt2_kaleipix_uploads_are_kept_until_the_user_deletes_them(aws):
    upload = start()
    post_file(upload, image_bytes())
    drain_upload_queue(aws)
    assert view("user-a", upload["id"])["expires_at"] is None
    description_rules = _upload_lifecycle_days()
    assert description_rules is None
    wiring.content_service().delete_upload("user-a", upload["id"])
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

    expired_upload({"sk": f"UPLOAD#{record.upload_id}", "owner_id": record.owner_id, "upload_id": record.upload_id})
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


def _accepted(session, data: bytes, content_type: str = "image/png") -> tuple[dict, dict]:
    """Upload `data` as a browser would; returns the upload's view and the stored object."""
    upload = start(content_type=content_type)
    post_file(upload, data)
    assert drain_upload_queue(session) == ["ready"]
    return view("user-a", upload["id"]), stored_object(session, f"uploads/user-a/{upload['id']}")


def test_cnt7_location_and_camera_metadata_never_reach_the_stored_object(aws):
    record, stored = _accepted(aws, photo_with_location("JPEG"), content_type="image/jpeg")
    assert embedded_metadata(stored["body"]) == {"exif": {}, "info": {}}
    assert (record["format"], record["width"], record["height"]) == ("JPEG", 12, 7)


def test_cnt7_sec7_a_png_html_polyglot_keeps_only_its_pixels(aws):
    _, stored = _accepted(aws, polyglot_png())
    assert b"<script>" not in stored["body"]
    assert b"<html>" not in stored["body"]
    assert stored["content_type"] == "image/png"


def test_cnt7_jpeg_declared_as_png_is_stored_and_served_as_jpeg(aws):
    import requests

    record, stored = _accepted(aws, image_bytes("JPEG", (12, 7)), content_type="image/png")
    assert record["format"] == "JPEG"
    assert stored["content_type"] == "image/jpeg"
    bucket, key = wiring.objects().location(Category.UPLOADS, "user-a", record["id"])
    served = requests.get(wiring.objects().presigned_get(bucket, key, expires_in=60), timeout=10)
    assert served.headers["Content-Type"] == "image/jpeg"


def test_cnt7_exif_orientation_is_applied_and_the_record_describes_the_result(aws):
    record, stored = _accepted(aws, photo_with_location("JPEG", (12, 7), orientation=6), content_type="image/jpeg")
    assert (record["width"], record["height"]) == (7, 12)  # rotated a quarter turn, as cameras mean it
    from PIL import Image

    with Image.open(io.BytesIO(stored["body"])) as image:
        assert image.size == (7, 12)
        assert ORIENTATION not in image.getexif()


def test_sec7_cnt7_posting_the_form_again_after_the_check_is_checked_again(aws):
    """A presigned POST can be replayed until it expires: every write is re-checked."""
    upload = start()
    post_file(upload, image_bytes("PNG", (9, 9)))
    assert drain_upload_queue(aws) == ["ready"]
    post_file(upload, b"<html><script>alert(1)</script></html>", filename="again.png")
    drain_upload_queue(aws)
    assert view("user-a", upload["id"])["status"] == "rejected"
    assert object_keys(aws, "uploads/") == []


def test_cnt7_a_replaced_image_is_re_encoded_and_recorded_anew(aws):
    upload = start()
    post_file(upload, image_bytes("PNG", (9, 9)))
    drain_upload_queue(aws)
    post_file(upload, photo_with_location("JPEG", (5, 4)))
    drain_upload_queue(aws)
    record = view("user-a", upload["id"])
    assert (record["status"], record["format"], record["width"], record["height"]) == ("ready", "JPEG", 5, 4)
    stored = stored_object(aws, f"uploads/user-a/{upload['id']}")
    assert embedded_metadata(stored["body"])["exif"] == {}
    assert stored["content_type"] == "image/jpeg"


def test_cnt7_a_repeated_notification_does_not_re_encode_again(aws):
    from chalicelib.events.uploads import upload_processor

    drain_upload_queue(aws)  # S3's test event, sent when the notification was configured
    upload = start(content_type="image/jpeg")
    post_file(upload, image_bytes("JPEG", (9, 9)))
    [notification] = upload_messages(aws)
    upload_processor(sqs_event([notification]), None)
    first = stored_object(aws, f"uploads/user-a/{upload['id']}")
    upload_processor(sqs_event([notification]), None)  # SQS delivers at least once
    assert stored_object(aws, f"uploads/user-a/{upload['id']}")["body"] == first["body"]
    assert view("user-a", upload["id"])["status"] == "ready"
