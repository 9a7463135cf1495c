"""Helpers for tests that talk HTTP to pytest-django's live server (loopback only)."""

from __future__ import annotations

import jwt
import requests


def metadata(issuer: str) -> dict:
    """The live server's RFC 8414 metadata document."""
    # Connection: close, so no keep-alive thread of the live server outlives the test run.
    response = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10,
                            headers={"Connection": "close"})
    response.raise_for_status()
    return response.json()


def verify(issuer: str, token: str) -> dict:
    """Verify with PyJWT's JWKS client, keys fetched from the advertised jwks_uri."""
    jwks_client = jwt.PyJWKClient(metadata(issuer)["jwks_uri"])
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(token, signing_key.key, algorithms=["RS256", "ES256", "EdDSA"], audience=issuer, issuer=issuer)
