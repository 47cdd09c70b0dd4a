"""Share links (CNT-4): the owner creates an unguessable link to one image, may let it expire, and
may revoke it. The public route resolves one link to one image and answers with the image's bytes
themselves: a redirect would hand out the object's key, which names its owner. Nothing lists links
publicly."""

from __future__ import annotations

import secrets
from datetime import timedelta

from chalicelib import clock, errors
from chalicelib.domain.gallery import SERVED_IMAGE_MAX_BYTES as SHARED_IMAGE_MAX_BYTES
from chalicelib.domain.gallery import ServedImage as SharedImage
from chalicelib.domain.gallery import owned_image
from chalicelib.domain.ports.content import ContentRecords, ObjectStorage, ShareLink
from chalicelib.profile.schema import Category

MAX_EXPIRY_HOURS = 24 * 365


def create_share(
    *, user_id: str, gen_id: str, expires_in_hours: int | None, content: ContentRecords, public_base_url: str
) -> dict:
    owned_image(content, user_id, gen_id)
    if expires_in_hours is not None and not 1 <= expires_in_hours <= MAX_EXPIRY_HOURS:
        raise errors.InvalidInput(f"expires_in_hours must be between 1 and {MAX_EXPIRY_HOURS}.")
    now = clock.now()
    expires_at = now + timedelta(hours=expires_in_hours) if expires_in_hours else None
    link = content.new_share(
        ShareLink(secrets.token_urlsafe(24), user_id, gen_id, created_at=now, expires_at=expires_at)
    )
    return share_view(link, public_base_url)


def list_shares(*, user_id: str, gen_id: str, content: ContentRecords, public_base_url: str) -> dict:
    owned_image(content, user_id, gen_id)
    return {"items": [share_view(link, public_base_url) for link in content.shares_of(user_id, gen_id)]}


def revoke_share(*, user_id: str, share_id: str, content: ContentRecords) -> None:
    link = content.share(share_id)
    if link is None or link.owner_id != user_id:
        raise errors.NotFound("No such share link.")
    content.delete_share(link.share_id, link.gen_id)


def open_share(*, share_id: str, content: ContentRecords, objects: ObjectStorage) -> SharedImage:
    """The one image this live link points at, and nothing about whose it is (CNT-4); NotFound for
    anything else."""
    link = content.share(share_id) if share_id else None
    image = content.image(link.owner_id, link.gen_id) if link is not None else None
    if image is None:
        raise errors.NotFound("This link does not exist or was revoked.")
    bucket, key = objects.location(Category.GENERATED_IMAGES, image.owner_id, image.gen_id)
    stored = objects.read(bucket, key, max_bytes=SHARED_IMAGE_MAX_BYTES)
    if stored is None:
        raise errors.NotFound("This link does not exist or was revoked.")
    if stored.data is None:
        raise errors.PayloadTooLarge("This image is too large to open by link; its owner can download it.")
    return SharedImage(data=stored.data, content_type=image.content_type)


def share_view(link: ShareLink, public_base_url: str) -> dict:
    return {
        "id": link.share_id,
        "image_id": link.gen_id,
        "url": f"{public_base_url}/s/{link.share_id}",
        "created_at": link.created_at.isoformat(),
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
    }
