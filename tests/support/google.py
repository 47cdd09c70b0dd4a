"""Google sign-in for tests: an RSA key of the test's own, its JWKS served over HTTP, ID tokens
signed with it (ACC-3). Registered as a plugin in tests/conftest.py."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://accounts.google.com"
CLIENT_ID = "local-only-client.apps.googleusercontent.com"
KID = "test-key-1"


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(signing_key):
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()


@pytest.fixture
def google(aws, jwks_url, monkeypatch):
    from chalicelib import wiring

    monkeypatch.setenv("PIXELKEEP_GOOGLE_JWKS_URL", jwks_url)
    wiring.google_verifier.cache_clear()


def id_token(key, issued_nonce, **overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "110169484474386276334",
        "email": "gina@example.com",
        "email_verified": True,
        "name": "Gina Example",
        "picture": "https://lh3.googleusercontent.com/a/photo",
        "given_name": "Gina",
        "locale": "de",
        "hd": "example.com",
        "iat": now,
        "exp": now + 600,
        "nonce": issued_nonce,
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
