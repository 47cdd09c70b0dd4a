"""Everything stored about one person, across every table and bucket, found and removed in bulk.

Tables are read through the sparse `by_owner` index and, independently of it, by every key a record
class derives from the person's ids (DSR-13); objects live under per-user prefixes. Calls are batched
to the service limits: 25 items per BatchWriteItem, 100 keys per BatchGetItem, 1,000 keys per
DeleteObjects.
"""

from __future__ import annotations

import io
import json
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from itertools import accumulate, islice
from typing import IO, Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib.domain.ports.rights import (
    CapturedIds,
    Page,
    PersonalItem,
    RecordKind,
    StoredObject,
    Subject,
    record_kind,
)
from chalicelib.profile.schema import Category
from chalicelib.settings import Settings
from chalicelib.store import layout
from chalicelib.store.base import record_class_of, record_classes

S3_BATCH = 1000
GET_BATCH = 100  # BatchGetItem's limit
QUERY_PAGE = 1000  # items per query page: bounds memory (a 1 MB page parses to several MB of dicts)
PART_SIZE = 5 * 1024 * 1024  # S3's minimum part size (except the last): the least memory held
BLOCK = 64 * 1024  # small writes (zip headers) are gathered into blocks: one object per block, not per write


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


_DESERIALIZER = TypeDeserializer()


