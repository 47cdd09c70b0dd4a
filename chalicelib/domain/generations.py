"""Generation jobs of every kind (GEN-1, GEN-2, GEN-3, GEN-4, CNT-3, CNT-5, CNT-6, CNT-8, PAY-2).

Submit: the credit hold (the kind's price, under the kind's name in the ledger: PAY-2), the job, its
timeout and the generation log are written in ONE ledger transaction, then the provider gets ONE call
carrying a webhook URL with the job's unguessable token, and the provider's own id for the job is
recorded on it. The webhook is authenticated by the provider's adapter, matched to the job by the
token AND by that id (GEN-3: another job's genuine callback posted to this URL is refused), and
settled through the ledger, whose hold state is the one truth about the outcome: a duplicate, late or
reordered delivery finds the hold settled and changes nothing.

GEN-4: every image and video result is marked as AI-generated (a signed C2PA manifest) before it is
kept; where the profile keeps no generated image, it is fetched, marked and handed to its owner on
each request during the delivery window (`delivered_result`), and no copy is kept.

What each kind takes and leaves behind (inputs, archives, characters) is in `jobs`.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import clock, errors
from chalicelib.domain import jobs
from chalicelib.domain.ports.accounts import token_hash
from chalicelib.domain.ports.content import (
    Character,
    ContentMarker,
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
    Provenance,
    StoredResult,
    TrainedCharacter,
    UploadStatus,
)
from chalicelib.domain.restrictions import ensure_allowed
from chalicelib.domain.uploads import MAX_UPLOAD_BYTES, clean_image, deleted_on_completion
from chalicelib.domain.uploads import remove as remove_upload
from chalicelib.metrics import Metric, emit
from chalicelib.observability import logger
from chalicelib.profile.schema import Category, JobKind, Profile, RetentionKind

JOB_TIMEOUT = jobs.DEFAULT_TIMEOUT
DELIVERY_TIME = timedelta(minutes=15)  # how long an unstored result's URL is handed out
SOURCE_URL_SECONDS = 900
ASPECT_RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16")
STYLES = ("none", "photographic", "anime", "digital-art", "cinematic", "watercolor")
SAFETY_LEVELS = ("strict", "standard", "relaxed")
PROMPT_MAX = 2000
NEGATIVE_PROMPT_MAX = 1000


@dataclass(frozen=True)
class GenerationParams:
    prompt: str = ""
    model: str = ""  # text-to-image only: every other kind runs the provider's model for it
    aspect_ratio: str = "1:1"
    style: str = "none"
    safety_level: str = "standard"
    negative_prompt: str | None = None
    source_upload_id: str | None = None
    kind: JobKind = JobKind.TEXT_TO_IMAGE
    input_upload_ids: tuple[str, ...] = ()  # character training: the photos; video render: the frames
    character_id: str | None = None  # character-image
    name: str | None = None  # character training: what the owner calls the character
    scale: int | None = None  # upscale
    fps: int | None = None  # video render


@dataclass(frozen=True)
class JobPorts:
    """Everything a job touches, bound once by the content service."""

    content: ContentRecords
    objects: ObjectStorage
    holds: CreditHolds
    provider: ModelProvider
    marker: ContentMarker
    profile: Profile
    costs: Mapping[JobKind, int]  # credits per job of each kind, from the billing catalogue
    public_base_url: str


@dataclass(frozen=True)
class MarkedMedia:
    data: bytes
    content_type: str


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
    *, user_id: str, restricted: bool, objections: frozenset[str], params: GenerationParams, ports: JobPorts
) -> dict:
    ensure_allowed(restricted=restricted, objections=objections, purpose="generation")
    provider, profile, kind = ports.provider, ports.profile, params.kind
    if not listed_in_policy(provider, profile):
        logger.error("model provider not listed in the policy", extra={"provider": provider.name})
        raise errors.UpstreamUnavailable("Generation is not available.")
    jobs.ensure_offered(kind, profile, provider, ports.costs)
    model = _model(params, provider)
    _check_params(params)
    character = _character(user_id, params, ports) if kind == JobKind.CHARACTER_IMAGE else None
    source_url = _source_url(user_id, params.source_upload_id, ports) if params.source_upload_id else None

    now = clock.now()
    gen_id, secret = new_gen_id(), secrets.token_urlsafe(32)
    input_key = None
    if kind in jobs.INPUT_CATEGORY:
        input_key = jobs.stage_inputs(
            kind=kind,
            user_id=user_id,
            gen_id=gen_id,
            upload_ids=params.input_upload_ids,
            content=ports.content,
            objects=ports.objects,
        )
    keep_prompt = profile.stores(Category.PROMPTS)
    job = GenerationJob(
        gen_id=gen_id,
        owner_id=user_id,
        token_hash=token_hash(secret),
        provider=provider.name,
        model=model,
        aspect_ratio=params.aspect_ratio,
        style=params.style,
        safety_level=params.safety_level,
        prompt=(params.prompt or None) if keep_prompt else None,
        negative_prompt=params.negative_prompt if keep_prompt else None,
        source_upload_id=params.source_upload_id,
        cost=ports.costs[kind],
        created_at=now,
        kind=kind,
        input_key=input_key,
        character_id=params.character_id if character else None,
        character_name=params.name if kind == JobKind.CHARACTER_TRAINING else None,
        scale=params.scale,
        fps=params.fps,
    )
    log = None
    if profile.stores(Category.GENERATION_LOGS):  # every kind: who asked for what, when (GEN-2)
        log = GenerationLogEntry(
            gen_id=gen_id,
            user_id=user_id,
            prompt=params.prompt,
            negative_prompt=params.negative_prompt,
            model=model,
            parameters=log_parameters(params),
            created_at=now,
        )
    try:
        ports.content.open_job(job, deadline=now + jobs.timeout(kind), log=log)
    except errors.DomainError:
        jobs.release_inputs(job, ports.objects)  # no job: no archive either
        raise

    request = JobRequest(
        gen_id=gen_id,
        model=model,
        prompt=params.prompt,
        negative_prompt=params.negative_prompt,
        aspect_ratio=params.aspect_ratio,
        style=params.style,
        safety_level=params.safety_level,
        source_image_url=source_url,
        kind=kind,
        inputs_url=_inputs_url(job, ports.objects) if input_key else None,
        character_ref=character.model_ref if character else None,
        trigger_word=character.trigger_word if character else _trigger_word(job),
        scale=params.scale,
        fps=params.fps,
    )
    try:
        provider_request_id = provider.submit(
            request, webhook_url(ports.public_base_url, provider.name, gen_id, secret)
        )
    except Exception:
        # Nothing runs at the provider: give the credits back and say so.
        ports.holds.release(gen_id)
        ports.content.finish_job(
            job, JobStatus.FAILED, forget_prompt=forgets_prompts(profile), failure="provider_unavailable"
        )
        jobs.release_inputs(job, ports.objects)
        logger.warning("provider submit failed", extra={"gen_id": gen_id, "provider": provider.name})
        raise errors.UpstreamUnavailable("The image service is unavailable; no credits were spent.") from None
    ports.content.bind_job(gen_id, provider_request_id)
    for upload_id in params.input_upload_ids:  # staged into the job's archive: the archive is the one copy
        upload = ports.content.upload(user_id, upload_id)
        if upload is not None:
            remove_upload(upload, content=ports.content, objects=ports.objects)
    return job_view(job, profile, ports.public_base_url)


def _model(params: GenerationParams, provider: ModelProvider) -> str:
    if params.kind != JobKind.TEXT_TO_IMAGE:
        return provider.tools[params.kind]
    if params.model not in provider.models:
        raise errors.InvalidInput("This model is not offered.", details={"models": sorted(provider.models)})
    return params.model


def _check_params(params: GenerationParams) -> None:
    """What each kind needs, beyond the request schema's own checks; the error names the field."""
    kind = params.kind
    problems = [
        ("prompt", "This kind of job needs a prompt.", kind in jobs.PROMPTED_KINDS and not params.prompt),
        (
            "source_upload_id",
            "Upscaling and editing take one source upload; character jobs and renders take none.",
            (kind in jobs.SOURCE_KINDS and not params.source_upload_id)
            or (kind not in jobs.SOURCE_KINDS and kind != JobKind.TEXT_TO_IMAGE and bool(params.source_upload_id)),
        ),
        (
            "input_upload_ids",
            "Only character training and video renders take a set of uploads.",
            (kind in jobs.INPUT_CATEGORY) != bool(params.input_upload_ids),
        ),
        (
            "character_id",
            "An image of a character names the character; other kinds do not.",
            (kind == JobKind.CHARACTER_IMAGE) != bool(params.character_id),
        ),
        ("name", "A character needs a name.", kind == JobKind.CHARACTER_TRAINING and not params.name),
        ("scale", "Upscaling takes a scale of 2 or 4.", kind == JobKind.UPSCALE and params.scale not in jobs.SCALES),
        (
            "fps",
            "A render takes a frame rate (fps) from 1 to 60.",
            kind == JobKind.VIDEO_RENDER and not (params.fps and jobs.FPS_RANGE[0] <= params.fps <= jobs.FPS_RANGE[1]),
        ),
    ]
    fields = [{"field": field, "problem": problem} for field, problem, wrong in problems if wrong]
    if fields:
        raise errors.InvalidInput(fields[0]["problem"], details={"fields": fields})


