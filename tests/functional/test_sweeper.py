"""The local cloud's expiry sweeper stands in for DynamoDB TTL and S3 lifecycle rules, which moto
lacks: expired items go away with a TTL-style stream record, expired objects go away, and nothing
younger than its expiry is touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.events import reactions, streams
from chalicelib.events.expiry import on_expiry
from infra.localcloud.lambda_hook import lambda_dispatch
from infra.localcloud.sweeper import TTL_IDENTITY, sweep_once, ttl_stream_record
from infra.provision import create_execution_role, provision_event_sources, provision_functions

EXPIRED_REACTIONS: list[dict] = []
DELIVERED: list[dict] = []  # REMOVE stream records that reached a stream consumer


def record_expired(image: dict) -> None:
    EXPIRED_REACTIONS.append(image)


class SweepTestRecord:
    """Stands in for a record class of the accounts table: a reaction needs only its table and prefix."""

    logical_table = "accounts"
    SK_PREFIX = "SWEEPTEST#"


@pytest.fixture
def cloud(aws, monkeypatch):
    """Storage plus the real app's handlers as Lambda functions, with a test TTL reaction."""
    from app import app
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe

    monkeypatch.setattr(
        reactions, "TTL_REACTIONS", (*reactions.TTL_REACTIONS, on_expiry(SweepTestRecord, record_expired))
    )
    original_dispatch = streams.dispatch

    def recording_dispatch(table, event):
        DELIVERED.extend(record for record in event["Records"] if record["eventName"] == "REMOVE")
        return original_dispatch(table, event)

    monkeypatch.setattr(streams, "dispatch", recording_dispatch)
    DELIVERED.clear()
    EXPIRED_REACTIONS.clear()
    description = describe(get_settings(), wiring.profile())
    with lambda_dispatch(app):
        handlers = [f.name for f in app.pure_lambda_functions]
        provision_event_sources(aws, description, provision_functions(aws, handlers, create_execution_role(aws)))
        yield aws, description
    EXPIRED_REACTIONS.clear()


def _put(session, table: str, sk: str, expires_at: datetime | None) -> None:
    item = {"pk": {"S": "USER#sweep"}, "sk": {"S": sk}, "owner_id": {"S": "sweep"}}
    if expires_at is not None:
        item["expires_at"] = {"N": str(int(expires_at.timestamp()))}
    session.client("dynamodb").put_item(TableName=table, Item=item)


def _exists(session, table: str, sk: str) -> bool:
    key = {"pk": {"S": "USER#sweep"}, "sk": {"S": sk}}
    return "Item" in session.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)


def test_item_past_its_ttl_is_deleted_and_its_handler_gets_a_ttl_stream_record(cloud):
    session, description = cloud
    table = description.table("accounts").name
    now = datetime.now(UTC)
    _put(session, table, "SWEEPTEST#expired", now - timedelta(seconds=1))

    report = sweep_once(session, description, now)

    assert not _exists(session, table, "SWEEPTEST#expired")
    assert report.items_deleted == {table: 1}
    assert report.consumer_errors == []
    # The reaction runs only for records whose principal is dynamodb.amazonaws.com; moto's own
    # plain REMOVE record of the same delete also reached the consumer and must not count twice.
    assert [image["sk"] for image in EXPIRED_REACTIONS] == ["SWEEPTEST#expired"]
    assert EXPIRED_REACTIONS[0]["owner_id"] == "sweep"
    # moto's own record of the delete first (no userIdentity), then DynamoDB's TTL-style one.
    assert [record.get("userIdentity") for record in DELIVERED] == [None, TTL_IDENTITY]


def test_items_not_yet_expired_or_without_ttl_stay(cloud):
    session, description = cloud
    table = description.table("accounts").name
    now = datetime.now(UTC)
    _put(session, table, "SWEEPTEST#later", now + timedelta(seconds=1))
    _put(session, table, "SWEEPTEST#forever", None)

    report = sweep_once(session, description, now)

    assert _exists(session, table, "SWEEPTEST#later")
    assert _exists(session, table, "SWEEPTEST#forever")
    assert report.items_deleted == {}
    assert EXPIRED_REACTIONS == []


