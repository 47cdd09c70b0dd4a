"""The content records (uploads, generation jobs, gallery images, share links) on DynamoDB: the
ContentRecords port. Records are mapped to the port's dataclasses here and never leave."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors
from chalicelib.domain.ports.content import Character as CharacterView
from chalicelib.domain.ports.content import (
    CheckedImage,
    DeliveredResult,
    GenerationJob,
    GenerationLogEntry,
    JobStatus,
    ShareLink,
    StoredResult,
    TrainedCharacter,
    Upload,
    UploadStatus,
)
from chalicelib.domain.ports.content import GalleryImage as GalleryImageView
from chalicelib.profile.schema import JobKind
from chalicelib.store.models.content import Character, GalleryImage, Generation, GenerationLog, JobDeadline
from chalicelib.store.models.content import ShareLink as LinkRecord
from chalicelib.store.models.content import Upload as UploadRecord
from chalicelib.store.paging import decode_cursor, decode_owner_cursor, encode_cursor


class ContentStore:
    """CNT-1: every read is by the owner's key, so another user's record is simply not found."""

    def __init__(self, *, ledger: Any) -> None:
        self._ledger = ledger  # takes the credit hold in the job's own transaction (GEN-1)

    # -- uploads --------------------------------------------------------------------------------
    def new_upload(self, upload: Upload) -> None:
        record = UploadRecord(
            *UploadRecord.key(upload.owner_id, upload.upload_id),
            owner_id=upload.owner_id,
            upload_id=upload.upload_id,
            object_key=upload.object_key,
            declared_type=upload.declared_type,
            status=str(upload.status),
            created_at=upload.created_at,
            expires_at=upload.expires_at,
        )
        try:
            record.save(condition=UploadRecord.pk.does_not_exist())
        except PutError as exc:
            raise errors.Conflict("The upload exists already.") from exc

    def upload(self, owner_id: str, upload_id: str) -> Upload | None:
        record = _upload_record(owner_id, upload_id)
        return _upload(record) if record else None

    def uploads(self, owner_id: str) -> list[Upload]:
        records = UploadRecord.query_live(f"USER#{owner_id}", UploadRecord.sk.startswith(UploadRecord.SK_PREFIX))
        return [_upload(record) for record in records]

    def mark_upload_ready(self, owner_id: str, upload_id: str, image: CheckedImage) -> None:
        record = _upload_record(owner_id, upload_id)
        if record is None:
            return
        record.status, record.image_format, record.checked_etag, record.reason = (
            "ready",
            image.image_format,
            image.etag,
            None,
        )
        record.width, record.height, record.size = image.width, image.height, image.size
        record.expires_at = None  # restamped on save: from now on the profile's retention for uploads applies
        record.save()

    def mark_upload_rejected(self, owner_id: str, upload_id: str, reason: str) -> None:
        record = _upload_record(owner_id, upload_id)
        if record is None:
            return
        record.status, record.reason, record.checked_etag = "rejected", reason, None
        record.save()

    def delete_upload(self, owner_id: str, upload_id: str) -> None:
        UploadRecord(*UploadRecord.key(owner_id, upload_id)).delete()

    # -- generation jobs ------------------------------------------------------------------------
    def job(self, gen_id: str) -> GenerationJob | None:
        record = Generation.get_live(*Generation.key(gen_id), consistent_read=True)
        return _job(record) if record else None

    def open_job(self, job: GenerationJob, *, deadline: datetime, log: GenerationLogEntry | None) -> None:
        """GEN-1, GEN-2: the hold, the job, its timeout and its log in ONE ledger transaction."""
        records: list[Any] = [
            Generation(
                *Generation.key(job.gen_id),
                gen_id=job.gen_id,
                owner_id=job.owner_id,
                token_hash=job.token_hash,
                provider=job.provider,
                model=job.model,
                aspect_ratio=job.aspect_ratio,
                style=job.style,
                safety_level=job.safety_level,
                prompt=job.prompt,
                negative_prompt=job.negative_prompt,
                source_upload_id=job.source_upload_id,
                cost=job.cost,
                status=str(job.status),
                created_at=job.created_at,
                kind=str(job.kind),
                input_key=job.input_key,
                character_id=job.character_id,
                character_name=job.character_name,
                scale=job.scale,
                fps=job.fps,
                reply_to=job.reply_to,
            ),
            JobDeadline(*JobDeadline.key(job.gen_id), gen_id=job.gen_id, owner_id=job.owner_id, expires_at=deadline),
        ]
        if log is not None:
            records.append(
                GenerationLog(
                    *GenerationLog.key(log.user_id, log.created_at, log.gen_id),
                    gen_id=log.gen_id,
                    user_id=log.user_id,
                    owner_id=log.user_id,
                    prompt=log.prompt,
                    negative_prompt=log.negative_prompt,
                    model=log.model,
                    parameters=log.parameters,
                    created_at=log.created_at,
                )
            )
        # The hold is named by the job's kind: the ledger shows what each tool used (PAY-2).
        self._ledger.hold(job.owner_id, job.cost, job.gen_id, str(job.kind), deadline=deadline, with_records=records)

    def bind_job(self, gen_id: str, provider_request_id: str) -> None:
        try:
            Generation(*Generation.key(gen_id)).update(
                actions=[Generation.provider_request_id.set(provider_request_id)],
                condition=Generation.provider_request_id.does_not_exist(),
            )
        except UpdateError as exc:
            raise errors.Conflict("The job is bound already.") from exc

    def finish_job(
        self,
        job: GenerationJob,
        status: JobStatus,
        *,
        forget_prompt: bool,
        failure: str | None = None,
        result: StoredResult | DeliveredResult | TrainedCharacter | None = None,
    ) -> bool:
        """CNT-3: a stored result's gallery image, or a trained character, is written in the same
        transaction as the job's end."""
        now = clock.now()
        actions = [Generation.status.set(str(status)), Generation.finished_at.set(now)]
        if failure:
            actions.append(Generation.failure.set(failure))
        if isinstance(result, StoredResult):
            actions += [
                Generation.stored_key.set(result.object_key),
                Generation.width.set(result.width),
                Generation.height.set(result.height),
                Generation.image_format.set(result.image_format),
                Generation.content_type.set(result.content_type),
            ]
        if isinstance(result, DeliveredResult):
            actions += [Generation.delivery_url.set(result.url), Generation.delivery_until.set(result.until)]
        if forget_prompt:
            actions += [Generation.prompt.remove(), Generation.negative_prompt.remove()]
        record = Generation(*Generation.key(job.gen_id))
        try:
            with TransactWrite(connection=Generation._get_connection().connection) as tx:
                tx.update(record, actions=actions, condition=Generation.status == str(JobStatus.QUEUED))
                if isinstance(result, StoredResult):
                    tx.save(_gallery_record(job, result, now))
                if isinstance(result, TrainedCharacter):
                    tx.save(_character_record(result.character))
        except TransactWriteError:
            current = self.job(job.gen_id)
            if current is not None and current.status != JobStatus.QUEUED:
                return False
            raise
        return True

    def delete_job(self, gen_id: str) -> None:
        for cls, key in ((Generation, Generation.key(gen_id)), (JobDeadline, JobDeadline.key(gen_id))):
            cls(*key).delete()

    def jobs(
        self, owner_id: str, *, kind: JobKind | None, limit: int, cursor: str | None
    ) -> tuple[list[GenerationJob], str | None]:
        """Through the owner index, newest first (job ids start with their creation time). A kind
        filters the page after it is read, so a page may hold fewer than `limit` jobs."""
        start = decode_owner_cursor(cursor, owner_id=owner_id, sk_prefix=Generation.SK_PREFIX) if cursor else None
        results = Generation.by_owner.query(
            owner_id,
            Generation.sk.startswith(Generation.SK_PREFIX),
            filter_condition=(Generation.kind == str(kind)) if kind else None,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
        )
        now = clock.now()
        page = [_job(record) for record in results if record.is_live(now)]
        last = results.last_evaluated_key
        return page, encode_cursor(last) if last else None

    # -- characters -----------------------------------------------------------------------------
    def character(self, owner_id: str, character_id: str) -> CharacterView | None:
        record = Character.get_live(*Character.key(owner_id, character_id))
        return _character(record) if record else None

    def characters(self, owner_id: str) -> list[CharacterView]:
        pk = Character.key(owner_id, "")[0]
        return [_character(r) for r in Character.query_live(pk, Character.sk.startswith(Character.SK_PREFIX))]

    def delete_character(self, owner_id: str, character_id: str) -> None:
        Character(*Character.key(owner_id, character_id)).delete()

    # -- gallery --------------------------------------------------------------------------------
    def image(self, owner_id: str, gen_id: str) -> GalleryImageView | None:
        record = GalleryImage.get_live(*GalleryImage.key(owner_id, gen_id))
        return _image(record) if record else None

    def images(self, owner_id: str, *, limit: int, cursor: str | None) -> tuple[list[GalleryImageView], str | None]:
        pk = GalleryImage.key(owner_id, "")[0]
        start = decode_cursor(cursor, pk=pk, sk_prefix=GalleryImage.SK_PREFIX) if cursor else None
        results = GalleryImage.query(
            pk,
            GalleryImage.sk.startswith(GalleryImage.SK_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
        )
        now = clock.now()
        page = [_image(record) for record in results if record.is_live(now)]
        last = results.last_evaluated_key
        return page, encode_cursor(last) if last else None

    def delete_image(self, owner_id: str, gen_id: str) -> None:
        GalleryImage(*GalleryImage.key(owner_id, gen_id)).delete()

    # -- share links ----------------------------------------------------------------------------
    def new_share(self, link: ShareLink) -> ShareLink:
        """CNT-4: the link's TTL is the owner's expiry, capped by the image's own retention."""
        record = LinkRecord(
            *LinkRecord.key(link.share_id, link.gen_id),
            share_id=link.share_id,
            gen_id=link.gen_id,
            owner_id=link.owner_id,
            created_at=link.created_at,
            expires_at=link.expires_at,
        )
        try:
            record.save(condition=LinkRecord.pk.does_not_exist())
        except PutError as exc:
            raise errors.Conflict("The share link exists already.") from exc
        return _share(record)

    def share(self, share_id: str) -> ShareLink | None:
        record = next(LinkRecord.query_live(f"SHARE#{share_id}", limit=1), None)
        return _share(record) if record else None

    def shares_of(self, owner_id: str, gen_id: str) -> list[ShareLink]:
        now = clock.now()
        sk = LinkRecord.key("", gen_id)[1]
        return [_share(r) for r in LinkRecord.by_owner.query(owner_id, LinkRecord.sk == sk) if r.is_live(now)]

    def delete_share(self, share_id: str, gen_id: str) -> None:
        LinkRecord(*LinkRecord.key(share_id, gen_id)).delete()


def _character_record(character: CharacterView) -> Character:
    return Character(
        *Character.key(character.owner_id, character.character_id),
        owner_id=character.owner_id,
        character_id=character.character_id,
        name=character.name,
        provider=character.provider,
        model_ref=character.model_ref,
        trigger_word=character.trigger_word,
        created_at=character.created_at,
        provider_request_id=character.provider_request_id,
    )


def _character(record: Character) -> CharacterView:
    return CharacterView(
        owner_id=record.owner_id,
        character_id=record.character_id,
        name=record.name,
        provider=record.provider,
        model_ref=record.model_ref,
        trigger_word=record.trigger_word,
        created_at=record.created_at,
        provider_request_id=record.provider_request_id,
    )


def _upload_record(owner_id: str, upload_id: str) -> UploadRecord | None:
    return UploadRecord.get_live(*UploadRecord.key(owner_id, upload_id), consistent_read=True)


def _upload(record: UploadRecord) -> Upload:
    return Upload(
        owner_id=record.owner_id,
        upload_id=record.upload_id,
        object_key=record.object_key,
        declared_type=record.declared_type,
        created_at=record.created_at,
        expires_at=record.expires_at,
        status=UploadStatus(record.status),
        image_format=record.image_format,
        width=_int(record.width),
        height=_int(record.height),
        size=_int(record.size),
        checked_etag=record.checked_etag,
        reason=record.reason,
    )


def _job(record: Generation) -> GenerationJob:
    return GenerationJob(
        gen_id=record.gen_id,
        owner_id=record.owner_id,
        token_hash=record.token_hash,
        provider=record.provider,
        model=record.model,
        aspect_ratio=record.aspect_ratio,
        style=record.style,
        safety_level=record.safety_level,
        cost=int(record.cost),
        created_at=record.created_at,
        prompt=record.prompt,
        negative_prompt=record.negative_prompt,
        source_upload_id=record.source_upload_id,
        status=JobStatus(record.status),
        failure=record.failure,
        provider_request_id=record.provider_request_id,
        stored_key=record.stored_key,
        delivery_url=record.delivery_url,
        delivery_until=record.delivery_until,
        width=_int(record.width),
        height=_int(record.height),
        image_format=record.image_format,
        finished_at=record.finished_at,
        kind=JobKind(record.kind or JobKind.TEXT_TO_IMAGE),
        input_key=record.input_key,
        character_id=record.character_id,
        character_name=record.character_name,
        scale=_int(record.scale),
        fps=_int(record.fps),
        reply_to=record.reply_to,
        content_type=record.content_type,
    )


def _gallery_record(job: GenerationJob, result: StoredResult, now: datetime) -> GalleryImage:
    return GalleryImage(
        *GalleryImage.key(job.owner_id, job.gen_id),
        owner_id=job.owner_id,
        gen_id=job.gen_id,
        model=job.model,
        created_at=now,
        object_key=result.object_key,
        image_format=result.image_format,
        content_type=result.content_type,
        width=result.width,
        height=result.height,
    )


def _image(record: GalleryImage) -> GalleryImageView:
    return GalleryImageView(
        owner_id=record.owner_id,
        gen_id=record.gen_id,
        object_key=record.object_key,
        image_format=record.image_format,
        content_type=record.content_type,
        width=int(record.width),
        height=int(record.height),
        model=record.model,
        created_at=record.created_at,
    )


def _share(record: LinkRecord) -> ShareLink:
    return ShareLink(
        share_id=record.share_id,
        owner_id=record.owner_id,
        gen_id=record.gen_id,
        created_at=record.created_at,
        expires_at=record.expires_at,
    )


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)
