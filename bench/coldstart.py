"""Cold start: `import app` against `import boto3`, each in fresh interpreter processes.

Prints median wall time and peak RSS for both, then the ratios on the last line.
Goal: import app <= 1.3 x import boto3.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
PROBE = """
import json, resource, sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def measure(module: str) -> tuple[float, float]:
    seconds, rss = [], []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        sample = json.loads(out.stdout.strip().splitlines()[-1])
        seconds.append(sample["seconds"])
        rss.append(sample["peak_rss_kib"])
    return statistics.median(seconds), statistics.median(rss)


def main() -> None:
    # Interleave nothing: each measurement is its own fresh process; both run in this one session.
    boto_s, boto_rss = measure("boto3")
    app_s, app_rss = measure("app")
    print(f"import boto3: median {boto_s * 1000:.1f} ms, peak RSS {boto_rss / 1024:.1f} MiB ({RUNS} runs)")
    print(f"import app:   median {app_s * 1000:.1f} ms, peak RSS {app_rss / 1024:.1f} MiB ({RUNS} runs)")
    print(f"ratio app/boto3: time {app_s / boto_s:.2f}x, peak RSS {app_rss / boto_rss:.2f}x (goal time <= 1.30x)")


if __name__ == "__main__":
    main()
