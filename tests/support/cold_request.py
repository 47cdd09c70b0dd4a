"""A cold Lambda's first request, in a fresh interpreter: import the app, hand the Chalice handler
one API Gateway proxy event, report time, peak RSS, which modules got loaded and which AWS
services it built clients for.

Used by the e2e import-discipline test and by bench/coldstart.py (which does the timing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Peak RSS of the probe's own memory: the high-water mark of its address space (VmHWM), which
# starts afresh at exec. (ru_maxrss would carry over the parent's peak across fork and exec.)
PEAK_RSS = """
def peak_rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""

# What Lambda does on a cold start: import the handler module, then call it with the proxy event.
REQUEST_PROBE = """
import json, sys, time
start = time.perf_counter()
import app
event, context = json.loads(sys.argv[1]), type("Context", (), json.loads(sys.argv[2]))()
response = app.app(event, context)
elapsed, peak = time.perf_counter() - start, peak_rss_kib()
print(json.dumps({"seconds": elapsed, "peak_rss_kib": peak, "status": response["statusCode"],
                  "body": response.get("body"), "modules": sorted(sys.modules), "clients": clients()}))
"""

# The AWS services the request built a client for (each client loads its service's model), found
# after the measurement so the search costs it nothing.
CLIENTS = """
def clients():
    import gc, sys
    if "botocore.client" not in sys.modules:
        return []
    base = sys.modules["botocore.client"].BaseClient
    return sorted({o.meta.service_model.service_name for o in gc.get_objects() if isinstance(o, base)})
"""

LAMBDA_CONTEXT = {
    "function_name": "pixelkeep-api_handler",
    "memory_limit_in_mb": 1024,
    "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:pixelkeep-api_handler",
    "aws_request_id": "00000000-0000-0000-0000-000000000000",
}


def proxy_event(method: str, path: str, token: str, body: dict | None = None) -> dict:
    """An API Gateway REST proxy event, as Lambda hands it to Chalice."""
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json", "host": "api.local"}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "cold",
            "identity": {"sourceIp": "192.0.2.10", "userAgent": "cold-start"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def app_environment(base: dict[str, str], *, moto: str, api: str, provider: str, stripe: str) -> dict[str, str]:
    """A deployed function's environment, pointed at a local cloud (nothing of the caller's AWS)."""
    env = {k: v for k, v in base.items() if not k.startswith(("PIXELKEEP_", "AWS_", "POWERTOOLS_", "PYTHONPATH"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": moto,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PIXELKEEP_STAGE": "local",
            "PIXELKEEP_PUBLIC_URL": api,
            "PIXELKEEP_PROVIDER_BASE_URL": provider,
            "PIXELKEEP_STRIPE_API_BASE": stripe,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "PixelkeepColdStart",
        }
    )
    return env


def run_probe(probe: str, env: dict[str, str], *args: str, cwd: Path = ROOT) -> dict:
    """Run `probe` (with `peak_rss_kib()` defined) in a fresh interpreter started in `cwd` (whose
    `app` it imports: the checkout, or an app as packaged); its last line is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS + CLIENTS + probe, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"probe failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_request(env: dict[str, str], event: dict, cwd: Path = ROOT) -> dict:
    return run_probe(REQUEST_PROBE, env, json.dumps(event), json.dumps(LAMBDA_CONTEXT), cwd=cwd)
