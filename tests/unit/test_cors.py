"""The stage's CORS rule (chalicelib/api/cors.py): one named origin, credentials for the cookie
mode, the CSRF header allowed; none when the app is served from the API's origin."""

from __future__ import annotations

import pytest

from chalicelib.api.cors import cors_config


def test_a_named_origin_gets_credentials_and_the_csrf_header():
    rule = cors_config("https://app.example.test/")
    headers = rule.get_access_control_headers()
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.test"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-CSRF-Token" in headers["Access-Control-Allow-Headers"]
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    assert headers["Access-Control-Expose-Headers"] == "Retry-After"


def test_no_origin_means_no_cors():
    assert cors_config("") is None
    assert cors_config("  ") is None


def test_a_wildcard_is_refused_because_cookies_never_go_to_it():
    with pytest.raises(ValueError, match="origin"):
        cors_config("*")
