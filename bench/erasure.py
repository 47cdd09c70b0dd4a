"""Erasure cost against moto in-process: AWS calls per item and time for N = 1,000 and 10,000 images,
and the most items one task invocation handles (P3) at N = 1,000, 10,000 and 50,000.

Each image is one object under the user's generated/ prefix and one gallery record in the content
table. The erasure runs as its state machine does (infra/asl/erasure.asl.json: every paged task again
while it says `more`). Goals: S3 calls <= 2N/1000 + c (a page listed, then deleted), DynamoDB calls
<= N/25 + c, time(10k) / time(1k) <= 11, and the same maximum per invocation at every N. The residual
scan (DSR-13: every key derived from the person, the owner index, every object prefix) is also
counted alone: one call reads a page of up to 1,000 items or 100 keys. moto's index queries scan the
whole table, so N = 50,000 is measured on the in-memory fakes (the same domain code and ASL); its
per-invocation maximum is what P3 bounds. Ratios are printed on the last line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PIXELKEEP_STAGE": "bench",
    "PIXELKEEP_PROFILE": "kaleipix",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(name, value)
os.environ.pop("AWS_ENDPOINT_URL", None)

CALLS: Counter[str] = Counter()


def count_calls() -> None:
    """Every boto3 and pynamodb request goes through botocore's `_make_api_call`."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        CALLS[self.meta.service_model.service_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted


def erase_once(count: int) -> dict[str, float]:
    import dataclasses

    import boto3
    from moto import mock_aws

    from chalicelib import wiring
    from chalicelib.domain.rights import erasure
    from chalicelib.settings import get_settings
    from chalicelib.store import secrets
    from infra.description import describe
    from infra.local_secrets import LOCAL_SECRETS
    from infra.provision import provision_storage, put_local_secrets
    from tests.support.paging import CountingPersonalData
    from tests.support.rights import CapturingStarter, run_erasure, seed_gallery

    wiring.reset()
    with mock_aws():
        session = boto3.Session(region_name=get_settings().region)
        provision_storage(session, describe(get_settings(), wiring.profile()))
        session.client("ses").verify_email_identity(EmailAddress=get_settings().email_sender)
        put_local_secrets(session, get_settings().secret_prefix, LOCAL_SECRETS)
        secrets.clear_cache()
        wiring.bound_models()
        user_id = uuid.uuid4().hex
        seed_gallery(session, user_id, count)
        counting = CountingPersonalData(wiring.personal_data())
        deps = dataclasses.replace(
            wiring.rights_service().context, erasure_workflow=CapturingStarter(), personal=counting
        )
        scan_calls: Counter[str] = Counter()
        real_scan = erasure.residual_scan

        def counted_scan(context, event):
            before = Counter(CALLS)
            result = real_scan(context, event)
            scan_calls.update(CALLS - before)
            return result

        erasure.residual_scan = counted_scan
        CALLS.clear()
        started = time.perf_counter()
        erasure.start_erasure(deps, user_id=user_id, erasure_id=uuid.uuid4().hex, request_id=None, reason="user")
        state = run_erasure(deps, deps.erasure_workflow.started[-1][1], on_task=counting.start)
        elapsed = time.perf_counter() - started
        erasure.residual_scan = real_scan
        assert state["residual"]["clean"], state
        assert state["objects"]["deleted"] == count, state
    wiring.reset()
    return {
        "seconds": elapsed,
        "s3": CALLS["s3"],
        "dynamodb": CALLS["dynamodb"],
        "other": sum(CALLS.values()),
        "scan": sum(scan_calls.values()),
        **_most(counting),
    }


def _most(counting) -> dict[str, int]:
    read, written = counting.most()
    return {"max_read": read, "max_written": written, "invocations": len(counting.invocations)}


def erase_on_fakes(count: int) -> dict[str, int]:
    """The same erasure on the in-memory fakes: how much each invocation handles at any N."""
    import dataclasses

    from tests.support.paging import world_with_generations
    from tests.support.rights import run_erasure

    world, counting = world_with_generations(count)
    world.service.erase_minor("bench-operator", "bench", None)
    context = dataclasses.replace(world.context, personal=counting)
    state = run_erasure(context, world.erasures.started[-1][1], on_task=counting.start)
    assert state["residual"]["clean"], state
    assert state["objects"]["deleted"] == count, state
    return _most(counting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs=2, default=(1000, 10000))
    parser.add_argument("--fakes-size", type=int, default=50000)
    small, large = parser.parse_args().sizes
    huge = parser.parse_args().fakes_size
    count_calls()
    results = {n: erase_once(n) for n in (small, large)}
    on_fakes = {n: erase_on_fakes(n) for n in (small, large, huge)}
    for n, r in results.items():
        print(
            f"N={n} (moto): {r['seconds']:.2f}s  s3 calls={r['s3']} ({r['s3'] / n:.4f}/item, limit {2 * n // 1000}+c)  "
            f"dynamodb calls={r['dynamodb']} ({r['dynamodb'] / n:.4f}/item, limit {n // 25}+c)  "
            f"all calls={r['other']}  residual scan calls={r['scan']} ({r['scan'] / n:.4f}/item)  "
            f"invocations={r['invocations']}  most per invocation: read {r['max_read']}, written {r['max_written']}"
        )
    for n, r in on_fakes.items():
        print(
            f"N={n} (fakes): invocations={r['invocations']}  "
            f"most per invocation: read {r['max_read']}, written {r['max_written']}"
        )
    s3_c = max(r["s3"] - 2 * n // 1000 for n, r in results.items())
    ddb_c = max(r["dynamodb"] - n // 25 for n, r in results.items())
    ratio = results[large]["seconds"] / results[small]["seconds"]
    maxima = [results[small]["max_read"], results[large]["max_read"], on_fakes[huge]["max_read"]]
    print(
        f"ratios: time({large})/time({small})={ratio:.2f} (goal <= {large / small * 1.1:.0f})  "
        f"s3 constant c={s3_c}  dynamodb constant c={ddb_c}  "
        f"s3 calls/item({large})={results[large]['s3'] / large:.4f}  "
        f"dynamodb calls/item({large})={results[large]['dynamodb'] / large:.4f}  "
        f"residual scan calls/item({large})={results[large]['scan'] / large:.4f}  "
        f"max items per invocation at {small}/{large}/{huge}={'/'.join(map(str, maxima))}"
        f" ({'equal' if len(set(maxima)) == 1 else 'NOT equal'})"
    )


if __name__ == "__main__":
    main()
