"""SEC-6, least privilege: every function runs under its own role, and that role reaches exactly the
tables, buckets, queues, state machines and secrets the function declares (chalicelib/grants.py),
read-only where it only reads. Read from the synthesized template."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from chalice.utils import to_cfn_resource_name

from chalicelib.grants import CATEGORY_TABLES
from chalicelib.store import layout
from infra.cdk.stack import BUCKET_INSPECTION, TABLE_INSPECTION
from tests.infra.conftest import description_for, settings_for

TABLE_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
BUCKET_WRITE_PREFIXES = ("s3:PutObject", "s3:DeleteObject", "s3:Abort")
UNSCOPABLE_ACTIONS = {"dynamodb:ListStreams"}  # IAM offers no resource-level scoping for these
EXPORT_TASKS = ("export_collect", "export_archive", "export_notify", "export_fail")


@dataclass
class Reach:
    """What one role's statements allow, by logical resource name."""

    tables: dict[str, set[str]] = field(default_factory=dict)  # logical table -> actions on it
    streams: set[str] = field(default_factory=set)  # logical tables whose stream it reads
    buckets: dict[str, set[str]] = field(default_factory=dict)
    queues: dict[str, set[str]] = field(default_factory=dict)  # queue resource name -> actions
    state_machines: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)  # Secrets Manager names, prefix included
    email: bool = False
    holds: bool = False  # GetItem of HELD# keys only (DSR-12)
    inspected: set[str] = field(default_factory=set)  # tables and buckets whose settings only it reads (OPS-8)
    log_groups: bool = False
    unscoped: list[dict] = field(default_factory=list)

    def written_tables(self) -> set[str]:
        return {t for t, actions in self.tables.items() if actions & TABLE_WRITES}

    def written_buckets(self) -> set[str]:
        return {b for b, actions in self.buckets.items() if any(a.startswith(BUCKET_WRITE_PREFIXES) for a in actions)}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _role_id(template, function: str) -> str:
    logical = "APIHandler" if function == "api_handler" else to_cfn_resource_name(function)
    role = template.functions()[logical]["Properties"]["Role"]
    assert set(role) == {"Fn::GetAtt"}, f"{function}'s role must be one of the stack's roles"
    return role["Fn::GetAtt"][0]


