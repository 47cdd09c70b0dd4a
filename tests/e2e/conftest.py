"""End-to-end tests: the local cloud (`python -m infra.localcloud`) runs once per test session in a
subprocess on free ports, and tests talk to it over HTTP like a browser or a client would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.web import http_get

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180.0  # a loaded CI machine, several clouds starting side by side
STOP_TIMEOUT = 90.0  # the stop saves the state first
DEV_SERVER_ORIGIN = "http://localhost:5173"


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now and not handed out before in this run: a port closed after the probe can be
    offered again at once, and clouds started side by side would then both take it."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@dataclass
class LocalCloud:
    """A running local cloud: base URLs (no trailing slash) and helpers."""

    api: str
    tools: str
    moto: str
    stripe: str | None  # None when the Stripe emulator is not part of this checkout
    provider: str | None  # likewise the model provider emulator
    region: str
    log_file: Path
    profile: str = "kaleipix"
    google: str | None = None  # the Google sign-in stand-in
    polar: str | None = None  # the payment rails' emulators
    lemonsqueezy: str | None = None
    telegram: str | None = None

    def outbox(self) -> list[dict[str, Any]]:
        """Emails sent so far, oldest first: {id, from, to: [addresses], subject, body}."""
        status, _, body = http_get(f"{self.tools}/outbox.json")
        assert status == 200, body
        return json.loads(body)

    def client(self, service: str) -> Any:
        """A boto3 client for the cloud's own AWS (moto), e.g. to inspect tables or executions."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.moto,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def _wait_until_healthy(process: subprocess.Popen, health_url: str, log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"local cloud exited with {process.returncode}:\n{log_file.read_text()[-4000:]}")
        try:
            if http_get(health_url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"local cloud not healthy after {START_TIMEOUT} s:\n{log_file.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory) -> LocalCloud:
    """The local cloud with the default profile (Kaleipix: Lemon Squeezy and Telegram Stars)."""
    yield from _run_cloud(tmp_path_factory, "kaleipix")


@pytest.fixture(scope="session")
def promptpixels_cloud(tmp_path_factory) -> LocalCloud:
    """A second local cloud with PromptPixels' profile (Polar; Google sign-in through the cloud's
    Google stand-in), started only for the tests using it."""
    yield from _run_cloud(tmp_path_factory, "promptpixels")


@pytest.fixture(scope="session")
def stripe_cloud(tmp_path_factory) -> LocalCloud:
    """A local cloud with a profile whose policy names Stripe (Pixera)."""
    yield from _run_cloud(tmp_path_factory, "pixera")


def _run_cloud(tmp_path_factory, profile: str):
    folder = tmp_path_factory.mktemp(f"local-cloud-{profile}")
    env = cloud_environment(folder / "state", PIXELKEEP_PROFILE=profile)
    process, cloud = start_cloud(env, folder / "local-cloud.log")
    try:
        yield cloud
    finally:
        stop_cloud(process, cloud)


def cloud_environment(state_dir: Path, **extra: str) -> dict[str, str]:
    """Free ports and the variables every e2e cloud runs with; its state kept in `state_dir`."""
    from infra.localcloud.cloud import EMULATORS

    ports = {
        "PIXELKEEP_PORT": free_port(),
        "PIXELKEEP_TOOLS_PORT": free_port(),
        "PIXELKEEP_MOTO_PORT": free_port(),
        **{emulator.port_variable: free_port() for emulator in EMULATORS},
    }
    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    env.update({"PIXELKEEP_STAGE": "local", "PIXELKEEP_SWEEP_SECONDS": "1", "PYTHONUNBUFFERED": "1"})
    env["PIXELKEEP_CORS_ORIGIN"] = DEV_SERVER_ORIGIN  # a front end served by its own dev server
    env["PIXELKEEP_STATE_DIR"] = str(state_dir)
    env.pop("AWS_ENDPOINT_URL", None)
    env.update(extra)
    return env


def start_cloud(env: dict[str, str], log_file: Path) -> tuple[subprocess.Popen, LocalCloud]:
    """`python -m infra.localcloud` in a subprocess, once it answers /health."""
    process, cloud = launch_cloud(env, log_file)
    wait_until_ready(process, cloud)
    return process, cloud


def wait_until_ready(process: subprocess.Popen, cloud: LocalCloud) -> None:
    try:
        _wait_until_healthy(process, f"{cloud.api}/health", cloud.log_file)
    except BaseException:
        process.kill()
        process.wait()
        raise


def launch_cloud(env: dict[str, str], log_file: Path) -> tuple[subprocess.Popen, LocalCloud]:
    """The subprocess started, not yet waited for (several can start side by side)."""
    from infra.localcloud.cloud import EMULATORS, available

    emulators = {emulator.name: emulator for emulator in EMULATORS}
    with log_file.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.localcloud"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def url(variable: str) -> str:
        return f"http://127.0.0.1:{env[variable]}"

    def emulator_url(name: str) -> str | None:
        return url(emulators[name].port_variable) if available(emulators[name]) else None

    cloud = LocalCloud(
        api=url("PIXELKEEP_PORT"),
        tools=url("PIXELKEEP_TOOLS_PORT"),
        moto=url("PIXELKEEP_MOTO_PORT"),
        stripe=emulator_url("stripe"),
        provider=emulator_url("provider"),
        region=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        log_file=log_file,
        profile=env.get("PIXELKEEP_PROFILE", "kaleipix"),
        google=emulator_url("google"),
        polar=emulator_url("polar"),
        lemonsqueezy=emulator_url("lemonsqueezy"),
        telegram=emulator_url("telegram"),
    )
    return process, cloud


def stop_cloud(process: subprocess.Popen, cloud: LocalCloud, signum: int = signal.SIGINT) -> None:
    """What Ctrl-C does; the cloud must exit cleanly (0) in time."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"local cloud ignored the stop signal:\n{cloud.log()[-4000:]}") from None
    assert process.returncode == 0, f"local cloud exited with {process.returncode}:\n{cloud.log()[-4000:]}"