def _character(user_id: str, params: GenerationParams, ports: JobPorts) -> Character:
    character = ports.content.character(user_id, params.character_id or "")
    if character is None or character.provider != ports.provider.name:
        raise errors.NotFound("No such character.")
    return character


def _trigger_word(job: GenerationJob) -> str | None:
    """The word a character being trained will answer to: random, never the owner's name for it."""
    return f"pk{job.gen_id[-10:]}" if job.kind == JobKind.CHARACTER_TRAINING else None


def _source_url(user_id: str, upload_id: str, ports: JobPorts) -> str:
    upload = ports.content.upload(user_id, upload_id)
    if upload is None:  # someone else's upload looks exactly like a missing one (CNT-1)
        raise errors.NotFound("No such upload.")
    if upload.status != UploadStatus.READY:
        raise errors.Conflict("The upload has not been checked yet, or it was rejected.")
    bucket, key = ports.objects.location(Category.UPLOADS, user_id, upload_id)
    return ports.objects.presigned_get(bucket, key, expires_in=SOURCE_URL_SECONDS)


def _inputs_url(job: GenerationJob, objects: ObjectStorage) -> str:
    bucket, key = objects.location(jobs.INPUT_CATEGORY[job.kind], job.owner_id, job.gen_id)
    seconds = int(jobs.timeout(job.kind).total_seconds())
    return objects.presigned_get(bucket, key, expires_in=seconds, content_type="application/zip")


