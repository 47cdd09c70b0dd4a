"""Export at N = 1,000 and 10,000 images: peak memory (P4), throughput against plain reads (P5), and
the most items one task invocation handles (P3) at N = 1,000, 10,000 and 50,000.

moto runs as a server in a child process (its storage is not counted). For each N this process
seeds the images, then two fresh processes run side by side:
- the export's archive and seal steps, page after page as the state machine runs them (the
  originals, fetched concurrently, then the records, into one multipart upload resumed page after
  page; then the central directory), reporting the time, the peak RSS (VmHWM, the process's own
  high-water mark) and the most items one invocation wrote;
- a plain read of the same N objects with the same concurrency (the export's fetch window) and
  nothing else, reporting its time.
Goals: peak RSS(10k) / peak RSS(1k) <= 1.1; time(export N) <= 1.5 x time(read N); the same maximum
per invocation at every N. Seeding 50,000 objects into moto takes too long here, so N = 50,000 (and
1,000 and 10,000 beside it) is also run on the in-memory fakes: the same domain code and state
machine, counting what each invocation reads. Ratios last.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cold_request import run_probe  # noqa: E402

IMAGE_BYTES = 8192

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PIXELKEEP_STAGE": "bench",
    "PIXELKEEP_PROFILE": "kaleipix",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

ARCHIVE_PROBE = """
import json, sys, time
from chalicelib import wiring
from chalicelib.domain.rights import export
wiring.bound_models()
deps = wiring.rights_service().context
state = json.loads(sys.argv[2])
started = time.perf_counter()
most, done = 0, 0
while True:
    state["archive"] = export.archive(deps, state)
    most, done = max(most, state["archive"]["done"] - done), state["archive"]["done"]
    if not state["archive"]["more"]:
        break
while True:
    state["sealed"] = export.seal(deps, state)
    if not state["sealed"]["more"]:
        break
print(json.dumps({"seconds": time.perf_counter() - started, "peak_rss_kib": peak_rss_kib(),
                  "entries": state["archive"]["entries"], "most": most, "pages": state["archive"]["page"]}))
"""

READ_PROBE = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from chalicelib import wiring
from chalicelib.domain.rights.archive import FETCH_WINDOW
from chalicelib.profile.schema import Category
personal = wiring.personal_data()
started = time.perf_counter()
objects = []
cursor = None
while True:  # the listing, a page at a time, as the export lists
    page = personal.objects_page(sys.argv[1], cursor, 1000, skip=[Category.EXPORTS])
    objects.extend(page.items)
    cursor = page.cursor
    if cursor is None:
        break
def read(obj):
    with personal.open_object(obj) as body:
        return len(body.read())
with ThreadPoolExecutor(max_workers=FETCH_WINDOW) as pool:
    total = sum(pool.map(read, objects))
print(json.dumps({"seconds": time.perf_counter() - started, "peak_rss_kib": peak_rss_kib(), "bytes": total}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    import requests

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            requests.get(f"{url}/moto-api/", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("moto server did not start")


def stop(process: subprocess.Popen) -> None:
    """moto holding 10,000 objects can take a while to exit; the figures matter more than its goodbye."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def prepare(url: str, count: int) -> tuple[str, dict]:
    """Fresh storage, one person with `count` images, and an export record past its collect step."""
    import boto3
    import requests

    from chalicelib import clock, wiring
    from chalicelib.domain.rights import export
    from chalicelib.settings import get_settings
    from chalicelib.store import secrets
    from chalicelib.store.models.rights import ExportRecord
    from infra.description import describe
    from infra.local_secrets import LOCAL_SECRETS
    from infra.provision import provision_storage, put_local_secrets
    from tests.support.rights import seed_gallery

    requests.post(f"{url}/moto-api/reset", timeout=30)
    wiring.reset()
    settings = get_settings()
    session = boto3.Session(region_name=settings.region)
    provision_storage(session, describe(settings, wiring.profile()))
    session.client("ses").verify_email_identity(EmailAddress=settings.email_sender)
    put_local_secrets(session, settings.secret_prefix, LOCAL_SECRETS)  # the seeded account's keyed hashes
    secrets.clear_cache()
    wiring.bound_models()
    user_id, now = uuid.uuid4().hex, clock.now()
    seed_gallery(session, user_id, count, os.urandom(IMAGE_BYTES))
    export_id = uuid.uuid4().hex
    ExportRecord(
        *ExportRecord.key(export_id), export_id=export_id, owner_id=user_id, status="queued", created_at=now
    ).save()
    state = {"export_id": export_id}
    while True:
        state["collected"] = export.collect(wiring.rights_service().context, state)
        if not state["collected"]["more"]:
            return user_id, state


