"""Generations (GEN-1, GEN-2, GEN-3, CNT-3).

Submit: the credit hold, the job, its timeout and the generation log are written in ONE ledger
transaction, then the provider gets ONE call carrying a webhook URL with the job's unguessable
token, and the provider's own id for the job is recorded on it. The webhook is authenticated by the
provider's adapter, matched to the job by the token AND by that id (GEN-3: another job's genuine
callback posted to this URL is refused), and settled through the ledger, whose hold state is the one
truth about the outcome: a duplicate, late or reordered delivery finds the hold settled and changes
nothing.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import clock, errors
from chalicelib.domain.ports.accounts import token_hash
from chalicelib.domain.ports.content import (
    ContentRecords,
    CreditHolds,
    DeliveredResult,
    Delivery,
    GenerationJob,
    GenerationLogEntry,
    JobRequest,
    JobStatus,
    ModelProvider,
    ObjectStorage,
    StoredResult,
    UploadStatus,
)
from chalicelib.domain.restrictions import ensure_allowed
from chalicelib.domain.uploads import MAX_UPLOAD_BYTES, clean_image, deleted_on_completion
from chalicelib.domain.uploads import remove as remove_upload
from chalicelib.metrics import Metric, emit
from chalicelib.observability import logger
from chalicelib.profile.schema import Category, Profile, RetentionKind

COST = 1  # credits per image
JOB_TIMEOUT = timedelta(minutes=15)
DELIVERY_TIME = timedelta(minutes=15)  # how long an unstored result's URL is handed out
SOURCE_URL_SECONDS = 900
ASPECT_RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16")
STYLES = ("none", "photographic", "anime", "digital-art", "cinematic", "watercolor")
SAFETY_LEVELS = ("strict", "standard", "relaxed")
PROMPT_MAX = 2000
NEGATIVE_PROMPT_MAX = 1000


@dataclass(frozen=True)
class GenerationParams:
    prompt: str
    model: str
    aspect_ratio: str = "1:1"
    style: str = "none"
    safety_level: str = "standard"
    negative_prompt: str | None = None
    source_upload_id: str | None = None


def listed_in_policy(provider: ModelProvider, profile: Profile) -> bool:
    """Prompts go only to a model provider the published policy names (GEN-1, OPS-4)."""
    return any(p.name.casefold() == provider.title.casefold() for p in profile.model_providers)


def new_gen_id() -> str:
    """Creation time first (hex milliseconds), so ids sort newest-last; then randomness."""
    return f"{int(clock.now().timestamp() * 1000):012x}{secrets.token_hex(8)}"


def webhook_url(public_base_url: str, provider: str, gen_id: str, secret: str) -> str:
    return f"{public_base_url}/webhooks/providers/{provider}/{gen_id}.{secret}"


# -- submit -------------------------------------------------------------------------------------
def submit(
    *,
    user_id: str,
    restricted: bool,
    objections: frozenset[str],
    params: GenerationParams,
    content: ContentRecords,
    objects: ObjectStorage,
    holds: CreditHolds,
    provider: ModelProvider,
    profile: Profile,
    public_base_url: str,
) -> dict:
    ensure_allowed(restricted=restricted, objections=objections, purpose="generation")
    if not listed_in_policy(provider, profile):
        logger.error("model provider not listed in the policy", extra={"provider": provider.name})
        raise errors.UpstreamUnavailable("Generation is not available.")
    if params.model not in provider.models:
        raise errors.InvalidInput("This model is not offered.", details={"models": sorted(provider.models)})
    source_url = _source_url(user_id, params.source_upload_id, content, objects) if params.source_upload_id else None

    now = clock.now()
    gen_id, secret = new_gen_id(), secrets.token_urlsafe(32)
    keep_prompt = profile.stores(Category.PROMPTS)
    job = GenerationJob(
        gen_id=gen_id,
        owner_id=user_id,
        token_hash=token_hash(secret),
        provider=provider.name,
        model=params.model,
        aspect_ratio=params.aspect_ratio,
        style=params.style,
        safety_level=params.safety_level,
        prompt=params.prompt if keep_prompt else None,
        negative_prompt=params.negative_prompt if keep_prompt else None,
        source_upload_id=params.source_upload_id,
        cost=COST,
        created_at=now,
    )
    log = None
    if profile.stores(Category.GENERATION_LOGS):
        log = GenerationLogEntry(
            gen_id=gen_id,
            user_id=user_id,
            prompt=params.prompt,
            negative_prompt=params.negative_prompt,
            model=params.model,
            parameters=log_parameters(params),
            created_at=now,
        )
    content.open_job(job, deadline=now + JOB_TIMEOUT, log=log)

    request = JobRequest(
        gen_id=gen_id,
        model=params.model,
        prompt=params.prompt,
        negative_prompt=params.negative_prompt,
        aspect_ratio=params.aspect_ratio,
        style=params.style,
        safety_level=params.safety_level,
        source_image_url=source_url,
    )
    try:
        provider_request_id = provider.submit(request, webhook_url(public_base_url, provider.name, gen_id, secret))
    except Exception:
        # Nothing runs at the provider: give the credits back and say so.
        holds.release(gen_id)
        content.finish_job(
            job, JobStatus.FAILED, forget_prompt=forgets_prompts(profile), failure="provider_unavailable"
        )
        logger.warning("provider submit failed", extra={"gen_id": gen_id, "provider": provider.name})
        raise errors.UpstreamUnavailable("The image service is unavailable; no credits were spent.") from None
    content.bind_job(gen_id, provider_request_id)
    return job_view(job, profile)


def _source_url(user_id: str, upload_id: str, content: ContentRecords, objects: ObjectStorage) -> str:
    upload = content.upload(user_id, upload_id)
    if upload is None:  # someone else's upload looks exactly like a missing one (CNT-1)
        raise errors.NotFound("No such upload.")
    if upload.status != UploadStatus.READY:
        raise errors.Conflict("The upload has not been checked yet, or it was rejected.")
    bucket, key = objects.location(Category.UPLOADS, user_id, upload_id)
    return objects.presigned_get(bucket, key, expires_in=SOURCE_URL_SECONDS)


# -- status -------------------------------------------------------------------------------------
def status(*, user_id: str, gen_id: str, content: ContentRecords, holds: CreditHolds, profile: Profile) -> dict:
    job = content.job(gen_id)
    if job is None or job.owner_id != user_id:
        raise errors.NotFound("No such generation.")
    if job.status == JobStatus.QUEUED and clock.now() - job.created_at > JOB_TIMEOUT:
        time_out(gen_id, content=content, holds=holds, profile=profile)
        job = content.job(gen_id)
    return job_view(job, profile)


def time_out(gen_id: str, *, content: ContentRecords, holds: CreditHolds, profile: Profile) -> None:
    """A job that never heard back: its credits return (unless a result committed them first)."""
    job = content.job(gen_id)
    if job is None or job.status != JobStatus.QUEUED:
        return
    holds.release(gen_id)
    _finish_by_hold(job, holds.hold_state(gen_id), content=content, profile=profile, failure="timed_out")


# -- webhook ------------------------------------------------------------------------------------
def ensure_bound(recorded_request_id: str | None, delivered_request_id: str, *, job_open: bool) -> None:
    """GEN-3: a callback speaks for the job only when it names the provider's id recorded for it at
    submit. Until that id is recorded (a callback racing the submit) the provider is asked to retry."""
    if recorded_request_id is None and job_open:
        raise errors.Conflict("The job is not ready for its result yet; try again.")
    if recorded_request_id is None or not hmac.compare_digest(recorded_request_id, delivered_request_id):
        raise errors.SignatureInvalid("The webhook is not for this job.")


def handle_delivery(
    *,
    provider_name: str,
    job_token: str,
    headers: dict,
    body: bytes,
    content: ContentRecords,
    objects: ObjectStorage,
    holds: CreditHolds,
    provider: ModelProvider,
    profile: Profile,
) -> dict:
    """One provider callback. Forged, stale or foreign ones, and another job's, raise SignatureInvalid
    and change nothing; repeated or out-of-order ones leave the first settlement standing (GEN-3)."""
    if provider_name != provider.name:
        raise errors.NotFound("No such webhook.")
    gen_id, _, secret = job_token.partition(".")
    if not gen_id or not secret:
        raise errors.SignatureInvalid("The webhook URL is not one we issued.")
    delivery = provider.read_delivery(headers, body)  # signature and timestamp first: no reads for forgeries
    job = content.job(gen_id)
    if job is None or job.provider != provider.name or not hmac.compare_digest(job.token_hash, token_hash(secret)):
        raise errors.SignatureInvalid("The webhook URL is not one we issued.")
    ensure_bound(job.provider_request_id, delivery.request_id, job_open=job.status == JobStatus.QUEUED)
    if job.status != JobStatus.QUEUED:
        return {"status": str(job.status), "changed": False}
    delivery = provider.confirm(delivery, job.model)
    if delivery.succeeded:
        return _complete(
            job, delivery, content=content, objects=objects, holds=holds, provider=provider, profile=profile
        )
    holds.release(gen_id)
    changed = _finish_by_hold(
        job, holds.hold_state(gen_id), content=content, profile=profile, failure="provider_failed"
    )
    return {"status": "failed", "changed": changed}


def _complete(
    job: GenerationJob,
    delivery: Delivery,
    *,
    content: ContentRecords,
    objects: ObjectStorage,
    holds: CreditHolds,
    provider: ModelProvider,
    profile: Profile,
) -> dict:
    stored = profile.stores(Category.GENERATED_IMAGES)
    result: StoredResult | DeliveredResult
    if stored:
        # Fetch and keep the image before charging: a failure here is retried by the provider.
        # Kept re-encoded, never as sent (CNT-7): no embedded metadata, the type it really has.
        image = clean_image(provider.download(delivery.image_url, MAX_UPLOAD_BYTES))
        if isinstance(image, str):
            holds.release(job.gen_id)
            changed = _finish_by_hold(
                job, holds.hold_state(job.gen_id), content=content, profile=profile, failure="invalid_result"
            )
            return {"status": "failed", "changed": changed}
        bucket, key = objects.location(Category.GENERATED_IMAGES, job.owner_id, job.gen_id)
        objects.put(bucket, key, image.data, content_type=image.content_type)
        result = StoredResult(key, image.image_format, image.content_type, image.width, image.height)
    else:
        result = DeliveredResult(url=delivery.image_url or "", until=clock.now() + DELIVERY_TIME)
    holds.commit(job.gen_id)
    changed = _finish_by_hold(job, holds.hold_state(job.gen_id), content=content, profile=profile, result=result)
    if changed:
        remove_used_upload(job, profile=profile, content=content, objects=objects)
    now_status = JobStatus.COMPLETED if changed else _status_now(content, job.gen_id)
    if stored and now_status != JobStatus.COMPLETED:  # the job failed meanwhile: keep no orphan image
        objects.delete(*objects.location(Category.GENERATED_IMAGES, job.owner_id, job.gen_id))
    return {"status": str(now_status), "changed": changed}


def remove_used_upload(
    job: GenerationJob, *, profile: Profile, content: ContentRecords, objects: ObjectStorage
) -> bool:
    """CNT-2, OPS-9: where uploads are kept only until processed, the one a completed job used goes now."""
    if not job.source_upload_id or not deleted_on_completion(profile):
        return False
    upload = content.upload(job.owner_id, job.source_upload_id)
    if upload is None:
        return False
    remove_upload(upload, content=content, objects=objects)
    return True


def _status_now(content: ContentRecords, gen_id: str) -> JobStatus | None:
    job = content.job(gen_id)
    return job.status if job else None


def _finish_by_hold(
    job: GenerationJob,
    hold_state: str | None,
    *,
    content: ContentRecords,
    profile: Profile,
    failure: str = "",
    result: StoredResult | DeliveredResult | None = None,
) -> bool:
    """Bring the job in line with its hold: committed -> completed, released -> failed (GEN-1)."""
    forget = forgets_prompts(profile)
    if hold_state == "committed" and result is not None:
        changed = content.finish_job(job, JobStatus.COMPLETED, forget_prompt=forget, result=result)
        if changed:
            emit(Metric.GENERATIONS, outcome="completed")
            emit(Metric.CREDITS_SPENT, job.cost)
        return changed
    if hold_state == "released":
        changed = content.finish_job(job, JobStatus.FAILED, forget_prompt=forget, failure=failure or "released")
        if changed:
            emit(Metric.GENERATIONS, outcome="failed")
        return changed
    return False


def forgets_prompts(profile: Profile) -> bool:
    """Prompts kept only while the job runs (PromptPixels, Pictomancer) are removed when it ends (OPS-9)."""
    return not profile.stores(Category.PROMPTS) or (
        profile.category(Category.PROMPTS).retention.kind == RetentionKind.UNTIL_PROCESSED
    )


def job_view(job: GenerationJob, profile: Profile) -> dict:
    view = {
        "id": job.gen_id,
        "status": str(job.status),
        "model": job.model,
        "aspect_ratio": job.aspect_ratio,
        "style": job.style,
        "safety_level": job.safety_level,
        "cost": job.cost,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if job.prompt is not None:
        view["prompt"] = job.prompt
        view["negative_prompt"] = job.negative_prompt
    if job.failure:
        view["failure"] = job.failure
    if job.status == JobStatus.COMPLETED:
        if job.stored_key:
            view.update(gallery_id=job.gen_id, width=job.width, height=job.height)
        elif job.delivery_url and job.delivery_until and clock.now() < job.delivery_until:
            view["result_url"] = job.delivery_url  # delivered, never copied (CNT-3)
            view["result_url_expires_at"] = job.delivery_until.isoformat()
    return view


def log_parameters(params: GenerationParams) -> str:
    return json.dumps(
        {"aspect_ratio": params.aspect_ratio, "style": params.style, "safety_level": params.safety_level},
        sort_keys=True,
    )