# -- status, listing, cancelling ------------------------------------------------------------------
def status(*, user_id: str, gen_id: str, ports: JobPorts) -> dict:
    job = ports.content.job(gen_id)
    if job is None or job.owner_id != user_id:
        raise errors.NotFound("No such generation.")
    if job.status == JobStatus.QUEUED and clock.now() - job.created_at > jobs.timeout(job.kind):
        time_out(gen_id, ports=ports)
        job = ports.content.job(gen_id)
    return job_view(job, ports.profile, ports.public_base_url)


def list_jobs(*, user_id: str, kind: JobKind | None, limit: int, cursor: str | None, ports: JobPorts) -> dict:
    """The owner's jobs newest first, of one kind or all, with progress for long ones."""
    if not 1 <= limit <= 100:
        raise errors.InvalidInput("limit must be between 1 and 100.")
    page, next_cursor = ports.content.jobs(user_id, kind=kind, limit=limit, cursor=cursor)
    return {
        "items": [job_view(job, ports.profile, ports.public_base_url) for job in page],
        "next_cursor": next_cursor,
    }


def cancel(*, user_id: str, gen_id: str, ports: JobPorts) -> dict:
    """The owner's request to stop a job: its credits return and its inputs go now (CNT-5, CNT-6)."""
    job = ports.content.job(gen_id)
    if job is None or job.owner_id != user_id:
        raise errors.NotFound("No such generation.")
    if job.status != JobStatus.QUEUED:
        raise errors.Conflict("The job has ended already.")
    _stop_at_provider(job, ports)
    ports.holds.release(gen_id)
    _finish_by_hold(job, ports.holds.hold_state(gen_id), ports=ports, failure="cancelled")
    return job_view(ports.content.job(gen_id) or job, ports.profile, ports.public_base_url)


