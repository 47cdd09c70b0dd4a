"""The gallery (CNT-1, CNT-3): a user's stored generated images, newest first; only theirs."""

from __future__ import annotations

from chalicelib import errors
from chalicelib.profile.schema import Category

VIEW_URL_SECONDS = 300
PAGE_MAX = 100


def list_images(*, user_id: str, limit: int, cursor: str | None, content, objects) -> dict:
    limit = max(1, min(int(limit), PAGE_MAX))
    images, next_cursor = content.images(user_id, limit=limit, cursor=cursor)
    return {"items": [image_view(image, objects) for image in images], "next_cursor": next_cursor}


def get_image(*, user_id: str, gen_id: str, content, objects) -> dict:
    return image_view(owned_image(content, user_id, gen_id), objects)


def delete_image(*, user_id: str, gen_id: str, content, objects) -> None:
    """The object, every share link to it, its prompt history and the record: all gone."""
    image = owned_image(content, user_id, gen_id)
    objects.delete(*objects.location(Category.GENERATED_IMAGES, user_id, gen_id))
    for link in list(content.shares_of(user_id, gen_id)):
        content.delete_share(link)
    content.delete_job(gen_id)
    content.delete_image(image)


def owned_image(content, user_id: str, gen_id: str):
    image = content.image(user_id, gen_id)
    if image is None:  # another user's image is indistinguishable from a missing one (CNT-1)
        raise errors.NotFound("No such image.")
    return image


def download_url(image, objects, *, expires_in: int = VIEW_URL_SECONDS) -> str:
    bucket, key = objects.location(Category.GENERATED_IMAGES, image.owner_id, image.gen_id)
    return objects.presigned_get(bucket, key, expires_in=expires_in, content_type=image.content_type)


def image_view(image, objects) -> dict:
    return {
        "id": image.gen_id,
        "created_at": image.created_at.isoformat(),
        "model": image.model,
        "format": image.image_format,
        "width": int(image.width),
        "height": int(image.height),
        "url": download_url(image, objects),
        "url_expires_in": VIEW_URL_SECONDS,
    }


def delete_expired_object(image: dict, *, objects) -> None:
    """TTL reaction: a gallery record whose retention ran out takes its object along (CNT-3)."""
    owner, gen_id = image.get("owner_id"), image.get("gen_id")
    if owner and gen_id:
        objects.delete(*objects.location(Category.GENERATED_IMAGES, str(owner), str(gen_id)))
