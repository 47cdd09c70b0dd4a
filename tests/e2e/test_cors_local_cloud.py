"""CORS on the local cloud: a front end on its own dev server (the stage's origin) gets its
preflights answered, with credentials and the CSRF header; the content bucket lets it and the
API's own origin (where the reference app is served) POST presigned uploads."""

from __future__ import annotations

import urllib.request

from tests.e2e.conftest import DEV_SERVER_ORIGIN


def http_open(request: urllib.request.Request) -> tuple[int, dict[str, str], bytes]:
    import urllib.error

    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (the local cloud)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _preflight(url: str, origin: str, method: str, headers: str) -> dict[str, str]:
    request = urllib.request.Request(
        url,
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (the local cloud)
        assert response.status == 200
        return dict(response.headers)


def test_a_preflight_from_the_stage_origin_is_answered_with_credentials(local_cloud):
    headers = _preflight(f"{local_cloud.api}/me/consents", DEV_SERVER_ORIGIN, "POST", "content-type,x-csrf-token")
    assert headers["Access-Control-Allow-Origin"] == DEV_SERVER_ORIGIN
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-CSRF-Token" in headers["Access-Control-Allow-Headers"]
    assert "POST" in headers["Access-Control-Allow-Methods"]


def test_responses_and_errors_carry_the_origin(local_cloud):
    for path, status in (("/health", 200), ("/me", 401)):
        request = urllib.request.Request(f"{local_cloud.api}{path}", headers={"Origin": DEV_SERVER_ORIGIN})
        status_seen, headers, _ = http_open(request)
        assert status_seen == status
        assert headers["Access-Control-Allow-Origin"] == DEV_SERVER_ORIGIN, path


def test_the_content_bucket_accepts_uploads_from_the_app_origins(local_cloud):
    s3 = local_cloud.client("s3")
    (content,) = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].endswith("-content")]
    (rule,) = s3.get_bucket_cors(Bucket=content)["CORSRules"]
    assert set(rule["AllowedOrigins"]) == {DEV_SERVER_ORIGIN, local_cloud.api}
    assert "POST" in rule["AllowedMethods"]
