"""The expiry sweeper: what DynamoDB TTL and S3 lifecycle rules do in AWS, which moto does not.

Items whose TTL attribute is at or before `now` are deleted, and the table's stream consumer gets
the record DynamoDB itself emits for a TTL delete (eventName REMOVE, userIdentity principal
dynamodb.amazonaws.com). moto's own stream record of the same delete carries no userIdentity, so
consumers see it as an ordinary delete and ignore it; the TTL-style record is synthesized here
and delivered through Lambda Invoke, the same path the event source mapping takes. Objects older
than their bucket's lifecycle rule (as read back from S3) are deleted too, where they match the
rule's filter as S3 matches it: its prefix and every tag it names (DSR-12: a held object does not).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.description import Description, TableSpec

log = logging.getLogger(__name__)

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
STREAM_BATCH_SIZE = 100  # Lambda's default batch size for DynamoDB streams


@dataclass
class SweepReport:
    items_deleted: dict[str, int] = field(default_factory=dict)  # table name -> count
    objects_deleted: dict[str, list[str]] = field(default_factory=dict)  # bucket name -> keys
    consumer_errors: list[str] = field(default_factory=list)


def _expired_items(dynamodb: Any, table: TableSpec, now: datetime) -> Iterator[dict[str, Any]]:
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(
        TableName=table.name,
        FilterExpression="#ttl <= :now",
        ExpressionAttributeNames={"#ttl": table.ttl_attribute},
        ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
        ConsistentRead=True,
    ):
        yield from page["Items"]


def _delete_expired(dynamodb: Any, table: TableSpec, item: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """Delete unless the TTL moved meanwhile; returns the old image of what was deleted."""
    keys = {name: item[name] for name in (table.hash_key, table.range_key) if name}
    try:
        response = dynamodb.delete_item(
            TableName=table.name,
            Key=keys,
            ConditionExpression="#ttl <= :now",
            ExpressionAttributeNames={"#ttl": table.ttl_attribute},
            ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
            ReturnValues="ALL_OLD",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return None
    return response.get("Attributes")


def ttl_stream_record(
    table: TableSpec, old_image: dict[str, Any], *, stream_arn: str, region: str, now: datetime, sequence: int
) -> dict[str, Any]:
    """One record exactly as DynamoDB Streams delivers a TTL delete to Lambda (images in DynamoDB JSON)."""
    keys = {name: old_image[name] for name in (table.hash_key, table.range_key) if name}
    body = {
        "ApproximateCreationDateTime": int(now.timestamp()),
        "Keys": keys,
        "OldImage": old_image,
        "SequenceNumber": f"{int(now.timestamp() * 1_000_000):016d}{sequence:05d}",
        "SizeBytes": len(json.dumps(old_image)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": body,
        "userIdentity": dict(TTL_IDENTITY),
        "eventSourceARN": stream_arn,
    }


def _deliver(session: Any, consumer: str, records: list[dict[str, Any]], report: SweepReport) -> None:
    client = session.client("lambda")
    for start in range(0, len(records), STREAM_BATCH_SIZE):
        payload = json.dumps({"Records": records[start : start + STREAM_BATCH_SIZE]})
        response = client.invoke(FunctionName=consumer, Payload=payload)
        if response.get("FunctionError"):
            report.consumer_errors.append(f"{consumer}: {response['Payload'].read().decode()}")


def sweep_tables(session: Any, description: Description, now: datetime, report: SweepReport) -> None:
    dynamodb = session.client("dynamodb")
    consumers = {c.table: c.consumer for c in description.stream_consumers}
    for table in description.all_tables():
        removed = [
            old
            for item in _expired_items(dynamodb, table, now)
            if (old := _delete_expired(dynamodb, table, item, now)) is not None
        ]
        if not removed:
            continue
        report.items_deleted[table.name] = len(removed)
        consumer = consumers.get(table.logical)
        if consumer and table.stream:
            stream_arn = dynamodb.describe_table(TableName=table.name)["Table"]["LatestStreamArn"]
            records = [
                ttl_stream_record(
                    table, old, stream_arn=stream_arn, region=session.region_name, now=now, sequence=index
                )
                for index, old in enumerate(removed)
            ]
            _deliver(session, consumer, records, report)


def _lifecycle_rules(s3: Any, bucket: str) -> list[tuple[str, int, dict[str, str]]]:
    """(prefix, days, tags) of the bucket's enabled expiration rules, read back from S3: the filter's
    prefix and every tag it requires (`And`, or a lone `Tag`), as S3 matches them."""
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchLifecycleConfiguration":
            return []
        raise
    found = []
    for rule in rules:
        days = rule.get("Expiration", {}).get("Days")
        if rule.get("Status") == "Enabled" and days:
            conditions = rule.get("Filter", {})
            conditions = conditions.get("And", conditions)
            prefix = conditions.get("Prefix", rule.get("Prefix", ""))
            tags = conditions.get("Tags") or ([conditions["Tag"]] if "Tag" in conditions else [])
            found.append((prefix, int(days), {tag["Key"]: tag["Value"] for tag in tags}))
    return found


def _matches(s3: Any, bucket: str, key: str, tags: dict[str, str]) -> bool:
    """S3 expires an object only if it carries every tag the rule's filter names (DSR-12)."""
    if not tags:
        return True
    carried = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
    return all(carried.get(name) == value for name, value in tags.items())


def sweep_buckets(session: Any, description: Description, now: datetime, report: SweepReport) -> None:
    s3 = session.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    for bucket in description.buckets:
        for prefix, days, tags in _lifecycle_rules(s3, bucket.name):
            cutoff = now - timedelta(days=days)
            for page in paginator.paginate(Bucket=bucket.name, Prefix=prefix):
                for obj in page.get("Contents", []):
                    if obj["LastModified"] <= cutoff and _matches(s3, bucket.name, obj["Key"], tags):
                        s3.delete_object(Bucket=bucket.name, Key=obj["Key"])
                        report.objects_deleted.setdefault(bucket.name, []).append(obj["Key"])


def sweep_once(session: Any, description: Description, now: datetime) -> SweepReport:
    """One pass over every described table and bucket, as if AWS's expiry ran at `now`."""
    report = SweepReport()
    sweep_tables(session, description, now, report)
    sweep_buckets(session, description, now, report)
    return report


class Sweeper:
    """Runs `sweep_once` every `interval` seconds in a background thread until stopped, then each of
    `also` (other periodic work AWS does on its own: alarm evaluation) with the session and the time."""

    def __init__(
        self,
        session: Any,
        description: Description,
        interval: float,
        also: tuple[Callable[[Any, datetime], Any], ...] = (),
    ) -> None:
        self._session = session
        self._description = description
        self._interval = interval
        self._also = also
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                report = sweep_once(self._session, self._description, datetime.now(UTC))
            except Exception:  # keep sweeping; a failed pass is retried on the next tick
                log.exception("sweep failed")
                continue
            for error in report.consumer_errors:
                log.error("stream consumer failed: %s", error)
            for work in self._also:
                try:
                    work(self._session, datetime.now(UTC))
                except Exception:
                    log.exception("periodic work failed")

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        self._thread.join(timeout)
