"""Export (DSR-1, DSR-2): everything stored about a person, as one machine-readable zip archive.

The archive holds `manifest.json` (the profile's categories: what, why, how long), one JSON file per
kind of record from every table, and the original files. It is written in pages (P3): each `archive`
invocation writes one page of files or records as zip entries into one multipart upload, resumed
from the state the page before returned, and keeps that page's central directory records beside
the upload; `seal` then appends those records a page per invocation and the end record. So no
invocation handles more than a page however much a person stored, memory stays at about one part
(P4), and the person still gets one archive and one link. Originals are read a few at a time ahead
of the writer (archive.py, P5). The workflow carries the export id, page numbers, counts and the
upload's state (its id, parts and offset); each task reads the person from the export record, and
no task returns a user id or an object key into the execution's history (DSR-13).

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
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.domain.ports.rights import ExportJob, Page, PersonalItem, StoredObject
from chalicelib.domain.rights import failures, paging, rights_requests
from chalicelib.domain.rights.archive import ArchivePage, fetched_ahead, write_end
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import Conflict, Gone, NotFound, RateLimited
from chalicelib.metrics import Metric
from chalicelib.profile.schema import Category, plain
from chalicelib.retention import expiry

FETCH_AHEAD_BYTES = 8 * 2**20  # originals up to this size are read ahead, whole (P5)
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
    ctx.export_workflow.start(execution_name(export_id), {"export_id": export_id})
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
    record = ctx.rights.find_export(event["export_id"])
    if record is None:
        raise NotFound("The export record is gone.")
    return record


# -- workflow steps -----------------------------------------------------------------------------
def _keeper(ctx: RightsContext, record: ExportJob) -> Any:
    def keep(cursors: dict[str, Any]) -> None:
        ctx.rights.update_export(record.user_id, record.export_id, cursors=cursors)

    return keep


def next_page(
    ctx: RightsContext, record: ExportJob, step: str, position: paging.Position, sources: list[paging.Source]
) -> Page[Any]:
    return paging.next_page(position, record.cursors, step, sources, ctx.page_size, _keeper(ctx, record))


def _contents(ctx: RightsContext, user_id: str) -> list[paging.Source]:
    """What goes in, in archive order: the original files, then the records."""

    def files(cursor: str | None, limit: int) -> Page[Any]:
        return ctx.personal.objects_page(user_id, cursor, limit, skip=[Category.EXPORTS])

    def records(cursor: str | None, limit: int) -> Page[Any]:
        return ctx.personal.owned_page(user_id, cursor, limit)

    return [files, records]


def collect(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """Count what will go in, a page per invocation, so progress means something."""
    record = _record(ctx, event)
    position = paging.Position.of(event, "collected")
    page = next_page(ctx, record, "collect", position, _contents(ctx, record.user_id))
    files = position.total("files", sum(isinstance(thing, StoredObject) for thing in page.items))
    items = position.total("items", len(page.items)) - files
    if page.cursor is None:
        ctx.rights.update_export(
            record.user_id, record.export_id, status="collecting", items_total=items + files, items_done=0
        )
    return position.result(page, items=items, files=files)


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
                "retention": plain(c.retention),
            }
            for c in profile.categories
        ],
        "layout": "records/<table>/<kind>.json hold your records; files/ holds your original files.",
    }


def _write_records(archive: zipfile.ZipFile, records: Iterable[PersonalItem], used: dict[str, int]) -> None:
    """One JSON array per (table, kind) in this page; owned pages come sorted by key, so kinds arrive
    together. A kind continued from an earlier page, or met again, gets the next free name
    (`<kind>-2.json`); `used` counts the names of each kind so far, carried from page to page."""
    current, stream, first = None, None, True
    for owned in records:
        base = f"records/{owned.table}/{owned.kind}"
        if base != current:
            if stream:
                stream.write(b"\n]\n")
                stream.close()
            count = used.get(base, 0)
            used[base] = count + 1
            current, first = base, True
            stream = archive.open(f"{base}.json" if count == 0 else f"{base}-{count + 1}.json", "w")
            stream.write(b"[\n")
        stream.write((b"" if first else b",\n") + json.dumps(_visible(owned.fields), default=str).encode())
        first = False
    if stream:
        stream.write(b"\n]\n")
        stream.close()


def _write_files(ctx: RightsContext, archive: zipfile.ZipFile, user_id: str, files: list[StoredObject]) -> None:
    """The originals, stored as they are (images are compressed already): objects up to
    FETCH_AHEAD_BYTES are read a few at a time ahead of the writer (P5); larger ones stream through."""
    stamp = clock.now().timetuple()[:6]  # one shared timestamp: no tuple per entry kept until the end
    for obj, data in _originals(ctx, files):
        info = zipfile.ZipInfo("files/" + portable_name(obj.key.replace(f"/{user_id}/", "/", 1)), date_time=stamp)
        info.compress_type = zipfile.ZIP_STORED
        with archive.open(info, "w", force_zip64=obj.size > 2**31) as target:
            if data is None:
                with ctx.personal.open_object(obj) as body:
                    shutil.copyfileobj(body, target, 1024 * 1024)
            else:
                target.write(data)


def _originals(ctx: RightsContext, files: list[StoredObject]) -> Iterator[tuple[StoredObject, bytes | None]]:
    """Each original with its bytes when it is small enough to be read ahead, else None."""

    def fetch(obj: StoredObject) -> bytes | None:
        if obj.size > FETCH_AHEAD_BYTES:
            return None
        with ctx.personal.open_object(obj) as body:
            return body.read()

    return fetched_ahead(files, fetch)


def archive(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """A page of files or records per invocation, written as zip entries into one multipart upload
    resumed from the state the page before returned (P3); the page's central directory records are
    kept beside it for `seal`. A retried page resumes from the same state and writes the same bytes."""
    record = _record(ctx, event)
    if record.status == "ready" or record.object_key:
        return {"entries": record.items_done, "more": False, "done": True}
    position = paging.Position.of(event, "archive")
    prior = position.prior if position.continuing else {}
    if not position.continuing:
        ctx.rights.update_export(record.user_id, record.export_id, status="archiving")
    stream = ctx.personal.archive_stream(ctx.personal.archive_key(record.user_id, record.export_id), prior.get("zip"))
    names = dict(prior.get("names") or {})
    try:
        # Files and records side by side (P5): the records are queried while the originals are read.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="page") as background:
            cursor = paging.cursor_at(position, record.cursors, "archive")
            coming, following = paging.side_by_side(_contents(ctx, record.user_id), cursor, ctx.page_size, background)
            pages = []
            with ArchivePage(stream, compression=zipfile.ZIP_DEFLATED) as archive_page:
                if not position.continuing:
                    archive_page.writestr("manifest.json", json.dumps(_manifest(ctx, record.user_id), indent=2))
                for future in coming:
                    pages.append(future.result())
                    found = pages[-1].items
                    _write_files(ctx, archive_page, record.user_id, [o for o in found if isinstance(o, StoredObject)])
                    _write_records(archive_page, [i for i in found if isinstance(i, PersonalItem)], names)
    except BaseException:
        if "zip" not in prior:  # the upload this page began: its retry begins another
            stream.abort()
        raise
    next_cursor = following(pages)
    paging.keep_next(position, record.cursors, "archive", next_cursor, _keeper(ctx, record))
    stream.keep_piece(position.number, archive_page.directory)
    handled = sum(len(page.items) for page in pages)
    done = int(prior.get("done", 0)) + handled
    ctx.rights.update_export(record.user_id, record.export_id, items_done=done)
    return {
        "page": position.number + 1,
        "more": next_cursor is not None,
        "zip": stream.pause(),
        "names": names,
        "done": done,
        "entries": int(prior.get("entries", 0)) + archive_page.entries,
    }


def seal(ctx: RightsContext, event: dict[str, Any]) -> dict[str, Any]:
    """After the last entry, the central directory: one archive page's records per invocation
    (bounded like the pages), then the end records, and the upload is completed (P3)."""
    record = _record(ctx, event)
    written = event.get("archive") or {}
    if record.object_key or written.get("done") is True:
        return {"more": False}
    position = paging.Position.of(event, "sealed")
    prior = position.prior if position.continuing else {"zip": written["zip"], "at": written["zip"]["offset"]}
    key = ctx.personal.archive_key(record.user_id, record.export_id)
    stream = ctx.personal.archive_stream(key, prior["zip"])
    stream.write(stream.piece(position.number))
    if position.continuing:
        stream.drop_piece(position.number - 1)
    if position.number + 1 < int(written["page"]):
        return {"page": position.number + 1, "more": True, "zip": stream.pause(), "at": prior["at"]}
    write_end(stream, entries=int(written["entries"]), directory_at=int(prior["at"]))
    stream.complete()
    stream.drop_piece(position.number)
    ctx.rights.update_export(record.user_id, record.export_id, object_key=key, items_done=int(written["done"]))
    return {"page": position.number + 1, "more": False, "entries": int(written["entries"])}


def notify(ctx: RightsContext, event: dict[str, Any]) -> dict[str, bool]:
    """Email the download route (it signs a fresh URL per download) and how long the archive stays."""
    record = _record(ctx, event)
    if record.status == "ready":
        return {"sent": False}
    user = ctx.accounts.get_user(record.user_id, consistent=True)
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
    record = ctx.rights.find_export(event["export_id"])
    if record is not None:
        ctx.rights.update_export(record.user_id, record.export_id, status="failed")
    request_id = record.request_id if record is not None else None
    failures.report(ctx, metric=Metric.EXPORT_FAILED, request_id=request_id, reference=event["export_id"], why=why)
    return {"status": "failed", "reason": why}
