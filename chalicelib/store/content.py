"""Repository for the content records: uploads, generation jobs, gallery images, share links."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors
from chalicelib.store.models.content import GalleryImage, Generation, GenerationLog, JobDeadline, ShareLink, Upload

OPEN = "queued"
PENDING_UPLOAD_DAYS = 1  # an upload URL never used leaves a record that expires by itself


class ContentStore:
    # -- uploads --------------------------------------------------------------------------------
    def new_upload(self, user_id: str, upload_id: str, object_key: str, declared_type: str) -> Upload:
        now = clock.now()
        upload = Upload(
            *Upload.key(user_id, upload_id),
            owner_id=user_id,
            upload_id=upload_id,
            object_key=object_key,
            declared_type=declared_type,
            created_at=now,
            expires_at=now + timedelta(days=PENDING_UPLOAD_DAYS),
        )
        upload.save(condition=Upload.pk.does_not_exist())
        return upload

    def upload(self, user_id: str, upload_id: str) -> Upload | None:
        return Upload.get_live(*Upload.key(user_id, upload_id), consistent_read=True)

    def uploads(self, user_id: str) -> list[Upload]:
        return list(Upload.query_live(f"USER#{user_id}", Upload.sk.startswith(Upload.SK_PREFIX)))

    def mark_upload_ready(
        self, upload: Upload, *, image_format: str, width: int, height: int, size: int, checked_etag: str
    ) -> None:
        upload.status, upload.image_format, upload.width, upload.height, upload.size = (
            "ready",
            image_format,
            width,
            height,
            size,
        )
        upload.checked_etag = checked_etag
        upload.reason = None
        upload.expires_at = None  # from now on the profile's retention for uploads applies
        upload.save()

    def mark_upload_rejected(self, upload: Upload, reason: str) -> None:
        upload.status, upload.reason, upload.checked_etag = "rejected", reason, None
        upload.save()

    def delete_upload(self, upload: Upload) -> None:
        upload.delete()

    # -- generation jobs ------------------------------------------------------------------------
    def job(self, gen_id: str) -> Generation | None:
        return Generation.get_live(*Generation.key(gen_id), consistent_read=True)

    def new_job(self, *, gen_id: str, owner_id: str, **fields: object) -> Generation:
        """Built, not saved: the ledger writes it in the same transaction as the credit hold."""
        return Generation(*Generation.key(gen_id), gen_id=gen_id, owner_id=owner_id, **fields)

    def bind_job(self, job: Generation, provider_request_id: str) -> None:
        """Record the provider's id for the job, once: callbacks must name it (GEN-3)."""
        job.update(
            actions=[Generation.provider_request_id.set(provider_request_id)],
            condition=Generation.provider_request_id.does_not_exist(),
        )

    def generation_log(self, *, gen_id: str, user_id: str, created_at: datetime, **fields: object) -> GenerationLog:
        return GenerationLog(
            *GenerationLog.key(user_id, created_at, gen_id),
            gen_id=gen_id,
            user_id=user_id,
            owner_id=user_id,
            created_at=created_at,
            **fields,
        )

    def deadline(self, gen_id: str, owner_id: str, at: datetime) -> JobDeadline:
        return JobDeadline(*JobDeadline.key(gen_id), gen_id=gen_id, owner_id=owner_id, expires_at=at)

    def finish_job(
        self, job: Generation, status: str, *, forget_prompt: bool, image: dict | None = None, **fields: object
    ) -> bool:
        """Move an open job to `status` once, with its gallery image if any, in one transaction.
        False when another delivery finished it first."""
        now = clock.now()
        actions = [Generation.status.set(status), Generation.finished_at.set(now)]
        actions += [getattr(Generation, name).set(value) for name, value in fields.items() if value is not None]
        if forget_prompt:
            actions += [Generation.prompt.remove(), Generation.negative_prompt.remove()]
        try:
            with TransactWrite(connection=Generation._get_connection().connection) as tx:
                tx.update(job, actions=actions, condition=Generation.status == OPEN)
                if image is not None:
                    tx.save(
                        GalleryImage(
                            *GalleryImage.key(job.owner_id, job.gen_id),
                            owner_id=job.owner_id,
                            gen_id=job.gen_id,
                            model=job.model,
                            created_at=now,
                            **image,
                        )
                    )
        except TransactWriteError:
            current = self.job(job.gen_id)
            if current is not None and current.status != OPEN:
                return False
            raise
        return True

    def delete_job(self, gen_id: str) -> None:
        for cls, key in ((Generation, Generation.key(gen_id)), (JobDeadline, JobDeadline.key(gen_id))):
            cls(*key).delete()

    # -- gallery --------------------------------------------------------------------------------
    def image(self, user_id: str, gen_id: str) -> GalleryImage | None:
        return GalleryImage.get_live(*GalleryImage.key(user_id, gen_id))

    def images(self, user_id: str, *, limit: int, cursor: str | None) -> tuple[list[GalleryImage], str | None]:
        """Newest first; the cursor is opaque and bound to the user."""
        pk = GalleryImage.key(user_id, "")[0]
        start = _decode_cursor(cursor, pk) if cursor else None
        results = GalleryImage.query(
            pk,
            GalleryImage.sk.startswith(GalleryImage.SK_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
        )
        now = clock.now()
        page = [image for image in results if image.is_live(now)]
        last = results.last_evaluated_key
        return page, _encode_cursor(last) if last else None

    def delete_image(self, image: GalleryImage) -> None:
        image.delete()

    # -- share links ----------------------------------------------------------------------------
    def new_share(self, share_id: str, owner_id: str, gen_id: str, expires_at: datetime | None) -> ShareLink:
        link = ShareLink(
            *ShareLink.key(share_id, gen_id),
            share_id=share_id,
            gen_id=gen_id,
            owner_id=owner_id,
            created_at=clock.now(),
            expires_at=expires_at,
        )
        link.save(condition=ShareLink.pk.does_not_exist())
        return link

    def share(self, share_id: str) -> ShareLink | None:
        return next(ShareLink.query_live(f"SHARE#{share_id}", limit=1), None)

    def shares_of(self, owner_id: str, gen_id: str) -> Iterator[ShareLink]:
        now = clock.now()
        prefix = ShareLink.key("", gen_id)[1]
        for link in ShareLink.by_owner.query(owner_id, ShareLink.sk == prefix):
            if link.is_live(now):
                yield link

    def delete_share(self, link: ShareLink) -> None:
        link.delete()


def _encode_cursor(key: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def _decode_cursor(cursor: str, pk: str) -> dict:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        valid = key["pk"]["S"] == pk and key["sk"]["S"].startswith(GalleryImage.SK_PREFIX)
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise errors.InvalidInput("The cursor is invalid.")
    return key
