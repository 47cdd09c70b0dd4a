"""Google sign-in (ACC-3): OIDC ID-token verification against Google's published keys (JWKS).

Checks signature, issuer, audience, expiry and nonce with PyJWT. The JWKS URL is configurable so
tests and the local cloud can serve their own keys over HTTP; production uses Google's.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.ports.accounts import GoogleIdentity
from chalicelib.errors import Unauthenticated

GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")


class GoogleIdTokens:
    def __init__(self, client_id: str, jwks_url: str = GOOGLE_JWKS_URL, issuers: tuple[str, ...] = GOOGLE_ISSUERS):
        import jwt

        self._client_id = client_id
        self._issuers = issuers
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=10)

    def verify(self, id_token: str, nonce: str) -> GoogleIdentity:
        import jwt

        try:
            signing_key = self._keys.get_signing_key_from_jwt(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                signing_key.key,
                algorithms=["RS256"],
                audience=self._client_id,
                issuer=list(self._issuers),
                options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
                leeway=30,
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthenticated("Google's signing keys could not be fetched; try again.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The Google ID token is invalid or has expired.") from exc
        if claims.get("nonce") != nonce:
            raise Unauthenticated("The Google ID token was not issued for this sign-in.")
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise Unauthenticated("The Google ID token carries no email address.")
        return GoogleIdentity(
            email=email,
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            picture=claims.get("picture") if isinstance(claims.get("picture"), str) else None,
        )
