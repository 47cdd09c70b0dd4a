"""Export memory: peak Python memory (tracemalloc) while archiving N = 1,000 and 10,000 images.

moto runs as a server in a child process, so its own storage is not counted; the archive is streamed
into a multipart upload (one part buffer), records go one JSON file per kind, so nothing per record is
kept. What does grow is inherent to the zip format: the central directory at the end of the archive
lists every entry, and the standard zipfile module keeps one ZipInfo per entry until it writes it.
That cost per entry is measured on its own here and set against the growth of the peak.
Goal: peak(10k) / peak(1k) <= 1.3. The ratio is printed on the last line.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
IMAGE_BYTES = 8192


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


def prepare(url: str, count: int) -> tuple[str, str]:
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


def measure(url: str, count: int) -> tuple[int, float, int]:
    from chalicelib import wiring
    from chalicelib.domain.rights import export

    user_id, export_id = prepare(url, count)
    deps = wiring.rights_service().context
    tracemalloc.start()
    started = time.perf_counter()
    result = export.archive(deps, {"user_id": user_id, "export_id": export_id})
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, elapsed, int(result["entries"])


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return len(data)


def zip_bookkeeping_per_entry(small: int, large: int) -> float:
    """Bytes zipfile holds per entry until close, for entries shaped like the export's original files."""

    def held(count: int) -> int:
        tracemalloc.start()
        archive = zipfile.ZipFile(_Discard(), "w")
        before, _ = tracemalloc.get_traced_memory()
        stamp, body = (2025, 1, 1, 0, 0, 0), os.urandom(IMAGE_BYTES)
        for index in range(count):
            info = zipfile.ZipInfo(f"files/generated/{index:06d}", date_time=stamp)
            with archive.open(info, "w") as target:
                target.write(body)
        after, _ = tracemalloc.get_traced_memory()
        archive.close()
        tracemalloc.stop()
        return after - before

    return (held(large) - held(small)) / (large - small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs=2, default=(1000, 10000))
    small, large = parser.parse_args().sizes
    process, url = start_moto()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PIXELKEEP_STAGE": "bench",
            "PIXELKEEP_PROFILE": "kaleipix",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    try:
        results = {n: measure(url, n) for n in (small, large)}
    finally:
        process.terminate()
        process.wait(timeout=30)
    for n, (peak, seconds, items) in results.items():
        images = n * IMAGE_BYTES / 2**20
        print(f"N={n}: peak {peak / 2**20:.1f} MiB, {seconds:.1f}s, {items} records+files, ~{images:.0f} MiB images")
    per_entry = zip_bookkeeping_per_entry(small, large)
    growth = results[large][0] - results[small][0]
    zip_growth = per_entry * (large - small)  # one entry per image; records add one entry per kind
    print(
        f"zip central directory: zipfile holds {per_entry:.0f} B per entry until it is written; "
        f"{zip_growth / 2**20:.1f} MiB of the {growth / 2**20:.1f} MiB growth "
        f"(other growth: {(growth - zip_growth) / 2**10:.0f} KiB)"
    )
    ratio = results[large][0] / results[small][0]
    print(f"ratios: peak_memory({large})/peak_memory({small})={ratio:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
