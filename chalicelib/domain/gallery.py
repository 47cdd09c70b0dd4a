"""The gallery (CNT-1, CNT-3): a user's stored generated images, newest first; only theirs."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import errors
from chalicelib.domain.ports.content import ContentRecords, GalleryImage, ObjectStorage
from chalicelib.profile.schema import Category, Profile, RetentionKind

VIEW_URL_SECONDS = 300
PAGE_MAX = 100
# A Lambda response carries at most 6 MB, and binary bodies travel base64-encoded (4/3 larger).
SERVED_IMAGE_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ServedImage:
    """An image answered by a route itself (a result collected, a shared link opened)."""

    data: bytes
    content_type: str


def list_images(
    *, user_id: str, limit: int, cursor: str | None, content: ContentRecords, objects: ObjectStorage, profile: Profile
) -> dict:
    limit = max(1, min(int(limit), PAGE_MAX))
    images, next_cursor = content.images(user_id, limit=limit, cursor=cursor)
    return {"items": [image_view(image, objects, profile) for image in images], "next_cursor": next_cursor}


def get_image(*, user_id: str, gen_id: str, content: ContentRecords, objects: ObjectStorage, profile: Profile) -> dict:
    return image_view(owned_image(content, user_id, gen_id), objects, profile)


def delete_image(*, user_id: str, gen_id: str, content: ContentRecords, objects: ObjectStorage) -> None:
    """The object, every share link to it, its prompt history and the record: all gone."""
    image = owned_image(content, user_id, gen_id)
    objects.delete(*objects.location(Category.GENERATED_IMAGES, user_id, gen_id))
    for link in content.shares_of(user_id, gen_id):
        content.delete_share(link.share_id, link.gen_id)
    content.delete_job(gen_id)
    content.delete_image(image.owner_id, image.gen_id)


def deleted_when_delivered(profile: Profile) -> bool:
    """Results kept only until processed (Pictomancer) go the moment they are delivered (OPS-9)."""
    return (
        profile.stores(Category.GENERATED_IMAGES)
        and profile.category(Category.GENERATED_IMAGES).retention.kind == RetentionKind.UNTIL_PROCESSED
    )


def collect_result(
    *, user_id: str, gen_id: str, content: ContentRecords, objects: ObjectStorage, profile: Profile
) -> ServedImage:
    """The image itself, served by the route; where results are deleted when delivered, the object,
    its links, the job and the record are deleted before the bytes leave (OPS-9, CNT-2)."""
    image = owned_image(content, user_id, gen_id)
    stored = objects.read(
        *objects.location(Category.GENERATED_IMAGES, user_id, gen_id), max_bytes=SERVED_IMAGE_MAX_BYTES
    )
    if stored is None:
        raise errors.NotFound("No such image.")
    if stored.data is None:
        raise errors.PayloadTooLarge("This image is too large to serve here; use its download URL.")
    if deleted_when_delivered(profile):
        delete_image(user_id=user_id, gen_id=gen_id, content=content, objects=objects)
    return ServedImage(data=stored.data, content_type=image.content_type)


def owned_image(content: ContentRecords, user_id: str, gen_id: str) -> GalleryImage:
    image = content.image(user_id, gen_id)
    if image is None:  # another user's image is indistinguishable from a missing one (CNT-1)
        raise errors.NotFound("No such image.")
    return image


def download_url(image: GalleryImage, objects: ObjectStorage, *, expires_in: int = VIEW_URL_SECONDS) -> str:
    bucket, key = objects.location(Category.GENERATED_IMAGES, image.owner_id, image.gen_id)
    return objects.presigned_get(bucket, key, expires_in=expires_in, content_type=image.content_type)


def image_view(image: GalleryImage, objects: ObjectStorage, profile: Profile) -> dict:
    """Where results go when delivered, the only way to the bytes is the route that deletes them."""
    view = {
        "id": image.gen_id,
        "created_at": image.created_at.isoformat(),
        "model": image.model,
        "format": image.image_format,
        "width": image.width,
        "height": image.height,
        "result": f"/gallery/{image.gen_id}/result",
    }
    if not deleted_when_delivered(profile):
        view.update(url=download_url(image, objects), url_expires_in=VIEW_URL_SECONDS)
    return view


def delete_expired_object(owner_id: str, gen_id: str, *, objects: ObjectStorage) -> None:
    """TTL reaction: a gallery record whose retention ran out takes its object along (CNT-3)."""
    objects.delete(*objects.location(Category.GENERATED_IMAGES, owner_id, gen_id))
