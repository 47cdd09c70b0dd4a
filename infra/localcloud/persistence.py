"""The local cloud keeps its data: saved under `.localcloud/` on a clean stop, restored on start.

Everything goes through the AWS APIs of the local AWS (moto), as a backup tool would: table items
(Scan, then PutItem), objects (List/Get, then PutObject), secrets (List/GetSecretValue, then
PutSecretValue), the outbox (sent mail is sent again through SES) and the Step Functions executions
running at the stop (started again from their input: every workflow step is idempotent). The Stripe
emulator hands over its own state. No AWS API sets an object's age, so the lifecycle sweeper's clock
is carried over by setting the restored object's LastModified in moto, the one value written past the API.

Storage is restored before any event source exists: restored items raise no stream reaction and
restored uploads (whose S3 notifications are purged from their queue) are not processed again.
A save is written to a new directory and swapped in, so a crash mid-save leaves the last one.
"""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

FORMAT = 1
MANIFEST = "state.json"


@dataclass
class Report:
    items: int = 0
    objects: int = 0
    emails: int = 0
    secrets: int = 0
    executions: list[str] = field(default_factory=list)  # names of executions resumed (or to resume)

    def summary(self) -> str:
        resumed = f", {len(self.executions)} workflow executions" if self.executions else ""
        return f"{self.items} items, {self.objects} objects, {self.emails} emails{resumed}"


# -- DynamoDB JSON with bytes, as JSON ---------------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {key: _encode(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_encode(inner) for inner in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {key: _decode(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_decode(inner) for inner in value]
    return value


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")


def _read_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def has_state(root: Path) -> bool:
    return (root / MANIFEST).exists()


# -- save ------------------------------------------------------------------------------------------
def _save_tables(session: Any, description: Any, into: Path, report: Report) -> None:
    dynamodb = session.client("dynamodb")
    for table in description.tables:
        items: list[dict] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table.name, ConsistentRead=True):
            items.extend(page["Items"])
        _write_json(into / "tables" / f"{table.logical}.json", _encode(items))
        report.items += len(items)


def _save_objects(session: Any, description: Any, into: Path, report: Report) -> None:
    s3 = session.client("s3")
    for bucket in description.buckets:
        index = []
        folder = into / "objects" / bucket.logical
        folder.mkdir(parents=True, exist_ok=True)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket.name):
            for listed in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket.name, Key=listed["Key"])
                file_name = f"{len(index):06d}.bin"
                (folder / file_name).write_bytes(got["Body"].read())
                index.append(
                    {
                        "key": listed["Key"],
                        "file": file_name,
                        "content_type": got.get("ContentType") or "binary/octet-stream",
                        "metadata": got.get("Metadata") or {},
                        "last_modified": listed["LastModified"].isoformat(),
                        # the clock tag lifecycle rules filter on (DSR-12: `running` or `held`)
                        "tags": {
                            t["Key"]: t["Value"]
                            for t in s3.get_object_tagging(Bucket=bucket.name, Key=listed["Key"])["TagSet"]
                        },
                    }
                )
        _write_json(folder / "index.json", index)
        report.objects += len(index)


def _save_secrets(session: Any, prefix: str, into: Path, report: Report) -> None:
    secretsmanager = session.client("secretsmanager")
    secrets = []
    filters = [{"Key": "name", "Values": [f"{prefix}/"]}]  # a name filter matches names starting so
    for page in secretsmanager.get_paginator("list_secrets").paginate(Filters=filters):
        for listed in page["SecretList"]:
            value = secretsmanager.get_secret_value(SecretId=listed["ARN"])["SecretString"]
            secrets.append({"name": listed["Name"], "value": value})
    _write_json(into / "secrets.json", secrets)
    report.secrets = len(secrets)


def _save_executions(session: Any, state_machine_arns: dict[str, str], into: Path, report: Report) -> None:
    sfn = session.client("stepfunctions")
    running = []
    for logical, arn in state_machine_arns.items():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
            for execution in page["executions"]:
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                running.append({"machine": logical, "name": execution["name"], "input": described.get("input", "{}")})
    _write_json(into / "executions.json", running)
    report.executions = [e["name"] for e in running]