def _statements(template, role_id: str) -> list[dict]:
    return [
        statement
        # CDK moves what overflows a role's inline policy into managed policies attached to it.
        for policy in template.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _names(template, resource_type: str, name_property: str) -> dict[str, str]:
    """Logical id -> the resource's name property, for resources of one type that we name (the web
    app's bucket has a generated name: no function of the app reaches it)."""
    return {
        k: r["Properties"][name_property]
        for k, r in template.of_type(resource_type).items()
        if name_property in r["Properties"]
    }


def reach(template, function: str) -> Reach:
    description = description_for(template.profile)
    tables = {t.name: t.logical for t in description.all_tables()}
    table_ids = {k: tables[name] for k, name in _names(template, "AWS::DynamoDB::Table", "TableName").items()}
    buckets = {b.name: b.logical for b in description.buckets}
    bucket_ids = {k: buckets[name] for k, name in _names(template, "AWS::S3::Bucket", "BucketName").items()}
    queue_ids = _names(template, "AWS::SQS::Queue", "QueueName")
    found = Reach()
    for statement in _statements(template, _role_id(template, function)):
        assert statement["Effect"] == "Allow"
        actions = set(_as_list(statement["Action"]))
        if _holds_only(statement):
            found.holds = True
            continue
        inspects = actions <= set(TABLE_INSPECTION) | set(BUCKET_INSPECTION) | {"logs:DescribeLogGroups"}
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                found.unscoped.append(statement)
                continue
            text = json.dumps(resource)
            attributes = re.findall(r'"Fn::GetAtt": \["(\w+)", "(\w+)"\]', text)
            for logical_id, attribute in attributes:
                if inspects and (logical_id in table_ids or logical_id in bucket_ids):
                    kind = "table" if logical_id in table_ids else "bucket"
                    found.inspected.add(f"{kind}:{table_ids.get(logical_id) or bucket_ids[logical_id]}")
                elif logical_id in table_ids and attribute == "StreamArn":
                    found.streams.add(table_ids[logical_id])
                elif logical_id in table_ids:
                    found.tables.setdefault(table_ids[logical_id], set()).update(actions)
                elif logical_id in bucket_ids:
                    found.buckets.setdefault(bucket_ids[logical_id], set()).update(actions)
                elif logical_id in queue_ids:
                    found.queues.setdefault(queue_ids[logical_id], set()).update(actions)
                else:
                    raise AssertionError(f"{function} reaches an unexpected resource: {text}")
            if not attributes:
                if match := re.search(r":stateMachine:([\w-]+)", text):
                    found.state_machines.add(match.group(1))
                elif match := re.search(r':secret:([\w/-]+)-\?{6}"', text):
                    # exactly the name and the 6 characters Secrets Manager appends, read only
                    assert actions == {"secretsmanager:GetSecretValue"}, statement
                    found.secrets.add(match.group(1))
                elif ":ses:" in text:
                    found.email = True
                elif inspects and ":log-group:" in text:
                    found.log_groups = True
                else:
                    raise AssertionError(f"{function} reaches an unexpected resource: {text}")
    return found


def _holds_only(statement) -> bool:
    """DSR-12: GetItem of the requests table's `HELD#` keys, and nothing else there."""
    keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
    return keys == ["HELD#*"] and _as_list(statement["Action"]) == ["dynamodb:GetItem"]


def _function_names(template) -> list[str]:
    return [spec.name for spec in description_for(template.profile).functions]


def test_every_function_has_a_role_of_its_own(template):
    functions = template.functions()
    specs = description_for(template.profile).functions
    assert len(specs) == len(functions), "every function of the template is described, and only those"
    roles = [_role_id(template, spec.name) for spec in specs]
    assert len(set(roles)) == len(roles), "no two functions share a role"
    for role in roles:
        assert template.resources[role]["Type"] == "AWS::IAM::Role"
        principal = template.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        assert principal == {"Service": "lambda.amazonaws.com"}
    assert not template.of_type("AWS::IAM::Role").keys() & {"DefaultRole"}, "Chalice's shared role is gone"


def _assert_reaches_exactly_its_declaration(template, spec) -> None:
    uses, found = spec.uses, reach(template, spec.name)
    assert set(found.tables) == uses.read_tables | uses.write_tables, spec.name
    assert found.written_tables() == set(uses.write_tables), spec.name
    assert found.streams == ({spec.stream} if spec.stream else set()), spec.name
    assert set(found.buckets) == uses.read_buckets | uses.write_buckets, spec.name
    assert found.written_buckets() == set(uses.write_buckets), spec.name
    description = description_for(template.profile)
    consumed = {q.name for q in description.queues if q.logical in uses.consume_queues}
    stream_failures = {f"{description.table(spec.stream).name}-stream-failures"} if spec.stream else set()
    # Lambda sends a failed asynchronous invocation to the one dead-letter queue with the function's role.
    async_failures = {f"{settings_for(template.profile).resource_prefix}-async-failures"}
    assert set(found.queues) == consumed | stream_failures | async_failures, spec.name
    assert found.state_machines == {m.name for m in description.state_machines if m.logical in uses.start_workflows}, (
        spec.name
    )
    settings = settings_for(template.profile)
    assert found.secrets == {settings.secret_name(secret) for secret in uses.secrets}, spec.name
    assert found.email is uses.send_email, spec.name
    everything = {f"table:{t.logical}" for t in description.all_tables()} | {
        f"bucket:{b.logical}" for b in description.buckets
    }
    assert found.inspected == (everything if uses.inspect_deployment else set()), spec.name
    assert found.log_groups is uses.inspect_deployment, spec.name
    in_requests = "requests" in uses.read_tables | uses.write_tables
    assert found.holds is (uses.read_holds and not in_requests), spec.name
    for statement in found.unscoped:
        assert set(_as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS or "Condition" in statement, statement


def test_every_role_reaches_exactly_what_its_function_declares(template):
    for spec in description_for(template.profile).functions:
        _assert_reaches_exactly_its_declaration(template, spec)


def test_no_function_touches_a_table_it_never_uses(template):
    for function in EXPORT_TASKS:
        assert "ledger" not in reach(template, function).written_tables(), f"{function} may write the ledger"
    uploads = reach(template, "upload_processor")
    assert set(uploads.tables) == {"content"}, "the upload consumer reaches only the content table"
    assert "requests" not in uploads.tables
    writers = {f for f in _function_names(template) if "ledger" in reach(template, f).written_tables()}
    assert writers == {
        "api_handler",
        "content_stream",
        "ledger_stream",
        "erasure_delete_records",
        "erasure_pseudonymize",
        "hold_move_expiries",  # DSR-12: a held person's ledger entries keep their expiry aside
    }
    with_secrets = {f for f in _function_names(template) if reach(template, f).secrets}
    # Erasure steps that find the person by keyed hashes read that one key (DSR-13), nothing else.
    hashing = {"erasure_delete_records", "erasure_residual_scan", "erasure_receipt"}
    # The content stream answers a timed-out job the Telegram bot asked for: it reads the bot's token.
    assert with_secrets == {"api_handler", "erasure_processors", "content_stream"} | hashing, (
        "only the API, the processors step, the content stream and the hashing erasure steps read secrets"
    )
    for function in hashing:
        assert all(str(p).endswith("/ip-hash-key") for p in reach(template, function).secrets), function
    processors = settings_for(template.profile)
    assert reach(template, "erasure_processors").secrets == {
        processors.secret_name(name)
        for name in (
            "stripe-api-key",
            "stripe-webhook-secret",
            "fal-admin-api-key",
            "polar-access-token",  # the other rails' customers are erased on their own rail (PAY-6)
            "lemonsqueezy-api-key",
        )
    }, "the processors step reads only the keys it calls the processors with (GEN-5, PAY-6)"


def test_every_table_bucket_queue_and_state_machine_is_used_by_some_function(template):
    description = description_for(template.profile)
    used = [f.uses for f in description.functions]
    assert {t.logical for t in description.all_tables()} <= {t for u in used for t in u.read_tables | u.write_tables}
    assert {b.logical for b in description.buckets} <= {b for u in used for b in u.read_buckets | u.write_buckets}
    assert {q.logical for q in description.queues} <= {q for u in used for q in u.consume_queues}
    assert {m.logical for m in description.state_machines} <= {m for u in used for m in u.start_workflows}


def test_declarations_name_real_resources(template):
    description = description_for(template.profile)
    assert set(CATEGORY_TABLES) == set(layout.TABLES)
    tables = {t.logical for t in description.all_tables()}
    buckets = {b.logical for b in description.buckets}
    queues = {q.logical for q in description.queues}
    machines = {m.logical for m in description.state_machines}
    from infra.local_secrets import LOCAL_SECRETS

    for spec in description.functions:
        uses = spec.uses
        assert uses.read_tables | uses.write_tables <= tables, spec.name
        assert uses.read_buckets | uses.write_buckets <= buckets, spec.name
        assert uses.consume_queues <= queues, spec.name
        assert uses.start_workflows <= machines, spec.name
        assert uses.secrets <= set(LOCAL_SECRETS), spec.name


def test_sec6_the_web_app_deployment_reaches_its_sources_its_bucket_and_its_distribution_only(template):
    """The CDK's BucketDeployment function: reads the deployment's assets, writes the web app's
    bucket, invalidates this distribution (the CDK grants every distribution; the stack narrows it)
    and sends failed invocations to the dead-letter queue. Nothing of the app's data."""
    (function,) = template.deployment_functions().values()
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements(template, role)
    web_bucket, _ = template.web_app_bucket()
    (distribution,) = template.of_type("AWS::CloudFront::Distribution")
    (failures,) = [
        k for k, q in _names(template, "AWS::SQS::Queue", "QueueName").items() if q.endswith("-async-failures")
    ]
    reached = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        text = json.dumps(statement["Resource"])
        assert '"*"' not in text, statement
        actions = set(_as_list(statement["Action"]))
        if "cdk-hnb659fds-assets-" in text:
            target = "assets"
        elif web_bucket in text:
            target = "web app bucket"
        elif distribution in text:
            target = "distribution"
        elif failures in text:
            target = "dead letters"
        else:
            raise AssertionError(f"the deployment reaches an unexpected resource: {text}")
        reached.setdefault(target, set()).update(actions)
    assert set(reached) == {"assets", "web app bucket", "distribution", "dead letters"}
    assert not any(a.startswith(BUCKET_WRITE_PREFIXES) for a in reached["assets"]), "assets are only read"
    assert reached["distribution"] == {"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"}
    assert reached["dead letters"] <= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    app_roles = {_role_id(template, spec.name) for spec in description_for(template.profile).functions}
    assert role not in app_roles, "the deployment has a role of its own"


def test_dsr12_the_hold_workflow_reaches_only_what_its_walk_needs(template):
    """Placing and releasing a legal hold: the expiry step writes the tables it moves expiries in,
    the retag step tags objects and reads no table but the hold's, the last step starts erasures,
    the failure step writes the audit only; none reads a secret or sends mail."""
    expiries, objects = reach(template, "hold_move_expiries"), reach(template, "hold_retag_objects")
    assert objects.written_tables() == {"requests"}
    assert "requests" in expiries.written_tables()
    for function in ("hold_move_expiries", "hold_retag_objects", "hold_finish", "hold_fail"):
        assert not reach(template, function).secrets, function
    assert set(reach(template, "hold_fail").tables) == {"requests"}