def _stop_at_provider(job: GenerationJob, ports: JobPorts) -> None:
    """The provider stops the job and forgets what it was sent (CNT-5, GEN-5). The user's cancel
    stands whatever the provider answers: the credits return and a late result is not taken."""
    if not job.provider_request_id or job.provider != ports.provider.name:
        return
    try:
        stopped = ports.provider.cancel(job.kind, job.model, job.provider_request_id)
        forgotten = ports.provider.delete_request(job.provider_request_id).ok
    except errors.UpstreamUnavailable:
        stopped = forgotten = False
    if not (stopped and forgotten):
        logger.warning("provider did not confirm a cancel", extra={"provider": job.provider})


def time_out(gen_id: str, *, ports: JobPorts) -> None:
    """A job that never heard back: its credits return (unless a result committed them first)."""
    job = ports.content.job(gen_id)
    if job is None or job.status != JobStatus.QUEUED:
        return
    ports.holds.release(gen_id)
    _finish_by_hold(job, ports.holds.hold_state(gen_id), ports=ports, failure="timed_out")


# -- webhook ------------------------------------------------------------------------------------
def ensure_bound(recorded_request_id: str | None, delivered_request_id: str, *, job_open: bool) -> None:
    """GEN-3: a callback speaks for the job only when it names the provider's id recorded for it at
    submit. Until that id is recorded (a callback racing the submit) the provider is asked to retry."""
    if recorded_request_id is None and job_open:
        raise errors.Conflict("The job is not ready for its result yet; try again.")
    if recorded_request_id is None or not hmac.compare_digest(recorded_request_id, delivered_request_id):
        raise errors.SignatureInvalid("The webhook is not for this job.")


def handle_delivery(*, provider_name: str, job_token: str, headers: dict, body: bytes, ports: JobPorts) -> dict:
    """One provider callback. Forged, stale or foreign ones, and another job's, raise SignatureInvalid
    and change nothing; repeated or out-of-order ones leave the first settlement standing (GEN-3)."""
    provider, content = ports.provider, ports.content
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
        return _complete(job, delivery, ports=ports)
    return _fail(job, "provider_failed", ports=ports)


def _fail(job: GenerationJob, failure: str, *, ports: JobPorts) -> dict:
    ports.holds.release(job.gen_id)
    changed = _finish_by_hold(job, ports.holds.hold_state(job.gen_id), ports=ports, failure=failure)
    return {"status": "failed", "changed": changed}