def measure(url: str, count: int) -> dict[str, float]:
    user_id, state = prepare(url, count)
    env = {**os.environ}
    read = run_probe(READ_PROBE, env, user_id)
    archived = run_probe(ARCHIVE_PROBE, env, user_id, json.dumps(state))
    assert read["bytes"] == count * IMAGE_BYTES, read
    return {
        "export_s": archived["seconds"],
        "export_rss": archived["peak_rss_kib"] / 1024,
        "entries": archived["entries"],
        "read_s": read["seconds"],
        "read_rss": read["peak_rss_kib"] / 1024,
        "most": archived["most"],
        "pages": archived["pages"],
    }


def export_on_fakes(count: int) -> dict[str, int]:
    """The whole export on the in-memory fakes: the most one invocation reads, at any N."""
    import dataclasses

    from tests.support.paging import world_with_generations
    from tests.support.rights import run_export

    world, counting = world_with_generations(count)
    world.service.request_export("bench")
    context = dataclasses.replace(world.context, personal=counting)
    run_export(context, world.exports.started[-1][1], on_task=counting.start)
    read, _ = counting.most()
    return {"most": read, "invocations": len(counting.invocations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs=2, default=(1000, 10000))
    parser.add_argument("--fakes-size", type=int, default=50000)
    arguments = parser.parse_args()
    small, large = arguments.sizes
    process, url = start_moto()
    os.environ.update({**ENVIRONMENT, "AWS_ENDPOINT_URL": url})
    try:
        results = {n: measure(url, n) for n in (small, large)}
    finally:
        stop(process)
    on_fakes = {n: export_on_fakes(n) for n in (small, large, arguments.fakes_size)}
    from chalicelib.domain.rights.archive import FETCH_WINDOW

    for n, r in results.items():
        print(
            f"N={n}: export {r['export_s']:.1f}s, peak RSS {r['export_rss']:.1f} MiB, {r['entries']} entries, "
            f"{r['pages']} pages, most items per invocation {r['most']} | read the same {n} objects "
            f"({FETCH_WINDOW} at a time) {r['read_s']:.1f}s, peak RSS {r['read_rss']:.1f} MiB"
        )
    for n, r in on_fakes.items():
        print(f"N={n} (fakes): invocations={r['invocations']}, most items read per invocation {r['most']}")
    rss_ratio = results[large]["export_rss"] / results[small]["export_rss"]
    throughput = {n: r["export_s"] / r["read_s"] for n, r in results.items()}
    maxima = [on_fakes[n]["most"] for n in sorted(on_fakes)]
    print(
        f"ratios: peak_rss({large})/peak_rss({small})={rss_ratio:.2f} (goal <= 1.10) | "
        + " | ".join(f"time(export {n})/time(read {n})={t:.2f}" for n, t in throughput.items())
        + " (goal <= 1.50) | max items per invocation at "
        + "/".join(map(str, sorted(on_fakes)))
        + f"={'/'.join(map(str, maxima))} ({'equal' if len(set(maxima)) == 1 else 'NOT equal'})"
    )


if __name__ == "__main__":
    main()
