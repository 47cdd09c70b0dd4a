"""Cold start, each sample a fresh interpreter process, all measured side by side in this one run.

1. `import app` against `import boto3` (time and peak RSS).
2. The first request a cold Lambda serves: a fresh process imports the app and answers its first
   authenticated `GET /me`, or its first `POST /generations` (API Gateway proxy events handed to the
   Chalice handler, as Lambda does), against the floor: import boto3, build a DynamoDB client and
   do one GetItem. The AWS behind both is the local cloud (moto and the model-provider emulator,
   started here as a subprocess on free ports), so both pay the same HTTP round trips.

The app is measured as it ships: Chalice's app zip, given its bytecode by the packaging step
(infra/cdk/bytecode.py; this Python stands in for the runtime's), extracted to a scratch directory
and imported from there with PYTHONDONTWRITEBYTECODE=1, as from Lambda's read-only /var/task. The
dependencies' site-packages were compiled by pip, as the packaged layer is by the same step.
Beside it, the first requests of the same zip's sources alone (as Chalice writes it) show what
the bytecode buys, in the same run.

Goals: first request <= 1.5 x the floor in time and <= 1.3 x in peak RSS. Ratios on the last line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cold_request import app_environment, first_request, proxy_event, run_probe  # noqa: E402

IMPORT_PROBE = """
import json, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "peak_rss_kib": peak_rss_kib()}}))
"""

FLOOR_PROBE = """
import json, sys, time
start = time.perf_counter()
import boto3
client = boto3.client("dynamodb")
item = client.get_item(TableName=sys.argv[1], Key=json.loads(sys.argv[2]))
assert "Item" in item, item
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "peak_rss_kib": peak_rss_kib()}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalCloudProcess:
    """`python -m infra.localcloud` on free ports: moto, the provisioned resources, the emulators."""

    def __init__(self) -> None:
        from infra.localcloud.cloud import EMULATORS

        # Every port free (a `make run` beside it keeps the defaults), and its state in a fresh
        # directory: each run starts empty and leaves nothing in the checkout.
        names = ("PIXELKEEP_PORT", "PIXELKEEP_TOOLS_PORT", "PIXELKEEP_MOTO_PORT")
        self.ports = {name: _free_port() for name in (*names, *(e.port_variable for e in EMULATORS))}
        self.url = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.state = tempfile.TemporaryDirectory(prefix="coldstart-")
        env = {**os.environ, **{name: str(port) for name, port in self.ports.items()}}
        env.update({"PIXELKEEP_STAGE": "local", "PIXELKEEP_SWEEP_SECONDS": "3600"})
        env["PIXELKEEP_STATE_DIR"] = self.state.name
        env.pop("AWS_ENDPOINT_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.localcloud"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url['PIXELKEEP_PORT']}/health", timeout=2).close()  # noqa: S310
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the local cloud exited") from None
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the local cloud did not start")

    def app_environment(self) -> dict[str, str]:
        url = self.url
        return app_environment(
            dict(os.environ),
            moto=url["PIXELKEEP_MOTO_PORT"],
            api=url["PIXELKEEP_PORT"],
            provider=url["PIXELKEEP_PROVIDER_PORT"],
            stripe=url["PIXELKEEP_STRIPE_PORT"],
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.state.cleanup()


def seed(env: dict[str, str], users: int) -> tuple[list[str], str, dict]:
    """`users` signed-in, funded people (one per fresh process: the first request of each is cold),
    and the session item's table and key for the floor's GetItem."""
    os.environ.update(env)
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from chalicelib.store.models.accounts import Session
    from tests.support.auth import stored_user

    wiring.reset()
    tokens = []
    for index in range(users):
        signed = stored_user()
        wiring.ledger().grant(signed.user_id, 5, f"bench-grant-{index}-{signed.user_id}", "bench")
        tokens.append(signed.token)
    from chalicelib.domain.ports.accounts import token_hash

    hash_key, range_key = Session.key(token_hash(tokens[0]))
    key = {"pk": {"S": hash_key}, "sk": {"S": range_key}}
    return tokens, get_settings().table_name(Session.logical_table), key


def packaged_app(scratch: Path) -> tuple[Path, Path]:
    """Chalice's app zip of the checkout, extracted under `scratch` twice: its sources alone, and
    as the synth ships it, with the packaging step's bytecode (this Python in the runtime's stead)."""
    from chalice.deploy.packager import AppOnlyDeploymentPackager, DependencyBuilder
    from chalice.utils import UI, OSUtils

    from infra.cdk.bytecode import add_bytecode
    from infra.description import LAMBDA_RUNTIME

    osutils = OSUtils()
    packager = AppOnlyDeploymentPackager(osutils, DependencyBuilder(osutils), UI(out=io.StringIO()))
    package = scratch / "deployment.zip"
    shutil.copyfile(packager.create_deployment_package(str(ROOT), LAMBDA_RUNTIME), package)
    with zipfile.ZipFile(package) as archive:  # a checkout's __pycache__ may be in it: left out
        archive.extractall(scratch / "sources", [name for name in archive.namelist() if not name.endswith(".pyc")])
    add_bytecode(package, sys.executable, sys.version_info[:2], strict=True)
    with zipfile.ZipFile(package) as archive:
        archive.extractall(scratch / "compiled")
    return scratch / "sources", scratch / "compiled"


def run(probe: str, env: dict[str, str], *args: str, cwd: Path = ROOT) -> tuple[float, float]:
    sample = run_probe(probe, env, *args, cwd=cwd)
    return sample["seconds"], sample["peak_rss_kib"] / 1024


def first(env: dict[str, str], event: dict, status: int, cwd: Path) -> tuple[float, float]:
    sample = first_request(env, event, cwd)
    if sample["status"] != status:
        raise RuntimeError(f"expected {status}, got {sample['status']}: {sample['body']}")
    return sample["seconds"], sample["peak_rss_kib"] / 1024


def median_of(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s for s, _ in samples), statistics.median(r for _, r in samples)


def measure(runs: int, sources: Path, task: Path) -> dict[str, list[tuple[float, float]]]:
    """Each kind's samples, `runs` of each, interleaved; the app's from `task` (or `sources`)."""
    cloud = LocalCloudProcess()
    try:
        env = cloud.app_environment()
        tokens, table, key = seed(env, 4 * runs)
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # Lambda's file system is read-only
        kinds = ("boto3", "app", "floor", "me", "submit", "me_sources", "submit_sources")
        samples: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
        generation = {"prompt": "a lighthouse at dusk", "model": "flux-schnell"}
        for index in range(runs):  # interleaved, so drift on a shared machine hits every kind alike
            me, submit, me_sources, submit_sources = tokens[4 * index : 4 * index + 4]
            samples["boto3"].append(run(IMPORT_PROBE.format(module="boto3"), env))
            samples["app"].append(run(IMPORT_PROBE.format(module="app"), env, cwd=task))
            samples["floor"].append(run(FLOOR_PROBE, env, table, json.dumps(key)))
            samples["me"].append(first(env, proxy_event("GET", "/me", me), 200, task))
            samples["submit"].append(first(env, proxy_event("POST", "/generations", submit, generation), 202, task))
            samples["me_sources"].append(first(env, proxy_event("GET", "/me", me_sources), 200, sources))
            submit_event = proxy_event("POST", "/generations", submit_sources, generation)
            samples["submit_sources"].append(first(env, submit_event, 202, sources))
    finally:
        cloud.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="coldstart-app-") as scratch:
        samples = measure(runs, *packaged_app(Path(scratch)))
    print(
        "app measured compiled as packaged: Chalice's app zip with the packaging step's unchecked-hash "
        f"bytecode ({sys.implementation.cache_tag} standing in for the runtime's), run from its extracted tree"
    )
    medians = {kind: median_of(values) for kind, values in samples.items()}
    labels = {
        "boto3": "import boto3",
        "app": "import app",
        "floor": "floor: import boto3 + DynamoDB client + one GetItem",
        "me": "import app + first authenticated GET /me",
        "submit": "import app + first POST /generations",
        "me_sources": "the same GET /me, the app's sources alone",
        "submit_sources": "the same POST /generations, the app's sources alone",
    }
    for kind, (seconds, rss) in medians.items():
        print(f"{labels[kind]:<55} median {seconds * 1000:6.1f} ms, peak RSS {rss:5.1f} MiB ({runs} runs)")

    def ratio(kind: str, base: str) -> str:
        return f"time {medians[kind][0] / medians[base][0]:.2f}x, RSS {medians[kind][1] / medians[base][1]:.2f}x"

    print(
        f"bytecode/sources alone: GET /me {ratio('me', 'me_sources')} | "
        f"POST /generations {ratio('submit', 'submit_sources')}"
    )
    print(
        f"ratios: import app/boto3 {ratio('app', 'boto3')} | GET /me/floor {ratio('me', 'floor')} | "
        f"POST /generations/floor {ratio('submit', 'floor')} (goals: first request <= 1.50x time, <= 1.30x RSS)"
    )


if __name__ == "__main__":
    main()
