"""`python -m infra.localcloud` (what `make run` calls): the whole backend on localhost until Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from infra.localcloud.cloud import LocalCloud, Ports

REPO = Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    """Where the state is kept between runs: `.localcloud/` (`make reset` empties it)."""
    return Path(os.environ.get("PIXELKEEP_STATE_DIR") or REPO / ".localcloud")


def _banner(cloud: LocalCloud, seconds: float) -> str:
    urls = cloud.urls
    lines = [
        f"Pixelkeep local cloud ready in {seconds:.1f} s",
        f"  API             {urls['api']}/",
        f"  health          {urls['api']}/health",
        f"  policy          {urls['api']}/policy",
        f"  outbox          {urls['tools']}/outbox  (JSON: {urls['tools']}/outbox.json)",
        f"  metrics         {urls['tools']}/metrics  (JSON: {urls['tools']}/metrics.json)",
        f"  AWS (moto)      {urls['moto']}",
        "  operator (SigV4, local IAM user local-operator): "
        + " ".join(f"{k}={v}" for k, v in cloud.operator_credentials.items()),
    ]
    for name in ("stripe", "provider", "google", "polar", "lemonsqueezy", "telegram"):
        if name in urls:
            lines.append(f"  {name:<15} {urls[name]}")
    for name, arn in cloud.state_machine_arns.items():
        lines.append(f"  state machine   {name}: {arn}")
    if cloud.restored is not None:
        lines.append(f"  restored        {cloud.restored.summary()} from {cloud.state_dir}")
    lines.append(f"  web app         {urls['api']}/app/")
    if cloud.skipped_consumers:
        lines.append(f"  not wired (no handler yet): {', '.join(cloud.skipped_consumers)}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per moto call
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    cloud = LocalCloud(
        Ports.from_environment(),
        sweep_seconds=float(os.environ.get("PIXELKEEP_SWEEP_SECONDS") or 5),
        state_dir=state_dir(),
    )
    cloud.start()
    print(_banner(cloud, time.monotonic() - started), flush=True)
    while not stop.wait(0.5):  # wakes often: a signal is handled promptly even on a busy machine
        pass
    print("Stopping the local cloud…", flush=True)
    cloud.stop()
    if cloud.saved is not None:
        print(f"Saved {cloud.saved.summary()} to {cloud.state_dir}", flush=True)
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
