"""Every error the API returns has the one documented shape {"error": {"code", "message"}}, the
ones Chalice itself emits (405, 415, its 500s) included."""

from __future__ import annotations

import json

import pytest


def _assert_one_shape(response, status: int, code: str) -> None:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


def test_an_unsupported_method_is_a_405_in_the_one_shape(client):
    response = client.http.post("/health", body=b"{}", headers={"Content-Type": "application/json"})
    _assert_one_shape(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/auth/email/code", "/webhooks/stripe"])
def test_an_unsupported_content_type_is_a_415_in_the_one_shape(client, path):
    response = client.http.post(path, body=b"<a/>", headers={"Content-Type": "application/xml"})
    _assert_one_shape(response, 415, "unsupported_media_type")


def test_a_failing_middleware_is_a_500_in_the_one_shape(client, monkeypatch):
    """A crash outside any view (here in the tracing middleware) still answers in the one shape."""
    from chalicelib import observability

    def broken_tracing():
        def trace(event, get_response):
            raise RuntimeError("tracer failed")

        return trace

    monkeypatch.setattr(observability, "_tracing_middleware", broken_tracing)
    response = client.http.get("/health")
    _assert_one_shape(response, 500, "internal_error")
