"""Export (DSR-1, DSR-2): everything stored about a person, as one machine-readable zip archive.

The archive holds `manifest.json` (the profile's categories: what, why, how long), one JSON file per
kind of record from every table, and the original files. It is streamed: records and objects pass
through one at a time into a multipart upload, so memory stays flat however much a person stored.

Downloads: the e-mail carries the route GET /me/exports/{id}/download, never a presigned URL (one
signed inside Lambda dies with the role's temporary credentials, hours before its `ExpiresIn`). The
signed-in owner gets a fresh URL living DOWNLOAD_URL_SECONDS on each call, for as long as the profile
keeps the archive (its `exports` retention); after that the route answers 410.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
import zipfile
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.domain.ports.rights import ExportJob
from chalicelib.domain.rights import failures, rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import Conflict, Gone, NotFound, RateLimited
from chalicelib.metrics import Metric
from chalicelib.profile.schema import Category
from chalicelib.retention import expiry

PROGRESS_EVERY = 500
DOWNLOAD_URL_SECONDS = 300  # signed per download, used at once
FINISHED = ("ready", "failed")
# Every step is a Lambda call of at most 15 minutes, tried five times: an export unfinished after
# this long died without reaching its Catch path and no longer holds up a new one.
EXPORT_ABANDONED_AFTER = timedelta(hours=6)
IN_FLIGHT_RETRY_SECONDS = 60
# Secrets and bookkeeping say nothing about the person and must not leave the system.
_HIDDEN = {"pk", "sk", "version", "expires_at", "queue", "due_key"}
_UNPORTABLE = re.compile(r'[<>:"\\|?*\x00-\x1f]')


def portable_name(path: str) -> str:
    """An entry name every unzip accepts (DSR-2): no character Windows or macOS refuse in a file
    name (a timestamp's colons), no control character."""
    return _UNPORTABLE.sub("-", path)


def execution_name(export_id: str) -> str:
    return f"export-{export_id}"


def _visible(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _HIDDEN and not k.endswith("_hash")}


def request_export(ctx: RightsContext, user_id: str, *, request_id: str | None = None) -> dict[str, Any]:
    """Start an export; `request_id` when it answers a request already in the ledger. A person's
    own request waits while another export of theirs is in flight (DSR-1): each one runs a workflow
    and e-mails a link, and the one under way already holds everything."""
    if request_id is None:
        _refuse_while_in_flight(ctx, user_id)
        ctx.limiter.check_person("export", user_id)  # a few a day, counted only when one starts
        request_id = rights_requests.open_request(ctx, kind="access", user_id=user_id, actor="user").request_id
    export_id = uuid.uuid4().hex
    record = ExportJob(
        user_id=user_id, export_id=export_id, status="queued", request_id=request_id, created_at=clock.now()
    )
    ctx.rights.add_export(record)
    ctx.export_workflow.start(execution_name(export_id), {"user_id": user_id, "export_id": export_id})
    return describe(record)


def _refuse_while_in_flight(ctx: RightsContext, user_id: str) -> None:
    now = clock.now()
    if any(
        job.status not in FINISHED and now - job.created_at < EXPORT_ABANDONED_AFTER
        for job in ctx.rights.exports(user_id)
    ):
        raise RateLimited(
            "An export is already being prepared; you will get an e-mail when it is ready.",
            retry_after=IN_FLIGHT_RETRY_SECONDS,
        )


def describe(record: ExportJob) -> dict[str, Any]:
    view = {
        "id": record.export_id,
        "status": record.status,
        "progress": {"done": int(record.items_done), "total": int(record.items_total)},
        "created_at": record.created_at.isoformat(),
        "ready_at": record.ready_at.isoformat() if record.ready_at else None,
    }
    if record.status == "ready":
        view["download"] = download_path(record.export_id)
    return view


def download_path(export_id: str) -> str:
    return f"/me/exports/{export_id}/download"


def archive_expires_at(ctx: RightsContext, record: ExportJob) -> datetime | None:
    """When the profile's `exports` retention ends for this archive, counted like the export record's
    own TTL (from its request); the archive object's lifecycle rule removes it after that."""
    return expiry(ctx.profile, Category.EXPORTS, record.created_at)


def download(ctx: RightsContext, user_id: str, export_id: str) -> dict[str, Any]:
    """A fresh short-lived URL to the owner's archive (DSR-1), while the profile keeps it."""
    record = ctx.rights.get_export(user_id, export_id)
    if record is None:
        raise NotFound("No such export.")
    if record.status != "ready" or not record.object_key:
        raise Conflict("The export is not ready yet.")
    until = archive_expires_at(ctx, record)
    left = int((until - clock.now()).total_seconds()) if until else DOWNLOAD_URL_SECONDS
    if left <= 0:
        raise Gone("This export has expired; request a new one.")
    seconds = min(DOWNLOAD_URL_SECONDS, left)
    return {"url": ctx.personal.download_url(record.object_key, seconds), "expires_in": seconds}


def status(ctx: RightsContext, user_id: str, export_id: str) -> dict[str, Any]:
    record = ctx.rights.get_export(user_id, export_id)
    if record is None:
        raise NotFound("No such export.")
    return describe(record)


def _record(ctx: RightsContext, event: dict[str, Any]) -> ExportJob:
    record = ctx.rights.get_export(event["user_id"], event["export_id"])
    if record is None:
        raise NotFound("The export record is gone.")
    return record


# -- workflow steps -----------------------------------------------------------------------------
def collect(ctx: RightsContext, event: dict[str, Any]) -> dict[str, int]:
    """Count what will go in, so progress means something."""
    user_id = event["user_id"]
    items = sum(1 for _ in ctx.personal.owned_items(user_id))
    files = sum(1 for _ in ctx.personal.owned_objects(user_id, skip=[Category.EXPORTS]))
    record = _record(ctx, event)
    ctx.rights.update_export(user_id, record.export_id, status="collecting", items_total=items + files, items_done=0)
    return {"items": items, "files": files}


def _manifest(ctx: RightsContext, user_id: str) -> dict[str, Any]:
    profile = ctx.profile
    return {
        "service": profile.service.name,
        "user_id": user_id,
        "policy_version": profile.policy.version,
        "generated_at": clock.now().isoformat(),
        "categories": [
            {
                "id": c.id.value,
                "title": c.title,
                "fields": c.fields,
                "purposes": c.purposes,
                "legal_basis": c.legal_basis.value,
                "retention": c.retention.model_dump(mode="json"),
            }
            for c in profile.categories
        ],
        "layout": "records/<table>/<kind>.json hold your records; files/ holds your original files.",
    }


class _Progress:
    def __init__(self, ctx: RightsContext, record: ExportJob) -> None:
        self.ctx, self.record, self.done = ctx, record, 0

    def tick(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.ctx.rights.update_export(self.record.user_id, self.record.export_id, items_done=self.done)


def _write_records(ctx: RightsContext, archive: zipfile.ZipFile, user_id: str, progress: _Progress) -> None:
    """One JSON array per (table, kind); by_owner returns items sorted by sk, so kinds arrive together."""
    current, stream, written = None, None, set()
    for owned in ctx.personal.owned_items(user_id):
        name = f"records/{owned.table}/{owned.kind}.json"
        if name != current:
            if stream:
                stream.write(b"\n]\n")
                stream.close()
            suffix = 1
            while name in written:
                suffix += 1
                name = f"records/{owned.table}/{owned.kind}-{suffix}.json"
            current, first = name, True
            written.add(name)
            stream = archive.open(name, "w")
            stream.write(b"[\n")
        stream.write((b"" if first else b",\n") + json.dumps(_visible(owned.fields), default=str).encode())
        first = False
        progress.tick()
    if stream:
        stream.write(b"\n]\n")
        stream.close()


def archive(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Stream the zip into the exports bucket (multipart). A rerun rebuilds the same archive key."""
    user_id, record = event["user_id"], _record(ctx, event)
    if record.status == "ready":
        return {"key": record.object_key}
    key = ctx.personal.archive_key(user_id, record.export_id)
    ctx.rights.update_export(user_id, record.export_id, status="archiving")
    writer = ctx.personal.archive_writer(key)
    progress = _Progress(ctx, record)
    stamp = clock.now().timetuple()[:6]  # one shared timestamp: no tuple per entry kept until the end
    try:
        with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED) as archive_file:
            archive_file.writestr("manifest.json", json.dumps(_manifest(ctx, user_id), indent=2))
            _write_records(ctx, archive_file, user_id, progress)
            for obj in ctx.personal.owned_objects(user_id, skip=[Category.EXPORTS]):
                name = "files/" + portable_name(obj.key.replace(f"/{user_id}/", "/", 1))
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_STORED  # images are compressed already
                with archive_file.open(info, "w", force_zip64=obj.size > 2**31) as target:
                    shutil.copyfileobj(ctx.personal.open_object(obj), target, 1024 * 1024)
                progress.tick()
        del archive_file  # its per-entry bookkeeping is written out; free it before the last part uploads
        writer.complete()
    except BaseException:
        writer.abort()
        raise
    ctx.rights.update_export(user_id, record.export_id, object_key=key, items_done=progress.done)
    return {"key": key, "entries": progress.done}


def notify(ctx: RightsContext, event: dict[str, Any]) -> dict[str, bool]:
    """Email the download route (it signs a fresh URL per download) and how long the archive stays."""
    record = _record(ctx, event)
    if record.status == "ready":
        return {"sent": False}
    user = ctx.accounts.get_user(event["user_id"], consistent=True)
    ready_at = clock.now()
    kept_until = archive_expires_at(ctx, record)
    if user is not None:
        ctx.email.send(
            user.email,
            f"{ctx.profile.service.name}: your data export is ready",
            "Download your data (a zip archive of JSON files and your original files), signed in:\n\n"
            f"{ctx.public_base_url}{download_path(record.export_id)}\n\n"
            f"The archive is kept until {kept_until:%Y-%m-%d %H:%M} UTC; each download link lasts a few minutes.",
        )
    ctx.rights.update_export(record.user_id, record.export_id, status="ready", ready_at=ready_at)
    if record.request_id:
        rights_requests.complete(ctx, record.request_id, reference=record.export_id)
    return {"sent": user is not None}


def fail(ctx: RightsContext, event: dict[str, Any]) -> dict[str, str]:
    """The Catch path (DSR-4): the user sees the export failed, the request fails, `ExportFailed` counts."""
    why = failures.reason(event)
    record = ctx.rights.get_export(event["user_id"], event["export_id"])
    if record is not None:
        ctx.rights.update_export(record.user_id, record.export_id, status="failed")
    request_id = record.request_id if record is not None else None
    failures.report(ctx, metric=Metric.EXPORT_FAILED, request_id=request_id, reference=event["export_id"], why=why)
    return {"status": "failed", "reason": why}