def _complete(job: GenerationJob, delivery: Delivery, *, ports: JobPorts) -> dict:
    content, objects, profile = ports.content, ports.objects, ports.profile
    stored = profile.stores(Category.GENERATED_IMAGES)
    result: StoredResult | DeliveredResult | TrainedCharacter
    if job.kind == JobKind.CHARACTER_TRAINING:
        if not delivery.model_ref:
            return _fail(job, "invalid_result", ports=ports)
        result = TrainedCharacter(_trained(job, delivery.model_ref))
    elif stored:
        # Fetch, check and mark the result before charging: a failure here is retried by the provider.
        # Kept re-encoded, never as sent (CNT-7), and marked as AI-generated (GEN-4).
        media = _fetch(job, delivery.result_url or "", ports)
        if isinstance(media, str):
            return _fail(job, "invalid_result", ports=ports)
        marked, checked = media
        bucket, key = objects.location(Category.GENERATED_IMAGES, job.owner_id, job.gen_id)
        objects.put(bucket, key, marked.data, content_type=marked.content_type)
        result = StoredResult(key, checked.image_format, marked.content_type, checked.width, checked.height)
    else:
        result = DeliveredResult(url=delivery.result_url or "", until=clock.now() + DELIVERY_TIME)
    ports.holds.commit(job.gen_id)
    changed = _finish_by_hold(job, ports.holds.hold_state(job.gen_id), ports=ports, result=result)
    if changed:
        remove_used_upload(job, profile=profile, content=content, objects=objects)
    now_status = JobStatus.COMPLETED if changed else _status_now(content, job.gen_id)
    if isinstance(result, StoredResult) and now_status != JobStatus.COMPLETED:  # failed meanwhile: no orphan
        objects.delete(*objects.location(Category.GENERATED_IMAGES, job.owner_id, job.gen_id))
    return {"status": str(now_status), "changed": changed}


def _trained(job: GenerationJob, model_ref: str) -> Character:
    return Character(
        owner_id=job.owner_id,
        character_id=job.gen_id,
        name=job.character_name or "character",
        provider=job.provider,
        model_ref=model_ref,
        trigger_word=_trigger_word(job) or "",
        created_at=clock.now(),
        provider_request_id=job.provider_request_id,
    )


def _fetch(job: GenerationJob, url: str, ports: JobPorts):
    """(marked media, what was checked) of a result, or why it cannot be used."""
    if job.kind == JobKind.VIDEO_RENDER:
        checked = jobs.check_mp4(ports.provider.download(url, jobs.MAX_VIDEO_BYTES))
    else:
        checked = clean_image(ports.provider.download(url, MAX_UPLOAD_BYTES))
    if isinstance(checked, str):
        return checked
    data = ports.marker.mark(checked.data, checked.content_type, provenance(job, ports.provider))  # GEN-4
    return MarkedMedia(data, checked.content_type), checked


def provenance(job: GenerationJob, provider: ModelProvider) -> Provenance:
    """The marking names the model and the provider only (GEN-4)."""
    return Provenance(model=job.model, provider=provider.title)


def delivered_result(*, user_id: str, gen_id: str, ports: JobPorts) -> MarkedMedia:
    """GEN-4, CNT-3: a result the profile does not keep, fetched from the provider, re-encoded and
    marked on its way to its owner; nothing is written anywhere."""
    job = ports.content.job(gen_id)
    if job is None or job.owner_id != user_id or job.status != JobStatus.COMPLETED or not job.delivery_url:
        raise errors.NotFound("No such result.")
    if job.delivery_until is None or clock.now() >= job.delivery_until:
        raise errors.Gone("The result was delivered and is no longer available.")
    media = _fetch(job, job.delivery_url, ports)
    if isinstance(media, str):
        raise errors.UpstreamUnavailable("The model provider sent an unreadable result.")
    return media[0]


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
    ports: JobPorts,
    failure: str = "",
    result: StoredResult | DeliveredResult | TrainedCharacter | None = None,
) -> bool:
    """Bring the job in line with its hold: committed -> completed, released -> failed (GEN-1).
    Whichever way it ends, its input archive goes with it (CNT-5, CNT-6)."""
    forget = forgets_prompts(ports.profile)
    changed = False
    if hold_state == "committed" and result is not None:
        changed = ports.content.finish_job(job, JobStatus.COMPLETED, forget_prompt=forget, result=result)
        if changed:
            emit(Metric.GENERATIONS, outcome="completed")
            emit(Metric.CREDITS_SPENT, job.cost)
    elif hold_state == "released":
        changed = ports.content.finish_job(job, JobStatus.FAILED, forget_prompt=forget, failure=failure or "released")
        if changed:
            emit(Metric.GENERATIONS, outcome="failed")
    if changed:
        jobs.release_inputs(job, ports.objects)
    return changed


