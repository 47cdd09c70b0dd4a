"""The local API server as a browser meets it: every error in the one shape, API Gateway's own
answers (an unknown route) included, and no connection reset under a burst of parallel requests."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.e2e.web import http_get

pytestmark = pytest.mark.e2e

PARALLEL_REQUESTS = 200


def _assert_one_shape(status: int, headers: dict, body: bytes, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert headers["Content-Type"].startswith("application/json")
    error = json.loads(body)
    assert set(error) == {"error"}, error
    assert error["error"]["code"] == code
    assert error["error"]["message"]


def test_an_unknown_route_is_a_404_in_the_one_shape(local_cloud):
    _assert_one_shape(*http_get(f"{local_cloud.api}/no/such/route"), 404, "not_found")


def test_an_unsupported_method_is_a_405_in_the_one_shape(local_cloud):
    request = urllib.request.Request(f"{local_cloud.api}/health", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    error = refused.value
    _assert_one_shape(error.code, dict(error.headers), error.read(), 405, "method_not_allowed")


def test_head_health_answers_200_without_a_body(local_cloud):
    request = urllib.request.Request(f"{local_cloud.api}/health", method="HEAD")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert response.read() == b""


@pytest.mark.parametrize("path", ["/auth/logout", "/me", "/no/such/route"])
def test_an_answer_to_head_carries_no_body_so_the_next_answer_on_its_connection_is_intact(local_cloud, path):
    """Found by schemathesis: a 405 or 415 answer to HEAD carried its JSON body, which a keep-alive
    client does not read (RFC 9110 9.3.2), so the next answer on the connection began with it."""
    address = urllib.parse.urlsplit(local_cloud.api)
    head = f"HEAD {path} HTTP/1.1\r\nHost: api\r\nContent-Type: multipart/form-data\r\n\r\n"
    then = "GET /health HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall((head + then).encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head_answer, _, after = received.partition(b"\r\n\r\n")
    assert head_answer.startswith(b"HTTP/1.1 ")
    assert after.startswith(b"HTTP/1.1 200 "), after[:200]


def test_two_hundred_parallel_requests_are_all_answered(local_cloud):
    """A page that fires many requests at once never sees a reset connection."""
    start = threading.Barrier(PARALLEL_REQUESTS)
    outcomes: list[int | str] = []

    def fetch() -> None:
        start.wait()
        try:
            outcomes.append(http_get(f"{local_cloud.api}/health", timeout=60)[0])
        except OSError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=fetch) for _ in range(PARALLEL_REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    failures = [o for o in outcomes if o != 200]
    assert len(outcomes) == PARALLEL_REQUESTS
    assert failures == []


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
def test_a_method_no_route_has_is_a_404_in_the_one_shape_not_an_html_501(local_cloud, method):
    """Found by schemathesis: Python's HTTP server answered TRACE with its own 501 HTML page."""
    request = urllib.request.Request(f"{local_cloud.api}/health", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (the local cloud)
            status, headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, dict(error.headers), error.read()
    _assert_one_shape(status, headers, body, 404, "not_found")