def test_a_user_delete_is_not_mistaken_for_a_ttl_delete(cloud):
    session, description = cloud
    table = description.table("accounts").name
    _put(session, table, "SWEEPTEST#deleted-by-user", datetime.now(UTC) + timedelta(days=1))

    session.client("dynamodb").delete_item(
        TableName=table, Key={"pk": {"S": "USER#sweep"}, "sk": {"S": "SWEEPTEST#deleted-by-user"}}
    )

    assert [record.get("userIdentity") for record in DELIVERED] == [None]
    assert EXPIRED_REACTIONS == []


def test_ttl_stream_record_has_dynamodbs_shape():
    from infra.description import TableSpec

    table = TableSpec("accounts", "t", "pk", "sk", {}, (), "expires_at", True, True)
    image = {"pk": {"S": "USER#1"}, "sk": {"S": "X"}, "expires_at": {"N": "1"}}
    now = datetime(2030, 1, 1, tzinfo=UTC)

    record = ttl_stream_record(table, image, stream_arn="arn:stream", region="eu-west-1", now=now, sequence=3)

    assert record["eventName"] == "REMOVE"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == "arn:stream"
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "USER#1"}, "sk": {"S": "X"}}
    assert record["dynamodb"]["OldImage"] == image
    assert record["dynamodb"]["SequenceNumber"].isdigit()
    assert streams.expired_images({"Records": [record]}) == [{"pk": "USER#1", "sk": "X", "expires_at": 1}]


def test_objects_past_their_lifecycle_rule_are_deleted_and_younger_ones_stay(cloud):
    session, description = cloud
    bucket = next(b for b in description.buckets if b.lifecycle_rules)
    rule = bucket.lifecycle_rules[0]
    s3 = session.client("s3")
    s3.put_object(Bucket=bucket.name, Key=f"{rule.prefix}sweep/object", Body=b"x", Tagging="pixelkeep-clock=running")
    uploaded = s3.head_object(Bucket=bucket.name, Key=f"{rule.prefix}sweep/object")["LastModified"]

    early = sweep_once(session, description, uploaded + timedelta(days=rule.days) - timedelta(seconds=1))
    assert s3.list_objects_v2(Bucket=bucket.name, Prefix=rule.prefix)["KeyCount"] == 1
    assert early.objects_deleted == {}

    due = sweep_once(session, description, uploaded + timedelta(days=rule.days))
    assert s3.list_objects_v2(Bucket=bucket.name, Prefix=rule.prefix)["KeyCount"] == 0
    assert due.objects_deleted == {bucket.name: [f"{rule.prefix}sweep/object"]}


def test_dsr12_the_lifecycle_sweep_honours_the_rules_tag_filter_as_s3_does(cloud):
    """Every rule is prefix AND `pixelkeep-clock=running`: an object retagged `held` by a legal hold,
    or carrying no clock tag, is past its age yet stays; retagged `running` it goes at the next pass."""
    session, description = cloud
    bucket = next(b for b in description.buckets if b.lifecycle_rules)
    rule = bucket.lifecycle_rules[0]
    assert rule.tag == ("pixelkeep-clock", "running")
    s3 = session.client("s3")
    keys = {tag: f"{rule.prefix}sweep/{tag or 'untagged'}" for tag in ("running", "held", "")}
    for tag, key in keys.items():
        s3.put_object(Bucket=bucket.name, Key=key, Body=b"x", Tagging=f"pixelkeep-clock={tag}" if tag else "")
    uploaded = max(s3.head_object(Bucket=bucket.name, Key=key)["LastModified"] for key in keys.values())
    later = uploaded + timedelta(days=rule.days + 1)

    first = sweep_once(session, description, later)
    assert first.objects_deleted == {bucket.name: [keys["running"]]}
    left = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket.name, Prefix=rule.prefix)["Contents"]}
    assert left == {keys["held"], keys[""]}

    tagging = {"TagSet": [{"Key": "pixelkeep-clock", "Value": "running"}]}
    s3.put_object_tagging(Bucket=bucket.name, Key=keys["held"], Tagging=tagging)  # the hold released
    second = sweep_once(session, description, later)
    assert second.objects_deleted == {bucket.name: [keys["held"]]}  # its age counts from its creation