def _personal_item(table: str, item: dict[str, Any]) -> PersonalItem:
    """The kind comes from the keys (`record_kind`), the record class from the key prefixes each
    class declares."""
    fields = {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
    pk, sk = fields["pk"], fields["sk"]
    cls = record_class_of(table, pk, sk)
    return PersonalItem(
        table=table, kind=record_kind(pk, sk), key=(pk, sk), fields=fields, record=cls.__name__ if cls else None
    )


class PersonalDataStore:
    """Implements `ports.PersonalData` (DSR-1, DSR-4): items as plain values, objects by key."""

    def __init__(self, *, dynamodb: Any, s3: Any, settings: Settings, tables: Mapping[str, str] | None = None) -> None:
        self.dynamodb = dynamodb
        self.s3 = s3
        self.settings = settings
        self.tables = dict(tables or {})  # logical -> physical, for tables restored under another name

    def table_name(self, table: str) -> str:
        return self.tables.get(table) or self.settings.table_name(table)

    # -- tables ----------------------------------------------------------------------------------
    def record_kinds(self) -> list[RecordKind]:
        """Every record class that may hold a person's data, as the erasure plan sees it (DSR-4)."""
        return [
            RecordKind(cls.__name__, cls.logical_table, cls.category, cls.personal_fields)
            for cls in record_classes()
            if not cls.about_no_one
        ]

    def _derived_keys(self, subject: Subject) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
        """The partitions and the single items a record class derives from the person (DSR-13)."""
        partitions: set[tuple[str, str]] = set()
        items: set[tuple[str, str, str]] = set()
        for cls in record_classes():
            for pk, sk in cls.subject_keys(subject):
                if sk is None:
                    partitions.add((cls.logical_table, pk))
                else:
                    items.add((cls.logical_table, pk, sk))
        items = {item for item in items if item[:2] not in partitions}
        return sorted(partitions), sorted(items)

    def subject_page(
        self, subject: Subject, cursor: str | None, limit: int, *, captured_only: bool = False
    ) -> Page[PersonalItem]:
        """Items under every key a record class derives from the person, read by that key (strongly
        consistent): whole partitions by Query, then single items 100 per BatchGetItem; at most
        `limit` items or keys read (P3). `captured_only`: only the keys of `subject.captured`."""
        partitions, keys = self._derived_keys(subject)
        if captured_only:
            known = self._derived_keys(replace(subject, captured=CapturedIds()))
            partitions = [p for p in partitions if p not in set(known[0])]
            keys = [k for k in keys if k not in set(known[1])]
        at = json.loads(cursor) if cursor else {"index": 0, "key": None}
        index, start = int(at["index"]), at["key"]
        found: list[PersonalItem] = []
        read = 0
        while index < len(partitions) and read < limit:
            table, pk = partitions[index]
            query = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": pk}}}
            response = self._query_page(table, query, start, limit - read, consistent=True)
            found.extend(_personal_item(table, item) for item in response["Items"])
            read += len(response["Items"])
            start = response.get("LastEvaluatedKey")
            index += start is None
        while len(partitions) <= index < len(partitions) + len(keys) and read < limit:
            offset = index - len(partitions)
            batch = keys[offset : offset + min(GET_BATCH, limit - read)]
            for table in sorted({k[0] for k in batch}):
                found.extend(self._batch_get(table, [k[1:] for k in batch if k[0] == table]))
            read += len(batch)
            index += len(batch)
        more = index < len(partitions) + len(keys)
        return Page(tuple(found), read, json.dumps({"index": index, "key": start}) if more else None)

    def _query_page(
        self, table: str, query: dict[str, Any], start: Any, limit: int, *, consistent: bool = False
    ) -> dict[str, Any]:
        request = {"TableName": self.table_name(table), "Limit": limit, **query}
        if consistent:
            request["ConsistentRead"] = True
        if start:
            request["ExclusiveStartKey"] = start
        return self.dynamodb.query(**request)

    def _batch_get(self, table: str, keys: list[tuple[str, str]]) -> Iterator[PersonalItem]:
        name = self.table_name(table)
        request = {name: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys], "ConsistentRead": True}}
        while request:
            response = self.dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(name, []):
                yield _personal_item(table, item)
            request = response.get("UnprocessedKeys") or {}

    def scan_items(self, table: str) -> Iterator[PersonalItem]:
        """Every item of a table (a restore's replay only: DSR-13), a page at a time."""
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table_name(table), PaginationConfig={"PageSize": QUERY_PAGE}
        )
        for page in pages:
            for item in page["Items"]:
                yield _personal_item(table, item)

    def owned_page(self, user_id: str, cursor: str | None, limit: int) -> Page[PersonalItem]:
        """The items the person owns, table after table through `by_owner`: at most `limit` (P3)."""
        tables = list(layout.TABLES)
        at = json.loads(cursor) if cursor else {"table": 0, "key": None}
        index, start = int(at["table"]), at["key"]
        found: list[PersonalItem] = []
        query = {
            "IndexName": "by_owner",
            "KeyConditionExpression": "owner_id = :owner",
            "ExpressionAttributeValues": {":owner": {"S": user_id}},
        }
        while index < len(tables) and len(found) < limit:
            response = self._query_page(tables[index], query, start, limit - len(found))
            found.extend(_personal_item(tables[index], item) for item in response["Items"])
            start = response.get("LastEvaluatedKey")
            index += start is None
        more = index < len(tables)
        return Page(tuple(found), len(found), json.dumps({"table": index, "key": start}) if more else None)

    def delete_items(self, table: str, keys: Iterable[tuple[str, str]]) -> int:
        deleted = 0
        with self._table(table).batch_writer() as batch:
            for pk, sk in keys:
                batch.delete_item(Key={"pk": pk, "sk": sk})
                deleted += 1
        return deleted

    def hold_expiry(self, items: Iterable[PersonalItem], *, held: bool) -> int:
        """DSR-12: move each item's expiry aside (TTL attribute removed, so DynamoDB's TTL never sees
        it) or back. Conditional on the value read, so an item changed or deleted since is left as it
        is; an expiry already past when it comes back expires at the next TTL pass."""
        source, target = ("expires_at", "held_expires_at") if held else ("held_expires_at", "expires_at")
        moved = 0
        for item in items:
            value = item.fields.get(source)
            cls = record_class_of(item.table, *item.key)
            if value is None or (cls is not None and cls.is_operational_timer(item.fields)):
                continue
            pk, sk = item.key
            try:
                self.dynamodb.update_item(
                    TableName=self.table_name(item.table),
                    Key={"pk": {"S": pk}, "sk": {"S": sk}},
                    UpdateExpression="SET #target = :value REMOVE #source",
                    ConditionExpression="#source = :value",
                    ExpressionAttributeNames={"#source": source, "#target": target},
                    ExpressionAttributeValues={":value": {"N": str(int(value))}},
                )
            except self.dynamodb.exceptions.ConditionalCheckFailedException:
                continue
            moved += 1
        return moved

    def put_items(self, table: str, items: Iterable[Mapping[str, Any]]) -> int:
        written = 0
        with self._table(table).batch_writer() as batch:
            for item in items:
                batch.put_item(Item=dict(item))
                written += 1
        return written

    def _table(self, table: str) -> Any:
        """boto3's batch writer sends 25 items a call and resends what DynamoDB hands back unprocessed."""
        from chalicelib.store import aws

        return aws.resource("dynamodb").Table(self.table_name(table))

    # -- objects -----------------------------------------------------------------------------------
    def objects_page(
        self, user_id: str, cursor: str | None, limit: int, *, skip: Iterable[Category] = ()
    ) -> Page[StoredObject]:
        """The objects under the person's prefixes, prefix after prefix: at most `limit` listed (P3)."""
        skipped = set(skip)
        places = sorted({place for category, place in layout.OBJECT_PREFIXES.items() if category not in skipped})
        at = json.loads(cursor) if cursor else {"place": 0, "after": None}
        index, after = int(at["place"]), at["after"]
        found: list[StoredObject] = []
        while index < len(places) and len(found) < limit:
            bucket, prefix = places[index]
            request = {"Bucket": self.settings.bucket_name(bucket), "Prefix": f"{prefix}{user_id}/"}
            response = self.s3.list_objects_v2(**request, MaxKeys=limit - len(found), StartAfter=after or "")
            listed = [StoredObject(bucket, obj["Key"], obj["Size"]) for obj in response.get("Contents", [])]
            found.extend(listed)
            if response.get("IsTruncated") and listed:
                after = listed[-1].key
            else:
                index, after = index + 1, None
        more = index < len(places)
        return Page(tuple(found), len(found), json.dumps({"place": index, "after": after}) if more else None)

    def delete_objects(self, objects: Iterable[StoredObject]) -> int:
        deleted = 0
        by_bucket: dict[str, list[str]] = {}
        for obj in objects:
            keys = by_bucket.setdefault(obj.bucket, [])
            keys.append(obj.key)
            if len(keys) == S3_BATCH:
                deleted += self._delete_keys(obj.bucket, keys)
                by_bucket[obj.bucket] = []
        for bucket, keys in by_bucket.items():
            if keys:
                deleted += self._delete_keys(bucket, keys)
        return deleted

    def _delete_keys(self, bucket: str, keys: list[str]) -> int:
        response = self.s3.delete_objects(
            Bucket=self.settings.bucket_name(bucket),
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        if response.get("Errors"):
            raise RuntimeError(f"{len(response['Errors'])} objects could not be deleted; the step will retry")
        return len(keys)

    def tag_clock(self, objects: Iterable[StoredObject], *, held: bool) -> int:
        """DSR-12: retag each object's clock so its lifecycle rule (prefix AND `running`) skips it while
        held, and matches it again once released. An object deleted meanwhile is skipped."""
        value = layout.CLOCK_HELD if held else layout.CLOCK_RUNNING
        tagged = 0
        for obj in objects:
            try:
                self.s3.put_object_tagging(
                    Bucket=self.settings.bucket_name(obj.bucket),
                    Key=obj.key,
                    Tagging={"TagSet": [{"Key": layout.CLOCK_TAG, "Value": value}]},
                )
            except self.s3.exceptions.NoSuchKey:
                continue
            tagged += 1
        return tagged

    def open_object(self, obj: StoredObject) -> IO[bytes]:
        return self.s3.get_object(Bucket=self.settings.bucket_name(obj.bucket), Key=obj.key)["Body"]

    # -- export archives -----------------------------------------------------------------------
    def archive_key(self, user_id: str, export_id: str) -> str:
        return layout.object_key(Category.EXPORTS, user_id, f"{export_id}.zip")[1]

    def archive_stream(self, key: str, state: Mapping[str, Any] | None) -> ResumableMultipart:
        return ResumableMultipart(self.s3, self.settings.bucket_name(layout.EXPORTS_BUCKET), key, state)

    def download_url(self, key: str, expires_seconds: int) -> str:
        return self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.settings.bucket_name(layout.EXPORTS_BUCKET), "Key": key},
            ExpiresIn=expires_seconds,
        )


