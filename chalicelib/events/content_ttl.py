"""Reactions to TTL deletes of content records (registered in chalicelib/events/reactions.py).

Each receives the expired item's old image, read here into plain ids: the object it stood for goes
too (CNT-2, CNT-3), or the job it timed is failed and its credits returned (GEN-1).
"""

from __future__ import annotations


def expired_upload(image: dict) -> None:
    from chalicelib import wiring

    owner_id, upload_id = image.get("owner_id"), image.get("upload_id")
    if owner_id and upload_id:
        wiring.content_service().upload_expired(str(owner_id), str(upload_id))


def expired_image(image: dict) -> None:
    from chalicelib import wiring

    owner_id, gen_id = image.get("owner_id"), image.get("gen_id")
    if owner_id and gen_id:
        wiring.content_service().image_expired(str(owner_id), str(gen_id))


def expired_deadline(image: dict) -> None:
    from chalicelib import wiring

    gen_id = image.get("gen_id")
    if gen_id:
        wiring.content_service().deadline_passed(str(gen_id))
