"""The content service: uploads, generation jobs, the gallery and share links, bound to their ports.

Each method is what one route, consumer or TTL reaction does; the rules live in the modules it
delegates to (uploads, generations, gallery, shares).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib import errors
from chalicelib.domain import gallery, generations, shares, uploads
from chalicelib.domain.ports.content import (
    ContentMarker,
    ContentRecords,
    CreditHolds,
    JobWatcher,
    ModelProvider,
    ObjectStorage,
)
from chalicelib.metrics import Metric, emit
from chalicelib.profile.schema import JobKind, Profile


class ContentService:
    def __init__(
        self,
        *,
        records: ContentRecords,
        objects: ObjectStorage,
        holds: CreditHolds,
        provider: ModelProvider,
        marker: ContentMarker,
        profile: Profile,
        costs: Mapping[JobKind, int],
        public_base_url: str,
        watcher: Callable[[], JobWatcher] | None = None,
    ) -> None:
        self._records = records
        self._objects = objects
        self._holds = holds
        self._profile = profile
        self._public_base_url = public_base_url
        self._jobs = generations.JobPorts(
            content=records,
            objects=objects,
            holds=holds,
            provider=provider,
            marker=marker,
            profile=profile,
            costs=costs,
            public_base_url=public_base_url,
            watcher=watcher,
        )

    # -- uploads (CNT-1, CNT-2, CNT-7, SEC-7) -----------------------------------------------------
    def start_upload(self, user_id: str, content_type: str) -> dict:
        return uploads.start_upload(
            user_id=user_id,
            content_type=content_type,
            content=self._records,
            objects=self._objects,
            profile=self._profile,
        )

    def list_uploads(self, user_id: str) -> dict:
        return uploads.list_uploads(user_id=user_id, content=self._records, profile=self._profile)

    def get_upload(self, user_id: str, upload_id: str) -> dict:
        return uploads.get_upload(user_id=user_id, upload_id=upload_id, content=self._records, profile=self._profile)

    def delete_upload(self, user_id: str, upload_id: str) -> None:
        uploads.delete_upload(user_id=user_id, upload_id=upload_id, content=self._records, objects=self._objects)

    def process_uploaded_object(self, key: str) -> str:
        return uploads.process_uploaded_object(key=key, content=self._records, objects=self._objects)

    def upload_expired(self, owner_id: str, upload_id: str) -> None:
        uploads.delete_expired_object(owner_id, upload_id, objects=self._objects)

    # -- jobs of every kind (GEN-1..4, CNT-3, CNT-5, CNT-6, CNT-8, PAY-2) ---------------------------
    def submit(
        self, user_id: str, params: generations.GenerationParams, *, restricted: bool, objections: frozenset[str]
    ) -> dict:
        return generations.submit(
            user_id=user_id, restricted=restricted, objections=objections, params=params, ports=self._jobs
        )

    def generation_status(self, user_id: str, gen_id: str) -> dict:
        return generations.status(user_id=user_id, gen_id=gen_id, ports=self._jobs)

    def list_generations(self, user_id: str, *, kind: JobKind | None, limit: int, cursor: str | None) -> dict:
        return generations.list_jobs(user_id=user_id, kind=kind, limit=limit, cursor=cursor, ports=self._jobs)

    def cancel_generation(self, user_id: str, gen_id: str) -> dict:
        return generations.cancel(user_id=user_id, gen_id=gen_id, ports=self._jobs)

    def delivered_result(self, user_id: str, gen_id: str) -> generations.MarkedMedia:
        return generations.delivered_result(user_id=user_id, gen_id=gen_id, ports=self._jobs)

    def default_model(self) -> str:
        """The model a caller that names none (the Telegram bot) asks for: the provider's first."""
        return next(iter(self._jobs.provider.models))

    def finished_media(self, user_id: str, gen_id: str) -> generations.MarkedMedia:
        """A completed image for a channel that sends it on (the bot), marked as AI-generated (GEN-4):
        the stored copy, collected as the gallery's result route collects it (where results go once
        delivered, it goes now), or, where no image is kept, fetched and marked on its way (CNT-3)."""
        job = self._records.job(gen_id)
        if job is not None and job.owner_id == user_id and job.stored_key:
            served = self.collect_result(user_id, gen_id)
            return generations.MarkedMedia(served.data, served.content_type)
        return self.delivered_result(user_id, gen_id)

    def deadline_passed(self, gen_id: str) -> None:
        generations.time_out(gen_id, ports=self._jobs)

    def provider_delivery(self, provider_name: str, job_token: str, headers: dict, body: bytes) -> dict:
        try:
            result = generations.handle_delivery(
                provider_name=provider_name, job_token=job_token, headers=headers, body=body, ports=self._jobs
            )
        except errors.SignatureInvalid:
            emit(Metric.WEBHOOK_DELIVERIES, sender="model_provider", outcome="forged")
            raise
        outcome = "accepted" if result["changed"] else "duplicate"
        emit(Metric.WEBHOOK_DELIVERIES, sender="model_provider", outcome=outcome)
        return result

    def list_characters(self, user_id: str) -> dict:
        return generations.list_characters(user_id=user_id, ports=self._jobs)

    def delete_character(self, user_id: str, character_id: str) -> None:
        generations.delete_character(user_id=user_id, character_id=character_id, ports=self._jobs)

    # -- gallery and share links (CNT-1, CNT-3, CNT-4) --------------------------------------------
    def list_images(self, user_id: str, *, limit: int, cursor: str | None) -> dict:
        return gallery.list_images(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            content=self._records,
            objects=self._objects,
            profile=self._profile,
        )

    def get_image(self, user_id: str, gen_id: str) -> dict:
        return gallery.get_image(
            user_id=user_id, gen_id=gen_id, content=self._records, objects=self._objects, profile=self._profile
        )

    def collect_result(self, user_id: str, gen_id: str) -> gallery.ServedImage:
        return gallery.collect_result(
            user_id=user_id, gen_id=gen_id, content=self._records, objects=self._objects, profile=self._profile
        )

    def delete_image(self, user_id: str, gen_id: str) -> None:
        gallery.delete_image(user_id=user_id, gen_id=gen_id, content=self._records, objects=self._objects)

    def image_expired(self, owner_id: str, gen_id: str) -> None:
        gallery.delete_expired_object(owner_id, gen_id, objects=self._objects)

    def create_share(self, user_id: str, gen_id: str, expires_in_hours: int | None) -> dict:
        return shares.create_share(
            user_id=user_id,
            gen_id=gen_id,
            expires_in_hours=expires_in_hours,
            content=self._records,
            public_base_url=self._public_base_url,
        )

    def list_shares(self, user_id: str, gen_id: str) -> dict:
        return shares.list_shares(
            user_id=user_id, gen_id=gen_id, content=self._records, public_base_url=self._public_base_url
        )

    def revoke_share(self, user_id: str, share_id: str) -> None:
        shares.revoke_share(user_id=user_id, share_id=share_id, content=self._records)

    def open_share(self, share_id: str) -> shares.SharedImage:
        return shares.open_share(share_id=share_id, content=self._records, objects=self._objects)
