"""Uploads of source images (CNT-1, CNT-2, CNT-7, SEC-7).

The browser sends the file straight to S3 with a presigned POST whose conditions S3 enforces (size
range, declared type, exact per-user key). S3 then notifies the processor, which decides by the
bytes, not by name or declared type, whether the file is a PNG, JPEG or WebP image; anything else
is deleted and the record says why. An accepted image is re-encoded from its pixels (orientation
applied, metadata and trailing bytes dropped, content type from the decoded format) and written
back over the upload before anything else reads it.

A presigned POST can be replayed until it expires, so every write of the key is checked again: the
record keeps the ETag of the object we wrote, and any other version is a new file to check.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import clock, errors
from chalicelib.domain.ports.content import CheckedImage, ContentRecords, ObjectStorage, Upload, UploadStatus
from chalicelib.observability import logger
from chalicelib.profile.schema import Category, Profile, RetentionKind

ACCEPTED_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
CONTENT_TYPES = {fmt: content_type for content_type, fmt in ACCEPTED_TYPES.items()}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
UPLOAD_URL_SECONDS = 600
PENDING_UPLOAD_TIME = timedelta(days=1)  # an upload URL never used leaves a record that expires by itself
NOT_AN_IMAGE = "The file is not a PNG, JPEG or WebP image."
TOO_LARGE = f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
REENCODE_OPTIONS: dict[str, dict] = {"PNG": {}, "JPEG": {"quality": 90}, "WEBP": {"quality": 90}}


@dataclass(frozen=True)
class ImageFacts:
    image_format: str  # PNG | JPEG | WEBP
    width: int
    height: int


def inspect_image(data: bytes) -> ImageFacts | str:
    """The image's format and size read from its content, or a reason the user can read."""
    import io

    from PIL import Image, UnidentifiedImageError

    if not data:
        return "The file is empty."
    if len(data) > MAX_UPLOAD_BYTES:
        return TOO_LARGE
    try:
        with Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES)) as image:
            facts = ImageFacts(image_format=image.format, width=image.width, height=image.height)
            if facts.width * facts.height > MAX_PIXELS:
                return f"The image has more than {MAX_PIXELS:,} pixels."
            image.verify()  # walks the data: truncated or corrupt files fail here
    except (UnidentifiedImageError, Image.DecompressionBombError):
        return NOT_AN_IMAGE
    except (OSError, SyntaxError, ValueError):
        return "The image is damaged or truncated."
    return facts


@dataclass(frozen=True)
class CleanImage:
    """An image re-encoded from its decoded pixels: nothing else of the original file survives."""

    data: bytes
    image_format: str  # PNG | JPEG | WEBP, as decoded
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.image_format]


def clean_image(data: bytes) -> CleanImage | str:
    """CNT-7, SEC-7: the image re-encoded upright in its own format with no EXIF (location, camera),
    XMP, text chunks or trailing bytes, or a reason the user can read. Only the colour profile stays,
    as it is part of how the pixels look. Animated images keep their first frame."""
    import io

    from PIL import Image, ImageOps

    facts = inspect_image(data)
    if isinstance(facts, str):
        return facts
    try:
        with Image.open(io.BytesIO(data), formats=[facts.image_format]) as original:
            upright = ImageOps.exif_transpose(original)  # a copy, turned as the camera meant it
        kept = {name: upright.info[name] for name in ("icc_profile", "transparency") if name in upright.info}
        upright.info = {}
        buffer = io.BytesIO()
        upright.save(buffer, format=facts.image_format, **kept, **REENCODE_OPTIONS[facts.image_format])
    except (OSError, SyntaxError, ValueError):
        return "The image is damaged or truncated."
    return CleanImage(buffer.getvalue(), facts.image_format, upright.width, upright.height)


def start_upload(
    *, user_id: str, content_type: str, content: ContentRecords, objects: ObjectStorage, profile: Profile
) -> dict:
    """CNT-2: the record of an upload never sent expires by itself; SEC-7: S3 enforces the POST."""
    if not profile.stores(Category.UPLOADS):
        raise errors.Forbidden("This service does not accept uploads.")
    if content_type not in ACCEPTED_TYPES:
        raise errors.UnsupportedMediaType("Only PNG, JPEG and WebP images can be uploaded.")
    upload_id = secrets.token_urlsafe(16)
    _, key = objects.location(Category.UPLOADS, user_id, upload_id)
    post = objects.presigned_post(
        Category.UPLOADS,
        user_id,
        upload_id,
        content_type=content_type,
        max_bytes=MAX_UPLOAD_BYTES,
        expires_in=UPLOAD_URL_SECONDS,
    )
    now = clock.now()
    upload = Upload(
        owner_id=user_id,
        upload_id=upload_id,
        object_key=key,
        declared_type=content_type,
        created_at=now,
        expires_at=now + PENDING_UPLOAD_TIME,
    )
    content.new_upload(upload)
    return {
        **upload_view(upload, profile),
        "upload": {"url": post.url, "fields": post.fields, "expires_in": post.expires_in},
        "max_bytes": MAX_UPLOAD_BYTES,
    }


