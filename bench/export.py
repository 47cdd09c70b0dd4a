"""Export at N = 1,000 and 10,000 images: peak memory (P4) and throughput against plain reads (P5).

moto runs as a server in a child process (its storage is not counted). For each N this process
seeds the images, then two fresh processes run side by side:
- the export's archive step (records, then the originals, fetched concurrently, into the
  multipart upload), reporting its time and its peak RSS (VmHWM, the process's own high-water mark);
- a plain read of the same N objects with the same concurrency (the export's fetch window) and
  nothing else, reporting its time.
Goals: peak RSS(10k) / peak RSS(1k) <= 1.1; time(export N) <= 1.5 x time(read N). Ratios last.
"""

from __future__ import annotations

import argparse
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
started = time.perf_counter()
result = export.archive(deps, {"user_id": sys.argv[1], "export_id": sys.argv[2]})
print(json.dumps({"seconds": time.perf_counter() - started, "peak_rss_kib": peak_rss_kib(),
                  "entries": result["entries"]}))
"""

READ_PROBE = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from chalicelib import wiring
from chalicelib.domain.rights.archive import FETCH_WINDOW
from chalicelib.profile.schema import Category
personal = wiring.personal_data()
started = time.perf_counter()
objects = personal.owned_objects(sys.argv[1], skip=[Category.EXPORTS])
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


def prepare(url: str, count: int) -> tuple[str, str]:
    """Fresh storage, one person with `count` images, and an export record past its collect step."""
    import boto3
    import requests

    from chalicelib import clock, wiring
    from chalicelib.domain.rights import export
    from chalicelib.settings import get_settings
    from chalicelib.store.models.rights import ExportRecord
    from infra.description import describe
    from infra.provision import provision_storage
    from tests.support.rights import seed_gallery

    requests.post(f"{url}/moto-api/reset", timeout=30)
    wiring.reset()
    settings = get_settings()
    session = boto3.Session(region_name=settings.region)
    provision_storage(session, describe(settings, wiring.profile()))
    session.client("ses").verify_email_identity(EmailAddress=settings.email_sender)
    wiring.bound_models()
    user_id, now = uuid.uuid4().hex, clock.now()
    seed_gallery(session, user_id, count, os.urandom(IMAGE_BYTES))
    export_id = uuid.uuid4().hex
    ExportRecord(
        *ExportRecord.key(user_id, export_id), export_id=export_id, owner_id=user_id, status="queued", created_at=now
    ).save()
    export.collect(wiring.rights_service().context, {"user_id": user_id, "export_id": export_id})
    return user_id, export_id


def measure(url: str, count: int) -> dict[str, float]:
    user_id, export_id = prepare(url, count)
    env = {**os.environ}
    read = run_probe(READ_PROBE, env, user_id)
    archived = run_probe(ARCHIVE_PROBE, env, user_id, export_id)
    assert read["bytes"] == count * IMAGE_BYTES, read
    return {
        "export_s": archived["seconds"],
        "export_rss": archived["peak_rss_kib"] / 1024,
        "entries": archived["entries"],
        "read_s": read["seconds"],
        "read_rss": read["peak_rss_kib"] / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs=2, default=(1000, 10000))
    small, large = parser.parse_args().sizes
    process, url = start_moto()
    os.environ.update({**ENVIRONMENT, "AWS_ENDPOINT_URL": url})
    try:
        results = {n: measure(url, n) for n in (small, large)}
    finally:
        stop(process)
    from chalicelib.domain.rights.archive import FETCH_WINDOW

    for n, r in results.items():
        print(
            f"N={n}: export {r['export_s']:.1f}s, peak RSS {r['export_rss']:.1f} MiB, {r['entries']} records+files | "
            f"read the same {n} objects ({FETCH_WINDOW} at a time) {r['read_s']:.1f}s, peak RSS {r['read_rss']:.1f} MiB"
        )
    rss_ratio = results[large]["export_rss"] / results[small]["export_rss"]
    throughput = {n: r["export_s"] / r["read_s"] for n, r in results.items()}
    print(
        f"ratios: peak_rss({large})/peak_rss({small})={rss_ratio:.2f} (goal <= 1.10) | "
        + " | ".join(f"time(export {n})/time(read {n})={t:.2f}" for n, t in throughput.items())
        + " (goal <= 1.50)"
    )


if __name__ == "__main__":
    main()
