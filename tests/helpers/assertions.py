"""Helpers for private_key_jwt clients: their key pairs, their JWK Sets and signed client assertions."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from oauth_provider.clients.assertion import CLIENT_ASSERTION_TYPE
from oauth_provider.models import Application, ClientType, GrantType, TokenEndpointAuthMethod

ISSUER = "http://testserver"
TOKEN_URL = "http://testserver/oauth/token/"
PAR_URL = "http://testserver/oauth/par/"

_PAIRS: dict[str, list] = {}


def client_key(kind: str = "RSA", index: int = 0, kid: str | None = None) -> tuple[Any, dict[str, Any]]:
    """(private key, public JWK) of a client; pairs are generated once per session (RSA is slow)."""
    pool = _PAIRS.setdefault(kind, [])
    while len(pool) <= index:
        if kind == "RSA":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        elif kind == "EC":
            private = ec.generate_private_key(ec.SECP256R1())
            public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        else:
            private = ed25519.Ed25519PrivateKey.generate()
            public = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
        pool.append((private, public))
    private, public = pool[index]
    return private, {**public, "kid": kid or f"{kind.lower()}-{index}"}


def private_key_jwt_client(*, jwks: dict | None = None, jwks_uri: str = "", **fields: Any) -> Application:
    """A confidential client without a secret that authenticates with private_key_jwt."""
    if jwks is None and not jwks_uri:
        jwks = {"keys": [client_key()[1]]}
    defaults = {
        "name": "Key client",
        "client_type": ClientType.CONFIDENTIAL,
        "grant_types": [GrantType.CLIENT_CREDENTIALS, GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        "redirect_uris": "https://keys.example.test/callback",
        "allowed_scopes": "read write",
        "default_scopes": "read",
        "token_endpoint_auth_method": TokenEndpointAuthMethod.PRIVATE_KEY_JWT,
        "jwks": jwks,
        "jwks_uri": jwks_uri,
    }
    application = Application(**{**defaults, **fields})
    application.full_clean(exclude=["client_id", "owner"])
    application.save()
    return application


def assertion_claims(client_id: str, **overrides: Any) -> dict[str, Any]:
    """RFC 7523 §3 claims for ``client_id``; ``None`` values drop the claim."""
    now = int(time.time())
    base = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


_KID = object()


def client_assertion(application: Application, *, key: Any = None, algorithm: str = "RS256",
                     kid: Any = _KID, **claims: Any) -> str:
    """A client assertion signed with the client's first RSA key (or ``key``, a (private, jwk) pair)."""
    private, public = key or client_key()
    headers = {} if kid is None else {"kid": public["kid"] if kid is _KID else kid}
    return jwt.encode(assertion_claims(application.client_id, **claims), private, algorithm=algorithm, headers=headers)


def assertion_params(assertion: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion, **extra}