def process_uploaded_object(*, key: str, content: ContentRecords, objects: ObjectStorage) -> str:
    """Check one write under uploads/ (SEC-7) and keep only its re-encoded image (CNT-7).
    Returns what happened (for the handler's log)."""
    parsed = _parse_key(objects, key)
    if parsed is None:
        return "ignored"
    user_id, upload_id = parsed
    bucket, _ = objects.location(Category.UPLOADS, user_id, upload_id)
    upload = content.upload(user_id, upload_id)
    if upload is None:  # no record (expired or never issued): nothing may keep the object
        objects.delete(bucket, key)
        return "orphan_deleted"
    stored = objects.read(bucket, key, max_bytes=MAX_UPLOAD_BYTES)
    if stored is None:
        return "missing"
    if stored.etag == upload.checked_etag:  # what we wrote ourselves: a repeated notification
        return "already_checked"
    image = clean_image(stored.data) if stored.data is not None else TOO_LARGE
    if isinstance(image, str):
        objects.delete(bucket, key)
        content.mark_upload_rejected(user_id, upload_id, image)
        logger.info("upload rejected", extra={"upload_id": upload_id})
        return "rejected"
    etag = objects.put(bucket, key, image.data, content_type=image.content_type)
    checked = CheckedImage(image.image_format, image.width, image.height, size=len(image.data), etag=etag)
    content.mark_upload_ready(user_id, upload_id, checked)
    return "ready"


def get_upload(*, user_id: str, upload_id: str, content: ContentRecords, profile: Profile) -> dict:
    return upload_view(_owned(content, user_id, upload_id), profile)


def list_uploads(*, user_id: str, content: ContentRecords, profile: Profile) -> dict:
    uploads = sorted(content.uploads(user_id), key=lambda u: u.created_at, reverse=True)
    return {"items": [upload_view(u, profile) for u in uploads]}


def delete_upload(*, user_id: str, upload_id: str, content: ContentRecords, objects: ObjectStorage) -> None:
    upload = _owned(content, user_id, upload_id)
    remove(upload, content=content, objects=objects)


def remove(upload: Upload, *, content: ContentRecords, objects: ObjectStorage) -> None:
    """Object first, then the record: a failure in between leaves a record that can be retried."""
    bucket, key = objects.location(Category.UPLOADS, upload.owner_id, upload.upload_id)
    objects.delete(bucket, key)
    content.delete_upload(upload.owner_id, upload.upload_id)


def delete_expired_object(owner_id: str, upload_id: str, *, objects: ObjectStorage) -> None:
    """TTL reaction: the upload's record expired, so its object goes too (CNT-2)."""
    objects.delete(*objects.location(Category.UPLOADS, owner_id, upload_id))


def deleted_on_completion(profile: Profile) -> bool:
    """Whether the profile deletes a source upload as soon as the job that used it completes."""
    return profile.has(Category.UPLOADS) and profile.category(Category.UPLOADS).retention.kind in (
        RetentionKind.UNTIL_PROCESSED,
        RetentionKind.NOT_STORED,
    )


def upload_view(upload: Upload, profile: Profile) -> dict:
    view = {
        "id": upload.upload_id,
        "status": str(upload.status),
        "created_at": upload.created_at.isoformat(),
        "retention": profile.category(Category.UPLOADS).retention.kind.value,
        "expires_at": upload.expires_at.isoformat() if upload.expires_at else None,
    }
    if upload.status == UploadStatus.READY:
        view.update(format=upload.image_format, width=upload.width, height=upload.height)
    if upload.status == UploadStatus.REJECTED:
        view["reason"] = upload.reason
    return view


def _owned(content: ContentRecords, user_id: str, upload_id: str) -> Upload:
    upload = content.upload(user_id, upload_id)
    if upload is None:  # another user's upload is indistinguishable from a missing one (CNT-1)
        raise errors.NotFound("No such upload.")
    return upload


def _parse_key(objects: ObjectStorage, key: str) -> tuple[str, str] | None:
    prefix = objects.prefix(Category.UPLOADS)
    parts = key.removeprefix(prefix).split("/") if key.startswith(prefix) else []
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]