def save(
    root: Path,
    *,
    session: Any,
    description: Any,
    secret_prefix: str,
    state_machine_arns: dict[str, str],
    emails: list[dict[str, Any]],
    emulators: dict[str, dict],
) -> Report:
    """Writes the whole state to `root` (replacing what was there once complete)."""
    report = Report()
    staging = root.with_name(root.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _save_tables(session, description, staging, report)
    _save_objects(session, description, staging, report)
    _save_secrets(session, secret_prefix, staging, report)
    _save_executions(session, state_machine_arns, staging, report)
    _write_json(staging / "outbox.json", emails)
    report.emails = len(emails)
    _write_json(staging / "emulators.json", emulators)
    _write_json(staging / MANIFEST, {"format": FORMAT, "saved_at": datetime.now().astimezone().isoformat()})
    previous = root.with_name(root.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if root.exists():
        root.rename(previous)
    staging.rename(root)
    shutil.rmtree(previous, ignore_errors=True)
    return report


# -- restore ---------------------------------------------------------------------------------------
def _set_last_modified(bucket: str, key: str, when: datetime) -> None:
    """No AWS API sets an object's age; the sweeper's lifecycle clock reads it (see module docstring)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(bucket, key)
    if stored is not None:
        stored.last_modified = when.astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC


def restore_storage(root: Path, *, session: Any, description: Any, report: Report) -> None:
    """Items and objects, before any event source mapping exists; queued upload notices purged."""
    dynamodb = session.client("dynamodb")
    for table in description.tables:
        for item in _decode(_read_json(root / "tables" / f"{table.logical}.json", [])):
            dynamodb.put_item(TableName=table.name, Item=item)
            report.items += 1
    s3 = session.client("s3")
    for bucket in description.buckets:
        folder = root / "objects" / bucket.logical
        for entry in _read_json(folder / "index.json", []):
            s3.put_object(
                Bucket=bucket.name,
                Key=entry["key"],
                Body=(folder / entry["file"]).read_bytes(),
                ContentType=entry["content_type"],
                Metadata=entry["metadata"],
                Tagging=urlencode(entry.get("tags") or {}),
            )
            _set_last_modified(bucket.name, entry["key"], datetime.fromisoformat(entry["last_modified"]))
            report.objects += 1
    sqs = session.client("sqs")
    for queue in description.queues:
        sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=queue.name)["QueueUrl"])


def restore_secrets(root: Path, *, session: Any, report: Report) -> None:
    from infra.provision import put_secret

    secretsmanager = session.client("secretsmanager")
    for saved in _read_json(root / "secrets.json", []):
        put_secret(secretsmanager, saved["name"], saved["value"])
        report.secrets += 1


def restore_outbox(root: Path, *, session: Any, report: Report) -> None:
    """Mail sent before the stop is in the outbox again, in its order (sent again through local SES)."""
    ses = session.client("ses")
    for message in _read_json(root / "outbox.json", []):
        ses.send_email(
            Source=message["from"],
            Destination={"ToAddresses": message["to"]},
            Message={"Subject": {"Data": message["subject"]}, "Body": {"Text": {"Data": message["body"]}}},
        )
        report.emails += 1


def resume_executions(root: Path, *, session: Any, state_machine_arns: dict[str, str], report: Report) -> list[str]:
    """Executions running at the stop start again from their input. One whose state machine is gone
    is reported as failed (returned), never dropped without a word."""
    sfn = session.client("stepfunctions")
    failed = []
    for execution in _read_json(root / "executions.json", []):
        arn = state_machine_arns.get(execution["machine"])
        if arn is None:
            failed.append(execution["name"])
            continue
        sfn.start_execution(stateMachineArn=arn, name=execution["name"], input=execution["input"])
        report.executions.append(execution["name"])
    return failed


def emulator_state(root: Path) -> dict[str, dict]:
    return _read_json(root / "emulators.json", {})
