"""The Google sign-in stand-in speaks Google's protocol: the app's own verifier (ACC-3) accepts its
ID token through its JWKS, and refuses one made for another nonce or another client."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client

from chalicelib.errors import Unauthenticated
from chalicelib.gateways.google import GoogleIdTokens
from infra.emulators.google_signin import AUTH_PATH, JWKS_PATH, create_app
from infra.localcloud.servers import wsgi_server

CLIENT_ID = "local-only-client.apps.googleusercontent.com"


@pytest.fixture(scope="module")
def google():
    import socket

    app = create_app()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = wsgi_server("google", "127.0.0.1", port, app).start()
    yield app, f"http://127.0.0.1:{port}"
    server.stop()


def _sign_in(app, nonce: str, client_id: str = CLIENT_ID) -> str:
    """What a browser does: open the chooser, submit an address, follow the redirect's fragment."""
    client = Client(app)
    query = {"client_id": client_id, "redirect_uri": "http://127.0.0.1:8000/app/", "response_type": "id_token"}
    page = client.get(AUTH_PATH, query_string={**query, "nonce": nonce})
    assert page.status_code == 200
    assert re.search(r"<form method='post'", page.get_data(as_text=True))
    answer = client.post(AUTH_PATH, data={**query, "nonce": nonce, "email": "ada@example.com", "name": "Ada"})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("http://127.0.0.1:8000/app/#")
    return parse_qs(urlsplit(location).fragment)["id_token"][0]


def test_acc3_the_apps_verifier_accepts_the_stand_ins_token(google):
    app, url = google
    identity = GoogleIdTokens(CLIENT_ID, f"{url}{JWKS_PATH}").verify(_sign_in(app, "nonce-12345678"), "nonce-12345678")
    assert (identity.email, identity.email_verified, identity.name) == ("ada@example.com", True, "Ada")


def test_acc3_a_token_for_another_nonce_or_client_is_refused(google):
    app, url = google
    verifier = GoogleIdTokens(CLIENT_ID, f"{url}{JWKS_PATH}")
    with pytest.raises(Unauthenticated):
        verifier.verify(_sign_in(app, "nonce-aaaaaaaa"), "nonce-bbbbbbbb")
    with pytest.raises(Unauthenticated):
        verifier.verify(_sign_in(app, "nonce-12345678", client_id="someone-else"), "nonce-12345678")