def _clock_for(key: str) -> str:
    """An archive and what waits beside it carry the clock tag the exports rule expires (DSR-12)."""
    from chalicelib.store import hold_state

    owner = layout.owner_of_key(key)
    return layout.clock_tagging(held=owner is not None and hold_state.held(owner))


class _Chunks(io.RawIOBase):
    """The written chunks of one part read back as one seekable stream, without joining them."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks, self.size, self.position = chunks, sum(len(c) for c in chunks), 0
        self.starts = list(accumulate((len(c) for c in chunks), initial=0))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, min(self.size, base + offset))
        return self.position

    def readinto(self, target) -> int:
        written, view = 0, memoryview(target)
        while written < len(view) and self.position < self.size:
            index = bisect_right(self.starts, self.position) - 1
            chunk, offset = self.chunks[index], self.position - self.starts[index]
            piece = chunk[offset : offset + len(view) - written]
            view[written : written + len(piece)] = piece
            written += len(piece)
            self.position += len(piece)
        return written


class ResumableMultipart:
    """A write-only stream that uploads itself to S3 in parts, across task invocations (P3): `pause`
    keeps what does not fill a whole part as a carry object beside the archive (`<key>.work/`) and
    returns where to resume (upload id, parts, bytes so far, the carry's number); the next
    invocation starts from that state. A retried invocation resumes from the same state and writes
    the same parts again. Memory stays at about one part."""

    def __init__(self, s3: Any, bucket: str, key: str, state: Mapping[str, Any] | None) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.chunks: list[bytes] = []
        self.small = bytearray()
        self.buffered = 0
        if state is None:
            created = s3.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType="application/zip", Tagging=_clock_for(key)
            )
            self.upload_id, self.parts, self.position, self.carry = created["UploadId"], 0, 0, 0
            return
        self.upload_id, self.parts = str(state["upload"]), int(state["parts"])
        self.position, self.carry = int(state["offset"]), int(state["carry"])
        if state.get("tail"):
            tail = s3.get_object(Bucket=bucket, Key=self._side(f"carry-{self.carry:06d}"))["Body"].read()
            self.chunks, self.buffered = [tail], len(tail)

    def _side(self, name: str) -> str:
        return f"{self.key}.work/{name}"

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def write(self, data: bytes) -> int:
        if len(data) >= BLOCK:
            self._seal_small()
            self.chunks.append(bytes(data))
        else:
            self.small += data
            if len(self.small) >= BLOCK:
                self._seal_small()
        self.buffered += len(data)
        self.position += len(data)
        if self.buffered >= PART_SIZE:
            self._flush_part()
        return len(data)

    def flush(self) -> None:  # zipfile calls this; parts go out only when full
        return None

    def _seal_small(self) -> None:
        if self.small:
            self.chunks.append(bytes(self.small))
            self.small = bytearray()

    def _body(self) -> io.BufferedReader:
        self._seal_small()
        return io.BufferedReader(_Chunks(self.chunks))

    def _flush_part(self) -> None:
        self.parts += 1
        self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=self.parts, Body=self._body()
        )
        self.chunks, self.buffered = [], 0

    def pause(self) -> dict[str, Any]:
        """Keep the tail for the next invocation; forget the carry two invocations back (a retry of
        this one still reads the carry it started from)."""
        tail = self.buffered > 0
        if tail:
            carry = self._side(f"carry-{self.carry + 1:06d}")
            self.s3.put_object(Bucket=self.bucket, Key=carry, Body=self._body(), Tagging=_clock_for(carry))
        if self.carry > 0:
            self.s3.delete_object(Bucket=self.bucket, Key=self._side(f"carry-{self.carry - 1:06d}"))
        self.chunks, self.buffered = [], 0
        return {
            "upload": self.upload_id,
            "parts": self.parts,
            "offset": self.position,
            "carry": self.carry + 1,
            "tail": tail,
        }

    def complete(self) -> None:
        if self.buffered or not self.parts:
            self._flush_part()
        pages = self.s3.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        parts = [{"ETag": p["ETag"], "PartNumber": p["PartNumber"]} for page in pages for p in page.get("Parts", [])]
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
        )
        carries = [self._side(f"carry-{n:06d}") for n in (self.carry - 1, self.carry) if n >= 0]
        self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in carries], "Quiet": True})

    def abort(self) -> None:
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)

    def keep_piece(self, number: int, data: bytes) -> None:
        piece = self._side(f"piece-{number:06d}")
        self.s3.put_object(Bucket=self.bucket, Key=piece, Body=data, Tagging=_clock_for(piece))

    def piece(self, number: int) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=self._side(f"piece-{number:06d}"))["Body"].read()

    def drop_piece(self, number: int) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self._side(f"piece-{number:06d}"))
