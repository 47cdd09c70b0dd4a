"""Reactions to TTL deletes of content records (registered in chalicelib/events/reactions.py).

Each receives the expired item's old image: the object it stood for goes too, or the job it timed
is failed and its credits returned.
"""

from __future__ import annotations


def expired_upload(image: dict) -> None:
    from chalicelib import wiring
    from chalicelib.domain.uploads import delete_expired_object

    delete_expired_object(image, objects=wiring.objects())


def expired_image(image: dict) -> None:
    from chalicelib import wiring
    from chalicelib.domain.gallery import delete_expired_object

    delete_expired_object(image, objects=wiring.objects())


def expired_deadline(image: dict) -> None:
    from chalicelib import wiring
    from chalicelib.domain.generations import time_out

    time_out(str(image.get("gen_id", "")), content=wiring.content(), ledger=wiring.ledger(), profile=wiring.profile())
