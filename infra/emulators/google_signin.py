"""An embedded Google sign-in for the local cloud: OpenID Connect's implicit flow as Google serves it.

`GET /o/oauth2/v2/auth?client_id=…&redirect_uri=…&response_type=id_token&nonce=…&state=…` shows
an account chooser (type any address); its form sends the browser back to `redirect_uri` with
`#id_token=…&state=…`. The ID token is an RS256 JWT with Google's issuer, the client id as its
audience, the nonce, `sub`, `email`, `email_verified`, `name`; its key is published as a JWKS at
`GET /oauth2/v3/certs`, where the app's verifier (PIXELKEEP_GOOGLE_JWKS_URL) reads it. The key is
made afresh at each start: a token outlives nothing but the run that issued it.
"""

from __future__ import annotations

import hashlib
import html
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Request, Response

ISSUER = "https://accounts.google.com"
KEY_ID = "local-google-key"
TOKEN_SECONDS = 3600
AUTH_PATH = "/o/oauth2/v2/auth"
JWKS_PATH = "/oauth2/v3/certs"


class GoogleSignIn:
    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        key = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**key, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

    def id_token(self, *, client_id: str, nonce: str, email: str, name: str) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": client_id,
            "sub": hashlib.sha256(email.lower().encode()).hexdigest()[:21],
            "email": email,
            "email_verified": True,
            "name": name or email.split("@")[0],
            "nonce": nonce,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": KEY_ID})


def _chooser(values: dict[str, str]) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in values.items()
        if k in ("client_id", "redirect_uri", "nonce", "state")
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'><title>Sign in with Google (local)</title>"
        "</head><body><main><h1>Sign in with Google</h1><p>Local stand-in: any address signs in.</p>"
        f"<form method='post' action='{AUTH_PATH}'>{hidden}"
        "<label for='email'>Email</label> <input id='email' name='email' type='email' required>"
        "<label for='name'>Name</label> <input id='name' name='name'>"
        "<button type='submit'>Continue</button></form></main></body></html>"
    )


def _problem(message: str) -> Response:
    return Response(
        json.dumps({"error": "invalid_request", "error_description": message}), 400, mimetype="application/json"
    )


def create_app(*, api_base_url: str = "") -> Any:  # noqa: ARG001  (the local cloud passes every emulator its API)
    """The WSGI app; the signer is `app.google` (tests mint tokens with it)."""
    google = GoogleSignIn()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == JWKS_PATH:
            response = Response(json.dumps(google.jwks()), mimetype="application/json")
        elif request.path == AUTH_PATH and request.method == "GET":
            values = dict(request.args)
            if values.get("response_type") != "id_token" or not values.get("nonce"):
                response = _problem("This stand-in serves response_type=id_token with a nonce.")
            else:
                response = Response(_chooser(values), mimetype="text/html")
        elif request.path == AUTH_PATH and request.method == "POST":
            form = request.form
            target = form.get("redirect_uri", "")
            if urlsplit(target).scheme not in ("http", "https") or not form.get("email"):
                response = _problem("A redirect_uri and an email are required.")
            else:
                token = google.id_token(
                    client_id=form.get("client_id", ""),
                    nonce=form.get("nonce", ""),
                    email=form["email"],
                    name=form.get("name", ""),
                )
                fragment = urlencode({"id_token": token, "state": form.get("state", "")})
                response = Response(status=302, headers={"Location": f"{target.split('#')[0]}#{fragment}"})
        else:
            response = Response(json.dumps({"error": "not_found"}), 404, mimetype="application/json")
        return response(environ, start_response)

    app.google = google  # type: ignore[attr-defined]
    return app