def forgets_prompts(profile: Profile) -> bool:
    """Prompts kept only while the job runs (PromptPixels, Pictomancer) are removed when it ends (OPS-9)."""
    return not profile.stores(Category.PROMPTS) or (
        profile.category(Category.PROMPTS).retention.kind == RetentionKind.UNTIL_PROCESSED
    )


def job_view(job: GenerationJob, profile: Profile, public_base_url: str) -> dict:
    view = {
        "id": job.gen_id,
        "kind": str(job.kind),
        "status": str(job.status),
        "model": job.model,
        "cost": job.cost,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
    if job.kind in (JobKind.TEXT_TO_IMAGE, JobKind.EDIT, JobKind.CHARACTER_IMAGE):
        view.update(aspect_ratio=job.aspect_ratio, style=job.style, safety_level=job.safety_level)
    if job.prompt is not None:
        view["prompt"] = job.prompt
        view["negative_prompt"] = job.negative_prompt
    if job.kind == JobKind.CHARACTER_IMAGE:
        view["character_id"] = job.character_id
    if job.scale:
        view["scale"] = job.scale
    if job.fps:
        view["fps"] = job.fps
    if (progress := jobs.progress(job)) is not None:
        view["progress"] = progress
    if job.failure:
        view["failure"] = job.failure
    if job.status == JobStatus.COMPLETED:
        if job.kind == JobKind.CHARACTER_TRAINING:
            view["character_id"] = job.gen_id
        elif job.stored_key:
            view.update(gallery_id=job.gen_id, width=job.width, height=job.height)
        elif job.delivery_url and job.delivery_until and clock.now() < job.delivery_until:
            # delivered, never copied (CNT-3), marked on the way (GEN-4)
            view["result_url"] = f"{public_base_url}/generations/{job.gen_id}/result"
            view["result_url_expires_at"] = job.delivery_until.isoformat()
    return view


def log_parameters(params: GenerationParams) -> str:
    values: dict = {"aspect_ratio": params.aspect_ratio, "style": params.style, "safety_level": params.safety_level}
    if params.kind != JobKind.TEXT_TO_IMAGE:
        values["kind"] = str(params.kind)
    return json.dumps(values, sort_keys=True)


# -- characters ---------------------------------------------------------------------------------
def character_view(character: Character) -> dict:
    return {
        "id": character.character_id,
        "name": character.name,
        "provider": character.provider,
        "created_at": character.created_at.isoformat(),
    }


def list_characters(*, user_id: str, ports: JobPorts) -> dict:
    return {"items": [character_view(c) for c in ports.content.characters(user_id)]}


def delete_character(*, user_id: str, character_id: str, ports: JobPorts) -> None:
    """The owner's character goes when they say so (and with their account), its weights at the
    provider first (GEN-5): one the provider does not acknowledge stays listed, to be deleted again."""
    character = ports.content.character(user_id, character_id)
    if character is None:
        raise errors.NotFound("No such character.")
    if character.provider_request_id and character.provider == ports.provider.name:
        if not ports.provider.delete_request(character.provider_request_id).ok:
            logger.warning("provider kept a character's weights", extra={"provider": character.provider})
            raise errors.UpstreamUnavailable("The model provider could not delete the character; try again.")
    ports.content.delete_character(user_id, character_id)
